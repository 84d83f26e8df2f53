"""``screen backtest``: metrics against labels, checked by hand on five companies."""

from __future__ import annotations

import json

from click.testing import CliRunner

from screener.cli.rules import backtest_command
from screener.errors import ExitCode

PACK = """
name: mini
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: lean}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: open}
  # Matches everyone: an assert that matches nothing can crash durable-rules (see test_explain.py).
  - {id: sized, title: Sized, category: team, points: 1, when: present(team.size), rationale: sized}
"""

COMPANIES = {  # name: (team size, open weights, label); scores 100, 68.8, 37.5, 6.3, 100
    "a": (10, "true", 1),
    "b": (10, "false", 1),
    "c": (30, "true", 0),
    "d": (30, "false", 1),
    "e": (10, "true", 0),
}


def setup(write):
    pack = write("mini.yaml", PACK)
    rows = ["profile,label,decided"]
    for name, (size, open_weights, label) in COMPANIES.items():
        write(f"p/{name}.yaml", f"name: {name}\nteam: {{size: {size}}}\nmodel: {{open_weights: {open_weights}}}\n")
        rows.append(f"p/{name}.yaml,{label},2026-11-27")
    labels = write("labels.csv", "\n".join(rows) + "\n")
    return pack, labels


def test_metrics_match_a_hand_count(write) -> None:
    pack, labels = setup(write)
    args = [str(pack), str(labels), "--as-of-column", "decided", "--k", "2", "--k", "3", "--format", "json"]
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["companies"], data["positives"], data["base_rate"]) == (5, 3, 0.6)
    assert data["by_verdict"] == [
        {"verdict": "strong-fit", "positive": 1, "negative": 1},
        {"verdict": "review", "positive": 1, "negative": 0},
        {"verdict": "pass", "positive": 1, "negative": 1},
    ]
    strong, review = data["cutoffs"]
    assert strong["confusion"] == {"true_positive": 1, "false_positive": 1, "false_negative": 2, "true_negative": 1}
    assert (strong["precision"]["value"], strong["recall"]["value"], strong["f05"]["value"]) == (0.5, 0.3333, 0.4545)
    assert strong["lift"] == 0.83
    assert review["confusion"] == {"true_positive": 2, "false_positive": 1, "false_negative": 1, "true_negative": 1}
    assert (review["precision"]["value"], review["recall"]["value"], review["lift"]) == (0.6667, 0.6667, 1.11)
    assert [(p["k"], p["precision"]["value"]) for p in data["precision_at_k"]] == [(2, 0.5), (3, 0.6667)]
    assert data["rules"] == [
        {"id": "lean", "coverage": 1.0, "hit_rate": 0.6, "fired": 3, "precision_when_fired": 0.6667},
        {"id": "open", "coverage": 1.0, "hit_rate": 0.6, "fired": 3, "precision_when_fired": 0.3333},
        {"id": "sized", "coverage": 1.0, "hit_rate": 1.0, "fired": 5, "precision_when_fired": 0.6},
    ]
    low, high = review["precision"]["low"], review["precision"]["high"]
    assert 0 <= low <= 0.6667 <= high <= 1


def test_the_bootstrap_is_seeded(write) -> None:
    pack, labels = setup(write)
    runs = [
        CliRunner().invoke(backtest_command, [str(pack), str(labels), "--format", "json", "--on", "2026-11-27"]).output
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    other = CliRunner().invoke(backtest_command, [str(pack), str(labels), "--format", "json", "--seed", "7"]).output
    assert json.loads(other)["seed"] == 7


def test_markdown_report(write, tmp_path) -> None:
    pack, labels = setup(write)
    report = tmp_path / "out" / "backtest.md"
    result = CliRunner().invoke(
        backtest_command, [str(pack), str(labels), "--report", str(report), "--on", "2026-11-27"]
    )
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert text.startswith("# Backtest of mini 1.0.0\n")
    assert "| strong-fit | 1 | 1 | 2 | 1 | 50% [" in text
    assert "| review | 1 | 0 |" in text
    assert "| lean | 100% | 60% | 3 | 67% |" in text
    assert "Verdict cut-offs" in result.output


def test_bad_labels_are_located(write) -> None:
    pack = write("mini.yaml", PACK)
    write("p/a.yaml", "name: a\n")
    labels = write("labels.csv", "profile,label\np/a.yaml,maybe\n")
    result = CliRunner().invoke(backtest_command, [str(pack), str(labels)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == (
        f"error: {labels}:2:2: label: 'maybe' is not a label; use 1/0, yes/no, true/false or positive/negative\n"
    )
    result = CliRunner().invoke(backtest_command, [str(pack), str(labels), "--label-column", "invested"])
    assert result.stderr == f"error: {labels}:1:1: no column 'invested' (columns: profile, label)\n"


def test_html_report_draws_the_score_distribution(write, tmp_path) -> None:
    pack, labels = setup(write)
    report = tmp_path / "backtest.html"
    result = CliRunner().invoke(
        backtest_command, [str(pack), str(labels), "--report", str(report), "--on", "2026-11-27"]
    )
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert page.startswith("<!doctype html>")
    assert "<svg" in page
    # scores 100 (positive), 68.8 (positive), 37.5 (negative), 6.3 (positive), 100 (negative)
    assert "<title>90–100: 1 positive</title>" in page
    assert "<title>90–100: 1 negative</title>" in page
    assert "<title>60–70: 1 positive</title>" in page
    assert "<title>30–40: 1 negative</title>" in page
    assert "<title>0–10: 1 positive</title>" in page
    data = json.loads(
        CliRunner().invoke(backtest_command, [str(pack), str(labels), "--format", "json", "--on", "2026-11-27"]).output
    )
    assert [(b["low"], b["positive"], b["negative"]) for b in data["score_bins"] if b["positive"] or b["negative"]] == [
        (0, 1, 0),
        (30, 0, 1),
        (60, 1, 0),
        (90, 1, 1),
    ]


def test_labels_can_hold_the_profiles_themselves(write) -> None:
    pack = write("mini.yaml", PACK)
    mapping = write(
        "map.yaml",
        "columns:\n  Company: {field: name}\n  Staff: {field: team.size, type: integer}\nignore: [outcome]\n",
    )
    labels = write("history.csv", "Company,Staff,outcome\nA,10,1\nB,30,0\nC,lots,1\n")
    kept = CliRunner().invoke(
        backtest_command,
        [str(pack), str(labels), "--map", str(mapping), "--label-column", "outcome", "--format", "json"],
    )
    assert kept.exit_code == 0, kept.output  # a bad optional cell leaves its field out
    assert json.loads(kept.stdout)["companies"] == 3
    labels = write("history.csv", "Company,Staff,outcome\nA,10,1\nB,30,0\n")
    args = [str(pack), str(labels), "--map", str(mapping), "--label-column", "outcome", "--format", "json"]
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["companies"], data["positives"]) == (2, 1)
    assert data["rules"][0] == {"id": "lean", "coverage": 1.0, "hit_rate": 0.5, "fired": 1, "precision_when_fired": 1.0}
