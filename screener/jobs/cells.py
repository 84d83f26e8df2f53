"""Reading one CSV cell as the value its profile field expects, with a short reason when it cannot be read.

What a cell becomes depends on the field it fills (its kind in the pack's catalogue), so a
mapping rarely says more than ``field:``. Money and fractions go through the same parsers as
a YAML profile (``$70M``, ``1.1B``, ``€3M``, ``62%``): the cell's text is handed to the profile
model as it is, unless a ``unit`` scales a plain number. Dates are read by the formats a column
names, in order, and otherwise only in ISO form: ``03/04/2012`` is never guessed to be March or
April. Dates without a format, and countries, are read by the profile's own parsers
(:mod:`screener.profile.parsing`), so a cell means what the same text means in a YAML profile. Flags (``1``/``0``, ``yes``/``no``, ``true``/``false``) are what ``combine`` reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from screener.profile.parsing import country_code, parse_date

#: Cell texts that mean "no value" (after stripping spaces, compared in lower case).
MISSING = frozenset({"", "-", "—", "n/a", "na", "null"})
TRUE = frozenset({"1", "true", "yes", "y", "t"})
FALSE = frozenset({"0", "false", "no", "n", "f"})

SCALES = {
    "dollars": Decimal(1),
    "thousands": Decimal(1_000),
    "millions": Decimal(1_000_000),
    "billions": Decimal(1_000_000_000),
}


class CellError(ValueError):
    """A cell that cannot be read as its field's value; the message says why."""


def is_missing(text: str | None) -> bool:
    return text is None or text.strip().lower() in MISSING


def flag(text: str) -> bool:
    """A yes/no cell."""
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    if _PLAIN_NUMBER.fullmatch(lowered) and Decimal(lowered) in (0, 1):
        return Decimal(lowered) == 1  # "1.0" from a spreadsheet
    raise CellError(f"{text!r} is not yes/no (1/0, true/false, yes/no)")


def money(text: str, unit: str | None) -> Any:
    """Money: a plain number scaled by ``unit``; anything else is left to the profile's money parser."""
    plain = text.replace(",", "").replace("_", "").strip()
    if unit in SCALES and _PLAIN_NUMBER.fullmatch(plain):
        return int((Decimal(plain) * SCALES[unit]).to_integral_value())
    if _PLAIN_NUMBER.fullmatch(plain):
        number = Decimal(plain)
        return int(number) if number == number.to_integral_value() else float(number)
    return text.strip()  # '$70M', '1.1B', '€3M': parsed (and converted) as a profile's money is


def fraction(text: str, unit: str | None) -> Any:
    """A fraction: ``62%`` or ``0.62``; with ``unit: percent`` a plain ``62`` is 62%."""
    stripped = text.strip()
    if unit == "percent" and not stripped.endswith("%"):
        return f"{stripped}%"
    if _PLAIN_NUMBER.fullmatch(stripped):
        return float(stripped)
    return stripped  # '62%': parsed as a profile's fraction is


def integer(text: str) -> int:
    number = decimal(text)
    if number != number.to_integral_value():
        raise CellError(f"{text!r} is not a whole number")
    return int(number)


def number(text: str) -> float:
    return float(decimal(text))


def decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", "").strip())
    except InvalidOperation:
        raise CellError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise CellError(f"{text!r} is not a finite number")
    return value


