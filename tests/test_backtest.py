"""``screen backtest``: metrics against labels checked by hand, label vocabularies, bad rows, held-out estimates."""

from __future__ import annotations

import csv
import json
import random

import pytest
from click.testing import CliRunner

from screener.analysis.backtest import metrics
from screener.analysis.backtest.models import Case
from screener.cli.rules import backtest_command
from screener.errors import ExitCode
from screener.screening.result import Outcome, Verdict

PACK = """
name: mini
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: lean}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: open}
  # Matches everyone: an assert that matches nothing can crash durable-rules (see test_explain.py).
  - {id: sized, title: Sized, category: team, points: 1, when: present(team.size), rationale: sized}
  - {id: big, title: Big, category: team, points: -3, when: team.size > 20, rationale: big}
"""

COMPANIES = {  # name: (team size, open weights, label)
    "a": (10, "true", 1),  # lean, open, sized: 16 of 16 → 100
    "b": (10, "false", 1),  # lean, sized: 11 → (11+3)/19 = 73.7
    "c": (30, "true", 0),  # open, sized, big: 6-3 → (3+3)/19 = 31.6
    "d": (30, "false", 1),  # sized, big → (-2+3)/19 = 5.3
    "e": (10, "true", 0),  # 100
}


def setup(write):
    pack = write("mini.yaml", PACK)
    rows = ["profile,label,decided"]
    for name, (size, open_weights, label) in COMPANIES.items():
        write(f"p/{name}.yaml", f"name: {name}\nteam: {{size: {size}}}\nmodel: {{open_weights: {open_weights}}}\n")
        rows.append(f"p/{name}.yaml,{label},2026-11-27")
    labels = write("labels.csv", "\n".join(rows) + "\n")
    return pack, labels


def run(*args: str):
    return CliRunner().invoke(backtest_command, list(args))


def test_metrics_match_a_hand_count(write, tmp_path) -> None:
    pack, labels = setup(write)
    args = [str(pack), str(labels), "--as-of-column", "decided", "--k", "2", "--k", "3", "--format", "json",
            "--rejects", str(tmp_path / "r.jsonl")]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["companies"], data["positives"], data["base_rate"], data["rejected"]) == (5, 3, 0.6, 0)
    assert data["labels"] == {
        "column": "label",
        "positive": ["1", "good", "invested", "positive", "true", "y", "yes"],
        "negative": ["0", "bad", "false", "n", "negative", "no", "passed"],
    }
    assert data["by_verdict"] == [
        {"verdict": "strong-fit", "positive": 2, "negative": 1},
        {"verdict": "review", "positive": 0, "negative": 0},
        {"verdict": "pass", "positive": 1, "negative": 1},
    ]
    strong, _review = data["cutoffs"]
    assert strong["confusion"] == {"true_positive": 2, "false_positive": 1, "false_negative": 1, "true_negative": 1}
    assert (strong["precision"]["value"], strong["recall"]["value"], strong["f05"]["value"]) == (0.6667, 0.6667, 0.6667)
    assert strong["lift"]["value"] == 1.1111
    # Scores a 100, b 73.7, c 31.6, d 5.3, e 100. Pairs (positive, negative) won: a>c, a=e (half), b>c,
    # e beats b, d loses both: (1 + 0.5 + 1 + 0 + 0 + 0) / 6.
    assert data["auc"]["value"] == 0.4167
    sweep = {row["cut"]: row for row in data["sweep"]}
    assert sorted(sweep) == [5.3, 31.6, 73.7, 100.0]
    assert (sweep[73.7]["flagged"], sweep[73.7]["precision"], sweep[73.7]["recall"]) == (3, 0.6667, 0.6667)
    # F0.5 picking a, b and e (2 of 3, 2 of 3 positives): 0.667; picking everyone (3 of 5, all): 0.652.
    assert [row["cut"] for row in data["sweep"] if row["best"]] == [73.7]
    assert data["best_cut"]["cut"] == 73.7 and data["best_cut"]["flagged"] == 3
    # Precision at 2: a and e tie at the top (both 100, full coverage): expected 1/2; at 3, b follows.
    at_two, at_three = data["precision_at_k"]
    assert (at_two["k"], at_two["precision"]["value"], at_two["tied"], at_two["tied_inside"]) == (2, 0.5, 0, 0)
    assert (at_three["precision"]["value"], at_three["tied"]) == (0.6667, 0)
    lean, open_, sized, big = data["rules"]
    assert (lean["fired"], lean["precision_when_fired"]["value"], lean["lift"]["value"]) == (3, 0.6667, 1.1111)
    assert (open_["fired"], open_["precision_when_fired"]["value"]) == (3, 0.3333)
    assert (big["fired"], big["precision_when_fired"]["value"], big["points"]) == (2, 0.5, -3)
    assert open_["warning"] == (
        "bonus rule open picks losers: 33% [0%–100%] of the 3 companies it fired on are positive, below the base "
        "rate of 60%; the interval includes the base rate, so it may be noise"
    )
    assert big["warning"] is None and sized["warning"] is None
    assert data["warnings"] == [open_["warning"]]
    calibration = {band["band"]: band for band in data["calibration"]}
    assert (calibration["90–100"]["companies"], calibration["90–100"]["positives"]) == (2, 1)
    assert calibration["90–100"]["share"] == {"value": 0.5, "low": 0.0945, "high": 0.9055}  # Wilson
    low, high = strong["precision"]["low"], strong["precision"]["high"]
    assert 0 <= low <= 0.6667 <= high <= 1


