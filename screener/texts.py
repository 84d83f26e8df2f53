"""How Screener writes for people: the Jinja environments of everything a user writes as a
template (rule rationales, memos), and the money and percent formats every output shares.

Every environment is sandboxed (a template cannot reach Python internals), strict (a
misspelt variable raises instead of rendering a blank) and escapes HTML in every value it
prints, so a company name such as ``<script>`` cannot inject markup into a memo that is later
shown as HTML. Markdown memos get ``<``, ``>`` and ``&`` escaped, and the Markdown syntax that
could restructure a memo (``|``, ``[``, ``]``, ``*``, backticks, a leading ``#``) backslash-escaped;
HTML templates get full autoescaping.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import functools
import hashlib
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, Template
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, safe_range
from markupsafe import Markup

from screener import cache

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


#: Bounds on rendering one template (a memo, a rule's rationale or question): a template is code
#: a user wrote, and nested ``range(100000)`` loops would otherwise run for hours.
MAX_RENDER_CHARS = 5_000_000  #: characters of output
MAX_RENDER_STEPS = 1_000_000  #: items all the ``range()`` loops of one render may go through
MAX_RENDER_SECONDS = 10.0  #: wall-clock time (checked at each step and output piece, and by a timer)
#: The largest sequence ``"x" * n`` or ``[...] * n`` may make, and the largest power ``a ** b`` may take.
MAX_REPEAT = MAX_RENDER_CHARS
MAX_POWER_DIGITS = 10_000


class RenderLimit(Exception):
    """A render went past one of the bounds above; the message says which."""


@dataclasses.dataclass
class _Budget:
    deadline: float
    steps: int = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("render_budget", default=None)


def _spend(steps: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.steps += steps
    if budget.steps > MAX_RENDER_STEPS:
        raise RenderLimit(f"rendering stopped: its range() loops went past {MAX_RENDER_STEPS:,} steps")
    if budget.steps % 1024 == 0 and time.monotonic() > budget.deadline:
        raise _late()


def _late() -> RenderLimit:
    return RenderLimit(f"rendering stopped: it took longer than {MAX_RENDER_SECONDS:g} s")


class _Counted:
    """A sandboxed ``range()`` whose every item counts against the render's budget."""

    def __init__(self, numbers: range):
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    def __contains__(self, item: object) -> bool:
        return item in self.numbers

    def __iter__(self) -> Iterator[int]:
        for number in self.numbers:
            _spend()
            yield number


def _bounded_range(*args: int) -> _Counted:
    return _Counted(safe_range(*args))


class _Bounded(SandboxedEnvironment):
    """Jinja's sandbox, with whatever could build a huge value bounded before it is built: the
    repetition and power operators (Jinja's operator intercepting), and the widths that padding
    methods, filters and format specifications pad to (``"x".ljust(10**10)`` would take 10 GB)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format, keeping the method
        text = getattr(method, "__self__", None)
        if isinstance(text, str):
            name = getattr(method, "__name__", "")
            if name in _PADDING:
                _check_width(kwargs.get("width", args[0] if args else 0))
            elif name == "expandtabs":
                size = kwargs.get("tabsize", args[0] if args else 8)
                _check_width(size * text.count("\t") if _whole(size) else 0)
            elif name in {"format", "format_map"}:
                _check_format(text, args, kwargs, name == "format_map")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            if isinstance(left, str):
                _check_printf(left, right)
        elif operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if _whole(count) and isinstance(sequence, str | list | tuple) and len(sequence) * count > MAX_REPEAT:
                    raise RenderLimit(
                        f"rendering stopped: a repetition of {count:,} would make more than {MAX_REPEAT:,} items"
                    )
        elif operator == "**" and _whole(left) and _whole(right) and right > 0 and abs(left) > 1:
            digits = right * abs(left).bit_length() * 0.302  # log10(2): a lower bound on the result's digits
            if digits > MAX_POWER_DIGITS:
                raise RenderLimit(f"rendering stopped: {left} ** {right} has more than {MAX_POWER_DIGITS:,} digits")
        return super().call_binop(context, operator, left, right)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The str methods whose first argument is the width of what they return.
_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})
#: A printf-style conversion's width and precision (``%-20.5s``; ``*`` takes one from the values).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?")
#: The width and precision in a ``str.format`` specification (``>20``, ``0=+12,.3f``).
_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?")


def _check_width(width: Any) -> None:
    if _whole(width) and width > MAX_RENDER_CHARS:
        raise RenderLimit(f"rendering stopped: a width of {width:,} is more than {MAX_RENDER_CHARS:,} characters")


def _check_printf(text: str, values: Any) -> None:
    starred = False
    for match in _PRINTF.finditer(text):
        for number in match.groups():
            if number == "*":
                starred = True
            elif number:
                _check_width(int(number))
    if starred:  # the widths come from the values: any whole number among them may be one
        for value in values if isinstance(values, tuple) else (values,):
            _check_width(value)


def _check_format(text: str, args: tuple[Any, ...], kwargs: dict[str, Any], mapping: bool) -> None:
    """The widths of every field of a format string, nested ones (``{0:>{1}}``) as the values give them."""
    import string

    values = args[0] if mapping and args else kwargs

    def resolved(spec: str) -> str:
        # A nested field names a value by position or key: look it up as str.format would.
        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            try:
                value = args[int(key)] if key.isdigit() else values[key]
            except (IndexError, KeyError, TypeError):
                return ""
            return str(value) if _whole(value) else ""

        return re.sub(r"\{([^{}]*)\}", one, spec)

    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # a malformed format string fails on its own, without building anything
    for _, field, spec, _ in fields:
        if field is None or not spec:
            continue
        match = _SPEC.match(resolved(spec))
        if match:
            for number in match.groups():
                if number:
                    _check_width(int(number))


def _center(value: Any, width: int = 80) -> str:
    """Jinja's ``center`` filter, its width bounded."""
    from jinja2.filters import do_center

    _check_width(width)
    return do_center(value, width)


