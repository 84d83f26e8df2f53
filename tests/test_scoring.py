"""Score, verdict and coverage arithmetic, on a small pack through the real engine."""

from __future__ import annotations

import pytest

from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook
from screener.screening.result import Outcome, Verdict
from screener.screening.scoring import decided_despite
from screener.screening.screener import Screener
from tests.conftest import ON

PACK = """
name: scoring
version: 1.0.0
thresholds: {strong_fit: 75, review: 40}
min_coverage: 0.5
rules:
  - {id: small, title: Small, category: team, points: 10, when: team.size <= 10, rationale: "small"}
  - {id: big, title: Big, category: team, points: -10, when: team.size > 100, rationale: "big"}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: "open"}
  - {id: margin, title: Margin, category: economics, points: 5, when: traction.gross_margin >= 0.6, rationale: "m"}
  - {id: wrapper, title: Wrapper, category: model, knockout: true, when: model.approach == "api-wrapper", rationale: "w"}
"""


@pytest.fixture
def scorer(write):
    with Screener(load_rulebook(write("pack.yaml", PACK))) as s:
        yield s


def screen(scorer, **fields):
    return scorer.screen(Profile.model_validate({"name": "T", **fields}), ON)


def test_score_places_points_between_worst_and_best(scorer) -> None:
    result = screen(
        scorer, team={"size": 5}, model={"open_weights": True, "approach": "fine-tune"}, traction={"gross_margin": 0.7}
    )
    # evaluable scored rules: small +10, big -10, open +5, margin +5 → worst -10, best +20, earned 20
    assert (result.points, result.score, result.verdict) == (20, 100.0, Verdict.STRONG_FIT)
    assert result.coverage == 1.0
    middling = screen(
        scorer, team={"size": 50}, model={"open_weights": True, "approach": "fine-tune"}, traction={"gross_margin": 0.5}
    )
    # earned 5 of range -10..20 → 50.0
    assert (middling.points, middling.score, middling.verdict) == (5, 50.0, Verdict.REVIEW)


def test_knockout_overrides_the_score(scorer) -> None:
    result = screen(
        scorer,
        team={"size": 5},
        model={"open_weights": True, "approach": "api-wrapper"},
        traction={"gross_margin": 0.9},
    )
    assert result.score == 100.0
    assert result.verdict is Verdict.PASS
    assert result.knockouts == ["wrapper"]
    assert result.notes == ["knocked out by wrapper"]


def test_missing_fields_make_rules_not_evaluable_and_lower_coverage(scorer) -> None:
    result = screen(scorer, team={"size": 5})
    outcomes = {r.id: r.outcome for r in result.rules}
    assert outcomes == {
        "small": Outcome.MATCHED,
        "big": Outcome.NOT_MATCHED,
        "open": Outcome.NOT_EVALUABLE,
        "margin": Outcome.NOT_EVALUABLE,
        "wrapper": Outcome.NOT_EVALUABLE,
    }
    # weights: 10, 10, 5, 5 and the knockout weighs as the heaviest rule (10): 20 of 40 evaluable
    assert result.coverage == 0.5
    assert result.score == 100.0
    assert result.verdict is Verdict.STRONG_FIT
    # Ordered by stake: the knockout weighs 10, the other two 5 each (pack order between them).
    assert [q.split(" (")[0] for q in result.questions] == [
        "Find out how the company adapts the model",
        "Find out whether the base model's weights are open",
        "Find out the gross margin",
    ]


def test_too_little_coverage_means_review(scorer) -> None:
    result = screen(scorer, traction={"gross_margin": 0.9})
    assert result.coverage == pytest.approx(0.125)
    assert result.verdict is Verdict.REVIEW
    assert "only 12% of the pack's weight could be evaluated" in result.notes[0]


def test_category_breakdown(scorer) -> None:
    result = screen(scorer, team={"size": 500}, model={"open_weights": False, "approach": "rag"})
    by_category = {c.category: c for c in result.categories}
    assert (by_category["team"].points, by_category["team"].best, by_category["team"].worst) == (-10, 10, -10)
    assert (by_category["model"].matched, by_category["model"].evaluable, by_category["model"].rules) == (0, 2, 2)
    assert by_category["economics"].evaluable == 0


def test_same_profile_pack_and_date_give_byte_identical_results(scorer) -> None:
    fields = {"team": {"size": 5}, "model": {"base": "Llama 3.1 8B"}, "traction": {"gross_margin": "65%"}}
    first = screen(scorer, **fields).to_json()
    second = screen(scorer, **fields).to_json()
    assert first == second


def test_a_question_names_each_waiting_rule_once(screener) -> None:
    from screener.profile.model import load_profile
    from tests.conftest import FIXTURES, ON

    result = screener.screen(load_profile(FIXTURES / "ondine-labs.yaml"), ON)
    founders = next(q for q in result.questions if "(team.founders)" in q)
    rules = founders.split("needed by ")[1].rstrip(".").split(", ")
    assert "founders-technical-depth" in rules and len(rules) == len(set(rules))


