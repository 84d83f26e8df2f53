"""Every threshold a user relies on, at the threshold and just past it, through the real engine.

Verdict cut-offs, ``min_coverage``, knockouts on thin profiles, money and percent rounding (fractional
dollars, foreign currencies) as rules compare them, and date arithmetic at month ends.
"""

from __future__ import annotations

import datetime as dt

import pytest

from screener.profile.derived import months_between
from screener.profile.model import Profile
from screener.profile.units import parse_money
from screener.rules.rulebook import load_rulebook
from screener.screening.result import Outcome, Verdict
from screener.screening.screener import Screener
from tests.conftest import ON


def pack(rules: str, strong_fit: float = 75, review: float = 40, min_coverage: float = 0.5) -> str:
    return (
        f"name: boundaries\nversion: 1.0.0\nthresholds: {{strong_fit: {strong_fit}, review: {review}}}\n"
        f"min_coverage: {min_coverage}\nrules:\n{rules}"
    )


# Three rules of one point each: one, two or three matched give 33.3, 66.7 and 100.0.
THREE = """
  - {id: lean, title: Lean, category: team, points: 1, when: team.size <= 10, rationale: r}
  - {id: open, title: Open, category: model, points: 1, when: model.open_weights, rationale: r}
  - {id: ttc, title: TTC, category: model, points: 1, when: model.test_time_compute, rationale: r}
"""


def screen(write, text: str, on: dt.date = ON, rates: dict[str, float] | None = None, **fields):
    with Screener(load_rulebook(write("pack.yaml", text))) as screener:
        profile = Profile.model_validate({"name": "T", **fields}, context={"rates": rates or {}})
        return screener.screen(profile, on)


def matched(result) -> set[str]:
    return {r.id for r in result.rules if r.outcome is Outcome.MATCHED}


TWO_OF_THREE = {"team": {"size": 5}, "model": {"open_weights": True, "test_time_compute": False}}
ONE_OF_THREE = {"team": {"size": 50}, "model": {"open_weights": True, "test_time_compute": False}}


@pytest.mark.parametrize(
    ("strong_fit", "verdict"),
    [(66.7, Verdict.STRONG_FIT), (66.6, Verdict.STRONG_FIT), (66.8, Verdict.REVIEW)],
)
def test_strong_fit_starts_at_its_threshold(write, strong_fit: float, verdict: Verdict) -> None:
    result = screen(write, pack(THREE, strong_fit=strong_fit), **TWO_OF_THREE)
    assert (result.score, result.verdict, result.notes) == (66.7, verdict, [])


@pytest.mark.parametrize(
    ("review", "verdict"),
    [(33.3, Verdict.REVIEW), (33.2, Verdict.REVIEW), (33.4, Verdict.PASS)],
)
def test_review_starts_at_its_threshold_and_below_it_is_pass(write, review: float, verdict: Verdict) -> None:
    result = screen(write, pack(THREE, strong_fit=90, review=review), **ONE_OF_THREE)
    assert (result.score, result.verdict, result.notes) == (33.3, verdict, [])


def test_the_ends_of_the_scale(write) -> None:
    every = {"team": {"size": 5}, "model": {"open_weights": True, "test_time_compute": True}}
    none = {"team": {"size": 50}, "model": {"open_weights": False, "test_time_compute": False}}
    top = screen(write, pack(THREE, strong_fit=100, review=100), **every)
    assert (top.score, top.verdict) == (100.0, Verdict.STRONG_FIT)
    bottom = screen(write, pack(THREE, strong_fit=0, review=0), **none)
    assert (bottom.score, bottom.verdict) == (0.0, Verdict.STRONG_FIT)  # a 0 threshold is met by every score
    assert screen(write, pack(THREE, strong_fit=1, review=0.1), **none).verdict is Verdict.PASS


NEGATIVE = """
  - {id: lean, title: Lean, category: team, points: 3, when: team.size <= 10, rationale: r}
  - {id: huge, title: Huge, category: team, points: -1, when: team.size > 100, rationale: r}
"""


@pytest.mark.parametrize(("size", "score", "points"), [(5, 100.0, 3), (50, 25.0, 0), (500, 0.0, -1)])
def test_penalties_set_the_bottom_of_the_range(write, size: int, score: float, points: int) -> None:
    # worst -1, best +3: earning 0 of that range of 4 is 25.
    result = screen(write, pack(NEGATIVE), team={"size": size})
    assert (result.score, result.points) == (score, points)


# Two rules of equal weight: one of them evaluable is exactly half the pack's weight.
HALF = """
  - {id: lean, title: Lean, category: team, points: 4, when: team.size <= 10, rationale: r}
  - {id: margin, title: Margin, category: economics, points: 4, when: traction.gross_margin >= 0.6, rationale: r}
"""


