"""Every rule of the default pack at its boundary, through the real engine (no mocks).

Each row of ``CASES`` is (rule id, profile fields, expected outcome): the profile is the
name-only company plus just the fields the rule reads. For an inclusive threshold (``<=``,
``>=``) the value exactly on it matches and one step past it (one dollar, one person, one
basis point, one day) does not; for a strict one (``<``, ``>``) the threshold itself does not
match and one step past it does. Every rule is also shown NOT_EVALUABLE when a field it
compares is missing. ``test_every_rule_has_boundary_cases`` fails when a rule is added to the
pack without rows here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook
from screener.screening.result import Outcome, RuleResult
from screener.screening.screener import Screener
from tests.conftest import ON

M, NM, NE = Outcome.MATCHED, Outcome.NOT_MATCHED, Outcome.NOT_EVALUABLE

#: Rules that can never be NOT_EVALUABLE: derived.completeness is computed for every profile.
ALWAYS_EVALUABLE = frozenset({"thin-profile"})


def case(rule_id: str, label: str, expected: Outcome, **fields: Any) -> Any:
    """One row: ``fields`` are the profile's fields besides its name."""
    return pytest.param(rule_id, fields, expected, id=f"{rule_id}:{label}")


def founders(*backgrounds: list[str], prior_exit: bool | None = None) -> dict[str, Any]:
    return {"founders": [{"background": b, "prior_exit": prior_exit} for b in backgrounds]}


def days_old(days: int) -> dt.date:
    return ON - dt.timedelta(days=days)


def bench(score: float, frontier: float = 100) -> list[dict[str, Any]]:
    return [{"name": "B", "score": score, "frontier": frontier}]


#: The first eight of the sixteen COMPLETENESS_FIELDS of screener.derived: 8/16 = 50% exactly.
#: "Some Model" is unknown to the registry, so it fills in no other model field.
HALF_COMPLETE: dict[str, Any] = {
    "as_of": ON,
    "founded": 2024,
    "stage": "series-a",
    "team": {"size": 10, "founders": [{"background": ["startup"]}]},
    "funding": {"total_raised": 5_000_000},
    "model": {"base": "Some Model", "open_weights": True},
}
#: The same without model.open_weights: 7/16 = 43.75%.
SEVEN_SIXTEENTHS: dict[str, Any] = {**HALF_COMPLETE, "model": {"base": "Some Model"}}

