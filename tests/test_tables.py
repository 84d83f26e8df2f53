"""Terminal tables that adapt: nothing cut when piped or narrow, coverage in one format, batch progress lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.cli.progress import ProgressLines, duration
from tests.conftest import FIXTURES

LONG = "Tinyllama Legal Research Holdings International"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)

    def _run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return _run


@pytest.fixture
def screened(run, write, tmp_path: Path) -> str:
    thin = write("long.yaml", f"name: {LONG}\nwebsite: https://tinyllama-legal-research-holdings.example\n")
    db = str(tmp_path / "s.db")
    result = run(str(FIXTURES / "tinyllama-legal.yaml"), str(thin), "--db", db, "--no-memo", "--on", "2026-11-27")
    assert result.exit_code == 0, result.output
    return db


def test_piped_list_and_history_cut_nothing(run, screened: str) -> None:
    listed = run("list", "--db", screened).stdout
    assert not re.search(r"\w…", listed)  # rich marks a cut cell with an ellipsis
    row = next(line for line in listed.splitlines() if LONG in line)
    assert "tinyllama-legal-research-holdings.example" in row and "small-team-open-model" in row
    assert re.search(r"\breview\b", row)
    history = run("history", LONG, "--db", screened).stdout
    assert not re.search(r"\w…", history) and LONG in history


def test_piped_screen_keeps_rule_ids_and_reasons_whole(run) -> None:
    result = run(str(FIXTURES / "tinyllama-legal.yaml"), "--no-db", "--no-memo", "--on", "2026-11-27")
    lines = result.stdout.splitlines()
    assert not re.search(r"\w…", result.stdout)
    assert any("founders-technical-depth" in line and "big-tech engineering depth." in line for line in lines)


def test_a_narrow_terminal_wraps_words_or_lists_fields_but_never_cuts(run, screened, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    result = run(str(FIXTURES / "tinyllama-legal.yaml"), "--no-db", "--no-memo", "--on", "2026-11-27")
    assert not re.search(r"\w…", result.stdout)
    assert all(len(line) <= 70 for line in result.stdout.splitlines())
    assert any(line.startswith("│ founders-technical-depth │") for line in result.stdout.splitlines())
    listed = run("list", "--db", screened).stdout
    assert not re.search(r"\w…", listed)  # rich marks a cut cell with an ellipsis
    assert f"company: {LONG}\n" in listed and "key: tinyllama-legal-research-holdings.example\n" in listed


def test_coverage_reads_the_same_in_the_screen_the_list_and_the_history(run, screened: str) -> None:
    stored = json.loads(run("list", "--db", screened, "--format", "json").stdout)
    thin = next(r for r in stored if r["company"] == LONG)
    assert 0 < thin["coverage"] < 1  # JSON and CSV keep the fraction itself
    screen = run(str(Path("long.yaml")), "--no-db", "--no-memo", "--on", "2026-11-27").stdout
    shown = re.search(r"coverage (\d+(?:\.\d)?%)", screen)
    assert shown is not None
    for command in (("list",), ("history", LONG)):
        output = run(*command, "--db", screened).stdout
        row = next(line for line in output.splitlines() if line.startswith("│") and LONG in line)
        assert f" {shown.group(1)} │" in row, command


def test_batch_off_a_terminal_logs_progress_lines_on_stderr(run, tmp_path: Path) -> None:
    deals = FIXTURES.parent / "examples" / "deals.jsonl"
    result = run("batch", str(deals), "--no-db", "--chunk-size", "2", "--progress-every", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # stdout is the summary alone
    lines = result.stderr.splitlines()
    pattern = r"batch: scoring {}/5 \({}%\) in \d+s(, [\d,]+ profiles/s)?(, about \d+s left)?"
    assert [
        re.fullmatch(pattern.format(d, p), line) is not None
        for (d, p), line in zip([(2, 40), (4, 80), (5, 100)], lines, strict=True)
    ] == [True] * 3
    quiet = run("batch", str(deals), "--no-db", "--format", "json")
    assert quiet.stderr == ""  # quicker than the 5 seconds between lines


def test_progress_lines_come_every_interval_with_rate_and_time_left() -> None:
    now = [100.0]
    written: list[str] = []
    lines = ProgressLines(written.append, every=5, clock=lambda: now[0])
    for second, done in ((1, 1000), (5, 5000), (6, 6000), (11, 11000)):
        now[0] = 100.0 + second
        lines("scoring", done, 20000)
    now[0] = 113.0
    lines("scoring", 13000, 20000)
    now[0] = 120.0
    lines("settling duplicates", 10, 20000)  # ends the scoring phase: its last figures are said
    lines("settling duplicates", 20, 20000)
    lines.finish()  # a phase without a line stays quiet at its end
    assert written == [
        "batch: scoring 5,000/20,000 (25%) in 5s, 1,000 profiles/s, about 15s left",
        "batch: scoring 11,000/20,000 (55%) in 11s, 1,000 profiles/s, about 9s left",
        "batch: scoring 13,000/20,000 (65%) in 20s, 650 profiles/s, about 11s left",
    ]
    assert [duration(s) for s in (4.4, 200, 3900)] == ["4s", "3m 20s", "1h 05m"]
