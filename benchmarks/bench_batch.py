"""Batch throughput of the default rule pack, against the naive durable-rules Host loop.

Prints, on N generated profiles (default 100,000):

- the naive baseline, measured in this run: per profile, ``json.loads`` + pydantic validation +
  facts, asserted through ``durable.engine.Host`` with Python actions (the documented API), on a
  small sample because it is slow. The Host starts timer threads; it is built once and its
  timers cancelled at the end.
- the direct ``Engine.matches`` rate (facts precomputed);
- ``screen batch`` end to end (read JSON Lines → validate → score → write SQLite and CSV) with
  1 and 2 workers, in a fresh process each, and the speed-up; the size of the SQLite file per
  profile; as a diagnostic, the same batch writing only the CSV (no database);
- peak RSS of the batch process (and its workers) at two input sizes (100k vs 1M by default);
- the machine: CPU model, cores, Python, and how much two processes of pure Python actually
  speed up here (a machine whose "2 cores" do not run in parallel cannot show a worker speed-up).

Usage::

    python benchmarks/bench_batch.py                  # 100k, RSS at 100k and 1M
    python benchmarks/bench_batch.py -n 20000 --rss-sizes 5000,20000
    python benchmarks/bench_batch.py --skip-1m
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline
import generate
import runner

ON = dt.date(2026, 11, 27)

_CHILD = """
import json, resource, sys, time, datetime as dt
from pathlib import Path
from screener.jobs.batch import BatchRequest, run_batch
if __name__ == "__main__":
    inp, out, db, workers = sys.argv[1:5]
    started = time.perf_counter()
    database = None if db == "none" else db
    s = run_batch(BatchRequest([Path(inp)], dt.date(2026, 11, 27), out=Path(out), database=database, workers=int(workers)))
    wall = time.perf_counter() - started
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"read": s.read, "scored": s.scored, "seconds": wall, "rss_kb": self_rss, "worker_rss_kb": child_rss}))
"""


def machine() -> dict[str, object]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": usable, "python": sys.version.split()[0],
            "platform": platform.platform(), "parallel_speedup_pure_python": round(_parallel_calibration(), 2)}  # fmt: skip


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def _parallel_calibration() -> float:
    import multiprocessing

    work = [3_000_000] * 4
    started = time.perf_counter()
    for n in work:
        _burn(n)
    serial = time.perf_counter() - started
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1])  # start-up outside the timing
        started = time.perf_counter()
        pool.map(_burn, work)
        parallel = time.perf_counter() - started
    return serial / parallel


def naive_host(lines: list[str]) -> float:
    """Profiles/s through durable.engine.Host with Python actions (one ruleset per engine group)."""
    from durable.engine import Host, MessageNotHandledException

    from screener.profile.model import Profile
    from screener.rules import conditions
    from screener.rules.engine import ANCHOR, partition
    from screener.rules.rulebook import load_rulebook
    from screener.screening.result import Outcome
    from screener.screening.scoring import outcomes as rule_outcomes
    from screener.screening.scoring import tally
    from screener.screening.screener import Screener

    book = load_rulebook()
    screener = Screener(book)  # only for its fact encoding; matching goes through the Host
    fired: set[int] = set()

    def action(index: int):
        return lambda c: fired.add(index)

    groups = partition((r.index, conditions.max_matches(r.condition)) for r in book.rules)
    definitions = {
        f"naive-{g}": {
            f"r{i}": {"all": [{"m": {"$and": [{ANCHOR: 1}, conditions.to_durable(book.rules[i].condition)]}}],
                      "run": action(i)}
            for i in group
        }
        for g, group in enumerate(groups)
    }  # fmt: skip
    host = Host()
    host.set_rulesets(definitions)
    keys = {p: p.replace(".", "__") for p in screener.paths}
    try:
        started = time.perf_counter()
        for number, line in enumerate(lines):
            profile = Profile.model_validate(json.loads(line), context={"rates": {}})
            fact, _ = screener.fact(profile, ON)
            fired.clear()
            for name in definitions:
                payload = {ANCHOR: 1, "sid": str(number), "id": str(number)}
                payload.update({keys[p]: v for p, v in fact.items() if p in keys})
                with contextlib.suppress(MessageNotHandledException):  # nothing matched
                    host.assert_fact(name, payload)
                host.delete_state(name, str(number))
            outcomes = [o for o, _ in rule_outcomes(book, fact, fired)]
            tally(book, outcomes)
            assert all(isinstance(o, Outcome) for o in outcomes)
        return len(lines) / (time.perf_counter() - started)
    finally:
        for timer in ("_d_timer", "_t_timer"):
            t = getattr(host, timer, None)
            if t is not None:
                t.cancel()
        screener.close()


def engine_rate(lines: list[str]) -> float:
    from screener.profile.model import Profile
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener

    with Screener(load_rulebook()) as screener:
        facts = [screener.fact(Profile.model_validate_json(line), ON)[0] for line in lines]
        started = time.perf_counter()
        for fact in facts:
            screener.engine.matches(fact)
        return len(facts) / (time.perf_counter() - started)


def run_batch(path: Path, folder: Path, workers: int, database: bool = True) -> dict[str, float]:
    db = folder / f"bench-{workers}-{path.stem}.db"
    db.unlink(missing_ok=True)
    # Each run starts with nothing left to write back from the previous one: a run's own
    # database writes are synced to disk within its time (SQLite checkpoints fsync), and
    # the previous run's gigabyte must not be flushed during the next measurement.
    os.sync()
    url = f"sqlite:///{db}" if database else "none"
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(folder / f"out-{workers}.csv"), url, str(workers)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["db_bytes"] = db.stat().st_size if database else 0
    return result


def release_runs(path: Path, folder: Path, rounds: int, tag: str | None) -> None:
    """``screen batch`` as a user types it, this checkout beside the baseline release, interleaved.

    Each command runs in a fresh process with its own new SQLite database and CSV output, with 1
    and with 2 workers; the default of each release is one of them (this one: a worker per CPU;
    the baseline: one worker), so it is not run again. Medians of ``rounds`` rounds.
    """
    from screener.jobs.batch.workers import machine_workers

    pythons = {"this": sys.executable}
    defaults = {"this": machine_workers()}
    if tag:
        pythons[tag] = str(baseline.build(tag))
        defaults[tag] = 1
    runs: dict[tuple[str, int], list[runner.Run]] = {}
    for number in range(rounds):
        for workers in (1, 2):
            for name, python in pythons.items():
                db = folder / f"release-{name}.db"
                for leftover in folder.glob(f"release-{name}.db*"):
                    leftover.unlink()
                runner.sync()
                command = ["batch", str(path), "--db", f"sqlite:///{db}", "--out", str(folder / f"ranked-{name}.csv"),
                           "--on", ON.isoformat(), "--format", "json", "--workers", str(workers)]  # fmt: skip
                # A temporary folder of its own: a batch of this release removes the scratch folders
                # of dead runs, and v0.3.0's scratch folders carry no lock that says it still runs.
                scratch = folder / f"tmp-{name}"
                scratch.mkdir(exist_ok=True)
                run = runner.run(python, command, cwd=folder, env={"TMPDIR": str(scratch)})
                summary = json.loads(run.stdout)
                print(f"  (round {number + 1}: {name}, {workers} worker(s): {run.seconds:.1f}s, {summary['read']:,} "
                      f"read, {summary['scored']:,} scored, {summary['rejected']:,} rejected; load "
                      f"{os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
                runs.setdefault((name, workers), []).append(run)
    median = {key: statistics.median(r.seconds for r in value) for key, value in runs.items()}
    cpu = {key: statistics.median(r.cpu for r in value) for key, value in runs.items()}
    n = sum(1 for _ in path.open())
    print(
        f"screen batch {n:,} profiles → SQLite + CSV, median of {rounds} interleaved rounds (wall, start-up included):"
    )
    for (name, workers), seconds in median.items():
        peak = max(r.rss_mib for r in runs[(name, workers)])
        worker = max(r.worker_rss_mib for r in runs[(name, workers)])
        default = " (its default)" if defaults[name] == workers else ""
        print(f"  {name:<8} {workers} worker(s){default:<14} {seconds:6.1f}s {n / seconds:8,.0f} profiles/s  "
              f"{cpu[(name, workers)] / n * 1e6:5.0f} µs CPU/profile  peak RSS {peak:.0f} MiB, largest worker "
              f"{worker:.0f} MiB")  # fmt: skip
    print(f"  this, 2 workers ÷ 1 worker: {median[('this', 1)] / median[('this', 2)]:.2f}×")
    if tag:
        this = median[("this", min(defaults["this"], 2))]
        print(f"  this default ÷ {tag} default: {median[(tag, 1)] / this:.2f}×")
        for workers in (1, 2):
            print(
                f"  this ÷ {tag}, {workers} worker(s) each: {median[(tag, workers)] / median[('this', workers)]:.2f}×"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="profiles for the throughput runs")
    parser.add_argument("--sample", type=int, default=1_000, help="profiles for the naive Host baseline")
    parser.add_argument("--rss-sizes", default="100000,1000000", help="two input sizes for the peak-RSS comparison")
    parser.add_argument("--skip-1m", action="store_true", help="measure peak RSS at -n only")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the release comparison")
    parser.add_argument("--tag", default=baseline.TAG, help="the release to compare with")
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument("--releases-only", action="store_true", help="only the release comparison")
    args = parser.parse_args(argv)
    print("machine:", json.dumps(machine()))
    print("machine (lscpu, load):", runner.machine())
    with tempfile.TemporaryDirectory(prefix="screener-bench-") as tmp:
        folder = Path(tmp)
        path = generate.write(folder / f"profiles-{args.n}.jsonl", args.n)
        release_runs(path, folder, args.rounds, None if args.no_baseline else args.tag)
        if args.releases_only:
            print("machine at the end:", runner.machine()["load average"])
            return
        lines = path.read_text().splitlines()
        naive = naive_host(lines[: args.sample])
        print(f"naive Host loop (validate + facts + Host.assert_fact with Python actions + tally): {naive:,.0f} profiles/s"
              f" (sample of {min(args.sample, len(lines)):,})")  # fmt: skip
        print(f"Engine.matches alone: {engine_rate(lines[: min(len(lines), 20_000)]):,.0f} facts/s")
        del lines
        results = {}
        for workers in (1, 2):
            results[workers] = run_batch(path, folder, workers)
            rate = results[workers]["read"] / results[workers]["seconds"]
            print(f"screen batch, {workers} worker(s), {args.n:,} profiles → SQLite + CSV: "
                  f"{results[workers]['seconds']:.1f}s, {rate:,.0f} profiles/s, {rate / naive:.1f}x the naive loop")  # fmt: skip
        speedup = results[1]["seconds"] / results[2]["seconds"]
        print(f"speed-up of 2 workers over 1: {speedup:.2f}x")
        print(f"SQLite file: {results[1]['db_bytes'] / args.n / 1024:.1f} KiB per profile")
        for workers in (1, 2):  # where the time goes: the same batch without the database
            csv_only = run_batch(path, folder, workers, database=False)
            rate = csv_only["read"] / csv_only["seconds"]
            print(f"(diagnostic) screen batch, {workers} worker(s), {args.n:,} profiles → CSV only, no database: "
                  f"{csv_only['seconds']:.1f}s, {rate:,.0f} profiles/s")  # fmt: skip
        sizes = [args.n] if args.skip_1m else [int(s) for s in args.rss_sizes.split(",")]
        for size in sizes:
            sized = path if size == args.n else generate.write(folder / f"profiles-{size}.jsonl", size)
            measured = results[1] if size == args.n else run_batch(sized, folder, 1)
            print(f"peak RSS, 1 worker, {size:,} profiles: {measured['rss_kb'] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
