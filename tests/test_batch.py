"""``screen batch`` end to end, on a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner

from screener.cli.batch import batch_command, history_command, list_command
from screener.errors import ExitCode
from tests.conftest import ON


def profile(number: int, **extra) -> dict:
    data = {
        "name": f"Company {number}",
        "website": f"https://company{number}.ai",
        "stage": ["seed", "series-a", "series-b"][number % 3],
        "team": {"size": 3 + number % 40},
        "funding": {"total_raised": 1_000_000 * (1 + number % 50)},
        "model": {"base": ["Llama 3.1 8B", "GPT-4o", "Mistral 7B"][number % 3], "approach": "fine-tune"},
        "traction": {"arr": 100_000 * (number % 20), "gross_margin": 0.5 + (number % 5) / 10},
    }
    data.update(extra)
    return data


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def batch(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(batch_command, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def rows(url: str) -> list[tuple[str, float]]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                tuple(r)
                for r in connection.exec_driver_sql("SELECT company_key, score FROM screening ORDER BY company_key")
            ]
    finally:
        engine.dispose()


def ranking(row: dict) -> tuple:
    """The documented ranking of a ranked output row (CSV cells or JSON values)."""
    verdicts = ["strong-fit", "review", "pass"]
    return (verdicts.index(row["verdict"]), bool(row["knockouts"]), -float(row["score"]), -float(row["coverage"]))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_jsonl_folder_and_csv_in_one_batch(db_url, tmp_path, write):
    jsonl = write_jsonl(tmp_path / "deals.jsonl", [profile(1), {"name": "Broken", "team": {"size": -1}}, profile(2)])
    write("folder/acme.yaml", "name: Acme AI\nwebsite: acme.ai\nteam:\n  size: 7\n")
    write("folder/bad.yaml", "name: Bad Co\nstage: series-z\n")
    crunch = write(
        "export.csv",
        """
        name,homepage_url,funding_total_usd,country_code,employee_count,status
        Gamma Labs,gamma.ai,2500000,DEU,1-10,operating
        Delta,-,-,-,-,-
        ,,,,,
        """,
    )
    out = tmp_path / "ranked.csv"
    code, stdout, stderr = batch(str(jsonl), str(tmp_path / "folder"), str(crunch), "--out", str(out), "--db", db_url)
    assert code == ExitCode.REJECTS, stderr
    assert stdout.splitlines()[0].startswith("8 read: 5 scored, 3 rejected, 0 duplicates (")
    ranked = read_csv(out)
    assert sorted(r["key"] for r in ranked) == ["acme.ai", "company1.ai", "company2.ai", "delta", "gamma.ai"]
    assert [int(r["rank"]) for r in ranked] == [1, 2, 3, 4, 5]
    assert ranked == sorted(ranked, key=ranking)  # verdict, knockouts last, score, coverage
    assert list(ranked[0]) == ["rank", "name", "key", "website", "score", "verdict", "coverage", "knockouts",
                               "reasons", "warnings", "source", "line", "notes", "score_worst", "score_best",
                               "verdict_could_change"]  # fmt: skip
    for row in ranked:  # the score range the rules not evaluated allow holds the score
        assert float(row["score_worst"]) <= float(row["score"]) <= float(row["score_best"])
        assert row["verdict_could_change"] in {"True", "False"}
    rejects = [json.loads(line) for line in (tmp_path / "ranked.rejects.jsonl").read_text().splitlines()]
    # Inputs are read in the order given, a folder's files sorted.
    assert [(Path(r["source"]).name, r["line"]) for r in rejects] == [
        ("deals.jsonl", 2),
        ("bad.yaml", 0),
        ("export.csv", 4),
    ]
    by_file = {Path(r["source"]).name: r for r in rejects}
    assert by_file["deals.jsonl"]["record"] == {"name": "Broken", "team": {"size": -1}}
    assert by_file["deals.jsonl"]["errors"] == [
        {"location": f"{jsonl}:2", "field": "team.size", "message": "Input should be greater than or equal to 0"}
    ]
    assert by_file["export.csv"]["errors"] == [{"location": f"{crunch}:4", "field": "name", "message": "is required"}]
    assert by_file["bad.yaml"]["errors"][0]["location"] == f"{tmp_path / 'folder' / 'bad.yaml'}:2:1"
    assert [k for k, _ in rows(db_url)] == ["acme.ai", "company1.ai", "company2.ai", "delta", "gamma.ai"]


def test_in_equals_scored_plus_rejected_plus_duplicates(tmp_path):
    records = [profile(n) for n in range(30)] + [profile(3), "{oops", profile(4, name="Other name")]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    code, stdout, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "o.jsonl"), "--format", "json")
    summary = json.loads(stdout)
    assert code == ExitCode.REJECTS
    assert (summary["read"], summary["scored"], summary["rejected"], summary["duplicates"]) == (33, 30, 1, 2)
    assert summary["read"] == summary["scored"] + summary["rejected"] + summary["duplicates"]
    assert sum(summary["verdicts"].values()) == summary["scored"]


def test_duplicate_rule_most_complete_then_latest_then_first(tmp_path):
    sparse = {"name": "Acme AI", "website": "https://www.acme.ai/about"}
    full = {"name": "ACME AI Inc", "website": "acme.ai", "team": {"size": 5}}
    old = {"name": "Beta", "as_of": "2025-01-01", "team": {"size": 9}}
    new = {"name": "beta", "as_of": "2026-01-01", "team": {"size": 10}}
    first = {"name": "Gamma", "team": {"size": 1}}
    second = {"name": "Gamma GmbH", "team": {"size": 2}}
    path = write_jsonl(tmp_path / "deals.jsonl", [sparse, full, old, new, first, second])
    out = tmp_path / "o.jsonl"
    code, _, _ = batch(str(path), "--no-db", "--out", str(out))
    assert code == ExitCode.OK
    kept = {r["key"]: r["line"] for r in map(json.loads, out.read_text().splitlines())}
    assert kept == {"acme.ai": 2, "beta": 4, "gamma": 5}
    dupes = [json.loads(line) for line in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert [(d["line"], d["duplicate_of"]["line"], d["duplicate_of"]["key"]) for d in dupes] == [
        (1, 2, "acme.ai"), (3, 4, "beta"), (6, 5, "gamma"),
    ]  # fmt: skip
    assert dupes[0]["record"] == sparse
    assert dupes[0]["errors"][0]["message"] == (
        f"duplicate of company 'acme.ai' ({path}:2): same website domain (without a website: same normalised "
        "name); that record is kept because it has more key fields filled in, else a later as_of, else it was "
        "read first"
    )


def test_duplicates_match_on_domain_or_name_and_leave_one_row(db_url, tmp_path):
    """A record with a website and one without are one company by name; a record can join two companies."""
    records = [
        {"name": "Acme AI", "team": {"size": 4}},  # no website: key "acme ai"
        {"name": "ACME AI Ltd", "website": "https://acme.ai", "team": {"size": 5}, "stage": "seed"},  # wins
        {"name": "Zeta", "website": "zeta.io"},
        {"name": "Other", "website": "https://zeta.io/x"},  # Zeta's domain
        {"name": "Zeta Inc", "website": "acme.ai", "as_of": "2026-01-01"},  # Zeta's name, Acme's domain: joins them
        {"name": "Solo", "website": "solo.dev"},
    ]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    out = tmp_path / "o.jsonl"
    code, stdout, _ = batch(str(path), "--db", db_url, "--out", str(out), "--format", "json", "--chunk-size", "2",
                            "--duplicates", "domain-or-name")  # fmt: skip
    summary = json.loads(stdout)
    assert code == ExitCode.OK
    assert (summary["read"], summary["scored"], summary["duplicates"]) == (6, 2, 4)
    assert [(r["key"], r["line"]) for r in map(json.loads, out.read_text().splitlines())] in (
        [("acme.ai", 2), ("solo.dev", 6)], [("solo.dev", 6), ("acme.ai", 2)],
    )  # fmt: skip
    dupes = [json.loads(line) for line in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert [(d["line"], d["duplicate_of"]) for d in dupes] == [
        (n, {"source": str(path), "line": 2, "key": "acme.ai"}) for n in (1, 3, 4, 5)
    ]
    # The losers' rows under their own keys ("acme ai", "zeta.io") were removed; one row per company.
    assert [k for k, _ in rows(db_url)] == ["acme.ai", "solo.dev"]


def test_a_loser_under_another_key_loses_its_memo_unless_edited(tmp_path):
    records = [
        {"name": "Acme AI", "team": {"size": 4}},
        {"name": "Acme AI", "website": "acme.ai", "team": {"size": 5}, "stage": "seed"},  # more complete: wins
    ]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    memos = tmp_path / "memos"
    args = (str(path), "--no-db", "--memos", str(memos), "--memo-verdict", "pass", "--duplicates", "domain-or-name")
    code, _, stderr = batch(*args)
    assert code == ExitCode.OK, stderr
    assert sorted(p.name for p in memos.iterdir()) == ["acme.ai.md"]  # not acme-ai.md, the loser's
    (memos / "acme-ai.md").write_text("my notes on the loser\n")  # a memo of the same name the user wrote
    code, _, stderr = batch(*args)
    assert code == ExitCode.OK
    assert (memos / "acme-ai.md").read_text() == "my notes on the loser\n"
    assert "acme-ai.md" in stderr and "edited" in stderr


def test_rerun_is_idempotent(db_url, tmp_path):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(25)])
    for _ in range(2):
        code, _, stderr = batch(str(path), "--db", db_url, "--chunk-size", "7", "--out", str(tmp_path / "o.csv"))
        assert code == ExitCode.OK, stderr
    keys = [k for k, _ in rows(db_url)]
    assert len(keys) == len(set(keys)) == 25


def test_a_duplicate_that_loses_keeps_the_history_an_earlier_batch_stored(db_url, tmp_path):
    # Day 1 the sparse record is the only one: it is the company's screening. Day 2 a fuller record
    # of the same company arrives beside it and wins; the sparse facts' row of day 1 is history,
    # not a leftover of day 2's duplicate, and settling must not delete it.
    sparse = {"name": "Acme", "website": "https://acme.ai", "team": {"size": 5}}
    fuller = {**sparse, "stage": "seed", "founded": 2024, "funding": {"total_raised": "$2M"}}
    day1 = write_jsonl(tmp_path / "day1.jsonl", [sparse])
    # The winner first, one record a chunk: the loser's facts are saved again after the winner's.
    day2 = write_jsonl(tmp_path / "day2.jsonl", [fuller, sparse])
    runner = CliRunner()
    for path, on in ((day1, "2026-01-01"), (day2, "2026-01-02")):
        result = runner.invoke(
            batch_command,
            [str(path), "--db", db_url, "--on", on, "--out", str(tmp_path / "o.csv"), "--chunk-size", "1"],
        )
        assert result.exit_code == ExitCode.OK, result.output
    stored = rows(db_url)
    assert len(stored) == 2  # the day-1 screening of the sparse facts, and the winner's
    first = CliRunner().invoke(batch_command, [str(day1), "--no-db", "--on", "2026-01-01", "--format", "json",
                                               "--out", str(tmp_path / "alone.jsonl")])  # fmt: skip
    assert first.exit_code == ExitCode.OK, first.output
    (alone,) = [json.loads(line) for line in (tmp_path / "alone.jsonl").read_text().splitlines()]
    assert alone["score"] in [score for _, score in stored]
    listed = runner.invoke(list_command, ["--db", db_url, "--format", "json"])
    (newest,) = json.loads(listed.stdout)
    assert newest["score"] != alone["score"]  # the company is now the fuller record's screening
    # And a batch's own loser rows still go: the day-2 input again changes nothing.
    again = runner.invoke(
        batch_command, [str(day2), "--db", db_url, "--on", "2026-01-02", "--out", str(tmp_path / "o.csv")]
    )
    assert again.exit_code == ExitCode.OK, again.output
    assert rows(db_url) == stored


def test_two_workers_give_the_same_output_as_one(tmp_path):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(60)] + ['{"name": ""}'])
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"o{workers}.csv"
        code, _, _ = batch(str(path), "--no-db", "--workers", workers, "--chunk-size", "8", "--out", str(out))
        assert code == ExitCode.REJECTS
        outputs.append((out.read_text(), (tmp_path / f"o{workers}.rejects.jsonl").read_text()))
    assert outputs[0] == outputs[1]


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
from screener.cli.batch import batch_command
batch_command(sys.argv[2:])
"""


