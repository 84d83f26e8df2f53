"""The catalogue of fields a rule may read, and how each is encoded for the rule engine.

Built from the pydantic models of the profile and of the derived values, so it cannot drift
from them. Each readable field is a scalar leaf (``team.size``, ``derived.funding_per_head``)
with a kind that decides which comparisons make sense and how its value is encoded: the engine
only ever sees strings, booleans and integers (money in whole dollars, fractions in basis
points, dates as YYYYMMDD), because durable-rules cannot parse floats in exponent form and
never matches NaN.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import operator
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from screener.profile.derived import Derived
from screener.profile.model import Profile


class Kind(enum.StrEnum):
    INTEGER = "integer"
    MONEY = "money"  #: whole US dollars
    FRACTION = "fraction"  #: 0..1, encoded as basis points
    NUMBER = "number"  #: any real number, encoded in thousandths
    BOOLEAN = "boolean"
    ENUM = "enum"
    TEXT = "text"  #: compared case-insensitively
    DATE = "date"  #: encoded as YYYYMMDD
    YEAR = "year"  #: a year or a date; compared as a year

    @property
    def ordered(self) -> bool:
        return self not in {Kind.BOOLEAN, Kind.ENUM, Kind.TEXT}


_SCALE = {Kind.FRACTION: 10_000, Kind.NUMBER: 1_000}


@dataclass(frozen=True)
class FieldSpec:
    path: str
    kind: Kind
    description: str
    choices: tuple[str, ...] = ()  #: allowed values of an enumeration
    question: str | None = None  #: what to ask when it is missing (declared fields may say)
    declared: bool = False  #: declared by the rule pack rather than built in
    minimum: Any = None  #: the lowest value the field may hold, in its own units (None: unbounded)
    maximum: Any = None  #: the highest value the field may hold, in its own units (None: unbounded)
    signed: bool = False  #: a derived difference or ratio: may be negative
    scale: int | None = None  #: money: the magnitude amounts are usually written in (10**6: "$15M")

    @property
    def key(self) -> str:
        """The fact key the engine sees; durable-rules would read dots as nesting."""
        return self.path.replace(".", "__")

    def encode(self, value: Any) -> Any:
        """Encode a (validated) value of this field for the engine and the evaluator."""
        return _ENCODERS[self.kind](value)

    def decode(self, encoded: Any) -> Any:
        """The inverse of :meth:`encode`, for showing values to people."""
        if self.kind in _SCALE:
            return encoded / _SCALE[self.kind]
        if self.kind is Kind.DATE:
            return dt.date(encoded // 10_000, encoded // 100 % 100, encoded % 100).isoformat()
        return encoded


def _encode_scaled(scale: int, value: Any) -> int:
    return round(float(value) * scale)


def _encode_date(value: Any) -> int:
    return int(value.year * 10_000 + value.month * 100 + value.day)


def _encode_year(value: Any) -> int:
    return value.year if isinstance(value, dt.date) else int(value)


def _encode_enum(value: Any) -> str:
    return str(value._value_ if isinstance(value, enum.Enum) else value)


def _encode_text(value: Any) -> str:
    return str(value).lower()


#: One function per kind, chosen once per field: encoding runs per field per profile.
_ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INTEGER: int,
    Kind.MONEY: int,
    Kind.FRACTION: functools.partial(_encode_scaled, _SCALE[Kind.FRACTION]),
    Kind.NUMBER: functools.partial(_encode_scaled, _SCALE[Kind.NUMBER]),
    Kind.BOOLEAN: bool,
    Kind.ENUM: _encode_enum,
    Kind.TEXT: _encode_text,
    Kind.DATE: _encode_date,
    Kind.YEAR: _encode_year,
}


def _kind_of(annotation: Any, extra: dict[str, Any]) -> tuple[Kind, tuple[str, ...]] | None:
    unit = extra.get("unit")
    if unit == "money":
        return Kind.MONEY, ()
    if unit == "fraction":
        return Kind.FRACTION, ()
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in {typing.Union, types.UnionType}:
        if set(args) == {int, dt.date}:
            return Kind.YEAR, ()
        if len(args) == 1:
            return _kind_of(args[0], extra)
        return None
    if typing.get_origin(annotation) is typing.Annotated:
        inner = args[0]
        for meta in typing.get_args(annotation)[1:]:
            unit_meta = getattr(meta, "json_schema_extra", None)
            if isinstance(unit_meta, dict):
                return _kind_of(inner, {**extra, **unit_meta})
        return _kind_of(inner, extra)
    if annotation is bool:
        return Kind.BOOLEAN, ()
    if annotation is int:
        return Kind.INTEGER, ()
    if annotation is float:
        return Kind.NUMBER, ()
    if annotation is str:
        return Kind.TEXT, ()
    if annotation is dt.date:
        return Kind.DATE, ()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Kind.ENUM, tuple(str(m.value) for m in annotation)
    return None


def _walk(model: type[BaseModel], prefix: str) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if typing.get_origin(annotation) is list:
            continue  # lists are read through derived values (founders_count, benchmark_gap, ...)
        nested = [a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, type)]
        submodel = next((a for a in nested if issubclass(a, BaseModel)), None)
        if submodel is not None:
            specs.extend(_walk(submodel, f"{path}."))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        for meta in info.metadata:
            meta_extra = getattr(meta, "json_schema_extra", None)
            if isinstance(meta_extra, dict):
                extra = {**extra, **meta_extra}
        found = _kind_of(annotation, extra)
        if found is not None:
            kind = found[0]
            low, high = _bounds(kind, info.metadata, extra)
            written = extra.get("scale")
            scale = int(written) if isinstance(written, int) else (10**6 if kind is Kind.MONEY else None)
            specs.append(
                FieldSpec(
                    path, kind, info.description or name, found[1], minimum=low, maximum=high,
                    signed=bool(extra.get("signed")), scale=scale,
                )
            )  # fmt: skip
    return specs


def _bounds(kind: Kind, metadata: list[Any], extra: Mapping[str, Any]) -> tuple[Any, Any]:
    """The values no valid value of a field lies outside: its constraints (ge, le), else its unit's."""
    low: Any = None
    high: Any = None
    if kind is Kind.MONEY and not extra.get("signed"):
        low = 0
    if kind is Kind.FRACTION and not extra.get("signed"):  # a signed gap can pass 100% (a negative score)
        low = 0
        high = None if extra.get("unbounded") else 1
    for meta in metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return extra.get("low", low), extra.get("high", high)


