"""How long a screening stays true: the screening dates over which it would come out the same.

A batch re-run skips a record whose stored screening would come out byte-identical. The record's
content and the pack's are compared by hash; the screening date is the one input that changes
from run to run, so each screening carries its :class:`Window`, the dates it holds for. The
window is proved, not guessed: the date reaches a screening in two ways only, and both are
bounded here.

1. **Derived values that count from the screening date** (the built-in months since founding,
   months since the last round and data age in days; a pack's declared ``months``/``days``
   values with a ``screened_on`` operand). Each is monotonic in the date and moves by whole
   units, and the pack compares it only with constants: so every comparison keeps its truth
   while the value stays inside the same *cell* between consecutive constants, and the dates of
   that cell follow by inverting the count exactly (:func:`_months_reach`, :func:`_days_reach`).
   A value no rule compares cannot change an outcome (derived values are not stored). A value
   present or missing is so whatever the date.
2. **Plausibility checks that read the date** (:data:`DATE_CHECKS`): each compares the screening
   date with one of the profile's own dates (founding, ``as_of``, the last round), so their
   outcome is the same between consecutive such dates. One that fires names the date in its
   message, so a screening with such a warning holds for its own date only.

Anything this module cannot bound (a declared value of another form reading ``screened_on``, a
value the engine sees that is not an integer) makes the window the screening date alone:
nothing is skipped that might have changed. ``tests/test_validity.py`` checks the window against
screening again at dates inside it, and that every other check and derived value ignores the date.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from screener.profile.derived import months_between
from screener.profile.formulas import SCREENED_ON, Form
from screener.profile.model import Profile
from screener.rules import conditions
from screener.rules.conditions import Compare, Op
from screener.rules.rulebook import Rulebook
from screener.rules.schema import Kind

#: The first and last dates a window can name (one day inside ``date``'s range, so a day can be added).
_FIRST = dt.date.min + dt.timedelta(days=1)
_LAST = dt.date.max - dt.timedelta(days=1)
_FIRST_DAY, _LAST_DAY = _FIRST.toordinal(), _LAST.toordinal()


@dataclass(frozen=True, slots=True)
class Window:
    """Screening dates from ``first`` to ``last`` (both included) over which a screening holds."""

    first: dt.date
    last: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first <= day <= self.last

    @classmethod
    def only(cls, day: dt.date) -> Window:
        return cls(day, day)


#: Checks whose outcome depends on the screening date, and the profile dates each compares it with.
#: Those marked True name the screening date in their message.
DATE_CHECKS: dict[str, bool] = {
    "founded-in-future": True,
    "founded-after-as-of": False,
    "as-of-in-future": True,
    "round-in-future": True,
}

#: Built-in derived values counted from a profile date to the screening date: how they count, and the date.
_BUILT_IN: dict[str, tuple[Form, Callable[[Profile], dt.date | None]]] = {
    "derived.months_since_founding": (Form.MONTHS, lambda p: _as_date(p.founded)),
    "derived.months_since_last_round": (
        Form.MONTHS,
        lambda p: p.funding.last_round.date if p.funding.last_round else None,
    ),
    "derived.data_age_days": (Form.DAYS, lambda p: p.as_of),
}


@dataclass(frozen=True, slots=True)
class _Counter:
    """A derived value the pack compares that counts between a profile date and the screening date."""

    form: Form
    start: Callable[[Profile], dt.date | None]  #: the profile's date it counts from (or to)
    rising: bool  #: the screening date is the later operand: the value grows with it
    cuts: tuple[int, ...]  #: sorted: values at which some comparison may change its truth


class Steadiness:
    """Windows of the screenings of one rule pack (built once per pack, used per profile)."""

    def __init__(self, rulebook: Rulebook):
        compared: dict[str, list[Compare]] = {}
        for rule in rulebook.rules:
            for node in conditions.walk(rule.condition):
                if isinstance(node, Compare):
                    compared.setdefault(node.field.path, []).append(node)
        self._counters: list[_Counter] = []
        self._unbounded = False  #: some comparison reads the date in a way not bounded here
        declared = {f"derived.{spec.name}": spec for spec in rulebook.schema.formulas}
        for path, compares in compared.items():
            if path in _BUILT_IN:
                form, start = _BUILT_IN[path]
                self._add(form, start, True, compares)
                continue
            spec = declared.get(path)
            if spec is None or SCREENED_ON not in spec.operands:
                continue
            first, second = spec.operands
            if spec.form not in (Form.MONTHS, Form.DAYS):
                self._unbounded = True
                continue
            if first == second:
                continue  # both operands the screening date: always 0
            other = second if first == SCREENED_ON else first
            self._add(spec.form, _reader(other), first != SCREENED_ON, compares)

    def _add(
        self, form: Form, start: Callable[[Profile], dt.date | None], rising: bool, compares: list[Compare]
    ) -> None:
        if any(c.field.kind is not Kind.INTEGER or type(c.encoded) not in (int, float) for c in compares):
            self._unbounded = True
            return
        self._counters.append(_Counter(form, start, rising, tuple(sorted(set(_cuts(compares))))))

    def window(self, profile: Profile, on: dt.date, fired: Iterable[str] = ()) -> Window:
        """The dates over which ``profile``'s screening as of ``on`` holds; ``fired``: the checks that warned."""
        if self._unbounded or on < _FIRST or on > _LAST:
            return Window.only(on)
        for check in fired:
            if DATE_CHECKS.get(check):
                return Window.only(on)
        # In day numbers (ordinals): this runs for every record of a batch.
        day = on.toordinal()
        first, last = _FIRST_DAY, _LAST_DAY
        founded = profile.founded
        last_round = profile.funding.last_round
        for date in (founded, profile.as_of, last_round.date if last_round is not None else None):
            if date is None:
                continue
            if isinstance(date, int):  # a founding year: compared by year
                cuts: tuple[int, ...] = (_january(date), _january(date) + 1, _january(date + 1), _january(date + 1) + 1)
            else:
                number = date.toordinal()
                cuts = (number, number + 1)
            for cut in cuts:  # a date-reading check may change between cut - 1 and cut
                if cut <= day:
                    first = max(first, cut)
                else:
                    last = min(last, cut - 1)
        for counter in self._counters:
            start = counter.start(profile)
            if start is not None:  # else the value is missing whatever the date
                low, high = _counter_days(counter, start, on)
                first, last = max(first, low), min(last, high)
        return Window(dt.date.fromordinal(first), dt.date.fromordinal(last))