@pytest.mark.parametrize(
    ("min_coverage", "verdict"), [(0.5, Verdict.STRONG_FIT), (0.49, Verdict.STRONG_FIT), (0.51, Verdict.REVIEW)]
)
def test_min_coverage_is_met_at_exactly_its_value(write, min_coverage: float, verdict: Verdict) -> None:
    result = screen(write, pack(HALF, min_coverage=min_coverage), team={"size": 5})
    assert (result.coverage, result.score, result.verdict) == (0.5, 100.0, verdict)
    # Half the weight is open, so the range says the verdict could change (test_score_range holds its wording).
    notes = [n for n in result.notes if not n.startswith("verdict could change")]
    if verdict is Verdict.REVIEW:
        assert notes == [
            "only 50% of the pack's weight could be evaluated (minimum 51%): review until the open questions are answered"
        ]
    else:
        assert notes == []


def test_low_coverage_also_holds_back_a_pass(write) -> None:
    # The data supports neither a strong fit nor a pass: a low score on thin data is review too.
    result = screen(write, pack(HALF, min_coverage=0.51), team={"size": 50})
    assert (result.coverage, result.score, result.verdict) == (0.5, 0.0, Verdict.REVIEW)


KNOCKOUT = """
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 10, rationale: r}
  - {id: margin, title: Margin, category: economics, points: 10, when: traction.gross_margin >= 0.6, rationale: r}
  - {id: open, title: Open, category: model, points: 10, when: model.open_weights, rationale: r}
  - {id: wrapper, title: Wrapper, category: model, knockout: true, when: model.approach == "api-wrapper", rationale: r}
"""


def test_a_knockout_on_a_thin_profile_is_pass_not_review(write) -> None:
    # Only the knockout is evaluable: 10 of 40 weight, far below min_coverage; the knockout still decides.
    result = screen(write, pack(KNOCKOUT, min_coverage=0.9), model={"approach": "api-wrapper"})
    assert (result.coverage, result.knockouts) == (0.25, ["wrapper"])
    assert (result.verdict, result.notes) == (Verdict.PASS, ["knocked out by wrapper"])


def test_a_knockout_that_does_not_match_leaves_the_thin_profile_in_review(write) -> None:
    result = screen(write, pack(KNOCKOUT, min_coverage=0.9), model={"approach": "fine-tune"})
    assert (result.coverage, result.knockouts, result.verdict) == (0.25, [], Verdict.REVIEW)
    assert result.score == 0.0  # no scored rule evaluable


def test_a_knockout_overrides_a_perfect_score_at_full_coverage(write) -> None:
    fields = {"team": {"size": 5}, "traction": {"gross_margin": 0.9}}
    result = screen(write, pack(KNOCKOUT), **fields, model={"open_weights": True, "approach": "api-wrapper"})
    assert (result.coverage, result.score, result.verdict) == (1.0, 100.0, Verdict.PASS)


def test_a_knockout_weighs_as_much_as_the_heaviest_rule(write) -> None:
    result = screen(write, pack(KNOCKOUT), team={"size": 5}, model={"approach": "fine-tune"})
    assert result.coverage == 0.5  # lean (10) and the knockout (10) of 40


# --- money and percent as rules compare them ----------------------------------------------------------

MONEY = """
  - {id: big, title: Big, category: capital, points: 1, when: funding.total_raised >= "$300M", rationale: r}
  - {id: small, title: Small, category: capital, points: 1, when: funding.total_raised < "$1K", rationale: r}
"""


@pytest.mark.parametrize(
    ("raised", "rates", "rules"),
    [
        ("$300M", {}, {"big"}),
        ("$299,999,999.50", {}, {"big"}),  # rounds to the dollar: $300M exactly
        ("$299,999,999.49", {}, set()),
        (299_999_999.6, {}, {"big"}),
        ("€277.78M", {"EUR": 1.08}, {"big"}),  # $300,002,400
        ("€277.77M", {"EUR": 1.08}, set()),  # $299,991,600
        ("£240M", {"GBP": 1.25}, {"big"}),  # exactly $300M
        ("$999.49", {}, {"small"}),  # $999
        ("$999.50", {}, set()),  # $1,000: ties go to the even dollar
        ("€925.46", {"EUR": 1.08}, {"small"}),  # $999.4968 → $999
        ("€925.93", {"EUR": 1.08}, set()),  # $1,000.0044 → $1,000
    ],
)
def test_money_thresholds_with_cents_and_currencies(write, raised: object, rates: dict, rules: set[str]) -> None:
    result = screen(write, pack(MONEY), rates=rates, funding={"total_raised": raised})
    assert matched(result) == rules