@functools.cache
def fields() -> dict[str, FieldSpec]:
    """Every field a rule may read, by dotted path (``derived.`` for computed values)."""
    specs = _walk(Profile, "") + _walk(Derived, "derived.")
    return {s.path: s for s in specs if s.path not in {"name", "notes", "website"}}


class FactEncoder:
    """Encodes the same fields of many profiles: readers and encoders are chosen once."""

    def __init__(self, paths: tuple[str, ...], catalogue: Mapping[str, FieldSpec] | None = None):
        catalogue = fields() if catalogue is None else catalogue
        self.steps: list[tuple[str, bool, Any, Callable[[Any], Any]]] = []
        for path in paths:
            encode = _ENCODERS[catalogue[path].kind]
            if path.startswith("derived."):
                self.steps.append((path, True, path.removeprefix("derived."), encode))
            else:
                self.steps.append((path, False, operator.attrgetter(path), encode))

    def __call__(self, profile: Profile, derived: Mapping[str, Any]) -> dict[str, Any]:
        """The fact: encoded value by path, for every field that has a value (``derived``: by name)."""
        fact: dict[str, Any] = {}
        for path, from_derived, read, encode in self.steps:
            if from_derived:
                value = derived[read]
            else:
                try:
                    value = read(profile)
                except AttributeError:  # inside an optional section that is absent (funding.last_round)
                    continue
            if value is not None:
                fact[path] = encode(value)
        return fact