def test_failed_run_leaves_no_partial_output(tmp_path):
    # The disk fills up while the ranked output is being written: the previous output survives
    # whole and no temporary file is left. Backslashes double in JSON, so the output is twice the
    # scratch files (index, sorted runs) that are written before it: a file-size limit between the
    # two fails the writer part-way through its stream.
    records = [profile(n, name=f"Company {n} " + "\\" * 150) for n in range(200)]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    code, _, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "full.jsonl"))
    assert code == ExitCode.OK
    size = (tmp_path / "full.jsonl").stat().st_size
    out = tmp_path / "o.jsonl"
    out.write_text("previous results\n")
    (tmp_path / "o.rejects.jsonl").write_text("previous rejects\n")
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED, str(size * 3 // 4), str(path), "--no-db", "--out", str(out), "--on", ON.isoformat()],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "File too large" in done.stderr, done.stderr  # EFBIG: the output's write; SQLite would say "disk I/O error"
    assert out.read_text() == "previous results\n"
    # The rejects file holds the rejects of the records this run read (none), also when it fails (issue 11, item 6).
    assert (tmp_path / "o.rejects.jsonl").read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary files left


def test_a_bad_template_is_refused_before_anything_is_written(tmp_path, write):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(20)])
    write("templates/memo.md.j2", "{{ company.name }} {{ nonexistent_variable }}\n")
    out = tmp_path / "o.csv"
    out.write_text("previous results\n")
    code, _, stderr = batch(
        str(path), "--no-db", "--out", str(out), "--memos", str(tmp_path / "memos"),
        "--memo-verdict", "pass", "--templates", str(tmp_path / "templates"),
    )  # fmt: skip
    assert code == ExitCode.CONFIG_ERROR, stderr
    assert "'nonexistent_variable' is undefined" in stderr
    assert out.read_text() == "previous results\n"
    assert not (tmp_path / "memos").exists() and not (tmp_path / "o.rejects.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("o.xlsx", "unsupported output type '.xlsx': expected .csv, .jsonl or .parquet"),
        (
            "o.parquet",
            "writing .parquet needs pyarrow, which is not installed: pip install 'screener[parquet]'; "
            "or write .csv or .jsonl",
        ),
    ],
)
def test_unwritable_output_is_refused_before_any_work(tmp_path, name, message):
    if name.endswith(".parquet"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            pass
        else:
            pytest.skip("pyarrow is installed: the error is for when it is not")
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(1)])
    code, _, stderr = batch(str(path), "--no-db", "--out", str(tmp_path / name))
    assert code == ExitCode.CONFIG_ERROR
    assert stderr == f"error: {tmp_path / name}: {message}\n"
    assert not (tmp_path / "o.rejects.jsonl").exists()


