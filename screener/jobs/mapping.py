"""CSV column mappings: which column fills which profile field, and how its text is read.

A mapping file is YAML, validated like every other document (unknown keys are errors, with a
location)::

    name: crunchbase
    columns:
      name: {field: name}
      funding_total_usd: {field: funding.total_raised, unit: dollars}
      category_list: {field: sector, split: "|"}          # "a|b" -> "a" (the first item)
      country_code: {field: hq_country, type: country}    # USA -> US
      founded_at: {field: founded, type: date}
      employee_count: {field: team.size, type: integer, range: upper}   # "11-50" -> 50
    ignore: [permalink, status]                           # known columns with no profile field

A cell that is empty or ``-`` means missing (the field is left out), never zero. A column in a
file that is neither mapped nor ignored is reported once per file. :func:`Mapping.apply` turns a
row into the nested dict a :class:`~screener.profile.model.Profile` is validated from, plus the cell
problems it met; :data:`MISSING` is the set of cell texts that mean "no value".
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from screener.errors import ConfigError, Location, ScreenerError, did_you_mean

#: Cell texts that mean "no value" (after stripping spaces).
MISSING = frozenset({"", "-", "—", "n/a", "N/A"})
BUILTIN = "crunchbase"

_SCALE = {
    "dollars": Decimal(1),
    "thousands": Decimal(1_000),
    "millions": Decimal(1_000_000),
    "billions": Decimal(1_000_000_000),
}


class Column(BaseModel):
    """How one CSV column fills one profile field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="dotted profile field path, e.g. funding.total_raised")
    type: Literal["text", "integer", "number", "date", "year", "country", "boolean"] = "text"
    unit: Literal["dollars", "thousands", "millions", "billions", "percent", "fraction"] | None = Field(
        None, description="money columns: the unit amounts are written in; fraction columns: percent or fraction"
    )
    split: str | None = Field(None, description="separator of a list cell; the first item is used")
    range: Literal["lower", "upper", "middle"] | None = Field(
        None, description='for "11-50" style cells: which end to use'
    )

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        known = profile_fields()
        if value not in known:
            raise ValueError(f"{value!r} is not a profile field{did_you_mean(value, sorted(known))}")
        return value


class Mapping(BaseModel):
    """A CSV mapping file: columns to fields, and the columns deliberately ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    description: str | None = None
    delimiter: str = Field(",", min_length=1, max_length=1)
    columns: dict[str, Column]
    ignore: list[str] = Field(default_factory=list)

    def unknown_columns(self, header: list[str]) -> list[str]:
        known = set(self.columns) | set(self.ignore)
        return [c for c in header if c not in known]

    def apply(self, row: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str]]]:
        """A row as nested profile data, the column each field came from, and (column, message) problems."""
        data: dict[str, Any] = {}
        origin: dict[str, str] = {}
        problems: list[tuple[str, str]] = []
        for column, spec in self.columns.items():
            text = row.get(column)
            if text is None or text.strip() in MISSING:
                continue
            try:
                value = convert(text.strip(), spec)
            except ValueError as exc:
                problems.append((column, str(exc)))
                continue
            if value is None:
                continue
            _put(data, spec.field, value)
            origin[spec.field] = column
        return data, origin, problems


def convert(text: str, spec: Column) -> Any:
    """One non-missing cell as the value its field expects (raises ValueError with a short reason)."""
    if spec.split:
        items = [t.strip() for t in text.split(spec.split) if t.strip() not in MISSING]
        if not items:
            return None
        text = items[0]
    if spec.range and spec.type in {"integer", "number"}:
        text = _range(text, spec.range)
    if spec.unit in _SCALE:
        number = _decimal(text)
        return int((number * _SCALE[spec.unit]).to_integral_value())
    if spec.unit == "percent":
        return f"{_decimal(text.rstrip('%').strip())}%"
    if spec.type == "integer":
        number = _decimal(text)
        if number != number.to_integral_value():
            raise ValueError(f"{text!r} is not a whole number")
        return int(number)
    if spec.type == "number":
        return float(_decimal(text))
    if spec.type == "date":
        return _date(text)
    if spec.type == "year":
        return _date(text).year if not re.fullmatch(r"\d{4}", text) else int(text)
    if spec.type == "country":
        return country_alpha2(text)
    if spec.type == "boolean":
        lowered = text.lower()
        if lowered in {"true", "yes", "y", "1"}:
            return True
        if lowered in {"false", "no", "n", "0"}:
            return False
        raise ValueError(f"{text!r} is not yes/no")
    return text


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.replace(",", "").replace("_", "").replace("$", "").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _range(text: str, end: str) -> str:
    match = re.fullmatch(r"\s*([\d,]+)\s*(?:-|–|to)\s*([\d,]+)\s*", text)
    if match:
        low, high = (_decimal(g) for g in match.groups())
        return str({"lower": low, "upper": high, "middle": (low + high) // 2}[end])
    return text.rstrip("+").strip()  # "10000+" means at least 10000


def _date(text: str) -> dt.date:
    for pattern, parse in (
        (r"\d{4}-\d{2}-\d{2}", dt.date.fromisoformat),
        (r"\d{4}-\d{2}", lambda t: dt.date.fromisoformat(f"{t}-01")),
        (r"\d{4}", lambda t: dt.date(int(t), 1, 1)),
        (r"\d{1,2}/\d{1,2}/\d{4}", lambda t: dt.datetime.strptime(t, "%m/%d/%Y").date()),
    ):
        if re.fullmatch(pattern, text):
            try:
                return parse(text)
            except ValueError:
                break
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD, YYYY-MM, YYYY or MM/DD/YYYY)")


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def country_alpha2(text: str) -> str:
    """An ISO 3166 alpha-2 code from alpha-2 or alpha-3 text (the common alpha-3 codes only)."""
    code = text.strip().upper()
    if len(code) == 2 and code.isalpha():
        return code
    if code in _ALPHA3:
        return _ALPHA3[code]
    raise ValueError(f"{text!r} is not a known ISO 3166 country code")


# The alpha-3 codes that make up nearly all venture deal flow; extend as needed.
_ALPHA3 = {
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


@functools.cache
def profile_fields() -> frozenset[str]:
    """Dotted paths a column may fill: every scalar profile field."""
    from screener.rules import schema

    return frozenset(p for p in schema.fields() if not p.startswith("derived.")) | {"name", "website", "notes"}


def load_mapping(path: Path | None) -> Mapping:
    """Read a mapping file (None: the built-in Crunchbase-style mapping), reporting every problem located."""
    from screener.profile.sources import load_document
    from screener.profile.validation import located_problems

    source = path if path is not None else packaged_mapping(BUILTIN)
    try:
        doc = load_document(source)
    except ScreenerError as exc:  # unreadable: a configuration problem of --map, not a bad record
        raise ConfigError(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise ConfigError("a mapping file must be a mapping with 'columns'", Location(str(source), 1, 1))
    try:
        return Mapping.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(located_problems(doc, exc, Mapping)) from None


def packaged_mapping(name: str) -> Path:
    """A mapping shipped inside the package (``screener/jobs/mappings/NAME.yaml``)."""
    return Path(__file__).with_name("mappings") / f"{name}.yaml"