def _indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    """Jinja's ``indent`` filter, its width bounded (a string width is text the template holds)."""
    from jinja2.filters import do_indent

    _check_width(width)
    return do_indent(value, width, first, blank)


def _printf_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's ``format`` filter (printf style), with its widths bounded."""
    from jinja2.filters import do_format

    _check_printf(str(value), args or tuple(kwargs.values()))
    return do_format(value, *args, **kwargs)


def render(template: Template, context: dict[str, Any]) -> str:
    """Render ``template`` within the bounds above (:class:`RenderLimit` past one).

    Output is gathered piece by piece so that its size is bounded as it grows; loops over
    ``range()`` count their steps; and, on the main thread, a timer stops a render that runs past
    :data:`MAX_RENDER_SECONDS` whatever it is doing. A render inside another shares its budget.
    """
    if _BUDGET.get() is not None:
        return template.render(context)
    budget = _Budget(time.monotonic() + MAX_RENDER_SECONDS)
    token = _BUDGET.set(budget)
    timer = _Timer() if _Timer.usable() else None
    try:
        pieces: list[str] = []
        size = 0
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_RENDER_CHARS:
                raise RenderLimit(f"rendering stopped: its output passed {MAX_RENDER_CHARS:,} characters")
            if time.monotonic() > budget.deadline:
                raise _late()
            pieces.append(piece)
        return "".join(pieces)
    finally:
        if timer is not None:
            timer.stop()
        _BUDGET.reset(token)


class _Timer:
    """SIGALRM after :data:`MAX_RENDER_SECONDS`, raising :class:`RenderLimit` in the render (main thread only)."""

    @staticmethod
    def usable() -> bool:
        return (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
        )

    def __init__(self) -> None:
        def expire(_signum: int, _frame: Any) -> None:
            raise _late()

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, MAX_RENDER_SECONDS)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


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
            bytecode = self.env.bytecode_cache
            if isinstance(bytecode, cache.TemplateCache):
                self._template = bytecode.compiled(self.env, self.source)
            else:
                self._template = self.env.from_string(self.source)
        return render(self._template, context)


def environment(loader: BaseLoader | None = None, *, html: bool = False, escape: bool = True) -> SandboxedEnvironment:
    """A sandboxed, strict environment with Screener's filters (money, percent, number, date, signed, label).

    ``html=True`` autoescapes fully (for HTML output); otherwise only ``<``, ``>`` and ``&`` are
    escaped, which keeps Markdown readable while making it inert as HTML. ``escape=False`` is for
    text that is escaped where it is finally output (rule rationales end up in memos, JSON and
    the terminal alike, so they stay plain text until then).
    """
    env = _Bounded(
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
    env.globals["range"] = _bounded_range
    env.filters.update(center=_center, indent=_indent, format=_printf_filter)
    # Compiling the memo templates cost a tenth of a screen's start-up: their code is cached in the
    # user's cache folder, keyed on this module's code too (its filters and escaping shape the output).
    env.bytecode_cache = cache.TemplateCache(env, _source_digest())
    return env


@functools.cache
def _source_digest() -> bytes:
    return hashlib.sha256(Path(__file__).read_bytes()).digest()


def format_money(dollars: int | None) -> str:
    """Human form of a dollar amount to three significant figures: ``$5.2M``, ``$643K``, ``$1.53B``."""
    if dollars is None:
        return "n/a"
    if dollars < 0:
        return f"-{format_money(-dollars)}"
    if dollars >= 10**15:
        return f"${dollars / 10**12:,.0f}T"
    for bound, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if dollars >= bound * 0.9995:  # 999,600 is "$1M", not "$1000K"
            value = dollars / bound
            # Three significant figures: $643K, $12.5M, $1.53B; more would be false precision in a memo.
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            text = f"{value:.{digits}f}"
            text = text.rstrip("0").rstrip(".") if "." in text else text
            return f"${text}{suffix}"
    return f"${dollars}"


def format_percent(fraction: float | None, digits: int | None = None) -> str:
    """Human form of a fraction: ``72%``, ``2.5%`` (one decimal below 10%), ``99.9%``.

    A value that is not exactly 100% is never shown as 100% (a 0.999 gross margin is not 100%).
    """
    if fraction is None:
        return "n/a"
    value = fraction * 100
    if digits is None:
        digits = 1 if abs(value) < 10 and round(value, 1) != round(value) else 0
    text = f"{value:.{digits}f}"
    if abs(float(text)) == 100 and abs(value) < 100:
        text = f"{99.9 if value > 0 else -99.9:.1f}"
    return f"{text}%"
