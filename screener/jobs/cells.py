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
from collections.abc import Sequence
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


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
