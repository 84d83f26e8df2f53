"""``screen explain``, and the promise behind it: the Python reading of a condition is the engine's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from screener.cli.rules import explain_command
from screener.errors import ExitCode
from screener.profile.model import Profile, load_profile
from screener.rules.conditions import evaluate
from screener.screening.result import Outcome
from tests.conftest import FIXTURES, ON

RATES = {"EUR": 1.08}

INLINE = [
    {"name": "Name Only"},
    {"name": "Closed Wrapper", "team": {"size": 4}, "model": {"base": "GPT-4o", "approach": "api-wrapper"}},
    {
        "name": "Big Lab",
        "stage": "series-c",
        "team": {"size": 400, "founders": [{"background": ["big-tech"]}]},
        "funding": {"total_raised": "$900M"},
        "model": {"base": "own 70B", "approach": "pretrain"},
        "compute": {"gpu_dependence": "high", "owned_gpus": 20000, "training_share": 0.8, "monthly_compute": "$9M"},
        "traction": {"arr": "$20M", "gross_margin": "25%", "pricing": "seat"},
        "benchmarks": [{"name": "MMLU", "score": 60, "frontier": 90}],
        "as_of": "2024-01-01",
    },
    {
        "name": "Boundary",
        "team": {"size": 15, "founders": [{"prior_exit": True}]},
        "funding": {"total_raised": "$22.5M"},
        "traction": {"arr": "$3M", "gross_margin": "60%"},
        "compute": {"training_share": 0.3, "monthly_compute": "$125K"},
    },
]


def fixture_profiles() -> list[Path]:
    files = sorted([*FIXTURES.glob("*.yaml"), *FIXTURES.glob("*.json")])
    return [f for f in files if "invalid" not in f.relative_to(FIXTURES).parts]


def profiles() -> list[tuple[str, Profile]]:
    found = [(f.name, load_profile(f, RATES)) for f in fixture_profiles()]
    return found + [(p["name"], Profile.model_validate(p, context={"rates": RATES})) for p in INLINE]


def test_python_evaluation_agrees_with_the_engine_for_every_profile_and_rule(screener) -> None:
    checked = 0
    for label, profile in profiles():
        fact, _ = screener.fact(profile, ON)
        fired = screener.engine.matches(fact)
        for rule in screener.rulebook.rules:
            if any(path not in fact for path in rule.reads):
                continue  # not evaluable: the engine's silence means nothing
            assert evaluate(rule.condition, fact) == (rule.index in fired), f"{label}: {rule.id}"
            checked += 1
    assert checked > len(INLINE) * 5


def test_every_outcome_explained_is_the_engines(screener) -> None:
    from screener.analysis.explain import explain

    for label, profile in profiles():
        explanation = explain(screener, profile, ON)
        result = screener.screen(profile, ON, explain=False)
        assert [r.outcome for r in explanation.rules] == [r.outcome for r in result.rules], label
        assert all(r.agrees for r in explanation.rules), label


def test_explain_one_rule_as_json(write) -> None:
    path = write("acme.yaml", "name: Acme\nteam: {size: 16}\ntraction: {gross_margin: 61%}\n")
    result = CliRunner().invoke(
        explain_command, [str(path), "--rule", "team-lean", "--on", "2026-11-27", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["company"] == "Acme"
    assert data["rules"] == [
        {
            "id": "team-lean",
            "title": "Lean team",
            "outcome": "not-matched",
            "points": 10,
            "earned": 0,
            "knockout": False,
            "condition": "team.size <= 15",
            "missing": [],
            "checks": [
                {
                    "field": "team.size",
                    "present": True,
                    "value": 16,
                    "shown": "16",
                    "test": "team.size <= 15",
                    "held": False,
                    "threshold": "15",
                    "margin": "1 above",
                }
            ],
            "agrees": True,
        }
    ]


def test_values_are_decoded_for_people(write) -> None:
    path = write("acme.yaml", "name: Acme\ntraction: {gross_margin: 61%}\n")
    result = CliRunner().invoke(
        explain_command, [str(path), "--rule", "healthy-margin", "--on", "2026-11-27", "--format", "json"]
    )
    check = json.loads(result.output)["rules"][0]["checks"][0]
    assert check == {
        "field": "traction.gross_margin",
        "present": True,
        "value": 0.61,
        "shown": "61%",
        "test": "traction.gross_margin >= 60%",
        "held": True,
        "threshold": "60%",
        "margin": "1 pp above",
    }
    missing = CliRunner().invoke(explain_command, [str(path), "--rule", "team-lean", "--format", "json"])
    rule = json.loads(missing.output)["rules"][0]
    assert rule["outcome"] == Outcome.NOT_EVALUABLE.value
    assert rule["missing"] == ["team.size"]
    assert rule["checks"][0]["value"] is None
    assert rule["checks"][0]["shown"] == "missing"
    assert rule["checks"][0]["held"] is None and rule["checks"][0]["margin"] is None


def test_the_table_names_each_rule_and_outcome(write) -> None:
    path = write("acme.yaml", "name: Acme\nteam: {size: 16}\n")
    result = CliRunner().invoke(explain_command, [str(path), "--on", "2026-11-27"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Acme  REVIEW" in result.output
    line = next(x for x in result.output.splitlines() if "team-lean" in x)
    assert "not matched" in line and "team.size <= 15" in line and "16" in line and "no" in line


def test_an_unknown_rule_is_a_rule_error_with_a_hint(write) -> None:
    path = write("acme.yaml", "name: Acme\n")
    result = CliRunner().invoke(explain_command, [str(path), "--rule", "team-len"])
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stderr == "error: no rule 'team-len' in pack small-team-open-model; did you mean 'team-lean'?\n"


def test_asserting_facts_that_match_nothing_does_not_crash_the_process(tmp_path: Path) -> None:
    # Run in a child process: the failure mode is a segfault or abort, which would kill pytest.
    pack = tmp_path / "mini.yaml"
    pack.write_text(
        "name: mini\nversion: 1.0.0\nthresholds: {strong_fit: 70, review: 40}\nrules:\n"
        "  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: lean}\n"
    )
    script = textwrap.dedent(
        f"""
        from screener.rules.engine import Engine
        from screener.rules.rulebook import load_rulebook
        for _ in range(300):
            with Engine(load_rulebook({str(pack)!r})) as engine:
                engine.matches({{"team.size": 40}})
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert child.returncode == 0, child.stderr.decode()[-500:]