CASES = [
    # --- team ---------------------------------------------------------------------------
    case("team-lean", "15-people", M, team={"size": 15}),
    case("team-lean", "16-people", NM, team={"size": 16}),
    case("team-lean", "0-people", M, team={"size": 0}),
    case("team-lean", "no-size", NE),
    case("team-compact", "15-people", NM, team={"size": 15}),
    case("team-compact", "16-people", M, team={"size": 16}),
    case("team-compact", "40-people", M, team={"size": 40}),
    case("team-compact", "41-people", NM, team={"size": 41}),
    case("team-compact", "no-size", NE),
    case("team-heavy", "150-people", NM, team={"size": 150}),
    case("team-heavy", "151-people", M, team={"size": 151}),
    case("team-heavy", "no-size", NE),
    case("founders-frontier-lab", "one-frontier", M, team=founders(["frontier-lab"], ["startup"])),
    case("founders-frontier-lab", "none-frontier", NM, team=founders(["big-tech"], ["academia"])),
    case("founders-frontier-lab", "no-founders", NE),
    case("founders-technical-depth", "academic", M, team=founders(["academia"])),
    case("founders-technical-depth", "big-tech", M, team=founders(["big-tech"])),
    case("founders-technical-depth", "neither", NM, team=founders(["startup"], ["finance"])),
    case("founders-technical-depth", "no-founders", NE),
    case("founders-repeat", "prior-exit", M, team=founders(["startup"], prior_exit=True)),
    case("founders-repeat", "no-prior-exit", NM, team=founders(["startup"], prior_exit=False)),
    case("founders-repeat", "no-founders", NE),
    case("founders-solo", "one-founder", M, team=founders(["startup"])),
    case("founders-solo", "two-founders", NM, team=founders(["startup"], ["academia"])),
    case("founders-solo", "no-founders", NE),
    # --- capital ------------------------------------------------------------------------
    case("capital-efficient", "1_500_000-per-head", M, team={"size": 1}, funding={"total_raised": 1_500_000}),
    case("capital-efficient", "1_500_001-per-head", NM, team={"size": 1}, funding={"total_raised": 1_500_001}),
    case("capital-efficient", "15M-over-10", M, team={"size": 10}, funding={"total_raised": "$15M"}),
    case("capital-efficient", "15_000_010-over-10", NM, team={"size": 10}, funding={"total_raised": 15_000_010}),
    case("capital-efficient", "no-funding", NE, team={"size": 10}),
    case("capital-efficient", "no-size", NE, funding={"total_raised": 1_000_000}),
    case("capital-efficient", "zero-size", NE, team={"size": 0}, funding={"total_raised": 1_000_000}),
    case("capital-heavy", "5_000_000-per-head", NM, team={"size": 1}, funding={"total_raised": 5_000_000}),
    case("capital-heavy", "5_000_001-per-head", M, team={"size": 1}, funding={"total_raised": 5_000_001}),
    case("capital-heavy", "no-funding", NE, team={"size": 1}),
    case("mega-raise", "300_000_000", M, funding={"total_raised": 300_000_000}),
    case("mega-raise", "299_999_999", NM, funding={"total_raised": 299_999_999}),
    case("mega-raise", "no-funding", NE),
    case("seed-overfunded", "seed-15_000_001", M, stage="seed", funding={"total_raised": 15_000_001}),
    case("seed-overfunded", "pre-seed-15_000_001", M, stage="pre-seed", funding={"total_raised": 15_000_001}),
    case("seed-overfunded", "seed-15_000_000", NM, stage="seed", funding={"total_raised": 15_000_000}),
    case("seed-overfunded", "series-a-15_000_001", NM, stage="series-a", funding={"total_raised": 15_000_001}),
    case("seed-overfunded", "seed-300_000_000-is-mega-raise", NM, stage="seed", funding={"total_raised": 300_000_000}),
    case("seed-overfunded", "seed-299_999_999", M, stage="seed", funding={"total_raised": 299_999_999}),
    case("seed-overfunded", "series-b-settles-it", NM, stage="series-b"),
    case("seed-overfunded", "no-stage", NE, funding={"total_raised": 15_000_001}),
    case("seed-overfunded", "no-funding", NE, stage="seed"),
    case("lean-for-stage", "series-a-30_000_000", M, stage="series-a", funding={"total_raised": 30_000_000}),
    case("lean-for-stage", "series-b-30_000_000", M, stage="series-b", funding={"total_raised": 30_000_000}),
    case("lean-for-stage", "series-a-30_000_001", NM, stage="series-a", funding={"total_raised": 30_000_001}),
    case("lean-for-stage", "series-c-30_000_000", NM, stage="series-c", funding={"total_raised": 30_000_000}),
    case("lean-for-stage", "seed-30_000_000", NM, stage="seed", funding={"total_raised": 30_000_000}),
    case("lean-for-stage", "no-stage", NE, funding={"total_raised": 30_000_000}),
    case("lean-for-stage", "no-funding", NE, stage="series-a"),
    # --- model and licence --------------------------------------------------------------
    case("open-weights-base", "open", M, model={"open_weights": True}),
    case("open-weights-base", "closed", NM, model={"open_weights": False}),
    case("open-weights-base", "open-via-registry", M, model={"base": "Llama 3.1 8B"}),
    case("open-weights-base", "closed-via-registry", NM, model={"base": "GPT-4o"}),
    case("open-weights-base", "no-open-weights", NE),
    case("closed-base", "closed-whose-unknown", NE, model={"open_weights": False}),
    case("closed-base", "closed-vendor", M, model={"open_weights": False, "license": "Vendor terms (API)"}),
    case("closed-base", "own-model", NM, model={"base": "own"}),
    case("closed-base", "in-house-model", NM, model={"base": "Titanforge-1 405B (in-house)"}),
    case("closed-base", "pretrains-its-own", NM, model={"base": "Foo-1", "approach": "pretrain"}),
    case("closed-base", "open", NM, model={"open_weights": True}),
    case("closed-base", "closed-via-registry", M, model={"base": "Claude 3.5 Sonnet"}),
    case("closed-base", "explicit-beats-registry", NM, model={"base": "GPT-4o", "open_weights": True}),
    case("closed-base", "no-open-weights", NE),
    case("licence-permissive", "apache", M, model={"license": "Apache-2.0"}),
    case("licence-permissive", "mit", M, model={"license": "MIT"}),
    case("licence-permissive", "apache-via-base", M, model={"base": "Mistral 7B"}),
    case("licence-permissive", "llama-licence", NM, model={"license": "Llama 3.1 Community License"}),
    case("licence-permissive", "unknown-licence", NM, model={"license": "Some custom terms"}),
    case("licence-permissive", "no-licence", NE),
    case("licence-restricted", "llama-licence", M, model={"license": "Llama 3.1 Community License"}),
    case("licence-restricted", "llama-via-base", M, model={"base": "Llama 3.1 70B"}),
    case("licence-restricted", "apache", NM, model={"license": "Apache-2.0"}),
    case("licence-restricted", "no-licence", NE),
    case("licence-non-commercial", "cc-by-nc", M, model={"license": "CC-BY-NC-4.0"}),
    case("licence-non-commercial", "cc-by-nc-via-base", M, model={"base": "Command R"}),
    case("licence-non-commercial", "research-via-base", M, model={"base": "Mistral Large 2"}),
    case("licence-non-commercial", "apache", NM, model={"license": "Apache-2.0"}),
    case("licence-non-commercial", "explicit-beats-registry", NM, model={"base": "Command R", "license": "Apache-2.0"}),
    case("licence-non-commercial", "no-licence", NE),
    case("small-model", "15B", M, model={"base": "Qwen 15B"}),
    case("small-model", "15.001B", NM, model={"base": "Qwen 15.001B"}),
    case("small-model", "8B-llama", M, model={"base": "Llama 3.1 8B"}),
    case("small-model", "70B-llama", NM, model={"base": "Llama 3.1 70B"}),
    case("small-model", "500M", M, model={"base": "Tiny 500M"}),
    case("small-model", "size-not-in-name", NE, model={"base": "Llama 3.1"}),
    case("small-model", "no-base", NE),
    # --- approach -----------------------------------------------------------------------
    case("adapts-open-model", "fine-tune", M, model={"approach": "fine-tune"}),
    case("adapts-open-model", "distill", M, model={"approach": "distill"}),
    case("adapts-open-model", "merge", M, model={"approach": "merge"}),
    case("adapts-open-model", "rag", NM, model={"approach": "rag"}),
    case("adapts-open-model", "no-approach", NE),
    case("retrieval-or-prompting", "rag", M, model={"approach": "rag"}),
    case("retrieval-or-prompting", "prompting", M, model={"approach": "prompting"}),
    case("retrieval-or-prompting", "fine-tune", NM, model={"approach": "fine-tune"}),
    case("retrieval-or-prompting", "no-approach", NE),
    case("pretrain-from-scratch", "pretrain", M, model={"approach": "pretrain"}),
    case("pretrain-from-scratch", "fine-tune", NM, model={"approach": "fine-tune"}),
    case("pretrain-from-scratch", "no-approach", NE),
    case("thin-api-wrapper", "wrapper-closed", M, model={"approach": "api-wrapper", "open_weights": False}),
    case("thin-api-wrapper", "wrapper-closed-via-registry", M, model={"approach": "api-wrapper", "base": "GPT-4o"}),
    case("thin-api-wrapper", "wrapper-open", NM, model={"approach": "api-wrapper", "open_weights": True}),
    case("thin-api-wrapper", "prompting-closed", NM, model={"approach": "prompting", "open_weights": False}),
    case("thin-api-wrapper", "no-open-weights", NE, model={"approach": "api-wrapper"}),
    case("thin-api-wrapper", "no-approach", NE, model={"open_weights": False}),
    # --- compute ------------------------------------------------------------------------
    case("low-gpu-dependence", "none", M, compute={"gpu_dependence": "none"}),
    case("low-gpu-dependence", "low", M, compute={"gpu_dependence": "low"}),
    case("low-gpu-dependence", "medium", NM, compute={"gpu_dependence": "medium"}),
    case("low-gpu-dependence", "no-gpu-dependence", NE),
    case("high-gpu-dependence", "high", M, compute={"gpu_dependence": "high"}),
    case("high-gpu-dependence", "medium", NM, compute={"gpu_dependence": "medium"}),
    case("high-gpu-dependence", "no-gpu-dependence", NE),
    case("inference-weighted", "0.3", M, compute={"training_share": 0.3}),
    case("inference-weighted", "30%", M, compute={"training_share": "30%"}),
    case("inference-weighted", "0.3001", NM, compute={"training_share": 0.3001}),
    case("inference-weighted", "0", M, compute={"training_share": 0}),
    case("inference-weighted", "no-training-share", NE),
    case("training-heavy", "0.6", M, compute={"training_share": 0.6}),
    case("training-heavy", "0.5999", NM, compute={"training_share": 0.5999}),
    case("training-heavy", "no-training-share", NE),
    case("gpu-fleet", "1000", M, compute={"owned_gpus": 1000, "gpu_dependence": "high"}),
    case("gpu-fleet", "999", NM, compute={"owned_gpus": 999, "gpu_dependence": "high"}),
    case("gpu-fleet", "low-dependence-1000", M, compute={"owned_gpus": 1000, "gpu_dependence": "low"}),
    case("gpu-fleet", "no-dependence-settles-it", NM, compute={"gpu_dependence": "none"}),
    case("gpu-fleet", "dependence-unknown", NE, compute={"owned_gpus": 1000}),
    case("gpu-fleet", "no-owned-gpus", NE),
    case("test-time-compute", "yes", M, model={"test_time_compute": True}),
    case("test-time-compute", "no", NM, model={"test_time_compute": False}),
    case("test-time-compute", "unknown", NE),
    # --- economics ----------------------------------------------------------------------
    case("usage-pricing", "usage", M, traction={"pricing": "usage"}),
    case("usage-pricing", "seat", NM, traction={"pricing": "seat"}),
    case("usage-pricing", "no-pricing", NE),
    case("healthy-margin", "0.6", M, traction={"gross_margin": 0.6}),
    case("healthy-margin", "60%", M, traction={"gross_margin": "60%"}),
    case("healthy-margin", "0.5999", NM, traction={"gross_margin": 0.5999}),
    case("healthy-margin", "no-margin", NE),
    case("thin-margin", "0.3", NM, traction={"gross_margin": 0.3}),
    case("thin-margin", "0.2999", M, traction={"gross_margin": 0.2999}),
    case("thin-margin", "zero", M, traction={"gross_margin": 0}),
    case("thin-margin", "no-margin", NE),
    # compute_to_revenue = monthly_compute * 12 / arr, rounded to 4 places (one basis point).
    case("compute-tracks-revenue", "0.5", M, compute={"monthly_compute": 50_000}, traction={"arr": 1_200_000}),
    case("compute-tracks-revenue", "0.5001", NM, compute={"monthly_compute": 50_010}, traction={"arr": 1_200_000}),
    case("compute-tracks-revenue", "no-compute", M, compute={"monthly_compute": 0}, traction={"arr": 1_200_000}),
    case("compute-tracks-revenue", "no-monthly-compute", NE, traction={"arr": 1_200_000}),
    case("compute-tracks-revenue", "no-arr", NE, compute={"monthly_compute": 50_000}),
    case("compute-tracks-revenue", "zero-arr", NE, compute={"monthly_compute": 50_000}, traction={"arr": 0}),
    case("compute-exceeds-revenue", "1.5", NM, compute={"monthly_compute": 150_000}, traction={"arr": 1_200_000}),
    case("compute-exceeds-revenue", "1.5001", M, compute={"monthly_compute": 150_010}, traction={"arr": 1_200_000}),
    case("compute-exceeds-revenue", "40x", M, compute={"monthly_compute": 1_000_000}, traction={"arr": 300_000}),
    case("compute-exceeds-revenue", "no-monthly-compute", NE, traction={"arr": 1_200_000}),
    case("revenue-per-head", "200_000-per-head", M, team={"size": 1}, traction={"arr": 200_000}),
    case("revenue-per-head", "199_999-per-head", NM, team={"size": 1}, traction={"arr": 199_999}),
    case("revenue-per-head", "2M-over-10", M, team={"size": 10}, traction={"arr": "$2M"}),
    case("revenue-per-head", "no-arr", NE, team={"size": 1}),
    case("revenue-per-head", "no-size", NE, traction={"arr": 200_000}),
    # --- performance --------------------------------------------------------------------
    # benchmark_gap = mean of (frontier - score) / frontier, rounded to 4 places.
    case("near-frontier", "gap-0.05", M, benchmarks=bench(95)),
    case("near-frontier", "gap-0.0501", NM, benchmarks=bench(94.99)),
    case("near-frontier", "ahead-of-frontier", M, benchmarks=bench(110)),
    case("near-frontier", "mean-of-0-and-0.1", M, benchmarks=[*bench(100), *bench(90)]),
    case("near-frontier", "no-benchmarks", NE),
    case("far-from-frontier", "gap-0.2", NM, benchmarks=bench(80)),
    case("far-from-frontier", "gap-0.2001", M, benchmarks=bench(79.99)),
    case("far-from-frontier", "no-benchmarks", NE),
    # --- data quality -------------------------------------------------------------------
    case("stale-profile", "365-days", NM, as_of=days_old(365)),
    case("stale-profile", "366-days", M, as_of=days_old(366)),
    case("stale-profile", "as-of-screening-day", NM, as_of=ON),
    case("stale-profile", "no-as-of", NE),
    case("thin-profile", "8-of-16-fields", NM, **HALF_COMPLETE),
    case("thin-profile", "7-of-16-fields", M, **SEVEN_SIXTEENTHS),
    case("thin-profile", "name-only", M),
    case("late-stage-no-revenue-data", "series-b-no-arr", M, stage="series-b"),
    case("late-stage-no-revenue-data", "series-c-no-arr", M, stage="series-c"),
    case("late-stage-no-revenue-data", "growth-no-arr", M, stage="growth"),
    case("late-stage-no-revenue-data", "series-b-with-arr", NM, stage="series-b", traction={"arr": 1_000_000}),
    case("late-stage-no-revenue-data", "series-b-zero-arr", NM, stage="series-b", traction={"arr": 0}),
    case("late-stage-no-revenue-data", "series-a-no-arr", NM, stage="series-a"),
    case("late-stage-no-revenue-data", "seed-no-arr", NM, stage="seed"),
    case("late-stage-no-revenue-data", "no-stage", NE),
]