def test_history_and_list(db_url, tmp_path):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(5)])
    assert batch(str(path), "--db", db_url, "--rejects", str(tmp_path / "r.jsonl"))[0] == ExitCode.OK
    runner = CliRunner()
    result = runner.invoke(list_command, ["--db", db_url, "--top", "2", "--format", "json"])
    listed = json.loads(result.stdout)
    assert result.exit_code == 0 and len(listed) == 2 and listed[0]["score"] >= listed[1]["score"]
    result = runner.invoke(history_command, ["company3.ai", "--db", db_url, "--format", "csv"])
    assert result.exit_code == 0
    assert [r["key"] for r in csv.DictReader(result.stdout.splitlines())] == ["company3.ai"]


# --- real processes: kill -9 and concurrent writers ---------------------------------------------------

_RUN = "import sys; from screener.cli.batch import batch_command; batch_command(sys.argv[1:])"


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _RUN, *args, "--on", ON.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def count(url: str) -> int:
    try:
        return len(rows(url))
    except sqlalchemy.exc.SQLAlchemyError:
        return 0


def test_killed_run_then_rerun_completes_with_one_row_per_company(db_url, tmp_path):
    n = 600
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(i) for i in range(n)])
    out = tmp_path / "o.csv"
    process = start(str(path), "--db", db_url, "--chunk-size", "20", "--out", str(out))
    # Step the batch (one process: --workers 1 scores in it) in short runs between SIGSTOPs, and
    # kill it while stopped once a chunk is saved: it cannot finish between the look and the kill.
    deadline = time.monotonic() + 120
    saved = 0
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGSTOP)
        saved = count(db_url)
        if saved:
            break
        process.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # it died from the kill, not from finishing or failing
    assert 0 < saved <= count(db_url) < n  # killed mid-way: some chunks saved, not all
    assert not out.exists()  # and no half-written output
    code, _stdout, stderr = batch(str(path), "--db", db_url, "--out", str(out))
    assert code == ExitCode.OK, stderr
    keys = [k for k, _ in rows(db_url)]
    assert len(keys) == len(set(keys)) == n
    assert len(read_csv(out)) == n


