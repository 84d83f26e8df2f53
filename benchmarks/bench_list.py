"""``screen list`` over a million stored screenings: the first page and a deep one, beside the baseline.

Builds one SQLite database per release (each with its own schema, created by that release) and
fills both with the same rows, inserted directly with the driver in one transaction (no
screening: a million screenings would take minutes; ``list`` reads only the columns): N rows
(default 1,000,000), 60% under one pack version and 40% under another, so that 400,000 companies
appear under both; scores, coverage, verdicts and knockouts drawn from a seeded generator, many
of them tied. Nothing is analysed (no ``ANALYZE``), as in a user's database.

Then, interleaved over ``--rounds`` rounds and as medians, wall and CPU time of the whole command
(start-up included) and wall time of the query alone (the store call, in a fresh process each time;
on a loaded machine the command's CPU time is the steadier figure):

- ``screen list`` (first page: 50 rows, this checkout);
- ``screen list --after CURSOR`` at row ``--deep`` of the ranking (default 500,000; this checkout);
- the baseline's nearest command, ``screen list --top 50`` (it has no pages: without --top it
  prints every row), and its store call, ``store.summaries(top=50)``.

Usage::

    python benchmarks/bench_list.py
    python benchmarks/bench_list.py -n 200000 --rounds 3 --no-baseline
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline
import runner

PACK = "small-team-open-model"
VERSIONS = {"1.2.0": "a" * 64, "1.1.0": "b" * 64}
STAMP = "2026-11-27 10:00:00.000000"

_CREATE = "import sys; from screener import store; store.connect(sys.argv[1]).dispose()"

#: The store call alone, timed inside a fresh process of either release (argv: url, mode, token).
_QUERY = """
import sys, time
from screener import store
engine = store.connect(sys.argv[1])
started = time.perf_counter()
if sys.argv[2] == "summaries":
    rows = store.summaries(engine, top=50)
else:
    from screener.store.listing import Cursor, page
    rows = page(engine, after=Cursor.parse(sys.argv[3]) if sys.argv[3] else None, limit=50).rows
elapsed = time.perf_counter() - started
assert len(rows) == 50, len(rows)
print(elapsed)
"""


def rows(n: int, seed: int = 14) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    first = n * 6 // 10
    for i in range(n):
        version = "1.2.0" if i < first else "1.1.0"
        company = i if i < first else i - first
        knocked = rng.random() < 0.2
        score = round(rng.uniform(0, 100), 1)
        verdict = "pass" if knocked or score < 45 else "strong-fit" if score >= 65 else "review"
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(330))
        yield {
            "company_key": f"company{company}.ai", "company_name": f"Company {company}", "website": None,
            "pack_name": PACK, "pack_version": version, "pack_hash": VERSIONS[version],
            "profile_hash": f"{i:064x}", "outcome_hash": f"{i:064x}", "screened_on": day.isoformat(),
            "score": score, "verdict": verdict, "coverage": rng.choice([0.5, 0.75, 0.9, 1.0]),
            "knockouts": '["k"]' if knocked else "[]", "matched": "[]", "profile": "{}", "details": "{}",
            "result": "{}", "warnings": "[]", "created_at": STAMP, "updated_at": STAMP,
            "score_worst": score, "score_best": score, "verdict_worst": verdict, "verdict_best": verdict,
        }  # fmt: skip


def build(python: str, path: Path, n: int) -> float:
    """A database created by ``python``'s release, filled with :func:`rows`; returns the seconds taken."""
    started = time.perf_counter()
    subprocess.run([python, "-c", _CREATE, f"sqlite:///{path}"], check=True)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        columns = [row[1] for row in db.execute("PRAGMA table_info(screening)") if row[1] != "id"]
        pack_columns = [row[1] for row in db.execute("PRAGMA table_info(pack_rules)")]
        packs = {"rules": "[]", "categories": "[]", "content": "{}", "created_at": STAMP}
        # The release's secondary indexes are built after the rows, as a bulk load does (faster
        # than updating them row by row); the unique constraints' indexes stay.
        indexes = [sql for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'screening' AND sql IS NOT NULL"
        )]  # fmt: skip
        names = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'screening' AND sql IS NOT NULL"
        )]  # fmt: skip
        with db:
            for name in names:
                db.execute(f'DROP INDEX "{name}"')
            db.executemany(
                f"INSERT INTO pack_rules ({', '.join(pack_columns)}) VALUES ({', '.join('?' for _ in pack_columns)})",
                [tuple({**packs, "hash": hash_}[c] for c in pack_columns) for hash_ in VERSIONS.values()],
            )
            db.executemany(
                f"INSERT INTO screening ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                (tuple(row[c] for c in columns) for row in rows(n)),
            )
            for sql in indexes:
                db.execute(sql)
        # The rows were written to the write-ahead log: copy them into the database file, as a
        # batch's checkpoints do, so that no reader looks pages up in a gigabyte of log.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return time.perf_counter() - started


