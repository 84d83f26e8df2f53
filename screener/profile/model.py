"""The company profile: the data contract every screening starts from.

Pydantic models with ``extra="forbid"`` (a typo such as ``founderz`` is an error with a "did
you mean" hint, not silently dropped). Everything but ``name`` is optional so that real,
incomplete deal data can be screened; what is missing becomes a diligence question later.
Money is whole US dollars, fractions are floats in 0..1, enumerations are case-insensitive.
``load_profile`` turns a located document into a profile or one error listing every problem.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import typing
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from screener.errors import ProfileError, did_you_mean
from screener.profile import registry
from screener.profile.checks import CHECKS
from screener.profile.parsing import country_code, parse_date, stage_hint
from screener.profile.sources import Document, problem_at
from screener.profile.stdin import load_source
from screener.profile.units import MAX_MONEY, UnitError, parse_fraction, parse_money
from screener.profile.validation import located_problems


def _money(value: Any, info: ValidationInfo) -> int:
    if type(value) is int and 0 <= value < MAX_MONEY:  # already whole dollars: what parse_money would return
        return value
    rates = (info.context or {}).get("rates") if info.context else None
    try:
        return parse_money(value, rates)
    except UnitError as exc:
        raise ValueError(str(exc)) from None


def _count(value: Any) -> Any:
    # pydantic would read true as 1; a headcount of "true" is a mistake, not one person.
    if isinstance(value, bool):
        raise ValueError("expected a whole number, not true/false")
    return value


def _fraction(value: Any) -> float:
    if type(value) is float and 0.0 <= value <= 1.0:  # already a fraction (NaN fails the test)
        return value
    try:
        return parse_fraction(value)
    except UnitError as exc:
        raise ValueError(str(exc)) from None


def _enum_text(value: Any) -> Any:
    """Enumerations are case-insensitive and forgive spaces/underscores: 'Series A' → 'series-a'."""
    if isinstance(value, str):
        text = value.strip().lower()
        # Most values are already canonical: skip the regex for them (it runs per field per record).
        return re.sub(r"[\s_]+", "-", text) if (" " in text or "_" in text or "\t" in text) else text
    return value


def _date(value: Any) -> dt.date:
    return parse_date(value)


def _stage(value: Any) -> Any:
    """A stage as its canonical value, or a message whose suggestion knows stages are ordered."""
    text = _enum_text(value)
    if not isinstance(text, str) or text in _STAGES:
        return text
    choices = ", ".join(repr(s) for s in _STAGES[:-1]) + f" or {_STAGES[-1]!r}"
    raise ValueError(f"{value!r} is not one of: {choices}{stage_hint(value, list(_STAGES))}")


#: Names, sectors and the like are one line of text: a line break in a company name would
#: restructure a Markdown memo and the terminal table. Checked by pydantic's own regex engine.
Line = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$")]


def _check_id(value: str) -> str:
    if value not in CHECKS:
        raise ValueError(f"unknown plausibility check {value!r}{did_you_mean(value, CHECKS)}")
    return value


#: Domain knowledge a field carries besides its type (read by the plausibility checks and the pack lint):
#: ``scale``, the magnitude an amount is usually written in (10**6: "$15M"); ``slip_below``, a non-zero
#: value under which the value is most likely a unit slip; ``low``/``high``, bounds no valid value passes.
MILLIONS: JsonDict = {"scale": 1_000_000, "slip_below": 10_000}
Money = Annotated[int, BeforeValidator(_money), Field(json_schema_extra={"unit": "money"})]
Count = Annotated[int, BeforeValidator(_count)]
Fraction = Annotated[float, BeforeValidator(_fraction), Field(json_schema_extra={"unit": "fraction"})]
#: A date as :func:`~screener.profile.parsing.parse_date` reads it (``2024-07`` too), as in CSV cells.
Date = Annotated[dt.date, BeforeValidator(_date)]


class Stage(enum.StrEnum):
    PRE_SEED = "pre-seed"
    SEED = "seed"
    SERIES_A = "series-a"
    SERIES_B = "series-b"
    SERIES_C = "series-c"
    GROWTH = "growth"


class Background(enum.StrEnum):
    FRONTIER_LAB = "frontier-lab"
    BIG_TECH = "big-tech"
    ACADEMIA = "academia"
    STARTUP = "startup"
    INDUSTRY = "industry"
    FINANCE = "finance"
    CONSULTING = "consulting"
    GOVERNMENT = "government"
    OTHER = "other"


class Approach(enum.StrEnum):
    FINE_TUNE = "fine-tune"
    DISTILL = "distill"
    MERGE = "merge"
    RAG = "rag"
    PROMPTING = "prompting"
    PRETRAIN = "pretrain"
    API_WRAPPER = "api-wrapper"


class GpuDependence(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Pricing(enum.StrEnum):
    USAGE = "usage"
    SEAT = "seat"
    LICENSE = "license"
    OPEN_CORE = "open-core"
    NONE = "none"


_STAGES = tuple(s.value for s in Stage)
StageField = Annotated[Stage, BeforeValidator(_stage)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Founder(_Model):
    name: Line | None = Field(None, description="founder's name")
    background: list[Annotated[Background, BeforeValidator(_enum_text)]] = Field(
        default_factory=list, description="where the founder worked before"
    )
    prior_exit: bool | None = Field(None, description="whether the founder has exited a company before")


class Team(_Model):
    size: Count | None = Field(None, ge=0, le=10_000_000, description="the full-time headcount")
    founders: list[Founder] = Field(default_factory=list, description="the founders")


class Round(_Model):
    stage: StageField | None = Field(None, description="the stage of the last round")
    amount: Money | None = Field(None, description="the amount of the last round", json_schema_extra=MILLIONS)
    date: Date | None = Field(None, description="the date of the last round")
    lead: Line | None = Field(None, description="the lead investor of the last round")


class Funding(_Model):
    total_raised: Money | None = Field(None, description="the total capital raised to date", json_schema_extra=MILLIONS)
    last_round: Round | None = Field(None, description="the last priced round")


class ModelInfo(_Model):
    base: Line | None = Field(None, description="the base model the product is built on")
    family: Line | None = Field(None, description="the model family")
    open_weights: bool | None = Field(None, description="whether the base model's weights are open")
    license: Line | None = Field(None, description="the licence of the base model")
    approach: Annotated[Approach, BeforeValidator(_enum_text)] | None = Field(
        None, description="how the company adapts the model"
    )
    test_time_compute: bool | None = Field(
        None, description="whether the product spends compute at inference time (reasoning, search)"
    )


class Compute(_Model):
    gpu_dependence: Annotated[GpuDependence, BeforeValidator(_enum_text)] | None = Field(
        None, description="how dependent the business is on scarce GPUs"
    )
    owned_gpus: Count | None = Field(None, ge=0, le=100_000_000, description="the number of GPUs owned")
    monthly_compute: Money | None = Field(
        None, description="the monthly compute spend", json_schema_extra={"scale": 1_000}
    )
    training_share: Fraction | None = Field(
        None, description="the share of compute spent on training rather than inference"
    )


class Traction(_Model):
    arr: Money | None = Field(
        None,
        description="the annual recurring revenue (ARR)",
        json_schema_extra={"scale": 1_000_000, "slip_below": 1_000},
    )
    gross_margin: Fraction | None = Field(None, description="the gross margin", json_schema_extra={"slip_below": 0.01})
    pricing: Annotated[Pricing, BeforeValidator(_enum_text)] | None = Field(None, description="the pricing model")
    customers: Count | None = Field(None, ge=0, le=10**12, description="the number of paying customers")


class Benchmark(_Model):
    name: Line = Field(description="benchmark name")
    score: float = Field(allow_inf_nan=False, description="the company's score")
    frontier: float = Field(allow_inf_nan=False, description="the frontier model's score on the same benchmark")

    @field_validator("frontier")
    @classmethod
    def _positive_frontier(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("the frontier score must be positive to measure a gap against it")
        return value


class Profile(_Model):
    """A company as the screener sees it. Only ``name`` is required."""

    name: Line = Field(min_length=1, max_length=300, description="the company name")
    website: Line | None = Field(None, max_length=2000, description="the company website")
    as_of: Date | None = Field(None, description="the date the facts in this profile were true")
    founded: int | dt.date | None = Field(
        None, description="the year the company was founded", json_schema_extra={"low": 1800, "high": 2200}
    )
    hq_country: Line | None = Field(
        None, description="the headquarters country (ISO 3166 alpha-2; alpha-3 and English names are read as it)"
    )
    sector: Line | None = Field(None, description="the sector")
    stage: StageField | None = Field(None, description="the funding stage")
    team: Team = Field(default_factory=Team, description="the team")
    funding: Funding = Field(default_factory=Funding, description="funding")
    model: ModelInfo = Field(default_factory=ModelInfo, description="the base model and how it is used")
    compute: Compute = Field(default_factory=Compute, description="compute")
    traction: Traction = Field(default_factory=Traction, description="traction")
    benchmarks: list[Benchmark] = Field(default_factory=list, description="benchmark results vs the frontier")
    sources: list[str] = Field(default_factory=list, description="links to sources")
    notes: str | None = Field(None, description="free-form notes")
    silence: list[Annotated[str, AfterValidator(_check_id)]] = Field(
        default_factory=list,
        description="ids of plausibility checks this profile passes on purpose, because the value is right",
    )
    #: Money amounts small enough to be unit slips, as they were written (29.5, not the $30 kept):
    #: the plausibility checks suggest the amount meant from what was written.
    _entered: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_entered(cls, data: Any, handler: ModelWrapValidatorHandler[Profile]) -> Profile:
        profile = handler(data)
        if isinstance(data, Mapping):
            for path, bound in slip_bounds("money").items():
                value = _read(profile, path)
                if value is not None and 0 < value < bound:
                    raw = _read_raw(data, path)
                    if raw is not None:
                        profile._entered[path] = raw
        return profile

    @field_validator("hq_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else country_code(value)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        if value is not None and _host(value) is None:
            raise ValueError(f"{value!r} is not a website address such as https://example.com")
        return value

    @field_validator("founded", mode="before")
    @classmethod
    def _founded(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d{4}", value.strip()):
            return int(value)
        if isinstance(value, str | dt.date):
            return parse_date(value)  # a month (2024-07) or a datetime, read as a date is everywhere
        return value

    @field_validator("founded")
    @classmethod
    def _founded_range(cls, value: int | dt.date | None) -> int | dt.date | None:
        year = value.year if isinstance(value, dt.date) else value
        if year is not None and not 1800 <= year <= 2200:
            shown = year if abs(year) < 10**9 else f"a number of {len(str(abs(year)))} digits"
            raise ValueError(f"{shown} is not a plausible founding year")
        return value

    @model_validator(mode="after")
    def _fill_from_registry(self) -> Profile:  # what it fills: REGISTRY_FILLS
        """Explicit model fields win; the registry fills the ones left out.

        A company that pre-trains builds on its own model: when the registry does not know the
        base (or none is given), it is filled as the registry's own-model entry, so that it is
        never mistaken for dependence on someone else's closed model.
        """
        base = self.model.base
        known = registry.lookup(base) if base else None
        if known is None and self.model.approach is Approach.PRETRAIN:
            known = registry.OWN_MODEL
        if known is None:
            return self
        filled = {
            "family": self.model.family or known.family,
            "open_weights": known.open_weights if self.model.open_weights is None else self.model.open_weights,
            "license": self.model.license or known.license,
        }
        object.__setattr__(self, "model", self.model.model_copy(update=filled))
        return self


#: The model fields the registry fills in when left out, and the fields whose answer can make it do so
#: (a known base; pre-training, which builds on an own model): answering one answers these too.
REGISTRY_FILLED = ("model.family", "model.open_weights", "model.license")
REGISTRY_FILLS = {"model.base": REGISTRY_FILLED, "model.approach": REGISTRY_FILLED}


@functools.cache
def field_domains() -> dict[str, dict[str, Any]]:
    """Per scalar profile field (dotted path): its unit (money, fraction), if any, and its domain knowledge."""
    return dict(_domains(Profile, ""))


def _domains(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, info in model.model_fields.items():
        nested = [a for a in (info.annotation, *typing.get_args(info.annotation)) if isinstance(a, type)]
        submodel = next((a for a in nested if issubclass(a, BaseModel)), None)
        if submodel is not None:
            yield from _domains(submodel, f"{prefix}{name}.")
            continue
        extra = dict(info.json_schema_extra) if isinstance(info.json_schema_extra, dict) else {}
        unit = _unit(info.annotation)
        yield f"{prefix}{name}", {**({"unit": unit} if unit else {}), **extra}


def _unit(annotation: Any) -> str | None:
    """The ``unit`` an annotated type declares (Money, Fraction), looking inside ``X | None``."""
    for meta in getattr(annotation, "__metadata__", ()):
        extra = getattr(meta, "json_schema_extra", None)
        if isinstance(extra, dict) and "unit" in extra:
            return str(extra["unit"])
    return next((u for u in map(_unit, typing.get_args(annotation)) if u), None)


@functools.cache
def slip_bounds(unit: str) -> dict[str, float]:
    """Fields of ``unit`` whose non-zero values below a bound are most likely unit slips, with the bound."""
    return {path: d["slip_below"] for path, d in field_domains().items() if d.get("unit") == unit and "slip_below" in d}


def _read(model: Any, path: str) -> Any:
    for part in path.split("."):
        model = getattr(model, part, None)
    return model


def _read_raw(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, Mapping) else None
    return data


def validate_profile(
    doc: Document, rates: Mapping[str, float] | None = None, model: type[Profile] | None = None
) -> Profile:
    """Validate a located document as a profile, raising one ProfileError with every problem.

    ``model`` is the profile model of the rule pack (with the fields it declares); default the built-in one.
    """
    model = model or Profile
    if not isinstance(doc.data, dict):
        raise ProfileError([problem_at(doc, (), "a profile must be a mapping of fields")])
    try:
        return model.model_validate(doc.data, context={"rates": dict(rates or {})})
    except ValidationError as exc:
        raise ProfileError(located_problems(doc, exc, model)) from None


def load_profile(
    path: str | Path, rates: Mapping[str, float] | None = None, model: type[Profile] | None = None
) -> Profile:
    """Read and validate one YAML or JSON profile file (against ``model``, default the built-in one).

    ``-`` is standard input (:mod:`screener.profile.stdin`).
    """
    return validate_profile(load_source(path), rates, model)


def company_key(name: str, website: str | None) -> str:
    """The identity a company is recognised by across screenings and inputs.

    The website's domain (without scheme, ``www.`` or path) when there is one, because names
    vary in spelling; otherwise the name, lower-cased with punctuation and legal suffixes dropped.
    """
    return company_identities(name, website)[0]


def company_identities(name: str, website: str | None) -> tuple[str, str | None, str]:
    """The company key, the website's domain (or None) and the normalised name."""
    host = _host(website) if website else None
    words = _words(name)
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    normalised = " ".join(words) or unicodedata.normalize("NFC", name.strip().lower())
    return (host or normalised), host, normalised


