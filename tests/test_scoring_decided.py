"""Scoring details a small pack pins down exactly: rules decided without every field, and the worst case."""

from __future__ import annotations

import pytest

from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook
from screener.screening.result import Outcome
from screener.screening.scoring import decided_despite
from screener.screening.screener import Screener
from tests.conftest import ON

PACK = """
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
def pack(write):
    return load_rulebook(write("pack.yaml", PACK))


def test_a_rule_the_fields_present_settle_is_decided_despite_a_missing_one(pack) -> None:
    with Screener(pack) as screener:
        result = screener.screen(Profile.model_validate({"name": "T", "stage": "series-b"}), ON)
    outcomes = {r.id: r.outcome for r in result.rules}
    # a Series B company is no overfunded seed, whatever it raised; the team size settles nothing
    assert outcomes == {
        "small": Outcome.NOT_EVALUABLE,
        "overfunded": Outcome.NOT_MATCHED,
        "huge": Outcome.NOT_EVALUABLE,
        "unfunded": Outcome.MATCHED,
    }


def test_decided_despite_lists_the_rules_other_fields_may_settle(pack) -> None:
    rules = pack.rules
    # overfunded compares the amount and the stage; unfunded only asks whether the amount exists,
    # which is always known, so no missing field can leave it open
    assert decided_despite(pack, {"funding.total_raised"}) == ((1, rules[1].condition),)
    assert decided_despite(pack, ["team.size"]) == ()  # small and huge compare nothing else
    assert decided_despite(pack, set()) == ()


def test_the_worst_case_adds_every_evaluable_negative_rule(pack) -> None:
    with Screener(pack) as screener:
        profile = {"name": "T", "stage": "seed", "team": {"size": 50}, "funding": {"total_raised": "$1M"}}
        result = screener.screen(Profile.model_validate(profile), ON)
    # nothing matched: 0 points between worst -15 (overfunded, huge, unfunded) and best +10
    assert (result.points, result.score) == (0, 60.0)
