"""``screen rules check``: load errors and static findings, located, with exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from screener.cli.rules import rules_group
from screener.errors import ExitCode
from screener.rules.conditions import parse
from screener.rules.lint import always_true, check_pack, lock_path, satisfiable

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
    category: team
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
