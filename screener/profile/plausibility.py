"""Plausibility checks: values that are valid but that a careful analyst would question.

``total_raised: 29.5`` is a valid amount ($30), and almost certainly meant $29.5M; a last round
larger than the total raised, a company founded after its facts were true, a team of zero:
each passes validation and each would make a screen confidently wrong. :func:`check` runs every
check of :data:`screener.profile.checks.CHECKS` on a validated profile as of the screening
date and returns a :class:`~screener.profile.checks.DataWarning` per finding, in catalogue
order. They are warnings, not errors (the CLI's ``--strict`` makes them errors), because the
value may be right: a profile names the checks it passes on purpose in ``silence``.

Every check reads only the profile and the screening date, so the same profile on the same
date gives the same warnings. They run once per record in a batch: each is a few attribute
reads.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from screener.errors import Location, Problem
from screener.profile.checks import CHECKS, DataWarning
from screener.profile.model import Profile, Stage, field_domains, slip_bounds
from screener.profile.registry import LicenseKind, license_kind
from screener.profile.sources import Document
from screener.texts import format_money, format_percent

#: ARR per employee above which the ARR or the headcount is almost certainly wrong.
EXTREME_ARR_PER_HEAD = 10_000_000
#: Raised by a pre-seed or seed company, at or above which the stage or the amount is stale.
SEED_MEGA_RAISE = 100_000_000
#: Owned GPUs at or above which "no GPU dependence" cannot be right.
GPU_FLEET = 100

_LABELS = {
    "funding.total_raised": "total raised",
    "funding.last_round.amount": "the last round",
    "traction.arr": "ARR",
    "traction.gross_margin": "gross margin",
}


def check(profile: Profile, on: dt.date) -> list[DataWarning]:
    """Every plausibility warning for ``profile`` screened on ``on``, less the checks it silences."""
    found: list[DataWarning] = []
    silenced = profile.silence
    for check_id, run in _ORDER:
        if check_id in silenced:
            continue
        outcome = run(profile, on)
        if isinstance(outcome, list):
            found.extend(outcome)
        elif outcome is not None:
            found.append(outcome)
    return found


def located(warnings: list[DataWarning], doc: Document | None) -> list[Problem]:
    """The warnings as problems at the line and column of their first field (``level="warning"``)."""
    problems = []
    for warning in warnings:
        path = tuple(warning.fields[0].split(".")) if warning.fields else ()
        where = doc.locate(path) if doc is not None else None
        line, column = doc.value_locations.get(path, (0, 0)) if doc is not None else (0, 0)
        if doc is not None and line:
            where = Location(doc.file, line + doc.line_offset, column)
        subject = warning.fields[0] if warning.fields else ""
        problems.append(Problem(f"{warning.message} [{warning.check}]", where, subject, "warning"))
    return problems


def as_errors(warnings: list[Problem]) -> list[Problem]:
    """Located warnings as the errors ``--strict`` makes them, with how to accept a value that is right."""
    errors = [Problem(p.message, p.location, p.subject, "error") for p in warnings]
    hint = (
        f"{len(errors)} data warning(s) are errors with --strict; where a value is right, name its check "
        "under 'silence' in the profile (e.g. silence: [team-zero])"
    )
    return [*errors, Problem(hint)]


# --- unit slips ---------------------------------------------------------------------------------


@functools.cache
def _slips(unit: str) -> tuple[tuple[str, Callable[[Any], Any], float, int], ...]:
    """Per field of ``unit`` with a slip bound: its path, a reader, the bound and the usual scale."""
    domains = field_domains()
    return tuple(
        (path, _reader(path), bound, int(domains[path].get("scale", 1))) for path, bound in slip_bounds(unit).items()
    )


def _reader(path: str) -> Callable[[Any], Any]:
    parts = tuple(path.split("."))

    def read(value: Any) -> Any:
        for part in parts:
            value = getattr(value, part, None)
        return value

    return read


def _money_slips(profile: Profile, _on: dt.date) -> list[DataWarning]:
    found = []
    for path, read, bound, usual in _slips("money"):
        dollars = read(profile)
        if dollars is None or not 0 < dollars < bound:
            continue
        written = profile._entered.get(path, dollars)
        amount = _amount(written, dollars)
        scale = usual if amount < 1000 else 1000
        meant = format_money(int(amount * scale))
        shown = f"{format_money(dollars)}" + (f" (written {written!r})" if _differs(written, dollars) else "")
        found.append(
            DataWarning(
                check="money-unit-slip",
                fields=[path],
                message=f"{_LABELS.get(path, path)} of {shown} is implausibly small; did you mean '{meant}'? "
                "Money is read as whole dollars",
                suggestion=meant,
            )
        )
    return found


def _amount(written: Any, dollars: int) -> Decimal:
    """The amount as written, exactly (29.5, not the $30 kept); the dollars when it cannot be read back."""
    text = str(written).strip().lstrip("$").replace(",", "").replace("_", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return Decimal(dollars)
    return amount if amount.is_finite() and amount > 0 else Decimal(dollars)


def _differs(written: Any, dollars: int) -> bool:
    return not (type(written) is int and written == dollars)


def _percent_slips(profile: Profile, _on: dt.date) -> list[DataWarning]:
    found = []
    for path, read, bound, _ in _slips("fraction"):
        fraction = read(profile)
        if fraction is None or not 0 < fraction < bound:
            continue
        meant = f"{round(fraction * 10_000, 2):g}%"
        found.append(
            DataWarning(
                check="percent-slip",
                fields=[path],
                message=f"{_LABELS.get(path, path)} of {format_percent(fraction, 2)} is implausibly thin; "
                f"did you mean '{meant}'? A percent sign already divides by 100",
                suggestion=meant,
            )
        )
    return found


# --- funding ------------------------------------------------------------------------------------


def _round_above_total(profile: Profile, _on: dt.date) -> DataWarning | None:
    total, last = profile.funding.total_raised, profile.funding.last_round
    if total is None or last is None or last.amount is None or last.amount <= total:
        return None
    return DataWarning(
        check="last-round-above-total",
        fields=["funding.last_round.amount", "funding.total_raised"],
        message=f"the last round ({format_money(last.amount)}) is larger than the total raised "
        f"({format_money(total)}), which includes it",
    )


def _round_stage_ahead(profile: Profile, _on: dt.date) -> DataWarning | None:
    stage, last = profile.stage, profile.funding.last_round
    if stage is None or last is None or last.stage is None or _RANK[last.stage] <= _RANK[stage]:
        return None
    return DataWarning(
        check="round-stage-ahead",
        fields=["funding.last_round.stage", "stage"],
        message=f"the last round is {last.stage.value} but the company's stage is {stage.value}; "
        "one of them is out of date",
        suggestion=last.stage.value,
    )


_RANK = {stage: number for number, stage in enumerate(Stage)}
_EARLY = frozenset({Stage.PRE_SEED, Stage.SEED})


def _seed_mega_raise(profile: Profile, _on: dt.date) -> DataWarning | None:
    stage, total = profile.stage, profile.funding.total_raised
    if stage not in _EARLY or total is None or total < SEED_MEGA_RAISE:
        return None
    assert stage is not None
    return DataWarning(
        check="seed-mega-raise",
        fields=["funding.total_raised", "stage"],
        message=f"a {stage.value} company that has raised {format_money(total)}: the stage or the amount is stale",
    )


# --- dates --------------------------------------------------------------------------------------


def _founded(profile: Profile) -> tuple[int, dt.date | None] | None:
    """The founding year, and the founding date when the profile gives one."""
    founded = profile.founded
    if founded is None:
        return None
    if isinstance(founded, dt.date):
        return founded.year, founded
    return founded, None


def _after(founding: tuple[int, dt.date | None], day: dt.date) -> bool:
    year, date = founding
    return date > day if date is not None else year > day.year


def _founded_in_future(profile: Profile, on: dt.date) -> DataWarning | None:
    founding = _founded(profile)
    if founding is None or not _after(founding, on):
        return None
    return DataWarning(
        check="founded-in-future",
        fields=["founded"],
        message=f"founded {_founding_text(profile)}, after the screening date {on.isoformat()}",
    )


def _founded_after_as_of(profile: Profile, on: dt.date) -> DataWarning | None:
    founding, as_of = _founded(profile), profile.as_of
    if founding is None or as_of is None or not _after(founding, as_of) or _after(founding, on):
        return None  # founded after the screening date says it already, more plainly
    return DataWarning(
        check="founded-after-as-of",
        fields=["founded", "as_of"],
        message=f"founded {_founding_text(profile)}, after the facts are said to be true (as_of {as_of.isoformat()})",
    )


def _founding_text(profile: Profile) -> str:
    founded = profile.founded
    return founded.isoformat() if isinstance(founded, dt.date) else f"in {founded}"


def _as_of_in_future(profile: Profile, on: dt.date) -> DataWarning | None:
    as_of = profile.as_of
    if as_of is None or as_of <= on:
        return None
    return DataWarning(
        check="as-of-in-future",
        fields=["as_of"],
        message=f"as_of {as_of.isoformat()} is after the screening date {on.isoformat()}: "
        "facts cannot be from the future (check as_of, or screen with --on)",
    )


def _round_in_future(profile: Profile, on: dt.date) -> DataWarning | None:
    last = profile.funding.last_round
    if last is None or last.date is None or last.date <= on:
        return None
    return DataWarning(
        check="round-in-future",
        fields=["funding.last_round.date"],
        message=f"the last round is dated {last.date.isoformat()}, after the screening date {on.isoformat()}",
    )


def _round_before_founding(profile: Profile, _on: dt.date) -> DataWarning | None:
    founding, last = _founded(profile), profile.funding.last_round
    if founding is None or last is None or last.date is None:
        return None
    year, date = founding
    if not (last.date < date if date is not None else last.date.year < year):
        return None
    return DataWarning(
        check="round-before-founding",
        fields=["funding.last_round.date", "founded"],
        message=f"the last round is dated {last.date.isoformat()}, before the company was founded "
        f"({_founding_text(profile)})",
    )


# --- team and traction --------------------------------------------------------------------------


def _team_zero(profile: Profile, _on: dt.date) -> DataWarning | None:
    if profile.team.size != 0:
        return None
    return DataWarning(
        check="team-zero",
        fields=["team.size"],
        message="a full-time team of 0 people: unknown headcount is left out, not written as 0",
    )


def _team_below_founders(profile: Profile, _on: dt.date) -> DataWarning | None:
    size, founders = profile.team.size, len(profile.team.founders)
    if not size or size >= founders:
        return None
    return DataWarning(
        check="team-below-founders",
        fields=["team.size", "team.founders"],
        message=f"a full-time team of {size:,} but {founders} founders are listed",
        suggestion=str(founders),
    )


def _arr_without_customers(profile: Profile, _on: dt.date) -> DataWarning | None:
    arr, customers = profile.traction.arr, profile.traction.customers
    if not arr or customers != 0:
        return None
    return DataWarning(
        check="arr-without-customers",
        fields=["traction.arr", "traction.customers"],
        message=f"ARR of {format_money(arr)} with 0 paying customers",
    )


def _revenue_per_head(profile: Profile, _on: dt.date) -> DataWarning | None:
    arr, size = profile.traction.arr, profile.team.size
    if not arr or not size or arr / size <= EXTREME_ARR_PER_HEAD:
        return None
    return DataWarning(
        check="revenue-per-head-extreme",
        fields=["traction.arr", "team.size"],
        message=f"ARR of {format_money(arr)} with {size:,} people is {format_money(round(arr / size))} per employee, "
        "beyond any software company: check the ARR and the headcount",
    )


def _gpus_without_dependence(profile: Profile, _on: dt.date) -> DataWarning | None:
    compute = profile.compute
    if compute.gpu_dependence is None or compute.gpu_dependence.value != "none":
        return None
    if compute.owned_gpus is None or compute.owned_gpus < GPU_FLEET:
        return None
    return DataWarning(
        check="gpus-without-dependence",
        fields=["compute.owned_gpus", "compute.gpu_dependence"],
        message=f"owns {compute.owned_gpus:,} GPUs but its GPU dependence is given as none",
    )


def _open_weights_closed_licence(profile: Profile, _on: dt.date) -> DataWarning | None:
    model = profile.model
    if (
        model.open_weights is not True
        or not model.license
        or license_kind(model.license) is not LicenseKind.PROPRIETARY
    ):
        return None
    return DataWarning(
        check="open-weights-closed-licence",
        fields=["model.open_weights", "model.license"],
        message=f"open weights are claimed, but the licence ({model.license}) is a closed vendor's terms",
    )


#: Every check by id. The catalogue (:data:`~screener.profile.checks.CHECKS`) gives the order and
#: the documentation; a test holds the two to the same ids.
_CHECKS: Mapping[str, Callable[[Profile, dt.date], list[DataWarning] | DataWarning | None]] = {
    "money-unit-slip": _money_slips,
    "percent-slip": _percent_slips,
    "last-round-above-total": _round_above_total,
    "round-stage-ahead": _round_stage_ahead,
    "seed-mega-raise": _seed_mega_raise,
    "founded-in-future": _founded_in_future,
    "founded-after-as-of": _founded_after_as_of,
    "as-of-in-future": _as_of_in_future,
    "round-in-future": _round_in_future,
    "round-before-founding": _round_before_founding,
    "team-zero": _team_zero,
    "team-below-founders": _team_below_founders,
    "arr-without-customers": _arr_without_customers,
    "revenue-per-head-extreme": _revenue_per_head,
    "gpus-without-dependence": _gpus_without_dependence,
    "open-weights-closed-licence": _open_weights_closed_licence,
}
_ORDER = tuple((check_id, _CHECKS[check_id]) for check_id in CHECKS if check_id in _CHECKS)


def implemented() -> frozenset[str]:
    """The ids this module implements (the catalogue's, when nothing has drifted)."""
    return frozenset(_CHECKS)
