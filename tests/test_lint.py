"""``screen rules check``: load errors and static findings, located, with exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from screener.cli.rules import rules_group
from screener.errors import ExitCode
from screener.rules.conditions import parse
from screener.rules.identity import lock_path
from screener.rules.lint import always_true, check_pack, satisfiable

HEAD = """
name: test-pack
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:"""

FINDINGS = (
    HEAD
    + """
  - id: impossible
    title: Impossible
    category: team
    points: 5
    when: team.size > 10 and team.size < 5
    rationale: "never"
  - id: tautology
    title: Always
    category: team
    points: 5
    when: team.size > 5 or team.size <= 5
    rationale: "always"
  - id: dead-branch
    title: Dead branch
    category: stage
    points: 5
    when: stage == "seed" and (team.size > 3 or stage == "growth")
    rationale: "dead"
  - id: presence-only
    title: Presence only
    category: data
    points: -2
    when: missing(traction.arr)
    rationale: "no arr"
  - id: two-stages
    title: Two stages
    category: team
    points: 5
    when: stage == "seed" and stage == "growth"
    rationale: "x"
"""
)

CLEAN = (
    HEAD
    + """
  - id: lean
    title: Lean
    category: team
    points: 5
    when: team.size <= 15
    rationale: "lean"
"""
)


def run(*args: str):
    return CliRunner().invoke(rules_group, list(args))


def test_the_default_pack_is_clean() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("1 pack(s) checked: 0 error(s), 0 warning(s)\n")


def test_static_findings_are_located_with_rule_id_and_level(write) -> None:
    path = write("pack.yaml", FINDINGS)
    lines = [f"{p.level}: {p}" for p in check_pack(path)]
    assert lines == [
        f"error: {path}:9:11: impossible: the condition can never hold: "
        "team.size > 10 and team.size < 5 cannot all be true",
        f"warning: {path}:15:11: tautology: the condition holds for every company whose team.size is known; "
        "it cannot tell companies apart",
        f"warning: {path}:21:49: dead-branch: the alternative (stage == 'growth') can never hold here; it is dead",
        f"warning: {path}:27:11: presence-only: the condition compares no field, only whether data is present; "
        "it never depends on the values",
        f"error: {path}:33:11: two-stages: the condition can never hold: "
        "stage == 'seed' and stage == 'growth' cannot all be true",
    ]


def test_errors_exit_with_the_rule_error_code(write) -> None:
    path = write("pack.yaml", FINDINGS)
    result = run("check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert f"error: {path}:9:11: impossible: the condition can never hold" in result.output
    assert result.output.endswith("1 pack(s) checked: 2 error(s), 3 warning(s)\n")


def test_warnings_alone_exit_zero(write) -> None:
    path = write(
        "pack.yaml",
        HEAD
        + """
  - id: tautology
    title: Always
    category: team
    points: 5
    when: team.size > 5 or team.size <= 5
    rationale: "always"
""",
    )
    result = run("check", str(path))
    assert result.exit_code == 0
    assert "warning: " in result.output


def test_load_errors_are_reported_like_the_loader_does(write) -> None:
    path = write(
        "pack.yaml",
        HEAD
        + """
  - id: typo
    title: Typo
    category: team
    points: 5
    when: team.sise <= 15
    rationale: "x"
  - id: typo
    title: No points
    category: team
    when: team.size <= 15
    rationale: "x"
""",
    )
    result = run("check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.output == (
        f"error: {path}:9:11: typo: unknown field 'team.sise'; did you mean 'team.size'?\n"
        f"error: {path}:11:5: typo: give the rule non-zero 'points', or 'knockout: true'\n"
        "1 pack(s) checked: 2 error(s), 0 warning(s)\n"
    )


def test_condition_errors_from_the_loader_come_with_did_you_mean(write) -> None:
    path = write(
        "pack.yaml",
        HEAD
        + """
  - id: typo
    title: Typo
    category: team
    points: 5
    when: team.sise <= 15
    rationale: "x"
  - id: typo
    title: Duplicate
    category: team
    points: 5
    when: team.size <= "many"
    rationale: "x"
