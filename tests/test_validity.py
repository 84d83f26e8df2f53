"""A screening's window (screening.validity): at every date inside it, the screening comes out the same.

The window is what lets a batch re-run skip a record; skipping is sound only if screening the
record again at any date of the window gives the stored bytes. So the property is checked by
doing exactly that, on generated profiles with dates around the screening date, for the default
pack, the generic pack and a pack that compares every date-dependent value every way. And the
premises: every plausibility check and derived value not bounded by the module ignores the date.
"""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.profile import plausibility
from screener.profile.checks import CHECKS
from screener.profile.derived import derived_values, months_between
from screener.profile.model import Profile, Stage
from screener.rules.rulebook import Rulebook, load_rulebook
from screener.screening import validity
from screener.screening.screener import Screener
from screener.screening.validity import Steadiness, Window
from screener.store.stored import StoredResults
from tests.conftest import ON, examples

DATES_PACK = """\
name: dates
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
fields:
  funding.first_round_on: {type: date, description: the first round's date}
derived:
  weeks_since_update: {days: [as_of, screened_on]}
  months_to_next_review: {months: [screened_on, funding.first_round_on]}
  days_to_first_round: {days: [screened_on, funding.first_round_on]}
  months_since_first: {months: [funding.first_round_on, screened_on]}
rules:
"""
_COMPARISONS = [
    "derived.data_age_days > 30", "derived.data_age_days <= 400", "derived.data_age_days == 100",
    "derived.data_age_days != 7", "derived.months_since_founding >= 24", "derived.months_since_founding < 120",
    "derived.months_since_founding in [12, 36, 60]", "derived.months_since_last_round > 18",
    "derived.months_since_last_round == 0", "derived.weeks_since_update >= 14",
    "derived.months_to_next_review < 3", "derived.months_to_next_review >= -2", "derived.days_to_first_round > 10",
    "derived.days_to_first_round == -5", "derived.months_since_first <= 6", "derived.months_since_first != 1",
    "present(derived.months_since_founding) and team.size > 3",
]  # fmt: skip


def _dates_pack(tmp: Path) -> Rulebook:
    rules = "".join(
        f"  - {{id: r{i}, title: R{i}, category: dates, points: {i % 5 + 1}, when: {when!r}, rationale: x}}\n"
        for i, when in enumerate(_COMPARISONS)
    )
    path = tmp / "dates.yaml"
    path.write_text(DATES_PACK + rules, encoding="utf-8")
    return load_rulebook(path)


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> dict[str, tuple[Rulebook, StoredResults, Steadiness]]:
    found = {}
    for name, book in {
        "default": load_rulebook(),
        "generic": load_rulebook("generic-seed"),
        "dates": _dates_pack(tmp_path_factory.mktemp("packs")),
    }.items():
        screener = Screener(book)
        found[name] = (book, StoredResults(screener), Steadiness(book))
    yield found
    for _, stored, _ in found.values():
        stored.screener.close()


def near(day: dt.date, days: int = 800) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=day - dt.timedelta(days=days), max_value=day + dt.timedelta(days=days))


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def dated(draw: st.DrawFn, declared: bool) -> Profile:
    founded = draw(maybe(near(ON, 4000) | st.integers(min_value=ON.year - 12, max_value=ON.year + 2)))
    last_round = draw(maybe(near(ON)))
    data = {
        "name": "Dated",
        "as_of": draw(maybe(near(ON))),
        "founded": founded,
        "stage": draw(maybe(st.sampled_from(list(Stage)))),
        "team": {"size": draw(maybe(st.integers(min_value=0, max_value=40)))},
        "funding": {
            "total_raised": draw(maybe(st.integers(min_value=0, max_value=10**9))),
            "last_round": {"date": last_round} if last_round else None,
        },
    }
    if declared:
        data["funding"]["first_round_on"] = draw(maybe(near(ON)))
    return Profile.model_validate(data) if not declared else data  # type: ignore[return-value]


def _profile(book: Rulebook, data: object) -> Profile:
    if isinstance(data, Profile):
        return data
    return book.schema.profile_model.model_validate(data)


