"""What a nightly re-run costs: a full batch, then the same export with a few records changed, a day later.

Prints, on N generated profiles (default 100,000) written to SQLite and a CSV ranked output:

- the first run into a new database (every record scored);
- from a copy of that database, the next night's export (``--changed`` of the records edited,
  2% by default; the rest byte-identical) screened one day later with ``--full`` (what a re-run
  cost before records were skipped), and from another copy the same re-run without it (unchanged
  records skipped). Both in fresh processes, interleaved over ``--rounds`` rounds (medians), so
  that the machine's load falls on both alike;
- the ratio of the incremental re-run to the full one (issue 14's target: at most 10%), in wall
  time and in CPU time (of the process and its workers: what a loaded machine distorts least), how
  many records it skipped, and checks that both re-runs wrote the same ranked file.

Usage::

    python benchmarks/bench_incremental.py                 # 100k, 2% changed
    python benchmarks/bench_incremental.py -n 20000 --changed 0.05 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import runner

ON = dt.date(2026, 11, 27)


def changed(source: Path, target: Path, share: float, seed: int) -> int:
    """Copy ``source`` with ``share`` of its records edited (one fact each); returns how many."""
    rng = random.Random(seed)
    lines = source.read_text(encoding="utf-8").splitlines()
    picked = set(rng.sample(range(len(lines)), round(len(lines) * share)))
    with target.open("w", encoding="utf-8") as handle:
        for number, line in enumerate(lines):
            if number in picked:
                data = json.loads(line)
                data["team"] = {**data.get("team", {}), "size": rng.randint(1, 500)}
                line = json.dumps(data, separators=(",", ":"))
            handle.write(line + "\n")
    return len(picked)


def batch(python: str, data: Path, db: Path, out: Path, on: dt.date, workers: int | None, *extra: str) -> runner.Run:
    args = ["batch", str(data), "--db", str(db), "--out", str(out), "--on", on.isoformat(), "--format", "json"]
    if workers:
        args += ["--workers", str(workers)]
    runner.sync()
    return runner.run(python, [*args, *extra])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="profiles (default 100,000)")
    parser.add_argument("--changed", type=float, default=0.02, help="share of records edited (default 0.02)")
    parser.add_argument("--workers", type=int, default=None, help="--workers of every run (default: the batch's)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the two re-runs (default 3)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the checkout measured")
    options = parser.parse_args(argv)

    print("machine:", json.dumps(runner.machine()))
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as scratch:
        folder = Path(scratch)
        first_export, next_export = folder / "night1.jsonl", folder / "night2.jsonl"
        generate.write(first_export, options.n, seed=42)
        edited = changed(first_export, next_export, options.changed, seed=7)
        database = folder / "base.db"
        first = batch(options.python, first_export, database, folder / "first.csv", ON, options.workers)
        print(f"first run, new database: {first.seconds:.2f} s ({options.n / first.seconds:,.0f} profiles/s)")
        later = ON + dt.timedelta(days=1)
        full_times, incremental_times, full_cpu, incremental_cpu, skipped = [], [], [], [], 0
        for number in range(options.rounds):
            for kind in ("full", "incremental"):
                db = folder / f"{kind}.db"
                shutil.copyfile(database, db)  # the WAL was checkpointed into it when the batch ended
                extra = ("--full",) if kind == "full" else ()
                run = batch(options.python, next_export, db, folder / f"{kind}.csv", later, options.workers, *extra)
                summary = json.loads(run.stdout)
                (full_times if kind == "full" else incremental_times).append(run.seconds)
                (full_cpu if kind == "full" else incremental_cpu).append(run.cpu)
                if kind == "incremental":
                    skipped = summary["skipped"]["unchanged"]
                db.unlink()
            same = (folder / "full.csv").read_bytes() == (folder / "incremental.csv").read_bytes()
            print(f"round {number + 1}: full re-run {full_times[-1]:.2f} s ({full_cpu[-1]:.2f} s CPU), incremental "
                  f"{incremental_times[-1]:.2f} s ({incremental_cpu[-1]:.2f} s CPU), same ranked output: {same}")  # fmt: skip
            if not same:
                raise SystemExit("the incremental re-run's ranked output differs from the full re-run's")
        full, incremental = statistics.median(full_times), statistics.median(incremental_times)
        print(f"{edited:,} of {options.n:,} records changed ({options.changed:.0%}), screened a day later:")
        print(f"  full re-run (--full):  {full:.2f} s (median of {options.rounds})")
        print(f"  incremental re-run:    {incremental:.2f} s, {skipped:,} skipped as unchanged")
        cpu = statistics.median(incremental_cpu) / statistics.median(full_cpu)
        print(
            f"  ratio: {incremental / full:.1%} of a full re-run's wall time (target: at most 10%), {cpu:.1%} of its CPU"
        )


if __name__ == "__main__":
    main()
