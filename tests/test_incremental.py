"""Issue 14, target 2: a batch re-run skips the records unchanged since their stored screening, and comes out
exactly as a full re-run would.

The differential test runs two histories side by side from the same start, on real databases:
each step changes the inputs at random (records edited, added, removed and moved, duplicates
arriving and leaving, a CSV export beside the JSON Lines, a record that does not validate), the
screening date (by a day, a week, past a year, backwards), the pack (an edited copy, and back)
and the FX rates, then runs the batch incrementally on one database and with ``--full`` on the
other. Their ranked outputs, rejects, memos, summaries and databases (every column but the row
ids and timestamps, and which rows the step updated) must be identical after every step.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner

from screener.cli import main
from screener.cli.batch import batch_command
from screener.errors import ExitCode
from screener.jobs.batch import BatchRequest, BatchSummary, run_batch
from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook, resolve_pack
from screener.screening.result import Verdict
from screener.screening.screener import Screener
from tests.conftest import ON

STAGES = ["pre-seed", "seed", "series-a", "series-b"]
BASES = ["Llama 3.1 8B", "GPT-4o", "Mistral 7B", None]


def company(rng: random.Random, number: int, on: dt.date) -> dict[str, Any]:
    """A profile with dates around ``on``, so that moving the screening date crosses rule thresholds."""

    def near(days: int) -> str:
        return (on - dt.timedelta(days=rng.randint(-20, days))).isoformat()

    data: dict[str, Any] = {"name": f"Company {number}", "website": f"https://company{number}.ai"}
    if rng.random() < 0.8:
        data["as_of"] = near(420)
    if rng.random() < 0.7:
        data["founded"] = rng.choice([rng.randint(on.year - 8, on.year), near(3000)])
    if rng.random() < 0.8:
        data["stage"] = rng.choice(STAGES)
    data["team"] = {"size": rng.randint(1, 60)}
    funding: dict[str, Any] = {}
    if rng.random() < 0.7:
        raised = rng.randint(1, 400) * 100_000
        funding["total_raised"] = f"€{raised / 1e6:.1f}M" if rng.random() < 0.2 else raised
    if rng.random() < 0.6:
        funding["last_round"] = {"stage": rng.choice(STAGES), "date": near(900)}
    if funding:
        data["funding"] = funding
    base = rng.choice(BASES)
    if base:
        data["model"] = {"base": base, "approach": rng.choice(["fine-tune", "distill", "rag"])}
    if rng.random() < 0.7:
        data["traction"] = {"arr": rng.randint(0, 40) * 50_000, "gross_margin": rng.randint(1, 9) / 10}
    return data


def edited(rng: random.Random, data: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """The same company with one thing changed (a field, a date, a field gone)."""
    data = json.loads(json.dumps(data))
    change = rng.randrange(4)
    if change == 0:
        data["team"] = {"size": rng.randint(1, 60)}
    elif change == 1:
        data["as_of"] = (on - dt.timedelta(days=rng.randint(0, 400))).isoformat()
    elif change == 2:
        data.pop(rng.choice([k for k in data if k not in {"name", "website"}] or ["name"]), None)
        data.setdefault("name", "Renamed")
    else:
        data["stage"] = rng.choice(STAGES)
    return data


CSV_HEADER = "name,homepage_url,funding_total_usd,country_code,founded_at,last_funding_at,employee_count\n"


def csv_row(rng: random.Random, number: int, on: dt.date) -> str:
    founded = (on - dt.timedelta(days=rng.randint(100, 3000))).isoformat()
    last = (on - dt.timedelta(days=rng.randint(-10, 700))).isoformat()
    size = rng.choice(["1-10", "11-50", "51-100"])
    return f"Csv {number},https://csv{number}.example,{rng.randint(1, 90) * 100000},USA,{founded},{last},{size}\n"


def edited_pack(folder: Path, points: int) -> Path:
    """A copy of the default pack with its first rule's points changed (another content hash)."""
    text = resolve_pack(None).read_text(encoding="utf-8")
    path = folder / f"pack-{points}.yaml"
    path.write_text(re.sub(r"points: -?\d+", f"points: {points}", text, count=1), encoding="utf-8")
    return path