@pytest.mark.parametrize(
    ("text", "rates", "dollars"),
    [
        ("$12.75", {}, 13),
        ("$12.25", {}, 12),
        ("$12.5", {}, 12),  # half to even: Decimal's rounding, as a bank rounds
        ("$13.5", {}, 14),
        (12.75, {}, 13),
        ("$0.49", {}, 0),
        ("€1.5", {"EUR": 1.08}, 2),  # 1.62
        ("€1.3", {"EUR": 1.08}, 1),  # 1.404
        ("¥1,000", {"JPY": 0.0067}, 7),  # 6.7
        ("£2.5M", {"GBP": 1.2345}, 3_086_250),
        ("CHF 0.5k", {"CHF": 1.13}, 565),
        ("1.2345678m", {}, 1_234_568),
        ("€4M", {"EUR": 1.1}, 4_400_000),  # exact: the rate is taken as written, not as the float 1.1
    ],
)
def test_money_rounds_to_the_nearest_dollar(text: object, rates: dict, dollars: int) -> None:
    assert parse_money(text, rates) == dollars


MARGIN = """
  - {id: good, title: Good, category: economics, points: 1, when: traction.gross_margin >= "60%", rationale: r}
  - {id: thin, title: Thin, category: economics, points: -1, when: traction.gross_margin < 0.3, rationale: r}
"""


@pytest.mark.parametrize(
    ("margin", "rules"),
    [
        ("60%", {"good"}),
        (0.6, {"good"}),
        ("59.99%", set()),
        (0.5999, set()),
        ("30%", set()),
        (0.2999, {"thin"}),
        ("29.99%", {"thin"}),
        ("100%", {"good"}),
        ("0%", {"thin"}),
    ],
)
def test_percent_thresholds(write, margin: object, rules: set[str]) -> None:
    assert matched(screen(write, pack(MARGIN), traction={"gross_margin": margin})) == rules


# --- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2024-01-31", "2024-02-29", 0),  # the last day of February is not a month after 31 January
        ("2025-01-31", "2025-02-28", 0),
        ("2025-01-31", "2025-03-01", 1),
        ("2025-01-31", "2025-03-31", 2),
        ("2025-01-30", "2025-03-30", 2),
        ("2024-02-29", "2025-02-28", 11),  # a leap day's anniversary
        ("2024-02-29", "2025-03-01", 12),
        ("2024-12-31", "2025-01-31", 1),
        ("2024-12-15", "2025-01-14", 0),
        ("2024-12-15", "2025-01-15", 1),
        ("2025-03-31", "2025-04-30", 0),
        ("2025-05-01", "2025-04-30", -1),
        ("2025-05-01", "2025-05-01", 0),
    ],
)
def test_months_between_at_month_ends(start: str, end: str, months: int) -> None:
    assert months_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == months


DATES = """
  - {id: due, title: Due, category: capital, points: 1, when: derived.months_since_last_round >= 18, rationale: r}
  - {id: stale, title: Stale, category: data, points: -1, when: derived.data_age_days > 365, rationale: r}
"""


@pytest.mark.parametrize(
    ("last_round", "on", "due"),
    [
        ("2025-05-27", "2026-11-27", True),  # 18 months to the day
        ("2025-05-28", "2026-11-27", False),
        ("2025-05-31", "2026-11-30", False),  # 30 November is not 18 months after 31 May
        ("2025-05-31", "2026-12-01", True),
        ("2024-08-29", "2026-02-28", False),  # 28 February 2026 is 17 months and 30 days after 29 August
        ("2024-08-29", "2026-03-01", True),
    ],
)
def test_months_since_the_last_round_at_month_ends(write, last_round: str, on: str, due: bool) -> None:
    fields = {"funding": {"last_round": {"date": last_round, "amount": "$1M"}}, "as_of": on}
    result = screen(write, pack(DATES), dt.date.fromisoformat(on), **fields)
    assert ("due" in matched(result)) is due


@pytest.mark.parametrize(
    ("as_of", "on", "stale"),
    [
        ("2025-11-27", "2026-11-27", False),  # 365 days
        ("2025-11-26", "2026-11-27", True),
        ("2023-02-28", "2024-02-28", False),  # 365 days across no leap day
        ("2023-02-28", "2024-02-29", True),  # 366 days across a leap day
        ("2024-02-29", "2025-02-28", False),  # 365 days from a leap day
    ],
)
def test_stale_data_at_exactly_a_year(write, as_of: str, on: str, stale: bool) -> None:
    result = screen(write, pack(DATES), dt.date.fromisoformat(on), as_of=as_of)
    assert ("stale" in matched(result)) is stale
