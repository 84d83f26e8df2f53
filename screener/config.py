"""Configuration: exchange rates and defaults from ``screener.toml`` and the command line.

``screener.toml`` is read from ``--config FILE``, else from the current folder if present::

    [fx]            # USD per unit of each currency, used to convert non-USD money
    EUR = 1.08
    GBP = 1.27

    [defaults]
    database = "sqlite:///screenings.db"   # like --db / $SCREENER_DATABASE_URL
    memos = "memos"                        # like --memos

    [checks]
    strict = true                          # like --strict: data warnings are errors

Command-line ``--fx EUR=1.1`` overrides the file.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from screener.errors import ConfigError, Location, Problem, did_you_mean
from screener.files import open_regular

CONFIG_FILE = "screener.toml"
#: Largest configuration file read, in bytes (a real one is a few hundred).
MAX_CONFIG_BYTES = 1_000_000


def _currency(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"{code!r} is not an ISO currency code such as EUR")
    return code


def _rate(rate: float) -> float:
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"the rate must be a positive number of US dollars per unit, not {rate}")
    return rate


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str | None = None
    memos: str | None = None
    templates: str | None = None  #: a folder of memo templates searched before the packaged ones


class Checks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strict: bool = False  #: plausibility warnings are errors (as --strict)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fx: dict[Annotated[str, AfterValidator(_currency)], Annotated[float, AfterValidator(_rate)]] = Field(
        default_factory=dict
    )
    defaults: Defaults = Field(default_factory=Defaults)
    checks: Checks = Field(default_factory=Checks)
    _file: str = PrivateAttr(default=CONFIG_FILE)
    _lines: dict[tuple[str, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)

    def strict(self, option: bool | None) -> bool:
        """Whether data warnings are errors: ``--strict``/``--no-strict`` when given, else ``[checks] strict``."""
        return self.checks.strict if option is None else option

    def where(self, *path: str) -> Location:
        """Where a setting was written (``where("defaults", "templates")``), for a message about its value."""
        return _locate(self._file, self._lines, path)


def load_settings(path: Path | None = None, fx: Iterable[str] = ()) -> Settings:
    """Settings from ``path`` (or ./screener.toml when it exists), with ``--fx`` overrides applied.

    Every problem is located (``screener.toml:3:1: defaults.default: unknown field 'default';
    did you mean 'database'?``), all of them at once.
    """
    file = path if path is not None else Path(CONFIG_FILE)
    data: dict[str, object] = {}
    lines: dict[tuple[str, ...], tuple[int, int]] = {}
    if path is not None or file.exists():
        try:
            # A regular file only, and a bounded read: a FIFO named screener.toml would block forever.
            with open_regular(file, "rb", error=ConfigError) as handle:
                raw = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read the configuration: {exc}", Location(str(file))) from None
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"file is larger than the {MAX_CONFIG_BYTES:,} accepted (bytes)", Location(str(file)))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text (byte {exc.start})", Location(str(file))) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message, line, column = _decode_error(exc)
            raise ConfigError(f"invalid TOML: {message}", Location(str(file), line, column)) from None
        lines = _key_lines(text)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = tuple(str(p) for p in error["loc"] if p != "[key]")
            problems.append(Problem(_message(error, where), _locate(str(file), lines, where), ".".join(where)))
        raise ConfigError(problems) from None
    settings._file, settings._lines = str(file), lines
    overrides = dict(parse_fx(item) for item in fx)
    if overrides:
        updated = Settings(fx={**settings.fx, **overrides}, defaults=settings.defaults, checks=settings.checks)
        updated._file, updated._lines = settings._file, settings._lines
        settings = updated
    return settings


def _message(error: Any, path: tuple[str, ...]) -> str:
    if error["type"] == "extra_forbidden":
        model: type[BaseModel] = Settings
        for part in path[:-1]:
            annotation = model.model_fields[part].annotation if part in model.model_fields else None
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                break
            model = annotation
        known = sorted(model.model_fields)
        hint = did_you_mean(path[-1], known) or f"; known here: {', '.join(known)}"
        return f"unknown field {path[-1]!r}{hint}"
    return str(error["msg"]).removeprefix("Value error, ")


def _locate(file: str, lines: dict[tuple[str, ...], tuple[int, int]], path: tuple[str, ...]) -> Location:
    probe = path
    while probe:
        if probe in lines:
            return Location(file, *lines[probe])
        probe = probe[:-1]
    return Location(file)


_HEADER = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"(\s*)((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted))


def _key_lines(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """The line and column of each table header and key of a TOML document, by path.

    tomllib keeps no positions; a configuration file is small and flat (tables of keys), so the
    lines are read again for where each key was written. Multi-line values are not keys.
    """
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    table: tuple[str, ...] = ()
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_string = not in_string
            continue
        if in_string:
            continue
        if header := _HEADER.match(line):
            table = _parts(header[1])
            found.setdefault(table, (number, line.index("[") + 1))
        elif key := _KEY.match(line):
            found.setdefault((*table, *_parts(key[2])), (number, len(key[1]) + 1))
    return found


def _decode_error(exc: tomllib.TOMLDecodeError) -> tuple[str, int, int]:
    """tomllib's message without its "(at line L, column C)", and L and C."""
    text = str(exc)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", text)
    if match is None:
        return text, 0, 0
    return text[: match.start()], int(match[1]), int(match[2])


def parse_fx(text: str) -> tuple[str, float]:
    """Parse one ``--fx CUR=RATE`` option."""
    code, sep, value = text.partition("=")
    code = code.strip().upper()
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not sep or not re.fullmatch(r"[A-Z]{3}", code) or not math.isfinite(rate) or rate <= 0:
        raise ConfigError(f"--fx expects CUR=RATE with a positive rate in USD, e.g. EUR=1.08; got {text!r}")
    return code, rate