def span(text: str, end: str) -> str:
    """``"11-50"`` → one end of the range (``lower``, ``upper`` or ``middle``); ``"10000+"`` → 10000."""
    match = re.fullmatch(r"\s*([\d,]+)\s*(?:-|–|to)\s*([\d,]+)\s*", text)
    if match:
        low, high = (decimal(g) for g in match.groups())
        return str({"lower": low, "upper": high, "middle": (low + high) // 2}[end])
    return text.rstrip("+").strip()


def date(text: str, formats: Sequence[str]) -> dt.date:
    """A date by the column's formats, tried in order; without any, ISO only (never a guessed day/month order)."""
    stripped = text.strip()
    if formats:
        for form in formats:
            try:
                return dt.datetime.strptime(stripped, form).date()
            except ValueError:
                continue
        raise CellError(f"{text!r} matches none of the column's date formats ({', '.join(formats)})")
    try:
        return parse_date(stripped, unordered="give the column a format, e.g. format: '%m/%d/%Y'")
    except ValueError as exc:
        raise CellError(str(exc)) from None


def year(text: str, formats: Sequence[str]) -> int | dt.date:
    """A year, or a whole date when the cell gives one (a year field keeps what it is told)."""
    stripped = text.strip()
    if re.fullmatch(r"\d{4}", stripped):
        return int(stripped)
    if _PLAIN_NUMBER.fullmatch(stripped) and Decimal(stripped) == Decimal(stripped).to_integral_value():
        return int(Decimal(stripped))  # "2012.0" from a spreadsheet
    return date(stripped, formats)


def country(text: str) -> str:
    """An ISO 3166 alpha-2 code from alpha-2, alpha-3 or a country's name, as a profile reads it."""
    try:
        return country_code(text)
    except ValueError as exc:
        raise CellError(str(exc)) from None


def items(text: str, separator: str | None) -> list[str]:
    """The items of a list cell (missing items dropped)."""
    parts = text.split(separator) if separator else [text]
    return [p.strip() for p in parts if not is_missing(p)]


def reader(
    reading: str,
    values: Mapping[Any, Any],
    formats: Sequence[str],
    range_end: str | None,
    unit: str | None,
    split: str | None,
) -> Callable[[str], Any]:
    """How a column's cells are read, decided once: its value map first (any case), then by ``reading``
    (what its field is: money, fraction, integer, number, boolean, date, year, country, list or text)."""
    mapped = {str(k).strip().lower(): v for k, v in values.items()}

    def one(text: str) -> Any:
        key = text.strip().lower()
        if key in mapped:
            return mapped[key]
        if range_end and reading in {"integer", "number", "money"}:
            text = span(text, range_end)
        if reading == "money":
            return money(text, unit)
        if reading == "fraction":
            return fraction(text, unit)
        if reading == "integer":
            return integer(text)
        if reading == "number":
            return number(text)
        if reading == "boolean":
            return flag(text)
        if reading == "date":
            return date(text, formats)
        if reading == "year":
            return year(text, formats)
        if reading == "country":
            return country(text)
        return text.strip()

    if reading == "list":

        def many(text: str) -> Any:
            found = [one(item) for item in items(text, split or ",")]
            return [v for v in found if v is not None] or None

        return many
    if split:

        def first(text: str) -> Any:
            found = items(text, split)
            return one(found[0]) if found else None

        return first
    return one


class CombineError(CellError):
    """A cell of one of the columns combined that cannot be read: which column, and its text."""

    def __init__(self, column: str, text: str, message: str):
        super().__init__(message)
        self.column, self.text = column, text


def combine(
    pick: str,
    columns: Sequence[str],
    value_of: Callable[[str], Any] | None,
    otherwise: Any,
    split: str | None,
    formats: Sequence[str],
    reading: str,
    row: Mapping[Any, Any],
) -> Any:
    """One field from several columns (see the mapping's ``combine``); None when it cannot be known.

    With ``value_of`` (or for ``any``, ``count``, ``all``) the columns are flags; without, for
    ``sum``, ``first`` and ``last``, they are values of the field.
    """
    texts = [(column, row.get(column)) for column in columns]
    present = [(c, t) for c, t in texts if t is not None and not is_missing(t)]
    if not present:
        return None
    if pick == "sum" or (pick in {"first", "last"} and value_of is None):
        found = []
        for column, text in present:
            if split:
                parts = items(text, split)
                if not parts:
                    continue
                text = parts[0]
            try:
                found.append(_scalar(reading, text, formats, adding=pick == "sum"))
            except CellError as exc:
                raise CombineError(column, text, str(exc)) from None
        if not found:
            return None
        if pick == "sum":
            return sum(found)
        return found[0] if pick == "first" else found[-1]
    truth = []
    for column, text in present:
        try:
            truth.append((column, flag(text)))
        except CellError as exc:
            raise CombineError(column, text, str(exc)) from None
    true = [column for column, yes in truth if yes]
    complete = len(present) == len(texts)
    if pick == "any":
        return True if true else (False if complete else None)
    if pick == "count":
        return len(true) if true or complete else None
    assert value_of is not None  # the mapping requires values for all, first and last of flags
    if pick == "all":
        return [value_of(c) for c in true] if true or complete else None
    if not true:
        return otherwise if complete else None
    return value_of(true[0] if pick == "first" else true[-1])


def _scalar(reading: str, text: str, formats: Sequence[str], adding: bool) -> Any:
    if reading == "money":
        value = money(text, None)
        if adding and not isinstance(value, int | float):
            raise CellError(f"{text!r} is not a plain amount (the columns are added as numbers)")
        return value
    if reading == "fraction" and not adding:
        return fraction(text, None)
    if reading == "integer":
        return integer(text)
    if reading in {"number", "fraction"}:
        return number(text)
    if reading == "date":
        return date(text, formats)
    if reading == "year":
        return year(text, formats)
    if reading == "boolean":
        return flag(text)
    if reading == "country":
        return country(text)
    return text.strip()


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