class Inputs:
    """A changing export: JSON Lines records (some duplicates, one invalid now and then) and a CSV file."""

    def __init__(self, rng: random.Random, folder: Path, size: int):
        self.rng, self.folder = rng, folder
        self.records: list[str] = [json.dumps(company(rng, n, ON)) for n in range(size)]
        self.rows: list[str] = [csv_row(rng, n, ON) for n in range(6)]
        self.next = size

    def change(self, on: dt.date) -> None:
        rng = self.rng
        for _ in range(rng.choice([0, 1, 3])):  # records edited
            at = rng.randrange(len(self.records))
            try:
                self.records[at] = json.dumps(edited(rng, json.loads(self.records[at]), on))
            except ValueError:
                self.records[at] = json.dumps(company(rng, at, on))
        if rng.random() < 0.5:  # a duplicate arrives: another record of a company already there
            data = json.loads(rng.choice(self.records)) if self.records else {}
            if isinstance(data, dict) and data.get("website"):
                twin = edited(rng, data, on) if rng.random() < 0.7 else data
                self.records.insert(rng.randrange(len(self.records) + 1), json.dumps(twin, indent=None))
        if rng.random() < 0.4 and len(self.records) > 5:  # a record leaves (perhaps a duplicate)
            self.records.pop(rng.randrange(len(self.records)))
        if rng.random() < 0.3:  # a new company
            self.records.append(json.dumps(company(rng, self.next, on)))
            self.next += 1
        if rng.random() < 0.3:  # records move: lines change, contents do not
            rng.shuffle(self.records)
        if rng.random() < 0.2:
            self.records.append('{"name": "Broken", "team": {"size": "many"}}')
        if rng.random() < 0.3:
            self.rows[rng.randrange(len(self.rows))] = csv_row(rng, rng.randrange(10), on)

    def write(self) -> list[Path]:
        deals = self.folder / "deals.jsonl"
        deals.write_text("".join(r + "\n" for r in self.records), encoding="utf-8")
        export = self.folder / "export.csv"
        export.write_text(CSV_HEADER + "".join(self.rows), encoding="utf-8")
        return [deals, export]


def database_state(url: str, since: dt.datetime) -> dict[str, Any]:
    """Every table's content, without row ids and timestamps; per screening whether it was updated ``since``."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            screenings = sorted(
                (*(str(v) for v in row[:-1]), dt.datetime.fromisoformat(str(row[-1])) >= since)
                for row in connection.exec_driver_sql(
                    "SELECT company_key, company_name, website, pack_name, pack_version, pack_hash, profile_hash, "
                    "outcome_hash, screened_on, score, verdict, coverage, CAST(knockouts AS TEXT), "
                    "CAST(matched AS TEXT), CAST(profile AS TEXT), CAST(details AS TEXT), CAST(warnings AS TEXT), "
                    "score_worst, score_best, verdict_worst, verdict_best, updated_at FROM screening"
                )
            )
            packs = sorted(
                tuple(map(str, row))
                for row in connection.exec_driver_sql(
                    "SELECT hash, CAST(rules AS TEXT), CAST(categories AS TEXT), content FROM pack_rules"
                )
            )
            records = sorted(
                (*(str(v) for v in row[:-1]), dt.datetime.fromisoformat(str(row[-1])) >= since)
                for row in connection.exec_driver_sql(
                    "SELECT record_hash, pack_hash, company_key, profile_hash, outcome_hash, details_hash, valid_from, "
                    "valid_to, CAST(ranked AS TEXT), created_at FROM batch_record"
                )
            )
    finally:
        engine.dispose()
    return {"screening": screenings, "pack_rules": packs, "batch_record": records}


def folder_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())} if folder.exists() else {}


def outcome(summary: BatchSummary) -> dict[str, Any]:
    data = summary.as_dict()
    for varying in ("seconds", "rate", "skipped", "out", "rejects", "database"):
        data.pop(varying)
    return data


def run_both(
    inputs: list[Path], urls: tuple[str, str], folder: Path, on: dt.date, **options: Any
) -> tuple[BatchSummary, BatchSummary]:
    """The batch incrementally on the first database and in full on the second; their outputs compared."""
    summaries = []
    for name, url, full in (("incremental", urls[0], False), ("full", urls[1], True)):
        side = folder / name
        side.mkdir(exist_ok=True)
        out = side / "ranked.jsonl"
        summaries.append(
            run_batch(
                BatchRequest(
                    inputs, on, out=out, rejects=side / "rejects.jsonl", database=url, full=full, chunk_size=7, workers=1,
                    memos=side / "memos" if options.get("memos") else None, memo_verdict=Verdict.REVIEW, **{
                        k: v for k, v in options.items() if k != "memos"},
                )
            )
        )  # fmt: skip
    incremental, full = (folder / "incremental", folder / "full")
    assert (incremental / "ranked.jsonl").read_bytes() == (full / "ranked.jsonl").read_bytes()
    assert (incremental / "rejects.jsonl").read_bytes() == (full / "rejects.jsonl").read_bytes()
    assert folder_files(incremental / "memos") == folder_files(full / "memos")
    assert outcome(summaries[0]) == outcome(summaries[1])
    assert summaries[1].skipped == {"unchanged": 0}
    return summaries[0], summaries[1]


def differential(seed: int, urls: tuple[str, str], folder: Path, steps: int) -> int:
    """Run ``steps`` random steps; returns how many records the incremental side skipped in all."""
    rng = random.Random(seed)
    data = folder / "data"
    data.mkdir()
    inputs = Inputs(rng, data, 30)
    packs: list[Path | None] = [None, edited_pack(folder, 9), edited_pack(folder, 1)]
    pack, rates, on, skipped = None, {"EUR": 1.08}, ON, 0
    for step in range(steps):
        if step:
            inputs.change(on)
            on += dt.timedelta(days=rng.choice([0, 0, 1, 1, 7, 60, 400, -3]))
            if rng.random() < 0.25:
                pack = rng.choice(packs)
            if rng.random() < 0.15:
                rates = rng.choice([{"EUR": 1.08}, {"EUR": 1.2}, {}])
        if rng.random() < 0.4:  # a company screened on its own: its row's details now carry explanations
            alone = data / "alone.json"
            alone.write_text(rng.choice(inputs.records), encoding="utf-8")
            args = [str(alone), "--on", on.isoformat(), "--no-memo", *(["--rules", str(pack)] if pack else [])]
            args += [f"--fx={currency}={rate}" for currency, rate in rates.items()]
            for url in urls:
                result = CliRunner().invoke(main, [*args, "--db", url])
                assert result.exit_code in (0, ExitCode.INVALID_INPUT), result.output
        since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        incremental, _ = run_both(inputs.write(), urls, folder, on, rules=pack, rates=rates, memos=step % 4 == 3)
        states = [database_state(url, since) for url in urls]
        for table in states[0]:
            assert states[0][table] == states[1][table], (step, table)
        skipped += incremental.skipped["unchanged"]
    return skipped


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_incremental_rerun_comes_out_as_a_full_one_on_sqlite(seed, tmp_path) -> None:
    urls = (f"sqlite:///{tmp_path / 'incremental.db'}", f"sqlite:///{tmp_path / 'full.db'}")
    assert differential(seed, urls, tmp_path, steps=8) > 0


@pytest.fixture
def pg_pair(pg_url: str) -> Any:
    """Two fresh schemas on the PostgreSQL server: ``pg_url``'s and one more."""
    base = pg_url.split("?")[0] if "options=-csearch_path" in pg_url else pg_url
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_url, f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_an_incremental_rerun_comes_out_as_a_full_one_on_postgresql(pg_pair, tmp_path) -> None:
    assert differential(4, pg_pair, tmp_path, steps=6) > 0


