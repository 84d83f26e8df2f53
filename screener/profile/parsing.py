"""How the text of a date, a country and a funding stage is read: one parser each.

The single source for profiles (YAML, JSON, JSON Lines) and CSV mappings, so that a value means
the same wherever it comes from: ``2024-07`` is a date in a YAML profile as in a CSV cell,
``USA`` and ``Germany`` are countries in both, and ``UK`` is refused in both with the code it
stands for. Each parser raises ``ValueError`` with a short message that names what is accepted;
pydantic validators and the CSV mapping turn it into a located problem.

Countries are ISO 3166-1 as the ``pycountry`` library keeps them (every assigned code, with the
English names); a few English names in everyday use that ISO does not list (``Russia``,
``Turkey``, ``Holland``) are accepted as the country they name.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import orjson

from screener import cache
from screener.errors import did_you_mean

# --- dates ----------------------------------------------------------------------------------

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")
_DAY_MONTH = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")

#: How to write a date whose day and month order cannot be told (``03/04/2012``), in a profile.
WRITE_ISO = "write it as YYYY-MM-DD"


def parse_date(value: Any, unordered: str = WRITE_ISO) -> dt.date:
    """A date from a date, a datetime, a year, or ISO text: ``2024-07-15``, ``2024-07``, ``2024``.

    A month is its first day and a year its 1 January, as deal data often gives no more. A time
    of day after an ISO date is dropped (``2024-07-15T10:00:00Z`` is 15 July 2024, as written).
    ``03/04/2012`` is never guessed to be March or April: the message ends with ``unordered``,
    what to do instead (a CSV column can name its format).
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a date in YYYY-MM-DD form, not true/false")
    if isinstance(value, int):
        return _day(value, 1, 1, str(value))
    if not isinstance(value, str):
        raise ValueError("expected a date in YYYY-MM-DD form")
    text = value.strip()
    if match := _ISO_DAY.fullmatch(text):
        return _day(int(match[1]), int(match[2]), int(match[3]), text)
    if match := _ISO_MONTH.fullmatch(text):
        return _day(int(match[1]), int(match[2]), 1, text)
    if _YEAR.fullmatch(text):
        return _day(int(text), 1, 1, text)
    hint = f"; day and month order is not guessed: {unordered}" if _DAY_MONTH.fullmatch(text) else ""
    raise ValueError(f"{text!r} is not a date in YYYY-MM-DD form{hint}")


def _day(year: int, month: int, day: int, text: str) -> dt.date:
    shown = text if len(text) <= 30 else f"{text[:20]}… ({len(text)} characters)"
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{shown!r} is not a date: {exc}") from None
    except OverflowError:  # a year beyond any C integer (10**400)
        raise ValueError(f"{shown!r} is not a date: year is out of range") from None


# --- countries ------------------------------------------------------------------------------

#: Codes that look like ISO 3166 alpha-2 but are not assigned, and the code they stand for.
_RESERVED = {"UK": "GB", "EL": "GR"}

#: English names in everyday use that ISO 3166 (and so pycountry) does not list.
_EVERYDAY_NAMES = {
    "russia": "RU",
    "turkey": "TR",
    "holland": "NL",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
    "burma": "MM",
    "uae": "AE",
    "czech republic": "CZ",
    "korea": "KR",
}


