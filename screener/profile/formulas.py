"""Derived values a rule pack declares: a few parsed forms over two fields, computed once per profile.

A pack's ``derived:`` section names values computed from profile fields before the engine
sees them, read by rules as ``derived.<name>``::

    derived:
      arr_to_raised: {ratio: [traction.arr, funding.total_raised]}
      arr_over_raised: {difference: [traction.arr, funding.total_raised]}
      months_between_rounds: {months: [funding.first_round_on, funding.last_round.date]}
      days_since_update: {days: [as_of, screened_on]}
      vc_backers: {count: investors.kinds, value: vc}

A form is data, never an expression: there is nothing to evaluate, only the five operations
here. This is also how a rule compares two fields: ``derived.arr_over_raised > 0``. A value is
missing (None) when an operand is, and a ratio whose denominator is zero is missing too. Which
operands a form accepts (numbers for a ratio, dates for months) is checked when the pack loads,
against the field catalogue (:mod:`screener.rules.schema`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from screener.profile.derived import RATIO_CAP, Derived, months_between
from screener.profile.model import Profile, _enum_text

#: The operand that means the screening date, for months and days.
SCREENED_ON = "screened_on"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Form(enum.StrEnum):
    RATIO = "ratio"  #: first / second
    DIFFERENCE = "difference"  #: first - second
    MONTHS = "months"  #: whole months from the first date to the second
    DAYS = "days"  #: days from the first date to the second
    COUNT = "count"  #: items of a list field equal to ``value`` (or one of ``values``; all items without)


class DerivedDeclaration(BaseModel):
    """One declared derived value, as written in the pack: exactly one form."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    ratio: list[str] | None = Field(None, description="[numerator, denominator]")
    difference: list[str] | None = Field(None, description="[minuend, subtrahend]")
    months: list[str] | None = Field(None, description="[from date, to date] (screened_on: the screening date)")
    days: list[str] | None = Field(None, description="[from date, to date] (screened_on: the screening date)")
    count: str | None = Field(None, description="a list field whose items are counted")
    value: str | None = Field(None, description="count: the item value counted")
    values: list[str] | None = Field(None, description="count: the item values counted")
    description: str | None = Field(None, description="what the value means, in a few words")

    @model_validator(mode="after")
    def _one_form(self) -> DerivedDeclaration:
        given = [form for form in Form if getattr(self, form.value) is not None]
        if len(given) != 1:
            forms = ", ".join(Form)
            raise ValueError(f"give exactly one form ({forms}); found {', '.join(given) or 'none'}")
        form = given[0]
        if form is not Form.COUNT:
            operands = getattr(self, form.value)
            if len(operands) != 2:
                raise ValueError(f"{form} takes two fields: {form}: [first, second]")
        if form is not Form.COUNT and (self.value is not None or self.values is not None):
            raise ValueError("only a count has 'value' or 'values'")
        if self.value is not None and self.values is not None:
            raise ValueError("give 'value' or 'values', not both")
        return self

    @property
    def form(self) -> Form:
        return next(form for form in Form if getattr(self, form.value) is not None)

    @property
    def operands(self) -> tuple[str, ...]:
        found = getattr(self, self.form.value)
        return (found,) if isinstance(found, str) else tuple(found)


@dataclass(frozen=True)
class DeclaredDerived:
    """A declared derived value, checked: its form, its operands and (for a count) the values counted."""

    name: str
    form: Form
    operands: tuple[str, ...]
    values: tuple[str, ...] = ()
    description: str = ""
    enumerated: bool = True  #: count: the list holds enumerated values (else text, counted case-insensitively)
    per_unit: bool = False  #: ratio: an amount of money per something, in whole dollars (else a capped ratio)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The profile fields it is computed from (what to find out when it is missing)."""
        return tuple(p for p in self.operands if p != SCREENED_ON)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a derived value, or None."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a derived value name: use lower-case words, digits and '_' (arr_to_raised)"
    if name in Derived.model_fields:
        return f"{name!r} is a built-in derived value; a declared one cannot replace it"
    if name.startswith("model_") or hasattr(BaseModel, name):
        return f"{name!r} is a reserved word; choose another name"
    return None


def counted(declaration: DerivedDeclaration, enumerated: bool) -> tuple[str, ...]:
    """The item values a count compares: canonical as enumerated items are (``Series A`` → ``series-a``),
    or lower-cased text for a list of text."""
    raw = declaration.values if declaration.values is not None else [declaration.value] if declaration.value else []
    return tuple(_enum_text(v) if enumerated else v.strip().lower() for v in raw)


# --- computing ---------------------------------------------------------------------------------


def calculator(specs: tuple[DeclaredDerived, ...]) -> Callable[[Profile, dt.date], dict[str, Any]]:
    """A function computing every declared value of one profile; readers are chosen once."""
    steps = [(spec.name, _step(spec)) for spec in specs]

    def compute(profile: Profile, on: dt.date) -> dict[str, Any]:
        return {name: step(profile, on) for name, step in steps}

    return compute


def _step(spec: DeclaredDerived) -> Callable[[Profile, dt.date], Any]:
    readers = [_reader(path) for path in spec.operands]
    if spec.form is Form.COUNT:
        read = readers[0]
        wanted = frozenset(v.lower() for v in spec.values)

        def count(profile: Profile, on: dt.date) -> int | None:
            items = read(profile, on)
            if items is None:
                return None
            if not wanted:
                return len(items)
            return sum(str(item).strip().lower() in wanted for item in items)

        return count
    first, second = readers
    combine = _per_unit if spec.per_unit else _COMBINE[spec.form]

    def pair(profile: Profile, on: dt.date) -> Any:
        a, b = first(profile, on), second(profile, on)
        return None if a is None or b is None else combine(a, b)

    return pair


def _reader(path: str) -> Callable[[Profile, dt.date], Any]:
    if path == SCREENED_ON:
        return lambda _profile, on: on
    get = operator.attrgetter(path)

    def read(profile: Profile, _on: dt.date) -> Any:
        try:
            return get(profile)
        except AttributeError:  # inside an optional section that is absent (funding.last_round)
            return None

    return read


def _ratio(a: Any, b: Any) -> float | None:
    if not b:
        return None
    return round(max(-RATIO_CAP, min(RATIO_CAP, float(a) / float(b))), 4)


def _per_unit(a: Any, b: Any) -> int | None:
    return round(a / b) if b else None


def _difference(a: Any, b: Any) -> Any:
    result = a - b
    return result if isinstance(result, int) else round(result, 6)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date(int(value), 1, 1)  # a year: its first day


def _months(a: Any, b: Any) -> int:
    return months_between(_date(a), _date(b))


def _days(a: Any, b: Any) -> int:
    return (_date(b) - _date(a)).days


_COMBINE: dict[Form, Callable[[Any, Any], Any]] = {
    Form.RATIO: _ratio,
    Form.DIFFERENCE: _difference,
    Form.MONTHS: _months,
    Form.DAYS: _days,
}


@functools.cache
def derived_model(specs: tuple[DeclaredDerived, ...]) -> type[Derived]:
    """The derived-values model that also holds the declared values (the built-in one without any)."""
    if not specs:
        return Derived
    members: dict[str, Any] = {
        spec.name: (int | float | None, Field(None, description=spec.description)) for spec in specs
    }
    model: type[Derived] = create_model("Derived", __base__=Derived, __module__=__name__, **members)
    return model
