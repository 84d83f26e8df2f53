"""Rule pack validation: shape, conditions, templates, all problems at once, located."""

from __future__ import annotations

import pytest

from screener.errors import RuleError
from screener.rules.rulebook import DEFAULT_PACK, load_rulebook, resolve_pack

PACK_HEAD = """
name: test-pack
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
"""


def test_the_default_pack_loads_and_fits_the_brief(rulebook) -> None:
    assert rulebook.name == DEFAULT_PACK
    assert 20 <= len(rulebook.rules) <= 40
    assert {r.spec.category for r in rulebook.rules} >= {
        "team",
        "capital",
        "model",
        "approach",
        "compute",
        "economics",
        "performance",
        "data",
    }
    assert any(r.knockout for r in rulebook.rules)
    assert len(rulebook.hash) == 64


def test_every_problem_is_reported_with_file_line_column_and_rule_id(write) -> None:
    path = write(
        "pack.yaml",
        PACK_HEAD
        + """
  - id: typo-field
    title: Typo
    category: team
    points: 5
    when: team.sise <= 15
    rationale: "x"
  - id: wrong-type
    title: Wrong type
    category: team
    points: 5
    when: team.size > "many"
    rationale: "x"
  - id: bad-operator
    title: Bad operator
    category: team
    points: 5
    when: team.size ** 2 > 4
    rationale: "x"
  - id: typo-field
    title: Duplicate
    category: team
    points: 1
    when: model.open_weights
    rationale: "{{ teem.size }}"
""",
    )
    with pytest.raises(RuleError) as caught:
        load_rulebook(path)
    assert str(caught.value).splitlines() == [
        f"{path}:10:11: typo-field: unknown field 'team.sise'; did you mean 'team.size'?",
        f"{path}:16:23: wrong-type: team.size: is a whole number; 'many' is not",
        f"{path}:22:11: bad-operator: arithmetic ('team.size ** 2') is not supported; compare a field with a value",
        f"{path}:24:9: typo-field: duplicate rule id (first used by rule 1)",
        f"{path}:29:17: typo-field: unknown template variable(s): teem",
    ]


def test_shape_errors_name_the_rule(write) -> None:
    path = write(
        "pack.yaml",
        PACK_HEAD
        + """
  - id: both
    title: Both
    category: team
    points: 5
    knockout: true
    when: team.size <= 15
    rationale: "x"
  - id: neither
    title: Neither
    category: team
    when: team.size <= 15
    rationale: "x"
  - id: extra
    title: Extra key
    category: team
    points: 1
    when: team.size <= 15
    rationale: "x"
    colour: red
""",
    )
    with pytest.raises(RuleError) as caught:
        load_rulebook(path)
    text = str(caught.value)
    assert f"{path}:6:5: both: a knockout rule has no points; remove 'points' or 'knockout'" in text
    assert f"{path}:13:5: neither: give the rule non-zero 'points', or 'knockout: true'" in text
    assert f"{path}:24:5: extra: colour: unknown field 'colour'" in text


def test_thresholds_and_version_are_checked(write) -> None:
    path = write(
        "pack.yaml",
        """
name: test-pack
version: one
thresholds: {strong_fit: 40, review: 120}
rules:
  - {id: a, title: A, category: c, points: 1, when: team.size > 1, rationale: x}
""",
    )
    with pytest.raises(RuleError) as caught:
        load_rulebook(path)
    text = str(caught.value)
    assert "version: 'one' is not a semantic version such as 1.2.0" in text
    assert "thresholds.review: Input should be less than or equal to 100" in text


def test_reads_declaration_must_match_the_condition(write) -> None:
    path = write(
        "pack.yaml",
        PACK_HEAD
        + """
  - id: a
    title: A
    category: c
    points: 1
    when: team.size > 1 and missing(traction.arr)
    reads: [team.size, traction.arr]
    rationale: x
""",
    )
    with pytest.raises(
        RuleError, match=r"'reads' lists \['team.size', 'traction.arr'\] but the condition reads \['team.size'\]"
    ):
        load_rulebook(path)


def test_conditions_with_too_many_simultaneous_matches_are_refused(write) -> None:
    alternatives = " or ".join(f"team.size > {i}" for i in range(70))
    path = write(
        "pack.yaml",
        PACK_HEAD
        + f"""
  - id: wide
    title: Wide
    category: c
    points: 1
    when: {alternatives}
    rationale: x
""",
    )
    with pytest.raises(RuleError, match="can match 70 ways at once; the engine holds at most 63"):
        load_rulebook(path)


def test_resolve_pack_folder_rules(tmp_path, write) -> None:
    assert resolve_pack(None).name == f"{DEFAULT_PACK}.yaml"
    write("one/pack.yaml", "x: 1\n")
    write("one/pack.tests.yaml", "x: 1\n")
    assert resolve_pack(tmp_path / "one").name == "pack.yaml"
    write("two/a.yaml", "x: 1\n")
    write("two/b.yaml", "x: 1\n")
    with pytest.raises(RuleError, match=r"several rule packs here \(a.yaml, b.yaml\)"):
        resolve_pack(tmp_path / "two")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleError, match=r"no rule pack"):
        resolve_pack(tmp_path / "empty")
    with pytest.raises(RuleError, match="file not found"):
        load_rulebook(tmp_path / "absent.yaml")


def test_content_hash_ignores_formatting_but_not_content(write) -> None:
    rule = "  - {id: a, title: A, category: c, points: 1, when: team.size > 1, rationale: x}\n"
    first = load_rulebook(write("a.yaml", PACK_HEAD + rule))
    reformatted = load_rulebook(write("b.yaml", "# a comment\n" + PACK_HEAD + rule.replace(", ", ",  ")))
    edited = load_rulebook(write("c.yaml", PACK_HEAD + rule.replace("points: 1", "points: 2")))
    assert first.hash == reformatted.hash
    assert first.hash != edited.hash


def test_shape_errors_do_not_hide_condition_errors_in_other_rules(write) -> None:
    path = write(
        "pack.yaml",
        PACK_HEAD
        + """
  - id: no-points
    title: No points
    category: team
    when: team.size <= 15
    rationale: x
  - id: typo
    title: Typo
    category: team
    points: 1
    when: traction.margin > 0.5
    rationale: x
""",
    )
    with pytest.raises(RuleError) as caught:
        load_rulebook(path)
    assert str(caught.value).splitlines() == [
        f"{path}:6:5: no-points: give the rule non-zero 'points', or 'knockout: true'",
        f"{path}:15:11: typo: unknown field 'traction.margin'; did you mean 'traction.gross_margin'?",
    ]
