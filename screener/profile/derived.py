"""Values the rules need that a profile does not state directly, computed once, in one place.

Every derived value is computed from the profile and the screening date only, so the same
profile screened on the same date always gives the same values. A derived value is absent
(None) when an input it needs is absent: it then makes the rules that read it "not evaluable"
rather than silently false.
"""

from __future__ import annotations

import datetime as dt
import operator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from screener.profile import registry
from screener.profile.model import Background, Founder, Profile
from screener.profile.registry import LicenseKind

#: The fields whose presence the completeness figure counts: what a first screen should know.
COMPLETENESS_FIELDS: tuple[str, ...] = (
    "as_of",
    "founded",
    "stage",
    "team.size",
    "team.founders",
    "funding.total_raised",
    "model.base",
    "model.open_weights",
    "model.license",
    "model.approach",
    "compute.gpu_dependence",
    "compute.training_share",
    "traction.arr",
    "traction.gross_margin",
    "traction.pricing",
    "benchmarks",
)


#: The profile fields each derived value is computed from: when a derived value is missing,
#: these are what diligence has to find out.
INPUTS: dict[str, tuple[str, ...]] = {
    "funding_per_head": ("funding.total_raised", "team.size"),
    "arr_per_head": ("traction.arr", "team.size"),
    "months_since_founding": ("founded",),
    "months_since_last_round": ("funding.last_round.date",),
    "data_age_days": ("as_of",),
    "founders_count": ("team.founders",),
    "frontier_founders": ("team.founders",),
    "big_tech_founders": ("team.founders",),
    "academic_founders": ("team.founders",),
    "repeat_founders": ("team.founders",),
    "license_kind": ("model.license",),
    "known_model": ("model.base",),
    "model_params_b": ("model.base",),
    "benchmark_gap": ("benchmarks",),
    "compute_to_revenue": ("compute.monthly_compute", "traction.arr"),
    "completeness": (),
}


class Derived(BaseModel):
    """Computed facts, read by rules as ``derived.<name>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    funding_per_head: int | None = Field(
        None, description="capital raised per full-time employee", json_schema_extra={"unit": "money", "scale": 10**6}
    )
    arr_per_head: int | None = Field(
        None, description="annual recurring revenue per employee", json_schema_extra={"unit": "money", "scale": 10**3}
    )
    months_since_founding: int | None = Field(None, description="whole months from founding to the screening date")
    months_since_last_round: int | None = Field(
        None, description="whole months from the last round to the screening date"
    )
    data_age_days: int | None = Field(None, description="days between the profile's as_of date and the screening date")
    founders_count: int | None = Field(None, ge=0, description="number of founders listed")
    frontier_founders: int | None = Field(None, ge=0, description="founders who worked at a frontier lab")
    big_tech_founders: int | None = Field(None, ge=0, description="founders who worked at a big-tech company")
    academic_founders: int | None = Field(None, ge=0, description="founders with an academic background")
    repeat_founders: int | None = Field(None, ge=0, description="founders with a prior exit")
    license_kind: LicenseKind | None = Field(None, description="classification of the base model's licence")
    known_model: bool | None = Field(None, description="whether the base model is in the built-in registry")
    model_params_b: float | None = Field(None, ge=0, description="base model size in billions of parameters")
    benchmark_gap: float | None = Field(
        None,
        description="mean relative gap to the frontier across benchmarks (0.05 = 5% behind; negative = ahead)",
        json_schema_extra={"unit": "fraction", "signed": True},
    )
    compute_to_revenue: float | None = Field(
        None,
        description="annual compute spend as a share of ARR",
        json_schema_extra={"unit": "fraction", "unbounded": True},
    )
    completeness: float = Field(
        description="share of the key profile fields that are filled in", json_schema_extra={"unit": "fraction"}
    )


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def derive(profile: Profile, on: dt.date) -> Derived:
    """Compute every derived value of ``profile`` as of the screening date ``on``."""
    # Every value is computed with its declared type: validating it again would only cost time.
    return Derived.model_construct(**derived_values(profile, on))


def derived_values(profile: Profile, on: dt.date) -> dict[str, Any]:
    """The values of :func:`derive` by name, without the model around them (batch scoring reads these)."""
    team, funding, model = profile.team, profile.funding, profile.model
    size = team.size
    founders = team.founders

    def per_head(amount: int | None) -> int | None:
        return round(amount / size) if amount is not None and size else None

    def with_background(background: Background) -> int | None:
        return sum(background in f.background for f in founders) if founders else None

    founded = profile.founded
    founded_date = dt.date(founded, 1, 1) if isinstance(founded, int) else founded
    last_round = funding.last_round.date if funding.last_round else None
    gaps = [(b.frontier - b.score) / b.frontier for b in profile.benchmarks]
    arr = profile.traction.arr
    monthly = profile.compute.monthly_compute
    return dict(
        funding_per_head=per_head(funding.total_raised),
        arr_per_head=per_head(arr),
        months_since_founding=months_between(founded_date, on) if founded_date else None,
        months_since_last_round=months_between(last_round, on) if last_round else None,
        data_age_days=(on - profile.as_of).days if profile.as_of else None,
        founders_count=len(founders) if founders else None,
        frontier_founders=with_background(Background.FRONTIER_LAB),
        big_tech_founders=with_background(Background.BIG_TECH),
        academic_founders=with_background(Background.ACADEMIA),
        repeat_founders=_repeat_founders(founders),
        license_kind=registry.license_kind(model.license) if model.license else None,
        known_model=registry.lookup(model.base) is not None if model.base else None,
        model_params_b=registry.parameter_count_b(model.base) if model.base else None,
        benchmark_gap=_bounded(sum(gaps) / len(gaps)) if gaps else None,
        compute_to_revenue=_bounded(monthly * 12 / arr) if monthly is not None and arr else None,
        completeness=round(filled(profile) / len(COMPLETENESS_FIELDS), 4),
    )


#: Ratios are capped here: beyond a million times the comparison carries no information, and
#: the engine could not hold the number once encoded in basis points.
RATIO_CAP = 1_000_000


def _bounded(ratio: float) -> float:
    return round(max(-RATIO_CAP, min(RATIO_CAP, ratio)), 4)


def _repeat_founders(founders: list[Founder]) -> int | None:
    """Founders with a prior exit; unknown when no founder has one and some are not known."""
    exits = sum(f.prior_exit is True for f in founders)
    if exits or (founders and all(f.prior_exit is not None for f in founders)):
        return exits
    return None


# Every completeness field sits in a section that always exists (team, funding, ...), so one
# attrgetter reads them all in C; tuple.count compares as `not in (None, [], "")` does.
_READ_COMPLETENESS = operator.attrgetter(*COMPLETENESS_FIELDS)


def filled(profile: Profile) -> int:
    """How many of the :data:`COMPLETENESS_FIELDS` the profile fills in (as :func:`is_present` decides)."""
    values = _READ_COMPLETENESS(profile)
    return len(values) - values.count(None) - values.count([]) - values.count("")


def is_present(profile: Profile, path: str) -> bool:
    """Whether the profile field at a dotted path is filled in (not None, not an empty list or text)."""
    value: object = profile
    for part in path.split("."):
        value = getattr(value, part, None)
    return value not in (None, [], "")
