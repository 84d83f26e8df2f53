"""``screen diff``: verdict changes, score moves and the rules behind them, between two packs."""

from __future__ import annotations

import json

from click.testing import CliRunner

from screener.cli.rules import diff_command
from screener.errors import ExitCode

OLD = """
name: thesis
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: lean}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: open}
  - {id: usage, title: Usage, category: economics, points: 5, when: traction.pricing == "usage", rationale: usage}
  - {id: big, title: Big, category: team, points: -5, when: team.size > 100, rationale: big}
"""

NEW = """
name: thesis
version: 1.1.0
thresholds: {strong_fit: 80, review: 40}
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 10, rationale: lean}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: open}
  - {id: big, title: Big, category: team, points: -10, when: team.size > 100, rationale: big}
  - {id: seat, title: Seat, category: economics, points: -5, when: traction.pricing == "seat", rationale: seat}
"""


def invoke(write, *extra: str):
    old = write("old.yaml", OLD)
    new = write("new.yaml", NEW)
    a = write("a.yaml", "name: Alpha\nteam: {size: 12}\nmodel: {open_weights: true}\ntraction: {pricing: usage}\n")
    b = write("b.yaml", "name: Beta\nteam: {size: 8}\nmodel: {open_weights: true}\ntraction: {pricing: usage}\n")
    c = write("c.yaml", "name: Gamma\nteam: {size: 300}\nmodel: {open_weights: false}\ntraction: {pricing: seat}\n")
    args = [str(old), str(new), str(a), str(b), str(c), "--on", "2026-11-27", *extra]
    return CliRunner().invoke(diff_command, args, env={"COLUMNS": "200"}), (a, b, c)


def test_json_lists_verdict_changes_moves_and_causes(write) -> None:
    result, (a, b, c) = invoke(write, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["old"]["version"], data["new"]["version"]) == ("1.0.0", "1.1.0")
    assert data["settings"] == ["threshold strong_fit: 70 → 80"]
    by_file = {c["file"]: c for c in data["companies"]}

    alpha = by_file[str(a)]
    assert (alpha["old_verdict"], alpha["new_verdict"], alpha["delta"]) == ("strong-fit", "review", -33.3)
    assert [(r["id"], r["change"], r["old_outcome"], r["new_outcome"]) for r in alpha["rules"]] == [
        ("lean", "changed", "matched", "not-matched"),
        ("big", "changed", "not-matched", "not-matched"),
        ("seat", "added", None, "not-matched"),
        ("usage", "removed", "matched", None),
    ]
    beta = by_file[str(b)]
    assert (beta["old_verdict"], beta["new_verdict"], beta["old_score"], beta["new_score"]) == (
        "strong-fit",
        "strong-fit",
        100.0,
        100.0,
    )
    gamma = by_file[str(c)]
    assert [(r["id"], r["old_points"], r["new_points"]) for r in gamma["rules"]] == [
        ("big", -5, -10),
        ("seat", None, -5),
        ("usage", 5, None),
    ]
    assert data["verdict_changes"] == [str(a)]
    assert data["biggest_moves"] == [str(a)]


def test_the_terminal_report_names_companies_and_rules(write) -> None:
    result, _ = invoke(write)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "thesis 1.0.0" in out and "thesis 1.1.0" in out
    assert "pack: threshold strong_fit: 70 → 80" in out
    assert "Verdict changes (1)" in out
    assert "Alpha" in out and "lean: matched (+10) → not-matched (+10)" in out
    assert "usage: matched (+5) → absent" in out
    assert "Biggest score moves" in out and "-33.3" in out


def test_an_invalid_profile_stops_the_diff_with_its_location(write) -> None:
    write("old.yaml", OLD)
    bad = write("bad.yaml", "name: Bad\nteam: {sise: 3}\n")
    result = CliRunner().invoke(diff_command, [str(write("old.yaml", OLD)), str(write("new.yaml", NEW)), str(bad)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == f"error: {bad}:2:8: team.sise: unknown field 'sise'; did you mean 'size'?\n"


def test_each_company_carries_its_score_range_under_both_packs(write) -> None:
    result, (a, _, _) = invoke(write, "--format", "json")
    assert result.exit_code == 0, result.output
    alpha = {c["file"]: c for c in json.loads(result.output)["companies"]}[str(a)]
    # Alpha fills every field both packs read: nothing is open, the range is the score.
    assert (alpha["new_range"]["worst"], alpha["new_range"]["best"]) == (alpha["new_score"],) * 2
    thin = write("d.yaml", "name: Delta\nteam: {size: 5}\n")
    old, new = write("old.yaml", OLD), write("new.yaml", NEW)
    shown = CliRunner().invoke(diff_command, [str(old), str(new), str(thin), "--on", "2026-11-27", "--format", "json"])
    (delta,) = json.loads(shown.output)["companies"]
    for side in ("old", "new"):
        span = delta[f"{side}_range"]
        # Delta's model and pricing are unknown: the range is open and holds the score.
        assert span["worst"] <= delta[f"{side}_score"] <= span["best"] and span["worst"] < span["best"]