def test_two_concurrent_batches_on_postgresql_lose_nothing(pg_url, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [profile(i) for i in range(0, 300)])
    second = write_jsonl(tmp_path / "b.jsonl", [profile(i) for i in range(150, 450)])  # overlapping half
    processes = [
        start(str(p), "--db", pg_url, "--chunk-size", "25", "--rejects", str(p.with_suffix(".rejects")))
        for p in (first, second)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    keys = [k for k, _ in rows(pg_url)]
    assert len(keys) == len(set(keys)) == 450


def test_an_extreme_ratio_is_capped_and_scored(tmp_path):
    # Compute spend per dollar of revenue this large would not fit the engine's integers if not capped.
    from screener import store
    from screener.profile.derived import RATIO_CAP

    huge = profile(1, traction={"arr": 1}, compute={"monthly_compute": 900_000_000_000_000})
    path = write_jsonl(tmp_path / "deals.jsonl", [huge, profile(2)])
    url = f"sqlite:///{tmp_path / 's.db'}"
    code, stdout, _ = batch(str(path), "--db", url, "--out", str(tmp_path / "o.csv"), "--format", "json")
    summary = json.loads(stdout)
    assert code == ExitCode.OK
    assert (summary["read"], summary["scored"], summary["rejected"]) == (2, 2, 0)
    engine = store.connect(url)
    try:
        (stored,) = store.history(engine, "company1.ai")
    finally:
        engine.dispose()
    outcomes = {r["id"]: r["outcome"] for r in stored.result["rules"]}
    assert (outcomes["compute-exceeds-revenue"], outcomes["compute-tracks-revenue"]) == ("matched", "not-matched")
    # the value the rule compared: 1.08e16 times the revenue, capped at a million times
    from screener.profile.derived import derive
    from screener.profile.model import Profile

    assert derive(Profile.model_validate(huge), ON).compute_to_revenue == RATIO_CAP == 1_000_000


def test_csv_output_does_not_carry_spreadsheet_formulas(tmp_path):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(1, name="=HYPERLINK(1)", website=None)])
    code, _, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "o.csv"))
    assert code == ExitCode.OK
    (row,) = read_csv(tmp_path / "o.csv")
    assert row["name"] == "'=HYPERLINK(1)"


