"""Jinja environments for everything a user writes as a template: rule rationales and memos.

Every environment is sandboxed (a template cannot reach Python internals), strict (a
misspelt variable raises instead of rendering a blank) and escapes HTML in every value it
prints, so a company name such as ``<script>`` cannot inject markup into a memo that is later
shown as HTML. Markdown memos get ``<``, ``>`` and ``&`` escaped, and the Markdown syntax that
could restructure a memo (``|``, ``[``, ``]``, ``*``, backticks, a leading ``#``) backslash-escaped;
HTML templates get full autoescaping.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from screener.profile.units import format_money, format_percent

_ANGLES = str.maketrans({"<": "&lt;", ">": "&gt;"})
_BARE_AMPERSAND = re.compile(r"&(?!#?\w+;)")
_MARKDOWN_SYNTAX = re.compile(r"(?<!\\)([|\[\]*`]|^#)")


def _escape_markdown(value: Any) -> Any:
    # Idempotent (an existing entity or backslash escape is left alone) because a macro's
    # output is printed again by its caller. Angle brackets, the only way to make HTML, are
    # always escaped; a pipe would split a table cell ("Acme | AI"); brackets, stars, backticks
    # and a leading hash would turn company text into links, emphasis, code or a heading.
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return _MARKDOWN_SYNTAX.sub(r"\\\1", _BARE_AMPERSAND.sub("&amp;", value).translate(_ANGLES))
    return value


#: How enumerated profile values read in a sentence (``{{ model.approach | label }}``).
LABELS = {
    "pre-seed": "pre-seed", "seed": "seed", "series-a": "Series A", "series-b": "Series B",
    "series-c": "Series C", "growth": "growth stage",
    "fine-tune": "fine-tuning", "distill": "distillation", "merge": "model merging", "rag": "retrieval (RAG)",
    "prompting": "prompting", "pretrain": "pre-training its own model", "api-wrapper": "a wrapper over a closed API",
    "none": "none", "low": "low", "medium": "medium", "high": "high",
    "usage": "usage-based", "seat": "per seat", "license": "licence fees", "open-core": "open core",
    "frontier-lab": "frontier lab", "big-tech": "big tech",
}  # fmt: skip


def label(value: Any) -> str:
    """An enumerated value as words; any other value as it is."""
    text = str(getattr(value, "value", value))
    return LABELS.get(text, text)


def _number(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _signed(value: int | float) -> str:
    """Points with their sign, as a memo shows them: +10, -2, 0."""
    return f"{value:+g}" if value else "0"


def _date(value: dt.date | str | None) -> str:
    return "n/a" if value is None else str(value)


class Snippet:
    """A checked template that is compiled on first render.

    A rule pack holds dozens of rationale snippets and a screen renders only those of the rules
    that matched; compiling them all up front cost a tenth of a second at every start.
    """

    def __init__(self, env: SandboxedEnvironment, source: str):
        self.env = env
        self.source = source
        self._template: Template | None = None

    def render(self, context: dict[str, Any]) -> str:
        if self._template is None:
            self._template = self.env.from_string(self.source)
        return self._template.render(context)


def environment(loader: BaseLoader | None = None, *, html: bool = False, escape: bool = True) -> SandboxedEnvironment:
    """A sandboxed, strict environment with Screener's filters (money, percent, number, date, signed, label).

    ``html=True`` autoescapes fully (for HTML output); otherwise only ``<``, ``>`` and ``&`` are
    escaped, which keeps Markdown readable while making it inert as HTML. ``escape=False`` is for
    text that is escaped where it is finally output (rule rationales end up in memos, JSON and
    the terminal alike, so they stay plain text until then).
    """
    env = SandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=html,
        finalize=_escape_markdown if escape and not html else None,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=format_money, percent=format_percent, number=_number, date=_date, signed=_signed, label=label
    )
    return env
