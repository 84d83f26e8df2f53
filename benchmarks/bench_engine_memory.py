"""Resident memory of engines created and closed, against engines left open (a leak check, measured).

Prints the RSS growth over N engines of the default pack (default 200), each closed after one
profile, and the same for engines kept open. Closed engines should grow by about nothing (measured
2026-12-01: under 1 MB); open ones hold each pack's rulesets (~70 MB for 200). Then the growth of
one engine over ``--facts`` varied facts (default 50,000) through its one reused state per
ruleset, which should be flat. Linux only (/proc).

Usage::

    python benchmarks/bench_engine_memory.py
    python benchmarks/bench_engine_memory.py -n 1000
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from screener.rules.engine import Engine
from screener.rules.rulebook import load_rulebook


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="engines to create")
    parser.add_argument("--facts", type=int, default=50_000, help="facts through one engine")
    args = parser.parse_args()
    n = args.n
    rulebook = load_rulebook()
    fact = {"team.size": 8, "stage": "seed", "model.open_weights": True}
    with Engine(rulebook) as warm:
        warm.matches(fact)
    before = rss_mb()
    for _ in range(n):
        with Engine(rulebook) as engine:
            engine.matches(fact)
    closed = rss_mb() - before
    kept = []
    before = rss_mb()
    for _ in range(n):
        engine = Engine(rulebook)
        engine.matches(fact)
        kept.append(engine)
    held = rss_mb() - before
    for engine in kept:
        engine.close()
    print(f"{n} engines of {rulebook.name}: closed +{closed:.1f} MB RSS, kept open +{held:.1f} MB RSS")
    stages = ["seed", "series-a", "growth", "pre-seed"]
    with Engine(rulebook) as engine:
        engine.matches(fact)
        before = rss_mb()
        grown = []
        for i in range(args.facts):
            engine.matches({"team.size": i % 60, "stage": stages[i % 4], "model.open_weights": bool(i % 2),
                            "funding.total_raised": 1_000 * i})  # fmt: skip
            if (i + 1) % (args.facts // 5 or 1) == 0:
                grown.append(f"{rss_mb() - before:+.1f}")
    print(f"one engine, {args.facts:,} facts through one state per ruleset: RSS {' '.join(grown)} MB")


if __name__ == "__main__":
    main()