def test_the_duplicate_index_keeps_the_best_record_and_lists_the_rest_in_input_order(tmp_path):
    import contextlib

    from screener.jobs.batch.duplicates import Index, Offer

    def offer(key, rank, seq, verdict="review", memo=False, identities=None):
        return Offer(key, identities or (f"name:{key}",), rank, seq, "f", seq + 1, verdict, memo)

    def settled(index):
        return [(s.seq, s.key, s.own_key, s.line, s.memo, s.won) for s in index.settlements()]

    with contextlib.closing(Index(tmp_path / "index.db")) as index:
        assert index.offer([offer("a", (5, 0, 0), 0), offer("b", (1, 0, -1), 1, "pass")]) == []
        # a later, better record displaces the first; a later, worse one loses to it
        losers = index.offer([offer("a", (7, 0, -3), 3, "pass"), offer("a", (6, 0, -4), 4, "strong-fit", memo=True)])
        assert losers == [("review", False), ("strong-fit", True)]
        # the winner is told that a loser wrote a memo under its key (its file is to be written again)
        assert settled(index) == [(0, "a", "a", 4, False, False), (3, "a", "a", 4, True, True),
                                  (4, "a", "a", 4, True, False)]  # fmt: skip
        assert [index.lost(seq) for seq in range(5)] == [True, False, False, False, True]
        # three records of one company in one chunk: the middle one wins
        losers = index.offer([offer("c", (1, 0, -5), 5), offer("c", (9, 0, -6), 6), offer("c", (2, 0, -7), 7)])
        assert losers == [("review", False), ("review", False)]
        assert [x for x in settled(index) if x[1] == "c"] == [
            (5, "c", "c", 7, False, False), (6, "c", "c", 7, False, True), (7, "c", "c", 7, False, False),
        ]  # fmt: skip


def test_the_duplicate_index_joins_companies_met_by_domain_or_name(tmp_path):
    import contextlib

    from screener.jobs.batch.duplicates import Index, Offer

    def offer(key, identities, rank, seq, memo=False):
        return Offer(key, identities, rank, seq, "f", seq + 1, "review", memo)

    with contextlib.closing(Index(tmp_path / "index.db")) as index:
        # two companies, apart so far: d.ai (named D) and e.io (named E)
        index.offer([offer("d.ai", ("name:d", "domain:d.ai"), (3, 0, 0), 0, memo=True),
                     offer("e.io", ("name:e", "domain:e.io"), (2, 0, -1), 1)])  # fmt: skip
        assert list(index.settlements()) == []
        # a record named E at d.ai joins them; the best of the three (the first) is kept
        losers = index.offer([offer("d.ai", ("name:e", "domain:d.ai"), (1, 0, -2), 2, memo=True)])
        assert sorted(losers) == [("review", False), ("review", True)]
        assert [(s.seq, s.key, s.own_key, s.memo, s.won) for s in index.settlements()] == [
            (0, "d.ai", "d.ai", True, True),  # a loser under its key wrote a memo: write it again
            (1, "d.ai", "e.io", False, False),  # lost under its own key: its row is to be removed
            (2, "d.ai", "d.ai", True, False),
        ]
        # a name-only record of the joined company loses too, and a record of the name alone is new
        assert index.offer([offer("e", ("name:e",), (0, 0, -3), 3), offer("f", ("name:f",), (0, 0, -4), 4)]) == [
            ("review", False)
        ]
        assert [index.lost(seq) for seq in range(5)] == [False, True, True, True, False]