def deep_cursor(url: str, position: int) -> str:
    """The cursor a user following the pages would hold after ``position`` rows (found by an offset, once)."""
    from screener import store
    from screener.store.listing import Cursor, query

    engine = store.connect(url)
    try:
        select = query(verdict=None, since=None, pack=None, limit=0).limit(1).offset(position - 1)
        with engine.connect() as connection:
            row = connection.execute(select).one()
    finally:
        engine.dispose()
    return Cursor(int(row.rank_), int(row.knocked_), row.score, row.coverage, row.company_key, row.id).token()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--deep", type=int, default=500_000, help="the row a deep page starts after")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--tag", default=baseline.TAG)
    args = parser.parse_args(argv)
    print("machine:", runner.machine())
    pythons = {"this": sys.executable}
    if not args.no_baseline:
        pythons[args.tag] = str(baseline.build(args.tag))
    with tempfile.TemporaryDirectory(prefix="screener-list-") as tmp:
        folder = Path(tmp)
        urls = {}
        for name, python in pythons.items():
            path = folder / f"{name}.db"
            seconds = build(python, path, args.n)
            urls[name] = f"sqlite:///{path}"
            print(f"built {name}: {args.n:,} rows in {seconds:.1f}s, {path.stat().st_size / 2**20:,.0f} MiB")
        runner.sync()
        token = deep_cursor(urls["this"], args.deep)
        commands = {
            "screen list (first page, this)": (sys.executable, ["list", "--db", urls["this"]], ("page", "")),
            f"screen list --after <row {args.deep:,}> (this)": (
                sys.executable, ["list", "--db", urls["this"], "--after", token], ("page", token),
            ),
        }  # fmt: skip
        if not args.no_baseline:
            commands[f"screen list --top 50 ({args.tag})"] = (
                pythons[args.tag], ["list", "--db", urls[args.tag], "--top", "50"], ("summaries", ""),
            )  # fmt: skip
        walls: dict[str, list[float]] = {label: [] for label in commands}
        cpus: dict[str, list[float]] = {label: [] for label in commands}
        queries: dict[str, list[float]] = {label: [] for label in commands}
        for python, command, _ in commands.values():  # warm: the page cache, bytecode
            runner.run(python, command)
        for _ in range(args.rounds):
            for label, (python, command, (mode, cursor)) in commands.items():
                run = runner.run(python, command)
                walls[label].append(run.seconds)
                cpus[label].append(run.cpu)
                url = command[command.index("--db") + 1]
                done = subprocess.run([python, "-c", _QUERY, url, mode, cursor], check=True, capture_output=True)
                queries[label].append(float(done.stdout))
    print(f"median of {args.rounds} rounds over {args.n:,} stored screenings:")
    for label in commands:
        wall, query_ = statistics.median(walls[label]), statistics.median(queries[label])
        cpu = statistics.median(cpus[label])
        print(
            f"  {label:<44} the command {wall * 1000:7.0f} ms wall, {cpu * 1000:6.0f} ms CPU; "
            f"the query alone {query_ * 1000:7.1f} ms wall"
        )
    print("machine at the end:", runner.machine()["load average"])


if __name__ == "__main__":
    main()