def rule_result(screener: Screener, rule_id: str, fields: dict[str, Any]) -> RuleResult:
    profile = Profile.model_validate({"name": "T", **fields})
    result = screener.screen(profile, ON)
    found = [r for r in result.rules if r.id == rule_id]
    assert len(found) == 1, f"rule {rule_id!r} appears {len(found)} times in the result"
    return found[0]


@pytest.mark.parametrize(("rule_id", "fields", "expected"), CASES)
def test_rule_at_its_boundary(screener: Screener, rule_id: str, fields: dict[str, Any], expected: Outcome) -> None:
    result = rule_result(screener, rule_id, fields)
    assert result.outcome is expected, f"{rule_id}: {result.outcome} (missing: {result.missing})"
    if expected is Outcome.MATCHED:
        assert result.rationale, f"{rule_id} matched without a rendered rationale"
    if expected is Outcome.NOT_EVALUABLE:
        assert result.missing, f"{rule_id} is not evaluable but names no missing field"


def test_every_rule_has_boundary_cases() -> None:
    """A rule added to the pack without rows in CASES (or a row for a removed rule) fails here."""
    pack = {rule.id for rule in load_rulebook().rules}
    outcomes: dict[str, set[Outcome]] = defaultdict(set)
    for param in CASES:
        rule_id, _, expected = param.values
        outcomes[rule_id].add(expected)
    assert set(outcomes) == pack, (
        f"rules without boundary cases: {sorted(pack - set(outcomes))}; "
        f"cases for rules not in the pack: {sorted(set(outcomes) - pack)}"
    )
    wanted = {rule_id: {M, NM} if rule_id in ALWAYS_EVALUABLE else {M, NM, NE} for rule_id in pack}
    lacking = {rule_id: sorted(wanted[rule_id] - seen) for rule_id, seen in outcomes.items() if wanted[rule_id] - seen}
    assert not lacking, f"rules lacking an outcome in CASES: {lacking}"


def test_always_evaluable_rules_read_only_completeness() -> None:
    """The NOT_EVALUABLE exemption holds only for rules that read nothing a profile can omit."""
    book = load_rulebook()
    for rule_id in ALWAYS_EVALUABLE:
        assert book.rule(rule_id).reads == ("derived.completeness",)


def test_name_only_profile_evaluates_only_always_evaluable_rules(screener: Screener) -> None:
    result = screener.screen(Profile.model_validate({"name": "T"}), ON)
    evaluable = {r.id for r in result.rules if r.outcome is not Outcome.NOT_EVALUABLE}
    assert evaluable == ALWAYS_EVALUABLE


def test_half_complete_fixture_is_exactly_half() -> None:
    """Guards the thin-profile rows: they rely on 8 and 7 of the 16 completeness fields."""
    from screener.profile.derived import derive

    assert derive(Profile.model_validate({"name": "T", **HALF_COMPLETE}), ON).completeness == 0.5
    assert derive(Profile.model_validate({"name": "T", **SEVEN_SIXTEENTHS}), ON).completeness == 0.4375