def test_precision_at_k_does_not_depend_on_the_order_of_ties() -> None:
    outcomes: dict[str, Outcome] = {}
    cases = [Case(90.0, Verdict.STRONG_FIT, True, outcomes, key="top", name="top")]
    cases += [Case(70.0, Verdict.STRONG_FIT, i < 2, outcomes, key=f"t{i}", name=f"t{i}") for i in range(4)]
    cases += [Case(10.0, Verdict.PASS, False, outcomes, key=f"low{i}", name=f"low{i}") for i in range(3)]
    found = set()
    for seed in range(6):
        shuffled = cases[:]
        random.Random(seed).shuffle(shuffled)
        value, tied, inside = metrics.precision_at_k(shuffled, 3)
        found.add((round(value or 0, 12), tied, inside))
    # The top company, then 2 of the 4 tied at 70 (half of whom are positive): (1 + 2 × 2/4) / 3.
    assert found == {(round(2 / 3, 12), 4, 2)}
    assert metrics.precision_at_k(cases, 5) == (pytest.approx(3 / 5), 0, 0)  # the tie ends at the 5th place


def test_label_vocabularies(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    rows = ["profile,status"]
    for name, (size, _, label) in COMPANIES.items():
        write(f"p/{name}.yaml", f"name: {name}\nteam: {{size: {size}}}\n")
        rows.append(f"p/{name}.yaml,{'Acquired' if label else 'closed'}")
    labels = write("labels.csv", "\n".join(rows) + "\n")
    common = ["--label-column", "status", "--on", "2026-11-27", "--format", "json"]
    only = run(str(pack), str(labels), "--positive", "acquired", *common)
    assert only.exit_code == 0, only.output
    data = json.loads(only.output)
    assert (data["positives"], data["labels"]["positive"], data["labels"]["negative"]) == (3, ["acquired"], [])
    write("p/f.yaml", "name: f\nteam: {size: 12}\n")
    labels = write("labels.csv", "\n".join([*rows, "p/f.yaml,operating"]) + "\n")
    both = run(str(pack), str(labels), "--positive", "acquired", "--negative", "closed", *common,
               "--rejects", str(tmp_path / "r.jsonl"))  # fmt: skip
    assert both.exit_code == ExitCode.REJECTS
    assert json.loads(both.stdout)["rejected"] == 1
    (reject,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert reject["errors"] == [
        {
            "location": f"{labels}:7:2",
            "field": "status",
            "message": "'operating' is neither a positive (acquired) nor a negative (closed) label",
        }
    ]
    typo = run(str(pack), str(labels), "--positive", "aquired", *common)
    assert typo.exit_code == ExitCode.INVALID_INPUT
    assert typo.stderr == (
        "error: --positive: no row is labelled 'aquired' (the labels are: acquired (3), closed (2), operating (1)); "
        "did you mean 'acquired'?\n"
    )
    clash = run(str(pack), str(labels), "--positive", "closed", "--negative", "Closed", *common)
    assert clash.exit_code == ExitCode.INVALID_INPUT
    assert clash.stderr == "error: --positive: 'closed' given as both --positive and --negative\n"


def test_bad_rows_are_rejected_and_counted_and_strict_stops(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    write("p/a.yaml", "name: a\nteam: {size: 10}\n")
    write("p/b.yaml", "name: b\nteam: {size: 30}\n")
    write("p/bad.yaml", "name: bad\nteam: {size: many}\n")
    labels = write(
        "labels.csv",
        "profile,label,decided\np/a.yaml,1,2026-01-01\np/b.yaml,0,2026-01-01\np/a.yaml,maybe,2026-01-01\n"
        "p/bad.yaml,1,2026-01-01\np/b.yaml,0,soon\n,1,2026-01-01\np/missing.yaml,0,2026-01-01\n",
    )
    rejects = tmp_path / "out" / "rejects.jsonl"
    result = run(str(pack), str(labels), "--as-of-column", "decided", "--format", "json", "--rejects", str(rejects))
    assert result.exit_code == ExitCode.REJECTS, result.output
    data = json.loads(result.stdout)
    assert (data["companies"], data["rejected"], data["rejects"]) == (2, 5, str(rejects))
    errors = [(r["line"], r["errors"][0]["location"], r["errors"][0]["message"])
              for r in map(json.loads, rejects.read_text().splitlines())]  # fmt: skip
    bad = tmp_path / "p" / "bad.yaml"
    assert errors == [
        (4, f"{labels}:4:2", "'maybe' is not a label; use 1/0, yes/no, true/false or positive/negative (or --positive "
         "VALUE)"),
        (5, f"{bad}:2:8", "Input should be a valid integer, unable to parse string as an integer"),
        (6, f"{labels}:6:3", "'soon' is not a date in YYYY-MM-DD form"),
        (7, f"{labels}:7:1", "no profile file given"),
        (8, str(tmp_path / "p" / "missing.yaml"), "file not found"),
    ]  # fmt: skip
    strict = run(str(pack), str(labels), "--as-of-column", "decided", "--strict", "--scores", str(tmp_path / "s.csv"))
    assert strict.exit_code == ExitCode.INVALID_INPUT
    assert len(strict.stderr.splitlines()) == 5 and strict.stderr.startswith(f"error: {labels}:4:2: label: 'maybe'")
    assert not (tmp_path / "s.csv").exists()  # nothing written
    missing = run(str(pack), str(labels), "--label-column", "invested")
    assert missing.exit_code == ExitCode.INVALID_INPUT
    assert missing.stderr == f"error: {labels}:1:1: no column 'invested' (columns: profile, label, decided)\n"


def test_scores_file_and_held_out_estimates(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    rows = ["Company,Staff,Open,outcome"]
    rng = random.Random(3)
    for n in range(60):
        good = rng.random() < 0.5
        size = rng.randint(3, 14) if good or rng.random() < 0.3 else rng.randint(16, 60)
        rows.append(f"C{n},{size},{rng.choice(['true', 'false'])},{'yes' if good else 'no'}")
    labels = write("history.csv", "\n".join(rows) + "\n")
    mapping = write(
        "map.yaml",
        "columns:\n  Company: {field: name}\n  Staff: {field: team.size}\n  Open: {field: model.open_weights}\n",
    )
    scores = tmp_path / "scores.csv"
    common = [str(pack), str(labels), "--map", str(mapping), "--label-column", "outcome", "--on", "2026-11-27",
              "--format", "json", "--resamples", "200"]  # fmt: skip
    result = run(*common, "--holdout", "0.25", "--seed", "5", "--scores", str(scores))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    held = data["heldout"]
    assert (held["method"], held["fraction"], held["chosen_on"], held["measured_on"]) == ("holdout", 0.25, 45, 15)
    assert held["auc"]["value"] is not None and len(held["cuts"]) == 1
    again = json.loads(run(*common, "--holdout", "0.25", "--seed", "5").stdout)["heldout"]
    assert again == held  # the split and the bootstrap are seeded
    other = json.loads(run(*common, "--holdout", "0.25", "--seed", "6").stdout)["heldout"]
    assert other != held
    with scores.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["rank", "key", "name", "label", "score", "verdict", "coverage", "knockouts", "part",
                              "line", "notes", "score_worst", "score_best", "verdict_could_change"]  # fmt: skip
    assert len(table) == 60 and [int(r["rank"]) for r in table] == list(range(1, 61))
    # Each company's score range, as the batch's ranked file has it: this pack reads only the two
    # fields every row fills, so nothing is open and each range is its score.
    assert all(r["score_worst"] == r["score"] == r["score_best"] for r in table)
    assert {r["verdict_could_change"] for r in table} == {"False"}
    assert sum(r["part"] == "held-out" for r in table) == 15
    order = ["strong-fit", "review", "pass"]
    keys = [(order.index(r["verdict"]), -float(r["score"]), -float(r["coverage"])) for r in table]
    assert keys == sorted(keys)  # ranking order
    folds = json.loads(run(*common, "--folds", "4").stdout)["heldout"]
    assert (folds["method"], folds["folds"], folds["measured_on"], len(folds["cuts"])) == ("folds", 4, 60, 4)
    c = folds["confusion"]
    assert sum(c.values()) == 60
    both = run(*common, "--folds", "4", "--holdout", "0.2")
    assert both.exit_code == ExitCode.INVALID_INPUT and "give --holdout or --folds, not both" in both.stderr
    too_many = run(*common, "--folds", "59")
    assert too_many.exit_code == ExitCode.INVALID_INPUT
    assert "--folds: --folds must be between 2 and the number of companies of the rarer label" in too_many.stderr


def test_a_penalty_that_picks_winners_is_named(write, tmp_path) -> None:
    pack = write(
        "p.yaml",
        PACK.replace("points: -3, when: team.size > 20", "points: -3, when: team.size > 12"),
    )
    rows = ["profile,label"]
    for n, (size, label) in enumerate([(13, 1), (14, 1), (15, 1), (30, 1), (5, 0), (6, 0), (7, 1), (8, 0)]):
        write(f"p/{n}.yaml", f"name: c{n}\nteam: {{size: {size}}}\n")
        rows.append(f"p/{n}.yaml,{label}")
    labels = write("labels.csv", "\n".join(rows) + "\n")
    data = json.loads(run(str(pack), str(labels), "--format", "json", "--on", "2026-11-27").stdout)
    big = next(r for r in data["rules"] if r["id"] == "big")
    assert big["warning"].startswith(
        "penalty rule big picks winners: 100% [100%–100%] of the 4 companies it fired on are positive, above the "
        "base rate of 62%"
    )


def test_markdown_and_html_reports_carry_every_interval(write, tmp_path) -> None:
    pack, labels = setup(write)
    md = tmp_path / "out" / "backtest.md"
    result = run(str(pack), str(labels), "--report", str(md), "--on", "2026-11-27", "--holdout", "0.4")
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert text.startswith("# Backtest of mini 1.0.0\n")
    assert "Every figure but the held-out estimate is in-sample" in text
    assert "| strong-fit | 2 | 1 | 1 | 1 | 67% [" in text
    assert "ROC AUC of the score: 0.42 [" in text
    assert "## Held-out estimate\n\n40% of the companies held out (seed 0): the cut, " in text
    assert "| lean | +10 | 100% | 60% | 3 | 67% [" in text
    assert "Verdict cut-offs" in result.output and "ROC AUC of the score" in result.output
    page_path = tmp_path / "backtest.html"
    result = run(str(pack), str(labels), "--report", str(page_path), "--on", "2026-11-27")
    page = page_path.read_text()
    assert page.startswith("<!doctype html>")
    for found in ('<svg id="roc"', '<svg id="sweep"', "AUC 0.42 [", "<title>90–100: 1 positive</title>",
                  "<title>90–100: 1 negative</title>", "<title>0–10: 1 positive</title>", "[0%–100%]"):  # fmt: skip
        assert found in page, found
    data = json.loads(run(str(pack), str(labels), "--format", "json", "--on", "2026-11-27").stdout)
    for section in ("cutoffs",):
        for row in data[section]:
            for figure in ("precision", "recall", "f05", "lift"):
                shown = f"{row[figure]['low']:.0%}" if figure != "lift" else f"{row[figure]['low']:.2f}"
                assert shown in page, (section, figure)


def test_labels_can_hold_the_profiles_themselves(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    mapping = write(
        "map.yaml",
        "columns:\n  Company: {field: name}\n  Staff: {field: team.size, type: integer}\nignore: [notes]\n",
    )
    labels = write("history.csv", "Company;Staff;outcome;decided;colour\nA;10;1;2026-01-01;red\nB;30;0;2026-01-01;\n"
                   "C;lots;1;2026-01-01;\n")  # fmt: skip
    args = [str(pack), str(labels), "--map", str(mapping), "--label-column", "outcome", "--as-of-column", "decided",
            "--format", "json", "--scores", str(tmp_path / "s.jsonl")]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["companies"], data["positives"]) == (3, 2)
    assert result.stderr.splitlines()[:3] == [
        f"warning: {labels}:1: unknown column(s) 'colour' ignored: map them under 'columns' or list them under "
        "'ignore' in mapping 'custom'",
        "warning: mapping 'custom' fills none of 1 field(s) pack 'mini' reads (model.open_weights): 1 of its 4 rules "
        "cannot be evaluated for CSV records; they are screened on the other 3",
        f"warning: {labels}: 1 cell(s) of column 'Staff' could not be read and were left out of their profiles "
        "(first, row 4: 'lots' is not a number; left out); --strict rejects such rows instead",
    ]
    scored = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert next(s for s in scored if s["name"] == "C")["notes"] == ["Staff: 'lots' is not a number; left out"]
    strict = run(*args, "--strict")
    assert strict.exit_code == ExitCode.INVALID_INPUT
    assert strict.stderr.endswith(f"error: {labels}:4: Staff: 'lots' is not a number\n")


def test_the_bootstrap_is_seeded(write, tmp_path) -> None:
    pack, labels = setup(write)
    runs = [run(str(pack), str(labels), "--format", "json", "--on", "2026-11-27").stdout for _ in range(2)]
    assert runs[0] == runs[1]
    other = run(str(pack), str(labels), "--format", "json", "--seed", "7", "--on", "2026-11-27").stdout
    assert json.loads(other)["seed"] == 7


def test_a_labels_file_nothing_can_be_used_from_is_an_error_not_a_report(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x01garbage")  # a UTF-16 byte-order mark, then bytes that are not UTF-16
    result = run(str(pack), str(garbage))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == (
        f"error: {garbage}:1: cannot read the header (utf-16): 'utf-16-le' codec can't decode byte 0x65 in "
        "position 0: truncated data\n"
    )
    labels = write("labels.csv", "profile,label\np/none.yaml,1\n")
    rejects = tmp_path / "r.jsonl"
    result = run(str(pack), str(labels), "--rejects", str(rejects))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == (
        f"error: {labels}: no row of the labels file could be used (1 rejected); every problem is in {rejects}\n"
    )
    assert json.loads(rejects.read_text())["errors"][0]["message"] == "file not found"


def test_labels_all_alike_are_warned(write, tmp_path) -> None:
    pack = write("mini.yaml", PACK)
    write("p/a.yaml", "name: a\nteam: {size: 3}\n")
    write("p/b.yaml", "name: b\nteam: {size: 30}\n")
    labels = write("labels.csv", "profile,outcome\np/a.yaml,acquired\np/b.yaml,acquired\n")
    result = run(str(pack), str(labels), "--label-column", "outcome", "--positive", "acquired", "--format", "json",
                 "--on", "2026-11-27")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {labels}: every company is labelled positive, so nothing can be told apart: check "
        "--label-column, --positive and --negative"
    ) in result.stderr
    assert json.loads(result.stdout)["auc"]["value"] is None