""",
    )
    lines = [f"{p.level}: {p}" for p in check_pack(path)]
    assert lines == [
        f"error: {path}:9:11: typo: unknown field 'team.sise'; did you mean 'team.size'?",
        f"error: {path}:11:9: typo: duplicate rule id (first used by rule 1)",
        f"error: {path}:15:24: typo: team.size: is a whole number; 'many' is not",
    ]


def test_a_folder_is_checked_pack_by_pack(write) -> None:
    write("packs/a.yaml", CLEAN)
    write("packs/b.yaml", FINDINGS)
    write("packs/a.tests.yaml", "tests: []\n")
    result = run("check", str(write("packs/a.yaml", CLEAN).parent))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.output.endswith("2 pack(s) checked: 2 error(s), 3 warning(s)\n")


def test_a_changed_pack_with_the_same_version_is_flagged(write) -> None:
    path = write("pack.yaml", CLEAN)
    locked = run("check", str(path), "--update-lock")
    assert locked.exit_code == 0
    assert json.loads(lock_path(path).read_text())["versions"]["1.0.0"]
    assert run("check", str(path)).output.endswith("0 error(s), 0 warning(s)\n")

    path.write_text(path.read_text().replace("team.size <= 15", "team.size <= 20"))
    result = run("check", str(path))
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if x.startswith("warning:"))
    assert line.startswith(f"warning: {path}:2:10: version: the pack changed since version 1.0.0 was locked")
    assert line.endswith("bump the version, or run 'screen rules check --update-lock' to accept the change")

    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    assert "warning" not in run("check", str(path)).output.split("checked:")[0]


def test_interval_reasoning_on_encoded_integers() -> None:
    assert satisfiable(parse("team.size > 5 and team.size < 6")) is False
    assert satisfiable(parse("team.size >= 5 and team.size <= 5 and team.size != 5")) is False
    assert satisfiable(parse("team.size >= 5 and team.size <= 6 and team.size != 5")) is True
    assert satisfiable(parse("traction.gross_margin > 0.3 and traction.gross_margin < 0.3001")) is False
    assert satisfiable(parse("model.open_weights and model.open_weights == false")) is False
    assert satisfiable(parse("missing(team.size) and team.size > 3")) is False
    assert satisfiable(parse("(team.size > 10 or stage == 'seed') and team.size < 5")) is True
    assert always_true(parse("model.open_weights or model.open_weights == false"))
    assert always_true(parse("compute.gpu_dependence in ['none', 'low', 'medium', 'high']"))
    assert always_true(parse("present(team.size) or missing(team.size)"))
    assert not always_true(parse("compute.gpu_dependence in ['none', 'low', 'medium']"))
    assert not always_true(parse("team.size > 5 or team.size < 5"))


# --- units, domains and double counting (rules.sense) ----------------------------------------------

UNITS = (
    HEAD
    + """
  - {id: margin-typo, title: M, category: economics, points: 5, when: traction.gross_margin > 60, rationale: r}
  - {id: raised-typo, title: R, category: capital, points: -5, when: funding.total_raised > 15, rationale: r}
  - {id: per-head-typo, title: P, category: capital, points: 2, when: derived.arr_per_head >= 200, rationale: r}
  - {id: gap-typo, title: G, category: performance, points: 2, when: derived.benchmark_gap <= 5, rationale: r}
  - {id: negative-team, title: N, category: team, points: 5, when: team.size < 0, rationale: r}
  - {id: over-full, title: O, category: economics, points: 5, when: 'traction.gross_margin > "100%"', rationale: r}
  - {id: ancient, title: A, category: team, points: 1, when: founded < 1700, rationale: r}
  - {id: any-team, title: Y, category: people, points: 2, when: team.size >= 0, rationale: r}
  - {id: fine, title: F, category: capital, points: 1, when: 'funding.total_raised > 0 and traction.gross_margin >= 0.6 and derived.compute_to_revenue > 1.5', rationale: r}
  - {id: declared, title: D, category: signals, points: 1, when: signals.churn > 5, rationale: r}