def test_category_totals_add_up_over_several_rules(write) -> None:
    from screener.screening.scoring import tally

    pack = """
name: totals
version: 1.0.0
thresholds: {strong_fit: 75, review: 40}
min_coverage: 0
rules:
  - {id: a, title: A, category: team, points: 3, when: team.size <= 10, rationale: r}
  - {id: b, title: B, category: team, points: 2, when: team.size <= 20, rationale: r}
  - {id: c, title: C, category: team, points: -4, when: team.size > 5, rationale: r}
  - {id: d, title: D, category: team, points: -1, when: team.size > 6, rationale: r}
  - {id: e, title: E, category: team, points: 5, when: model.open_weights, rationale: r}
  - {id: k, title: K, category: model, knockout: true, when: model.approach == "api-wrapper", rationale: r}
  - {id: l, title: L, category: model, knockout: true, when: model.approach == "rag", rationale: r}
"""
    rulebook = load_rulebook(write("totals.yaml", pack))
    m, n, x = Outcome.MATCHED, Outcome.NOT_MATCHED, Outcome.NOT_EVALUABLE
    result = tally(rulebook, [m, m, m, m, x, m, m])
    (team, model) = result.categories
    assert (team.points, team.best, team.worst, team.matched, team.evaluable, team.rules) == (0, 5, -5, 4, 4, 5)
    assert (model.matched, model.evaluable, model.rules) == (2, 2, 2)
    assert result.knockouts == ["k", "l"] and result.notes == ["knocked out by k, l"]
    # weights 3+2+4+1, and two knockouts weighing as the heaviest rule (e, 5): 20 of 25
    assert result.coverage == 0.8
    partial = tally(rulebook, [m, n, n, x, x, n, x])
    assert (partial.points, partial.score) == (3, round(100 * (3 + 4) / (5 + 4), 1))
    assert partial.coverage == 0.56  # 3+2+4 and one knockout of 5
    third = tally(rulebook, [x, x, m, x, x, x, x])
    assert third.coverage == 0.16 and third.score == 0.0  # no positive rule evaluable: nothing to place
    with pytest.raises(ValueError):
        tally(rulebook, [m, m, m])  # an outcome per rule, or it is a bug


def test_coverage_keeps_four_decimals(write) -> None:
    pack = """
name: thirds
version: 1.0.0
thresholds: {strong_fit: 75, review: 40}
min_coverage: 0
rules:
  - {id: a, title: A, category: team, points: 1, when: team.size <= 10, rationale: r}
  - {id: b, title: B, category: model, points: 1, when: model.open_weights, rationale: r}
  - {id: c, title: C, category: model, points: 1, when: model.test_time_compute, rationale: r}
"""
    with Screener(load_rulebook(write("thirds.yaml", pack))) as screener:
        result = screener.screen(Profile.model_validate({"name": "T", "team": {"size": 5}}), ON)
    assert result.coverage == 0.3333


# --- rules decided without every field, and the worst case ------------------------------------------

DECIDED = """
name: decided
version: 1.0.0
thresholds: {strong_fit: 75, review: 40}
min_coverage: 0.1
rules:
  - {id: small, title: Small, category: team, points: 10, when: team.size <= 10, rationale: "s"}
  - {id: overfunded, title: Overfunded seed, category: funding, points: -5,
     when: 'stage in ["seed"] and funding.total_raised > "$15M"', rationale: "o"}
  - {id: huge, title: Huge, category: team, points: -5, when: team.size > 100, rationale: "h"}
  - {id: unfunded, title: Unfunded, category: funding, points: -5, when: missing(funding.total_raised), rationale: "u"}
"""


@pytest.fixture
def decided(write):
    return load_rulebook(write("decided.yaml", DECIDED))


def test_a_rule_the_fields_present_settle_is_decided_despite_a_missing_one(decided) -> None:
    with Screener(decided) as screener:
        result = screener.screen(Profile.model_validate({"name": "T", "stage": "series-b"}), ON)
    outcomes = {r.id: r.outcome for r in result.rules}
    # a Series B company is no overfunded seed, whatever it raised; the team size settles nothing
    assert outcomes == {
        "small": Outcome.NOT_EVALUABLE,
        "overfunded": Outcome.NOT_MATCHED,
        "huge": Outcome.NOT_EVALUABLE,
        "unfunded": Outcome.MATCHED,
    }


def test_decided_despite_lists_the_rules_other_fields_may_settle(decided) -> None:
    rules = decided.rules
    # overfunded compares the amount and the stage; unfunded only asks whether the amount exists,
    # which is always known, so no missing field can leave it open
    assert decided_despite(decided, {"funding.total_raised"}) == ((1, rules[1].condition),)
    assert decided_despite(decided, ["team.size"]) == ()  # small and huge compare nothing else
    assert decided_despite(decided, set()) == ()


def test_the_worst_case_adds_every_evaluable_negative_rule(decided) -> None:
    with Screener(decided) as screener:
        profile = {"name": "T", "stage": "seed", "team": {"size": 50}, "funding": {"total_raised": "$1M"}}
        result = screener.screen(Profile.model_validate(profile), ON)
    # nothing matched: 0 points between worst -15 (overfunded, huge, unfunded) and best +10
    assert (result.points, result.score) == (0, 60.0)