def profile(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Company {number}", "website": f"https://company{number}.ai", "stage": STAGES[number % 4],
        "team": {"size": 3 + number % 40}, "funding": {"total_raised": 1_000_000 * (1 + number % 50)},
        "model": {"base": "Llama 3.1 8B", "approach": "fine-tune"}, **extra,
    }  # fmt: skip


def test_unchanged_records_are_skipped_until_their_window_ends_and_changed_ones_are_scored(tmp_path) -> None:
    deals = tmp_path / "deals.jsonl"
    records = [json.dumps(profile(n)) for n in range(30)]
    # The default pack's stale-facts rule: derived.data_age_days > 365. 365 days old on ON: stale the day after.
    records.append(json.dumps(profile(30, as_of=(ON - dt.timedelta(days=365)).isoformat())))
    records.append(json.dumps(profile(31, as_of=(ON - dt.timedelta(days=200)).isoformat())))
    deals.write_text("\n".join(records) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 's.db'}"

    def run(on: dt.date, **options: Any) -> BatchSummary:
        return run_batch(BatchRequest([deals], on, out=tmp_path / "r.csv", database=url, workers=1, **options))

    assert run(ON).skipped == {"unchanged": 0}
    assert run(ON).skipped == {"unchanged": 32}  # the same day: everything
    later = run(ON + dt.timedelta(days=1))
    assert later.skipped == {"unchanged": 31} and later.scored == 32  # company 30 aged past the rule's threshold
    records[3] = json.dumps(profile(3, team={"size": 999}))
    deals.write_text("\n".join(records) + "\n", encoding="utf-8")
    again = run(ON + dt.timedelta(days=2))
    assert again.skipped == {"unchanged": 31} and again.scored == 32  # company 3 changed; 30 was screened again
    assert run(ON + dt.timedelta(days=2), full=True).skipped == {"unchanged": 0}
    assert run(ON + dt.timedelta(days=2), rates={"EUR": 1.3}).skipped == {"unchanged": 0}  # rates feed validation
    assert run(ON + dt.timedelta(days=2), rates={"EUR": 1.3}).skipped == {"unchanged": 32}
    assert run(ON + dt.timedelta(days=2), strict=True).skipped == {"unchanged": 0}