def country_code(value: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country given by its alpha-2 or alpha-3 code or its English name.

    ``de``, ``DEU``, ``Germany`` → ``DE``. ``UK`` is refused with ``GB``, ``XX`` is refused.
    """
    text = " ".join(str(value).split())
    return _country(text)


@functools.lru_cache(maxsize=4096)
def _country(text: str) -> str:
    codes = _codes()
    upper = text.upper()
    if upper in codes["alpha_2"]:
        return upper
    if upper in _RESERVED:
        code = _RESERVED[upper]
        raise ValueError(f"{text!r} is not an ISO 3166 country code; did you mean {code!r} ({codes['alpha_2'][code]})?")
    if len(upper) == 3 and upper in codes["alpha_3"]:
        return codes["alpha_3"][upper]
    lowered = text.lower()
    if lowered in codes["names"]:
        return codes["names"][lowered]
    if lowered in _EVERYDAY_NAMES:
        return _EVERYDAY_NAMES[lowered]
    if len(text) <= 3:
        raise ValueError(
            f"{text!r} is not an ISO 3166 country code (alpha-2 such as 'US' or 'DE', or alpha-3 such as 'USA')"
        )
    import difflib  # here: only a misspelt country needs it

    close = difflib.get_close_matches(lowered, list(codes["names"]), n=1, cutoff=0.8)
    hint = (
        f"; did you mean {codes['names'][close[0]]!r} ({codes['alpha_2'][codes['names'][close[0]]]})?" if close else ""
    )
    raise ValueError(f"{text!r} is not a country: give its ISO 3166 code (such as 'US' or 'DE') or its name{hint}")


@functools.cache
def _codes() -> dict[str, dict[str, str]]:
    """alpha-2 → name, alpha-3 → alpha-2, and each lower-cased English name → alpha-2, from pycountry.

    Importing pycountry (it asks the installed packages for its own version) and reading its
    database cost more than the rest of a screen's validation, so the tables are kept in the
    start-up cache (:mod:`screener.cache`), keyed on pycountry's database file (path, size, time),
    which is found without importing it.
    """
    name = _countries_key()
    cached = cache.read("countries", name) if name else None
    if cached is not None:
        try:
            tables = orjson.loads(cached)
        except orjson.JSONDecodeError:
            tables = None
        if _tables(tables):
            return tables  # type: ignore[no-any-return]
    tables = _codes_from_pycountry()
    if name:
        cache.write("countries", name, orjson.dumps(tables))
    return tables


def _countries_key() -> str | None:
    import importlib.machinery
    import os

    spec = importlib.machinery.PathFinder.find_spec("pycountry")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "databases", "iso3166-1.json")  # noqa: PTH118
    try:
        info = os.stat(path)  # noqa: PTH116
    except OSError:
        return None
    return cache.key(b"countries", path.encode(), str(info.st_size).encode(), str(info.st_mtime_ns).encode())


def _tables(data: Any) -> bool:
    """Whether ``data`` has the shape :func:`_codes` returns (a cache entry is checked before it is used)."""
    return (
        isinstance(data, dict)
        and set(data) == {"alpha_2", "alpha_3", "names"}
        and all(
            isinstance(table, dict) and all(type(k) is str and type(v) is str for k, v in table.items())
            for table in data.values()
        )
        and bool(data["alpha_2"])
    )


def _codes_from_pycountry() -> dict[str, dict[str, str]]:
    import pycountry

    alpha_2: dict[str, str] = {}
    alpha_3: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = str(country.alpha_2)
        alpha_2[code] = str(getattr(country, "common_name", None) or country.name)
        alpha_3[str(country.alpha_3)] = code
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                names[str(name).lower()] = code
    return {"alpha_2": alpha_2, "alpha_3": alpha_3, "names": names}


# --- stages ---------------------------------------------------------------------------------

_LATER_SERIES = re.compile(r"series-?([d-z])(?:\d|\+|-?\d)*")
_SERIES = re.compile(r"series-?([a-c])(?:\d|\+|-?\d|-?extension|-?ext)*")
_STAGE_WORDS = {
    "angel": "pre-seed",
    "friends-and-family": "pre-seed",
    "preseed": "pre-seed",
    "pre-series-a": "seed",
    "seed-round": "seed",
    "seed+": "seed",
    "seed-extension": "seed",
    "late-stage": "growth",
    "late": "growth",
    "expansion": "growth",
    "private-equity": "growth",
    "pre-ipo": "growth",
    "ipo": "growth",
    "post-ipo": "growth",
}


def stage_hint(text: str, stages: list[str]) -> str:
    """The "did you mean" that ends the message about a stage that is not one of ``stages``.

    Stages are ordered, so a later round than the pack knows is its last stage (``Series D`` is
    ``growth``, not the ``series-c`` it is spelt like) and a variant of a round is that round
    (``Series A2``, ``seed extension``).
    """
    normalised = re.sub(r"[\s_]+", "-", text.strip().lower())
    if _LATER_SERIES.fullmatch(normalised) and "growth" in stages:
        return "; did you mean 'growth' (every round after series-c)?"
    if (match := _SERIES.fullmatch(normalised)) and f"series-{match[1]}" in stages:
        return f"; did you mean 'series-{match[1]}'?"
    if normalised in _STAGE_WORDS and _STAGE_WORDS[normalised] in stages:
        return f"; did you mean {_STAGE_WORDS[normalised]!r}?"
    return did_you_mean(normalised, stages)