def test_duplicates_across_chunks_and_workers_leave_the_winner_in_the_database(db_url, tmp_path):
    from screener import store

    winner = profile(1, team={"size": 5}, as_of="2026-06-01")
    loser = profile(1, team={"size": 500}, name="Company 1 Inc")  # fewer key fields, read later
    records = [profile(n) for n in range(2, 9)] + [winner] + [profile(n) for n in range(9, 15)] + [loser]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    for workers in ("1", "2"):
        out = tmp_path / f"o{workers}.csv"
        code, stdout, stderr = batch(
            str(path), "--db", db_url, "--workers", workers, "--chunk-size", "1", "--out", str(out), "--format", "json"
        )
        assert code == ExitCode.OK, stderr
        summary = json.loads(stdout)
        assert (summary["read"], summary["scored"], summary["duplicates"]) == (15, 14, 1)
        assert sum(summary["verdicts"].values()) == 14
        ranked = {r["key"]: r for r in read_csv(out)}
        assert len(ranked) == 14 and ranked["company1.ai"]["line"] == "8"
        engine = store.connect(db_url)
        try:
            (row,) = store.history(engine, "company1.ai")
        finally:
            engine.dispose()
        assert row.profile["team"]["size"] == 5 and row.company_name == "Company 1"
        (dupe,) = [json.loads(line) for line in (tmp_path / f"o{workers}.rejects.jsonl").read_text().splitlines()]
        assert (dupe["line"], dupe["duplicate_of"]) == (15, {"source": str(path), "line": 8, "key": "company1.ai"})


def test_memos_are_the_winners_own(tmp_path):
    knocked_out = {"name": "Acme", "website": "acme.ai", "stage": "seed", "team": {"size": 4},
                   "model": {"base": "Own model", "license": "CC-BY-NC-4.0"}}  # fmt: skip
    thin = {"name": "Acme", "website": "acme.ai"}  # fewer key fields: loses, but would get a memo (review)
    richer = {"name": "Beta", "stage": "seed"}
    poorer = {"name": "BETA Inc"}
    path = write_jsonl(tmp_path / "deals.jsonl", [knocked_out, richer, thin, poorer])
    memos = tmp_path / "memos"
    code, stdout, stderr = batch(
        str(path), "--no-db", "--memos", str(memos), "--memo-verdict", "review", "--chunk-size", "1",
        "--workers", "2", "--format", "json", "--rejects", str(tmp_path / "rejects.jsonl"),
    )  # fmt: skip
    assert code == ExitCode.OK, stderr
    summary = json.loads(stdout)
    assert (summary["scored"], summary["duplicates"], summary["memos"]) == (2, 2, 1)
    assert sorted(p.name for p in memos.iterdir()) == ["beta.md"]
    assert "BETA Inc" not in (memos / "beta.md").read_text()


def test_stored_rows_hold_the_full_result_and_profile(db_url, tmp_path, screener):
    from screener import store
    from screener.profile.model import Profile
    from screener.screening.result import ScreeningResult

    records = [profile(n) for n in range(12)]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    assert batch(str(path), "--db", db_url, "--chunk-size", "5", "--out", str(tmp_path / "o.csv"))[0] == ExitCode.OK
    engine = store.connect(db_url)
    try:
        stored = {row.company_key: row for row in store.latest(engine)}
    finally:
        engine.dispose()
    assert len(stored) == 12
    for data in records:
        expected = Profile.model_validate(data)
        row = stored[f"company{data['name'].split()[-1]}.ai"]
        result = screener.result(screener.evaluate(expected, ON), explain=False)
        # A memo can be rendered again from these two columns, without scoring again.
        assert ScreeningResult.model_validate(row.result) == result
        assert row.profile == expected.model_dump(mode="json")
        assert (row.score, row.verdict, row.coverage, row.knockouts) == (
            result.score, result.verdict.value, result.coverage, result.knockouts,
        )  # fmt: skip
        assert row.matched == [r.id for r in result.matched]
        assert (row.pack_name, row.pack_version, row.pack_hash) == (
            result.pack.name,
            result.pack.version,
            result.pack.hash,
        )
        assert row.screened_on == ON and row.created_at == row.updated_at