def _inside(window: Window, on: dt.date, pick: int) -> list[dt.date]:
    """The window's edges, ``on`` and a few days inside (the window may be unbounded)."""
    first = max(window.first, on - dt.timedelta(days=5000))
    last = min(window.last, on + dt.timedelta(days=5000))
    span = (last - first).days
    days = {first, last, on, first + dt.timedelta(days=pick % (span + 1)), last - dt.timedelta(days=pick % (span + 1))}
    return sorted(days)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(), pack=st.sampled_from(["default", "generic", "dates"]), on=near(ON, 400), pick=st.integers(0, 10**6)
)
def test_a_screening_comes_out_the_same_at_every_date_of_its_window(packs, data, pack, on, pick) -> None:
    book, stored, steady = packs[pack]
    profile = _profile(book, data.draw(dated(declared=pack == "dates")))
    screened = stored(profile, on)
    window = steady.window(profile, on, screened.checks)
    assert on in window
    for day in _inside(window, on, pick):
        assert stored(profile, day) == screened, (day, window)


def test_a_window_ends_where_a_rule_changes(packs) -> None:
    _, stored, steady = packs["default"]  # the stale-facts rule: derived.data_age_days > 365
    profile = Profile.model_validate({"name": "Aged", "as_of": "2026-01-01", "team": {"size": 4}})
    on = dt.date(2026, 6, 1)
    window = steady.window(profile, on, stored(profile, on).checks)
    # 365 days old on its last day; from the day after as_of (a day of margin on each profile date).
    assert window == Window(dt.date(2026, 1, 2), dt.date(2027, 1, 1))
    assert stored(profile, window.last + dt.timedelta(days=1)) != stored(profile, on)  # 366 days: stale
    assert stored(profile, dt.date(2025, 12, 31)) != stored(profile, on)  # as_of in the future


def test_a_profile_without_dates_holds_for_every_date(packs) -> None:
    steady = packs["generic"][2]
    profile = Profile.model_validate({"name": "Timeless", "team": {"size": 4}})
    assert steady.window(profile, ON, []) == Window(validity._FIRST, validity._LAST)


def test_a_warning_that_names_the_screening_date_holds_for_that_date_only(packs) -> None:
    _, stored, steady = packs["default"]
    profile = Profile.model_validate({"name": "Future", "as_of": "2027-03-01"})
    screened = stored(profile, ON)
    assert screened.checks == ["as-of-in-future"]
    assert steady.window(profile, ON, screened.checks) == Window.only(ON)


# --- the premises --------------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(profile=dated(declared=False), first=near(ON, 3000), second=near(ON, 3000))
def test_checks_not_listed_as_reading_the_date_ignore_it(profile, first, second) -> None:
    for check_id, run in plausibility._ORDER:
        if check_id not in validity.DATE_CHECKS:
            assert run(profile, first) == run(profile, second), check_id


def test_every_check_that_reads_the_date_is_listed() -> None:
    # A check function names its date parameter "_on" when it does not read it.
    for check_id, run in plausibility._ORDER:
        reads_date = next(iter(list(inspect.signature(run).parameters)[1:]), "_on") != "_on"
        assert reads_date == (check_id in validity.DATE_CHECKS), check_id
    assert set(validity.DATE_CHECKS) <= set(CHECKS)


@settings(max_examples=examples(300), deadline=None)
@given(profile=dated(declared=False), first=near(ON, 3000), second=near(ON, 3000))
def test_derived_values_not_bounded_by_the_module_ignore_the_date(profile, first, second) -> None:
    counted = {path.removeprefix("derived.") for path in validity._BUILT_IN}
    a, b = derived_values(profile, first), derived_values(profile, second)
    assert {k: v for k, v in a.items() if k not in counted} == {k: v for k, v in b.items() if k not in counted}


def test_months_reach_inverts_months_between() -> None:
    starts = [dt.date(2024, m, d) for m in (1, 2, 3, 12) for d in (1, 15, 28, 29, 30, 31) if d <= 29 or m != 2]
    starts += [dt.date(2023, 1, 31), dt.date(2024, 2, 29), dt.date(1, 1, 1)]
    for start in starts:
        for months in range(-30, 31):
            reach = validity._months_reach(start, months)
            if reach <= validity._FIRST:
                continue
            assert months_between(start, reach) >= months, (start, months)
            assert months_between(start, reach - dt.timedelta(days=1)) < months, (start, months)


def test_falling_months_and_days_are_found_exactly() -> None:
    end = dt.date(2026, 3, 31)
    for value in range(-20, 21):
        for form, count in (
            (validity.Form.MONTHS, lambda d: months_between(d, end)),
            (validity.Form.DAYS, lambda d: (end - d).days),
        ):
            falls = validity._falls(form, end, value)
            assert count(falls) <= value and count(falls - dt.timedelta(days=1)) > value, (form, value)
