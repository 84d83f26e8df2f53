"""Reading one CSV cell as the value its profile field expects, with a short reason when it cannot be read.

What a cell becomes depends on the field it fills (its kind in the pack's catalogue), so a
mapping rarely says more than ``field:``. Money and fractions go through the same parsers as
a YAML profile (``$70M``, ``1.1B``, ``€3M``, ``62%``): the cell's text is handed to the profile
model as it is, unless a ``unit`` scales a plain number. Dates are read by the formats a column
names, in order, and otherwise only in ISO form: ``03/04/2012`` is never guessed to be March or
April. Flags (``1``/``0``, ``yes``/``no``, ``true``/``false``) are what ``combine`` reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

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
    for pattern, parse in _ISO:
        if re.fullmatch(pattern, stripped):
            try:
                return parse(stripped)
            except ValueError:
                break
    hint = ""
    if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", stripped):
        hint = "; day and month order is not guessed: give the column a format, e.g. format: '%m/%d/%Y'"
    raise CellError(f"{text!r} is not a date in YYYY-MM-DD form{hint}")


def year(text: str, formats: Sequence[str]) -> int | dt.date:
    """A year, or a whole date when the cell gives one (a year field keeps what it is told)."""
    stripped = text.strip()
    if re.fullmatch(r"\d{4}", stripped):
        return int(stripped)
    if _PLAIN_NUMBER.fullmatch(stripped) and Decimal(stripped) == Decimal(stripped).to_integral_value():
        return int(Decimal(stripped))  # "2012.0" from a spreadsheet
    return date(stripped, formats)


def country(text: str) -> str:
    """An ISO 3166 alpha-2 code from alpha-2 or alpha-3 text (the common alpha-3 codes)."""
    code = text.strip().upper()
    if len(code) == 2 and code.isalpha():
        return code
    if code in ALPHA3:
        return ALPHA3[code]
    raise CellError(f"{text!r} is not a known ISO 3166 country code")


def items(text: str, separator: str | None) -> list[str]:
    """The items of a list cell (missing items dropped)."""
    parts = text.split(separator) if separator else [text]
    return [p.strip() for p in parts if not is_missing(p)]


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_ISO = (
    (r"\d{4}-\d{2}-\d{2}", dt.date.fromisoformat),
    (r"\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?", lambda t: dt.date.fromisoformat(t[:10])),
    (r"\d{4}-\d{2}", lambda t: dt.date.fromisoformat(f"{t}-01")),
    (r"\d{4}", lambda t: dt.date(int(t), 1, 1)),
)

# The alpha-3 codes that make up nearly all venture deal flow; extend as needed.
ALPHA3 = {
    "USA": "US", "GBR": "GB", "DEU": "DE", "FRA": "FR", "CAN": "CA", "ISR": "IL", "IND": "IN", "SGP": "SG",
    "NLD": "NL", "SWE": "SE", "CHE": "CH", "ESP": "ES", "ITA": "IT", "IRL": "IE", "DNK": "DK", "NOR": "NO",
    "FIN": "FI", "BEL": "BE", "AUT": "AT", "POL": "PL", "PRT": "PT", "CZE": "CZ", "EST": "EE", "LTU": "LT",
    "LVA": "LV", "ROU": "RO", "UKR": "UA", "GRC": "GR", "HUN": "HU", "BGR": "BG", "HRV": "HR", "SVN": "SI",
    "SVK": "SK", "LUX": "LU", "ISL": "IS", "TUR": "TR", "ARE": "AE", "SAU": "SA", "QAT": "QA", "EGY": "EG",
    "NGA": "NG", "KEN": "KE", "ZAF": "ZA", "MAR": "MA", "CHN": "CN", "HKG": "HK", "TWN": "TW", "JPN": "JP",
    "KOR": "KR", "AUS": "AU", "NZL": "NZ", "IDN": "ID", "VNM": "VN", "THA": "TH", "MYS": "MY", "PHL": "PH",
    "PAK": "PK", "BGD": "BD", "BRA": "BR", "MEX": "MX", "ARG": "AR", "CHL": "CL", "COL": "CO", "PER": "PE",
    "URY": "UY", "RUS": "RU", "CYP": "CY", "MLT": "MT",
}  # fmt: skip