fields:
  signals.churn: {type: fraction, description: monthly churn}
"""
)


def test_comparisons_out_of_their_fields_unit_or_domain_are_found(write) -> None:
    path = write("pack.yaml", UNITS)
    assert [str(p) for p in check_pack(path)] == [
        f"{path}:5:71: margin-typo: traction.gross_margin is a fraction (0.6 is 60%), so 60 means 6000%; did you mean "
        "'60%'?",
        f"{path}:6:70: raised-typo: funding.total_raised is money in whole dollars, so 15 means $15; did you mean "
        "'$15M'?",
        f"{path}:7:71: per-head-typo: derived.arr_per_head is money in whole dollars, so 200 means $200; did you mean "
        "'$200K'?",
        f"{path}:8:70: gap-typo: derived.benchmark_gap is a fraction (0.6 is 60%), so 5 means 500%; did you mean '5%'?",
        f"{path}:9:68: negative-team: team.size < 0 can never hold: team.size is never below 0",
        f'{path}:10:70: over-full: traction.gross_margin > "100%" can never hold: traction.gross_margin is never '
        "above 1 (100%)",
        f"{path}:11:62: ancient: founded < 1700 can never hold: founded is never below 1800",
        f"{path}:12:65: any-team: team.size >= 0 holds for every company whose team.size is known: team.size is never "
        "below 0",
        f"{path}:14:66: declared: signals.churn is a fraction (0.6 is 60%), so 5 means 500%; did you mean '5%'?",
    ]
    levels = [p.level for p in check_pack(path)]
    assert levels == ["error"] * 7 + ["warning", "error"]


def test_the_issues_two_traps_fail_rules_check(write) -> None:
    path = write(
        "pack.yaml",
        HEAD
        + """
  - {id: margin, title: M, category: economics, points: 6, when: traction.gross_margin > 60, rationale: r}
  - {id: raise, title: R, category: capital, points: -6, when: funding.total_raised > 15, rationale: r}
""",
    )
    result = run("check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.output.splitlines() == [
        f"error: {path}:5:66: margin: traction.gross_margin is a fraction (0.6 is 60%), so 60 means 6000%; did you "
        "mean '60%'?",
        f"error: {path}:6:64: raise: funding.total_raised is money in whole dollars, so 15 means $15; did you mean "
        "'$15M'?",
        "1 pack(s) checked: 2 error(s), 0 warning(s)",
    ]


DOUBLE = (
    HEAD
    + """
  - {id: big, title: Big, category: team, points: -10, when: team.size > 150, rationale: r}
  - {id: big-at-seed, title: B, category: team, points: -5, when: team.size > 100 and stage == "seed", rationale: r}
  - {id: lean, title: Lean, category: team, points: 6, when: team.size <= 15, rationale: r}
  - {id: leaner, title: L, category: team, points: 4, when: team.size <= 8, rationale: r}
  - {id: compact, title: C, category: team, points: 3, when: team.size > 15 and team.size <= 40, rationale: r}
  - {id: raised, title: R, category: capital, points: -4, when: funding.total_raised > "$100M", rationale: r}
  - {id: big-capital, title: X, category: people, points: -3, when: team.size > 200, rationale: r}
"""
)


def test_two_rules_counting_one_fact_for_one_reason_are_a_warning(write) -> None:
    path = write("pack.yaml", DOUBLE)
    assert [str(p) for p in check_pack(path)] == [
        f"{path}:6:67: big-at-seed: penalises the same fact as rule 'big' (line 5): both read team.size in category "
        "'team' and can match one company, which then loses 15 points for it; make the conditions exclusive, or "
        "merge the rules",
        f"{path}:8:61: leaner: rewards the same fact as rule 'lean' (line 7): both read team.size in category 'team' "
        "and can match one company, which then gains 10 points for it; make the conditions exclusive, or merge the "
        "rules",
    ]
    assert {p.level for p in check_pack(path)} == {"warning"}