def screen_batch(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(batch_command, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


SKIPPED = (
    "skipped: {} unchanged since their stored screening (same record, same pack content, a screening date that "
    "cannot change the outcome): not scored again; --full scores them"
)


def test_the_summary_says_how_many_were_skipped_and_why(tmp_path) -> None:
    deals = tmp_path / "deals.jsonl"
    deals.write_text("".join(json.dumps(profile(n)) + "\n" for n in range(12)), encoding="utf-8")
    db = str(tmp_path / "s.db")
    code, first, _ = screen_batch(str(deals), "--db", db)
    assert code == 0 and "skipped" not in first
    code, second, _ = screen_batch(str(deals), "--db", db)
    assert code == 0 and SKIPPED.format(12) in second.splitlines()
    assert second.startswith("12 read: 12 scored, 0 rejected, 0 duplicates")
    code, data, _ = screen_batch(str(deals), "--db", db, "--format", "json")
    assert json.loads(data)["skipped"] == {"unchanged": 12}
    code, data, _ = screen_batch(str(deals), "--db", db, "--format", "json", "--full")
    assert json.loads(data)["skipped"] == {"unchanged": 0}
    code, data, _ = screen_batch(str(deals), "--no-db", "--format", "json")  # nothing stored to compare with
    assert json.loads(data)["skipped"] == {"unchanged": 0}


def test_resuming_after_a_failure_skips_the_records_already_saved(tmp_path) -> None:
    import sqlite3

    from screener import store

    url = f"sqlite:///{tmp_path / 's.db'}"
    store.connect(url).dispose()
    with sqlite3.connect(tmp_path / "s.db") as connection:  # a real trigger refuses one row: its chunk fails
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON screening WHEN NEW.company_key = 'company25.ai' "
            "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    deals = tmp_path / "deals.jsonl"
    deals.write_text("".join(json.dumps(profile(n)) + "\n" for n in range(40)), encoding="utf-8")
    # One worker: with two, the chunk after the refused one may be saved too (the counts below are one worker's).
    args = ("--db", url, "--chunk-size", "10", "--rejects", str(tmp_path / "r"), "--workers", "1")
    code, _, stderr = screen_batch(str(deals), *args)
    assert code == ExitCode.STORE_ERROR and "unfinished: 20 read so far: 20 scored" in stderr
    with sqlite3.connect(tmp_path / "s.db") as connection:
        connection.execute("DROP TRIGGER refuse")
    code, stdout, _ = screen_batch(str(deals), *args)
    assert code == 0 and SKIPPED.format(20) in stdout.splitlines()  # the two chunks saved before the failure


def test_migration_0005_adds_batch_records_to_an_existing_database(db_url, tmp_path) -> None:
    from screener import store
    from screener.store import database
    from tests.test_store import _alembic

    deals = tmp_path / "deals.jsonl"
    deals.write_text("".join(json.dumps(profile(n)) + "\n" for n in range(5)), encoding="utf-8")
    # The companies screened at 0004: their rows are there, but nothing says which records made them.
    # (Saved by this release, then taken down to 0004, which keeps the rows as 0004 holds them.)
    engine = store.connect(db_url)
    try:
        with Screener(book := load_rulebook()) as screener:
            profiles = [Profile.model_validate(profile(n)) for n in range(5)]
            store.save(engine, book, [(screener.screen(p, ON), p.model_dump(mode="json")) for p in profiles])
        _alembic(engine, "downgrade", "0004")
        with engine.connect() as connection:
            assert "batch_record" not in sqlalchemy.inspect(connection).get_table_names()
    finally:
        engine.dispose()
    first = run_batch(BatchRequest([deals], ON, database=db_url, workers=1))  # migrates, then scores every record
    assert first.skipped == {"unchanged": 0}
    assert run_batch(BatchRequest([deals], ON, database=db_url, workers=2)).skipped == {"unchanged": 5}
    engine = database._engine(db_url, create_folder=True)
    try:
        _alembic(engine, "downgrade", "0004")
        with engine.connect() as connection:
            assert "batch_record" not in sqlalchemy.inspect(connection).get_table_names()
            assert connection.exec_driver_sql("SELECT count(*) FROM screening").scalar_one() == 5
    finally:
        engine.dispose()
