"""Where a batch's time goes: each stage of one profile, alone in a tight loop, in µs of one core.

Each stage runs over the same generated profiles (default 20,000) with its input prepared by the
stage before, so its figure is what that stage costs and nothing else; the stages are interleaved
over ``--rounds`` rounds and the median kept, because the machine is shared. Then the worker's
whole chunk function and the parent's share, measured the same way, so that the sum of the
stages can be compared with what the batch really spends (the rest is the glue between them).

Usage::

    python benchmarks/bench_stages.py
    python benchmarks/bench_stages.py -n 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import runner

ON = dt.date(2026, 11, 27)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print("machine:", runner.machine())

    from screener.jobs.batch import scoring
    from screener.jobs.batch.workers import WorkerConfig, close_worker, init_worker
    from screener.jobs.inputs import read_raw
    from screener.profile import plausibility
    from screener.profile.model import Profile
    from screener.profile.sources import unique_keys
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener
    from screener.store.stored import StoredResults

    book = load_rulebook()
    with tempfile.TemporaryDirectory(prefix="screener-stages-") as tmp:
        folder = Path(tmp)
        path = generate.write(folder / "profiles.jsonl", args.n)
        lines = path.read_text().splitlines()
        screener = Screener(book)
        stored = StoredResults(screener)
        datas = [json.loads(line) for line in lines]
        profiles = [Profile.model_validate(d, context={"rates": {}}) for d in datas]
        values = [book.schema.derived_values(p, ON) for p in profiles]
        facts = [screener._encode(p, v) for p, v in zip(profiles, values, strict=True)]
        results = [stored(p, ON) for p in profiles]
        from screener import store

        db = store.connect(f"sqlite:///{folder / 'stages.db'}")
        from screener.store.identity import profile_hash

        def row(result: Any, profile: Any) -> Any:
            snapshot = type(profile).__pydantic_serializer__.to_json(profile)
            return scoring.encoded(book, ON, result, snapshot, profile_hash(snapshot))

        rows = [row(s, p) for s, p in zip(results, profiles, strict=True)]

        def insert() -> None:
            for start in range(0, len(rows), 1000):
                store.save_encoded(db, rows[start : start + 1000], [stored.pack_rules])

        def chunk_function() -> None:
            raws = list(read_raw([path]))
            for start in range(0, len(raws), 1000):
                scoring.score_chunk(raws[start : start + 1000])

        stages: dict[str, Callable[[], Any]] = {
            "JSON parse with the duplicate-key check": lambda: [
                json.loads(x, object_pairs_hook=unique_keys) for x in lines
            ],
            "pydantic validation": lambda: [Profile.model_validate(d, context={"rates": {}}) for d in datas],
            "plausibility checks": lambda: [plausibility.check(p, ON) for p in profiles],
            "derived values": lambda: [book.schema.derived_values(p, ON) for p in profiles],
            "fact encoding": lambda: [screener._encode(p, v) for p, v in zip(profiles, values, strict=True)],
            "the engine (Engine.matches)": lambda: [screener.engine.matches(f) for f in facts],
            "stored form (StoredResults: encoding, engine, checks included)": lambda: [stored(p, ON) for p in profiles],
            "database row (store.Encoded: profile JSON, hashes)": lambda: [
                row(s, p) for s, p in zip(results, profiles, strict=True)
            ],
            "SQLite insert (1,000-row transactions)": insert,
        }
        config = WorkerConfig(
            book, None, {}, ON, f"sqlite:///{folder / 'chunks.db'}", None, scoring.Verdict.STRONG_FIT, None, "memo",
            False, scoring.DuplicateRule.DOMAIN_ELSE_NAME,
        )  # fmt: skip
        init_worker(config, ignore_interrupt=False)
        stages["a worker's chunk function (read, validate, score, save), all of it"] = chunk_function
        timings: dict[str, list[float]] = {name: [] for name in stages}
        gc.freeze()
        for _ in range(args.rounds):
            for name, stage in stages.items():
                started = time.process_time()
                stage()
                timings[name].append((time.process_time() - started) / args.n * 1e6)
        close_worker()
        db.dispose()
        screener.close()
    print(f"per profile, µs of CPU (median of {args.rounds} rounds over {args.n:,} profiles):")
    for name, values_ in timings.items():
        print(f"  {statistics.median(values_):8.1f}  {name}")
    print("machine at the end:", runner.machine()["load average"])


if __name__ == "__main__":
    main()
