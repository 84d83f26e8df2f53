"""``screen rules test``: example companies with expected outcomes, through the real engine."""

from __future__ import annotations

from click.testing import CliRunner

from screener.cli.rules import rules_group
from screener.errors import ExitCode

PACK = """
name: mini
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - id: lean
    title: Lean
    category: team
    points: 10
    when: team.size <= 15
    rationale: "lean"
  - id: open
    title: Open
    category: model
    points: 5
    when: model.open_weights
    rationale: "open"
  - id: usage
    title: Usage pricing
    category: economics
    points: 5
    when: traction.pricing == "usage"
    rationale: "usage"
"""


def run(*args: str):
    return CliRunner().invoke(rules_group, ["test", *args])


def test_the_default_pack_passes_its_tests_with_full_coverage() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert "PASS  team-lean fires at 15 people\n" in result.output
    assert result.output.endswith("rule coverage: 39/39 rules exercised (100%)\n")


def test_pass_fail_and_what_differed(write) -> None:
    pack = write("rules/mini.yaml", PACK)
    write(
        "rules/mini.tests.yaml",
        """
        on: 2026-11-27
        tests:
          - name: lean at 15
            profile: &base {name: Acme, team: {size: 15}}
            fired: [lean]
          - name: wrongly expects lean at 16
            profile: *base
            overrides: {team.size: 16, model.open_weights: true}
            fired: [lean, open]
            verdict: strong-fit
          - name: pricing unknown
            profile: *base
            not_evaluable: [usage]
        """,
    )
    result = run(str(pack.parent))
    assert result.exit_code == ExitCode.RULE_ERROR
    tests_file = pack.with_name("mini.tests.yaml")
    assert result.output == (
        "PASS  lean at 15\n"
        "FAIL  wrongly expects lean at 16\n"
        f"      {tests_file}:6:5: lean: expected matched, got not-matched (team.size = 16; when team.size <= 15)\n"
        f"      {tests_file}:6:5: verdict: expected strong-fit, got pass (score 33.3)\n"
        "PASS  pricing unknown\n"
        "mini 1.0.0: 2 passed, 1 failed\n"
        "rule coverage: 2/3 rules exercised (67%)\n"
        "not exercised by any test: usage\n"
    )


def test_a_fixture_file_with_dotted_overrides(write) -> None:
    write(
        "fixtures/acme.yaml", "name: Acme\nteam: {size: 40}\nmodel: {open_weights: true}\ntraction: {pricing: seat}\n"
    )
    pack = write("rules/mini.yaml", PACK)
    write(
        "rules/mini.tests.yaml",
        """
        on: 2026-11-27
        tests:
          - name: the fixture as it is
            fixture: ../fixtures/acme.yaml
            fired: [open]
            not_fired: [lean, usage]
          - name: the fixture made lean and usage-priced
            fixture: ../fixtures/acme.yaml
            overrides: {team.size: 15, traction.pricing: usage, model.open_weights: false}
            fired: [lean, usage]
            not_fired: [open]
        """,
    )
    result = run(str(pack))
    assert result.exit_code == 0, result.output
    assert result.output.endswith("mini 1.0.0: 2 passed, 0 failed\nrule coverage: 3/3 rules exercised (100%)\n")


def test_a_tests_file_is_validated_with_located_messages(write) -> None:
    pack = write("rules/mini.yaml", PACK)
    tests_file = write(
        "rules/mini.tests.yaml",
        """
        tests:
          - name: typo
            profile: {name: Acme}
            fird: [lean]
          - name: unknown rule
            profile: {name: Acme}
            fired: [lena]
        """,
    )
    result = run(str(pack))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stderr == f"error: {tests_file}:4:5: typo: fird: unknown field 'fird'; did you mean 'fired'?\n"

    write("rules/mini.tests.yaml", "tests:\n  - name: nothing expected\n    profile: {name: Acme}\n")
    result = run(str(pack))
    assert result.stderr == (
        f"error: {tests_file}:2:5: nothing expected: expect something: fired, not_fired, not_evaluable, reasons or verdict\n"
    )


def test_unknown_rule_ids_and_bad_override_values_are_located(write) -> None:
    pack = write("rules/mini.yaml", PACK)
    tests_file = write(
        "rules/mini.tests.yaml",
        """
        tests:
          - name: unknown rule
            profile: {name: Acme}
            fired: [lena]
        """,
    )
    result = run(str(pack))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert (
        result.stderr == f"error: {tests_file}:4:13: unknown rule: no rule 'lena' in pack mini; did you mean 'lean'?\n"
    )

    write(
        "rules/mini.tests.yaml",
        """
        tests:
          - name: bad size
            profile: {name: Acme}
            overrides: {team.size: many}
            fired: [lean]
        """,
    )
    result = run(str(pack))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.startswith(f"error: {tests_file}:4:17: bad size: team.size: ")


def test_a_pack_without_tests_is_an_error(write) -> None:
    pack = write("rules/mini.yaml", PACK)
    result = run(str(pack.parent))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert "no rule tests (<pack>.tests.yaml) beside the pack(s)" in result.stderr
