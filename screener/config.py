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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from screener.errors import ConfigError, Location, Problem

CONFIG_FILE = "screener.toml"


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

    fx: dict[str, float] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    checks: Checks = Field(default_factory=Checks)

    def strict(self, option: bool | None) -> bool:
        """Whether data warnings are errors: ``--strict``/``--no-strict`` when given, else ``[checks] strict``."""
        return self.checks.strict if option is None else option

    @field_validator("fx")
    @classmethod
    def _rates(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"{code!r} is not an ISO currency code such as EUR")
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"the rate for {code} must be a positive number")
        return rates


def load_settings(path: Path | None = None, fx: Iterable[str] = ()) -> Settings:
    """Settings from ``path`` (or ./screener.toml when it exists), with ``--fx`` overrides applied."""
    file = path if path is not None else Path(CONFIG_FILE)
    data: dict[str, object] = {}
    if path is not None or file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("configuration file not found", Location(str(file))) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", Location(str(file))) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the configuration: {exc}", Location(str(file))) from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [Problem(e["msg"], Location(str(file)), ".".join(map(str, e["loc"]))) for e in exc.errors()]
        ) from None
    overrides = dict(parse_fx(item) for item in fx)
    if overrides:
        settings = Settings(fx={**settings.fx, **overrides}, defaults=settings.defaults, checks=settings.checks)
    return settings


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
