"""Screener: screen startups against an investment thesis written as declarative rules.

The public API, and only that::

    from screener import load_profile, load_rulebook, screen
    result = screen(load_profile("company.yaml"), load_rulebook())
    print(result.verdict, result.score)

Names are imported on first use so that ``screen --help`` does not pay for pydantic and
durable-rules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screener.errors import ScreenerError
    from screener.profile.model import Profile, load_profile
    from screener.rules.rulebook import Rulebook, load_rulebook
    from screener.screening.result import ScreeningResult, Verdict
    from screener.screening.screener import Screener, screen

_EXPORTS = {
    "Profile": "screener.profile.model",
    "load_profile": "screener.profile.model",
    "Rulebook": "screener.rules.rulebook",
    "load_rulebook": "screener.rules.rulebook",
    "Screener": "screener.screening.screener",
    "screen": "screener.screening.screener",
    "ScreeningResult": "screener.screening.result",
    "Verdict": "screener.screening.result",
    "ScreenerError": "screener.errors",
}
__all__ = [  # noqa: RUF022 (grouped by module, like _EXPORTS)
    "Profile",
    "load_profile",
    "Rulebook",
    "load_rulebook",
    "Screener",
    "screen",
    "ScreeningResult",
    "Verdict",
    "ScreenerError",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'screener' has no attribute {name!r}")
