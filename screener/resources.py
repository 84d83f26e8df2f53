"""Where the packaged rule packs and memo templates are.

In a wheel they are copied into ``screener/_data``; in a source checkout (or an editable
install) they are the top-level ``rules/`` and ``templates/`` folders beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def packaged(name: str) -> Path:
    """The folder of packaged ``rules`` or ``templates``."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