def test_batch_memos_are_stamped_and_edited_ones_are_kept(tmp_path):
    from screener.memo.files import FileState, state

    path = write_jsonl(
        tmp_path / "deals.jsonl", [{"name": "Beta", "stage": "seed"}, {"name": "Gamma", "stage": "seed"}]
    )
    memos = tmp_path / "memos"
    args = (str(path), "--no-db", "--memos", str(memos), "--memo-verdict", "pass", "--format", "json",
            "--rejects", str(tmp_path / "rejects.jsonl"))  # fmt: skip
    code, stdout, stderr = batch(*args)
    assert code == ExitCode.OK, stderr
    beta, gamma = memos / "beta.md", memos / "gamma.md"
    assert state(beta) is state(gamma) is FileState.GENERATED
    beta.write_text(beta.read_text() + "\nOur call notes.\n")
    gamma_before = gamma.read_text()
    code, stdout, stderr = batch(*args)
    assert code == ExitCode.OK
    assert "Our call notes." in beta.read_text()  # kept
    assert gamma.read_text() == gamma_before  # unedited: written again, the same bytes
    assert f"warning: {beta}: memo edited since Screener generated it" in stderr
    assert json.loads(stdout)["memos"] == 1
    code, _, stderr = batch(*args, "--force")
    assert code == ExitCode.OK and "Our call notes." not in beta.read_text() and "warning" not in stderr


def test_ranked_reasons_explain_the_verdict(tmp_path):
    from screener.profile.model import load_profile
    from tests.conftest import FIXTURES

    names = ("tinyllama-legal", "titanforge-ai", "promptpilot")
    records = [load_profile(FIXTURES / f"{n}.yaml").model_dump(mode="json", exclude_none=True) for n in names]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    out = tmp_path / "ranked.csv"
    assert batch(str(path), "--no-db", "--out", str(out), "--on", "2026-11-27")[0] == ExitCode.OK
    reasons = {r["name"]: r["reasons"] for r in read_csv(out)}
    assert reasons["Tinyllama Legal"].startswith("Lean team")  # a fit: what earned most
    assert reasons["Titanforge AI"].split("; ")[0] in {"Huge raise", "Pre-trains from scratch", "Large headcount"}
    assert reasons["PromptPilot"].startswith("Thin wrapper over a closed API")  # the knockout first


def test_an_input_named_twice_is_read_once(tmp_path, write):
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(3)])
    write("folder/one.yaml", "name: One Co\n")
    out = tmp_path / "ranked.csv"
    code, stdout, _ = batch(str(path), str(path), str(tmp_path / "folder"), str(tmp_path / "folder" / "one.yaml"),
                            "--no-db", "--out", str(out), "--rejects", str(tmp_path / "r.jsonl"))  # fmt: skip
    assert code == ExitCode.OK
    assert stdout.startswith("4 read: 4 scored, 0 rejected, 0 duplicates")
    assert len(read_csv(out)) == 4


def test_progress_reports_an_estimated_total_for_the_eta(tmp_path):
    import datetime as dt

    from screener.jobs.batch import BatchRequest, run_batch
    from screener.jobs.inputs import estimate_records

    lines = [profile(n) for n in range(25)] + [profile(3, name="Again")]  # one duplicate, to settle
    path = write_jsonl(tmp_path / "deals.jsonl", lines)
    (tmp_path / "export.csv").write_text("name,homepage_url\nA,a.ai\nB,b.ai")  # no final line break
    (tmp_path / "one.yaml").write_text("name: One\n")
    files = [path, tmp_path / "export.csv", tmp_path / "one.yaml"]
    assert estimate_records(files) == 26 + 2 + 1
    seen: list[tuple[str, int, int | None]] = []
    request = BatchRequest(
        files, dt.date(2026, 11, 27), rejects=tmp_path / "r.jsonl", chunk_size=10, progress=lambda *a: seen.append(a)
    )
    summary = run_batch(request)
    scoring = [(done, total) for phase, done, total in seen if phase == "scoring"]
    assert [done for done, _ in scoring] == [10, 20, 29] and {total for _, total in scoring} == {29}
    assert summary.read == 29 and summary.duplicates == 1
    assert any(phase == "settling duplicates" for phase, _, _ in seen)


