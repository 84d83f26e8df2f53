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
    from screener.profile import Profile, load_profile
    from screener.result import ScreeningResult, Verdict
    from screener.rulebook import Rulebook, load_rulebook
    from screener.screening import Screener, screen

_EXPORTS = {
    "Profile": "screener.profile",
    "load_profile": "screener.profile",
    "Rulebook": "screener.rulebook",
    "load_rulebook": "screener.rulebook",
    "Screener": "screener.screening",
    "screen": "screener.screening",
    "ScreeningResult": "screener.result",
    "Verdict": "screener.result",
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
