"""The command line through click's CliRunner: exit codes, output, files and rows written."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.errors import ExitCode

GOOD = """
name: Tinyllama Legal
website: https://tinyllama-legal.example
as_of: 2026-09-01
stage: seed
team:
  size: 8
  founders:
    - {name: Ada Park, background: [frontier-lab], prior_exit: true}
    - {name: Li Chen, background: [academia]}
funding: {total_raised: "$6M"}
model: {base: Llama 3.1 8B, approach: distill, test_time_compute: true}
compute: {gpu_dependence: low, training_share: 0.2, monthly_compute: "$40K"}
traction: {arr: "$2.4M", gross_margin: "72%", pricing: usage}
benchmarks:
  - {name: LegalBench, score: 78.5, frontier: 80.1}
"""


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)

    def _run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return _run


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT company_name, verdict, score FROM screening ORDER BY company_name").fetchall()


def test_screen_prints_verdict_writes_memo_and_row(run, write, tmp_path: Path) -> None:
    profile = write("tiny.yaml", GOOD)
    db = tmp_path / "s.db"
    result = run(str(profile), "--db", str(db), "--on", "2026-11-27")
    assert result.exit_code == ExitCode.OK, result.output
    assert "Tinyllama Legal  STRONG-FIT" in result.output
    assert "By category" in result.output and "Rules that matched" in result.output
    assert "team-lean" in result.output
    memo = tmp_path / "memos" / "tinyllama-legal.md"
    assert memo.exists()
    assert "# Tinyllama Legal: investment committee memo (draft)" in memo.read_text()
    # The stored score is the one printed and the one in the JSON form of the same screening.
    printed = float(re.search(r"STRONG-FIT  score (\d+\.\d)/100", result.output).group(1))
    as_json = run(str(profile), "--no-db", "--no-memo", "--on", "2026-11-27", "--format", "json")
    assert json.loads(as_json.output)["score"] == printed
    assert 0 < printed <= 100
    assert rows(db) == [("Tinyllama Legal", "strong-fit", printed)]
    again = run(str(profile), "--db", str(db), "--on", "2026-11-27")
    assert again.exit_code == 0
    assert rows(db) == [("Tinyllama Legal", "strong-fit", printed)]


def test_score_is_the_explicit_form(run, write) -> None:
    profile = write("tiny.yaml", GOOD)
    implicit = run(str(profile), "--no-db", "--no-memo", "--on", "2026-11-27", "--format", "json")
    explicit = run("score", str(profile), "--no-db", "--no-memo", "--on", "2026-11-27", "--format", "json")
    assert (implicit.exit_code, explicit.exit_code) == (ExitCode.OK, ExitCode.OK), implicit.output
    assert json.loads(implicit.output)["company"]["name"] == "Tinyllama Legal"
    assert implicit.output == explicit.output
    # and the same refusal for the same bad input, with the same exit code
    bad = write("bad.yaml", "name: Broken\nteam: {size: lots}\n")
    refusals = [run(*command, str(bad), "--no-db", "--no-memo") for command in ([], ["score"])]
    assert [r.exit_code for r in refusals] == [ExitCode.INVALID_INPUT, ExitCode.INVALID_INPUT]
    assert refusals[0].output == refusals[1].output


def test_json_output_is_deterministic_for_a_fixed_date(run, write) -> None:
    profile = write("tiny.yaml", GOOD)
    first = run(str(profile), "--format", "json", "--no-db", "--no-memo", "--on", "2026-11-27")
    second = run(str(profile), "--format", "json", "--no-db", "--no-memo", "--on", "2026-11-27")
    assert first.exit_code == 0
    assert first.output == second.output
    data = json.loads(first.output)
    assert data["screened_on"] == "2026-11-27"
    assert data["verdict"] == "strong-fit"
    assert data["pack"]["name"] == "small-team-open-model"
    later = run(str(profile), "--format", "json", "--no-db", "--no-memo", "--on", "2028-01-01")
    assert json.loads(later.output)["screened_on"] == "2028-01-01"
    assert "stale-profile" in {r["id"] for r in json.loads(later.output)["rules"] if r["outcome"] == "matched"}


def test_several_profiles_give_a_json_list(run, write) -> None:
    a = write("a.yaml", GOOD)
    b = write("b.yaml", "name: Bare Minimum\n")
    result = run(str(a), str(b), "--format", "json", "--no-db", "--no-memo", "--on", "2026-11-27")
    assert [r["company"]["name"] for r in json.loads(result.output)] == ["Tinyllama Legal", "Bare Minimum"]


def test_invalid_profile_exits_3_lists_every_problem_and_writes_nothing(run, write, tmp_path: Path) -> None:
    good = write("good.yaml", GOOD)
    bad = write("bad.yaml", "name: Broken\nteam:\n  size: lots\n  founderz: []\n")
    db = tmp_path / "s.db"
    result = run(str(good), str(bad), "--db", str(db))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"error: {bad}:3:3: team.size: Input should be a valid integer" in result.output
    assert f"error: {bad}:4:3: team.founderz: unknown field 'founderz'; did you mean 'founders'?" in result.output
    assert "Traceback" not in result.output
    assert not db.exists()
    assert not (tmp_path / "memos").exists()


def test_missing_file_and_bad_rules_exit_codes(run, write, tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.yaml"), "--no-db")
    assert missing.exit_code == ExitCode.INVALID_INPUT
    assert "nope.yaml: file not found" in missing.output
    rules = write("pack.yaml", "name: p\nversion: 1.0.0\nthresholds: {strong_fit: 1, review: 0}\nrules: []\n")
    bad_rules = run(str(write("tiny.yaml", GOOD)), "--rules", str(rules), "--no-db")
    assert bad_rules.exit_code == ExitCode.RULE_ERROR
    assert "rules: List should have at least 1 item" in bad_rules.output


#: A pack that tells $4.4M from a dollar more or less: which rules match shows the amount converted.
AT_4_4M = Path(__file__).parent / "packs" / "at-4.4m.yaml"


def matched(result) -> list[str]:
    return [r["id"] for r in json.loads(result.output)["rules"] if r["outcome"] == "matched"]


def test_foreign_currency_needs_a_rate(run, write) -> None:
    profile = write("eur.yaml", "name: Euro AI\nfunding: {total_raised: '€4M'}\n")
    refused = run(str(profile), "--no-db", "--no-memo")
    assert refused.exit_code == ExitCode.INVALID_INPUT
    assert "no exchange rate for EUR" in refused.output
    accepted = run(str(profile), "--no-db", "--no-memo", "--fx", "EUR=1.1", "--format", "json", "--rules", str(AT_4_4M))
    assert accepted.exit_code == 0, accepted.output
    assert matched(accepted) == ["exactly-4.4m"]  # €4M at 1.1 is exactly $4.4M: not a cent less or more
    other_rate = run(
        str(profile), "--no-db", "--no-memo", "--fx", "EUR=1.09", "--format", "json", "--rules", str(AT_4_4M)
    )
    assert matched(other_rate) == ["below-4.4m"]
    bad_rate = run(str(profile), "--no-db", "--fx", "EUR=abc")
    assert bad_rate.exit_code == ExitCode.CONFIG_ERROR
    assert "--fx expects CUR=RATE" in bad_rate.output


def test_rates_from_screener_toml(run, write) -> None:
    write("screener.toml", "[fx]\nEUR = 1.1\n")
    profile = write("eur.yaml", "name: Euro AI\nfunding: {total_raised: '€4M'}\n")
    result = run(str(profile), "--no-db", "--no-memo", "--format", "json", "--rules", str(AT_4_4M))
    assert result.exit_code == 0, result.output
    assert matched(result) == ["exactly-4.4m"]
    # an --fx rate on the command line wins over the file's
    overridden = run(str(profile), "--no-db", "--no-memo", "--format", "json", "--rules", str(AT_4_4M), "--fx", "EUR=1")
    assert matched(overridden) == ["below-4.4m"]


def test_bad_date_is_a_usage_error(run, write) -> None:
    result = run(str(write("tiny.yaml", GOOD)), "--on", "yesterday")
    assert result.exit_code == ExitCode.USAGE
    assert "'yesterday' is not a date in YYYY-MM-DD form" in result.output


def test_memo_file_names_cannot_escape_the_folder(run, write, tmp_path: Path) -> None:
    profile = write("evil.yaml", "name: ../../escape <script>\n")
    result = run(str(profile), "--no-db", "--memos", str(tmp_path / "out"))
    assert result.exit_code == 0
    (memo,) = (tmp_path / "out").iterdir()
    assert memo.name == "escape-script.md"
    assert "&lt;script&gt;" in memo.read_text()
    assert "<script>" not in memo.read_text()


def test_user_templates_override_and_typos_fail_loudly(run, write, tmp_path: Path) -> None:
    write("tpl/memo.md.j2", "Custom memo for {{ company.name }}: {{ verdict }}\n")
    profile = write("tiny.yaml", GOOD)
    ok = run(str(profile), "--no-db", "--templates", str(tmp_path / "tpl"), "--on", "2026-11-27")
    assert ok.exit_code == 0
    memo = (tmp_path / "memos" / "tinyllama-legal.md").read_text()
    assert memo.startswith("Custom memo for Tinyllama Legal: strong-fit\n<!-- screener-memo sha256:")
    write("typo/memo.md.j2", "line one\n{{ compnay.name }}\n")
    typo = run(str(profile), "--no-db", "--templates", str(tmp_path / "typo"), "--memos", str(tmp_path / "m2"))
    assert typo.exit_code == ExitCode.CONFIG_ERROR
    assert "memo.md.j2:2: 'compnay' is undefined" in typo.output
    assert not (tmp_path / "m2").exists()


def test_help_is_quick_to_reach_and_has_examples(run) -> None:
    for command in ([], ["score"]):
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output


def test_long_names_that_slugify_alike_get_numbered_memos(run, write, tmp_path: Path) -> None:
    long = " ".join(["Frontier"] * 25)
    a = write("a.yaml", f"name: {long} Alpha\nwebsite: a.example\n")
    b = write("b.yaml", f"name: {long} Beta\nwebsite: b.example\n")
    result = run(str(a), str(b), "--no-db", "--memos", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "m").iterdir())) == 2


def test_the_same_company_twice_is_refused_before_anything_is_written(run, write, tmp_path: Path) -> None:
    a = write("a.yaml", "name: Acme\nwebsite: https://acme.example\n")
    b = write("b.yaml", "name: Acme Inc\nwebsite: acme.example/about\n")
    db = tmp_path / "s.db"
    result = run(str(a), str(b), "--db", str(db))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"error: {b}: the same company (acme.example) as {a}" in result.output
    assert not db.exists()


def test_rationales_are_escaped_once(run, write, tmp_path: Path) -> None:
    profile = write("p.yaml", "name: Law & Order <AI>\nteam: {size: 5}\n")
    as_json = run(str(profile), "--no-db", "--no-memo", "--format", "json")
    lean = next(r for r in json.loads(as_json.output)["rules"] if r["id"] == "team-lean")
    assert lean["rationale"].startswith("Law & Order <AI> runs with 5")
    run(str(profile), "--no-db", "--memos", str(tmp_path / "m"))
    memo = (tmp_path / "m" / "law-order-ai.md").read_text()
    assert "Law &amp; Order &lt;AI&gt; runs with 5" in memo
    assert "&amp;amp;" not in memo


def test_unwritable_places_are_clear_errors(run, write, tmp_path: Path) -> None:
    profile = write("p.yaml", "name: Acme\n")
    blocker = write("file.txt", "x")
    memos = run(str(profile), "--no-db", "--memos", str(blocker / "sub"))
    assert memos.exit_code == ExitCode.CONFIG_ERROR
    assert "cannot create the memo folder" in memos.output
    db = run(str(profile), "--no-memo", "--db", str(blocker / "x.db"))
    assert db.exit_code == ExitCode.STORE_ERROR
    assert "cannot create the database folder" in db.output
    assert "Traceback" not in memos.output + db.output