def test_list_of_an_empty_database_as_csv_is_the_header_alone(tmp_path):
    from screener import store

    db_url = f"sqlite:///{tmp_path / 'empty.db'}"
    store.connect(db_url).dispose()  # a database with no screenings yet (list does not create one)
    result = CliRunner().invoke(list_command, ["--db", db_url, "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout == (
        "company,key,pack,version,hash,screened_on,score,verdict,coverage,knockouts,warnings,score_worst,score_best,"
        "verdict_worst,verdict_best,updated_at\n"
    )
    result = CliRunner().invoke(list_command, ["--db", db_url, "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_memo_file_names_differ_for_different_company_keys():
    from screener.memo.files import key_stem

    keys = ["acme.ai", "acme ai", "acme-ai.com", "acme ai com", "café", "cafe", "acme_ai", "x" * 81, "x" * 82]
    stems = [key_stem(k) for k in keys]
    assert stems[:4] == ["acme.ai", "acme-ai", "acme-ai.com", "acme-ai-com"]
    assert stems[5] == "cafe" and stems[4].startswith("cafe-") and stems[6].startswith("acme-ai-")
    assert len(set(stems)) == len(stems)
    assert all(len(stem) <= 80 for stem in stems)


@pytest.mark.parametrize(
    ("records", "kept"),
    [
        # Café (no website) is a company of its own; "Cafe" without a website loses to Cafe at acme.ai
        ([{"name": "Café", "stage": "seed"}, {"name": "Cafe", "website": "acme.ai", "stage": "seed",
          "team": {"size": 5}}, {"name": "Cafe"}], {"acme.ai", "café"}),
        # one company through x.io: the most complete record, Café, wins; no other memo is left
        ([{"name": "Café", "stage": "seed", "team": {"size": 5}, "model": {"approach": "fine-tune"}},
          {"name": "Café", "website": "x.io"}, {"name": "Cafe", "website": "x.io"}, {"name": "Cafe", "stage": "seed"}],
         {"café"}),
    ],
)  # fmt: skip
def test_batch_memos_are_one_per_kept_company_and_stamped_for_it(tmp_path, records, kept):
    from screener.memo import files

    path = write_jsonl(tmp_path / "deals.jsonl", records)
    memos = tmp_path / "memos"
    for workers in ("1", "2"):
        code, stdout, stderr = batch(str(path), "--no-db", "--memos", str(memos), "--memo-verdict", "pass",
                                     "--workers", workers, "--chunk-size", "1", "--format", "json",
                                     "--duplicates", "domain-or-name")  # fmt: skip
        assert code == ExitCode.OK, stderr
        written = {p.name: files.inspect(p) for p in memos.iterdir()}
        assert {m.company for m in written.values()} == kept
        assert {m.state for m in written.values()} == {files.FileState.GENERATED}
        assert json.loads(stdout)["memos"] == len(written) == len(kept)


def test_records_at_different_domains_are_different_companies_unless_asked_otherwise(tmp_path):
    """Issue 12: three "Stealth Startup" records at three websites were one company, and a 300-person one lost."""
    records = [
        {"name": "Stealth Startup", "website": "alpha.ai", "team": {"size": 4}, "stage": "seed"},
        {"name": "Stealth Startup", "website": "https://beta.io", "team": {"size": 300}},
        {"name": "Stealth Startup", "website": "gamma.dev"},
    ]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    out = tmp_path / "o.jsonl"
    code, stdout, stderr = batch(str(path), "--no-db", "--format", "json", "--out", str(out))
    assert code == ExitCode.OK and stderr == ""
    assert (json.loads(stdout)["scored"], json.loads(stdout)["duplicates"]) == (3, 0)
    assert sorted(r["key"] for r in map(json.loads, out.read_text().splitlines())) == ["alpha.ai", "beta.io",
                                                                                        "gamma.dev"]  # fmt: skip
    assert (tmp_path / "o.rejects.jsonl").read_text() == ""
    # Asked for, a shared name joins them (with a warning); the most complete record is kept.
    code, stdout, stderr = batch(str(path), "--no-db", "--format", "json", "--out", str(out),
                                 "--duplicates", "domain-or-name")  # fmt: skip
    assert code == ExitCode.OK and json.loads(stdout)["duplicates"] == 2
    assert [r["key"] for r in map(json.loads, out.read_text().splitlines())] == ["alpha.ai"]
    assert stderr == (
        f"warning: {tmp_path / 'o.rejects.jsonl'}: 2 record(s) at one website domain were taken for duplicates of "
        "a company at another, because they share its normalised name (directly or through another record), as "
        "--duplicates domain-or-name asks; see the rejects file. Without that option, different websites are "
        "different companies\n"
    )


def test_by_default_a_name_joins_only_records_without_a_website(tmp_path):
    records = [
        {"name": "Nova", "team": {"size": 5}},
        {"name": "NOVA Inc", "stage": "seed"},  # the same normalised name, no website: one company
        {"name": "Nova", "website": "nova.ai"},  # a website: its own company, keyed by domain
    ]
    path = write_jsonl(tmp_path / "deals.jsonl", records)
    out = tmp_path / "o.jsonl"
    code, stdout, _ = batch(str(path), "--no-db", "--format", "json", "--out", str(out))
    assert code == ExitCode.OK and json.loads(stdout)["duplicates"] == 1
    assert sorted((r["key"], r["line"]) for r in map(json.loads, out.read_text().splitlines())) == [
        ("nova", 1), ("nova.ai", 3),
    ]  # fmt: skip