def _words(name: str) -> list[str]:
    """The words of a name, lower case, without punctuation.

    Beyond ASCII the name is composed first (NFC), so "Café" typed with a combining accent is
    the same name as "Café" typed with "é", and marks are kept as part of their word: dropping
    them made "Café" the name "Cafe", and Hindi names lose their vowel signs.
    """
    if name.isascii():
        return re.sub(r"[^\w]+", " ", name.lower()).split()
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())
    return "".join(c if c.isalnum() or c == "_" or unicodedata.category(c)[0] == "M" else " " for c in text).split()


def _host(website: str) -> str | None:
    """The host name of a website address, without ``www.``; None when there is none."""
    text = website.strip().lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    plain = _PLAIN_ADDRESS.fullmatch(text)
    # urlsplit costs several microseconds and runs twice per record in a batch; for a plain
    # address (no user, port, brackets, escapes) the host is simply what precedes the path.
    if plain is not None and ("://" not in text or text.startswith(("http://", "https://"))):
        host: str | None = plain.group(1)
    else:
        try:
            host = urlsplit(text if "://" in text else f"//{text}").hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
    return host.removeprefix("www.") if host and "." in host else None


_PLAIN_ADDRESS = re.compile(r"(?:https?://)?([a-z0-9.-]+)(?:[/?#].*)?", re.DOTALL)


_LEGAL_SUFFIXES = frozenset({"inc", "llc", "ltd", "gmbh", "sa", "sas", "bv", "ab", "ag", "corp", "co", "plc", "oy"})