def explained(write, text: str, rule: str) -> dict:
    path = write("co.yaml", text)
    result = CliRunner().invoke(explain_command, [str(path), "--rule", rule, "--on", "2026-11-27", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_thresholds_are_written_in_their_fields_unit_with_the_margin(write) -> None:
    data = explained(write, "name: Acme\nteam: {size: 8}\nfunding: {total_raised: $6M}\n", "capital-efficient")
    (rule,) = data["rules"]
    assert rule["condition"] == "derived.funding_per_head <= $1.5M"
    assert rule["checks"] == [
        {"field": "derived.funding_per_head", "present": True, "value": 750000, "shown": "$750K",
         "test": "derived.funding_per_head <= $1.5M", "held": True, "threshold": "$1.5M", "margin": "$750K below"}
    ]  # fmt: skip
    shares = explained(write, "name: Acme\ncompute: {training_share: 0.45}\n", "inference-weighted")["rules"][0]
    assert (shares["condition"], shares["checks"][0]["margin"]) == ("compute.training_share <= 30%", "15 pp above")


def test_a_membership_is_one_test_not_a_row_of_equalities(write) -> None:
    (rule,) = explained(write, "name: Acme\nmodel: {approach: distill}\n", "adapts-open-model")["rules"]
    assert rule["condition"] == "model.approach in [fine-tune, distill, merge]"
    assert [(c["test"], c["shown"], c["held"], c["threshold"]) for c in rule["checks"]] == [
        ("model.approach in [fine-tune, distill, merge]", "distill", True, "[fine-tune, distill, merge]")
    ]


def test_each_rule_shows_what_it_earned_of_what_it_could(write) -> None:
    text = "name: Acme\nteam: {size: 8}\n"
    lean = explained(write, text, "team-lean")["rules"][0]
    compact = explained(write, text, "team-compact")["rules"][0]
    assert (lean["earned"], lean["points"], compact["earned"], compact["points"]) == (10, 10, 0, 4)
    path = write("co.yaml", text)
    table = CliRunner().invoke(explain_command, [str(path), "--on", "2026-11-27"], env={"COLUMNS": "200"}).output
    assert "+10 of +10" in next(x for x in table.splitlines() if "team-lean" in x)
    assert "0 of +4" in next(x for x in table.splitlines() if "team-compact" in x)
    assert "knockout: no" in next(x for x in table.splitlines() if x.startswith("│ thin-api-wrapper"))


def test_the_explanation_says_how_close_the_verdict_was(write) -> None:
    fit = explained(write, (FIXTURES / "tinyllama-legal.yaml").read_text(), "team-lean")
    assert fit["margin"] == "27.2 above the strong-fit threshold (65)"
    thin = explained(write, "name: Acme\nteam: {size: 8}\n", "team-lean")
    assert thin["margin"] == "review: 10% of the pack could be evaluated, below the 50% minimum"
    miss = explained(write, (FIXTURES / "titanforge-ai.yaml").read_text(), "team-lean")
    assert miss["margin"] == "21.7 below the review threshold (45)"