@functools.cache
def _january(year: int) -> int:
    """The day number of 1 January of ``year``."""
    return dt.date(min(max(year, _FIRST.year + 1), _LAST.year - 1), 1, 1).toordinal()


def _cuts(compares: list[Compare]) -> Iterable[int]:
    """The integers ``b`` at which ``value op c`` may differ between ``b - 1`` and ``b``."""
    for compare in compares:
        c = compare.encoded
        if type(c) is int:
            yield from {Op.LT: (c,), Op.GE: (c,), Op.LE: (c + 1,), Op.GT: (c + 1,)}.get(compare.op, (c, c + 1))
        else:  # a fractional constant against whole values: every neighbour, to be safe
            low = math.floor(c)
            yield from (low, low + 1, low + 2)


def _cell(cuts: tuple[int, ...], value: int) -> tuple[int | None, int | None]:
    """The whole values around ``value`` over which no comparison changes: (lowest, highest), None: unbounded."""
    at = bisect.bisect_right(cuts, value)
    return (cuts[at - 1] if at else None), (cuts[at] - 1 if at < len(cuts) else None)


def _counter_days(counter: _Counter, start: dt.date, on: dt.date) -> tuple[int, int]:
    """The screening days (ordinals) over which ``counter`` stays in the cell it is in on ``on``."""
    count = _count(counter.form, start, on, counter.rising)
    low, high = _cell(counter.cuts, count)
    if counter.form is Form.DAYS and counter.rising:  # the common case, in plain arithmetic
        origin = start.toordinal()
        return (origin + low if low is not None else _FIRST_DAY), (origin + high if high is not None else _LAST_DAY)
    reach = _months_reach if counter.form is Form.MONTHS else _days_reach
    if counter.rising:  # the value grows with the date: from where it reaches low to before high + 1
        first = reach(start, low).toordinal() if low is not None else _FIRST_DAY
        last = reach(start, high + 1).toordinal() - 1 if high is not None else _LAST_DAY
    else:  # it shrinks: from where it falls to high, to before it falls below low
        first = _falls(counter.form, start, high).toordinal() if high is not None else _FIRST_DAY
        last = _falls(counter.form, start, low - 1).toordinal() - 1 if low is not None else _LAST_DAY
    return max(first, _FIRST_DAY), min(last, _LAST_DAY)


def _count(form: Form, start: dt.date, on: dt.date, rising: bool) -> int:
    if form is Form.MONTHS:
        return months_between(start, on) if rising else months_between(on, start)
    return (on - start).days if rising else (start - on).days


def _months_reach(start: dt.date, months: int) -> dt.date:
    """The first date ``d`` with ``months_between(start, d) >= months``."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if year < _FIRST.year:
        return _FIRST
    if year > _LAST.year:
        return _LAST + dt.timedelta(days=1)
    if start.day <= calendar.monthrange(year, month)[1]:
        return dt.date(year, month, start.day)
    # The day does not exist in that month: the count gets there on the first of the next.
    return dt.date(year + month // 12, month % 12 + 1, 1) if year < _LAST.year or month < 12 else _LAST


def _days_reach(start: dt.date, days: int) -> dt.date:
    """The first date ``d`` with ``(d - start).days >= days``."""
    ordinal = start.toordinal() + days
    return dt.date.fromordinal(min(max(ordinal, _FIRST.toordinal()), _LAST.toordinal() + 1))


def _falls(form: Form, end: dt.date, value: int) -> dt.date:
    """The first date ``d`` at which the count from ``d`` to ``end`` is at most ``value`` (it shrinks as ``d`` grows)."""
    if form is Form.DAYS:
        return _days_reach(end, -value)
    # months_between(d, end) does not grow as d grows: search the first date where it is <= value.
    low, high = _FIRST.toordinal(), _LAST.toordinal() + 1
    while low < high:
        middle = (low + high) // 2
        if months_between(dt.date.fromordinal(min(middle, _LAST.toordinal())), end) <= value:
            high = middle
        else:
            low = middle + 1
    return dt.date.fromordinal(min(low, _LAST.toordinal() + 1))


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date(int(value), 1, 1)  # a year: counted from its first day


def _reader(path: str) -> Callable[[Profile], dt.date | None]:
    import operator

    get = operator.attrgetter(path)

    def read(profile: Profile) -> dt.date | None:
        try:
            return _as_date(get(profile))
        except AttributeError:  # inside an optional section that is absent
            return None

    return read
