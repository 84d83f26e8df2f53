"""How fast one screen starts, beside the imports it cannot avoid and beside the baseline release.

Prints, interleaved over ``--rounds`` rounds (default 15) and as medians:

- the import time of ``pydantic, sqlmodel, click, jinja2, durable_rules_engine`` in a fresh
  interpreter (what any Screener must load: the floor);
- ``screen company.yaml`` with the SQLite save (the default: a memo is written too), of this
  checkout and of the baseline release, each with its own database, from a warm start (the first
  run of each fills its caches and is not counted);
- ``screen --help``;
- and the ratio of the screen to the floor (the target: 1.15 at most).

Both wall time and CPU time (user + system) are shown: on a shared machine CPU time is the
steadier of the two. Usage::

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --rounds 30 --no-baseline
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline
import runner

REPO = Path(__file__).resolve().parents[1]
FLOOR = "import pydantic, sqlmodel, click, jinja2, durable_rules_engine"


def _floor(python: str, folder: Path) -> runner.Run:
    # The same wrapper as every run (interpreter start-up included): the module imported is the floor.
    script = folder / "floor.py"
    script.write_text(FLOOR + "\n")
    return runner.run_script(python, script)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument("--tag", default=baseline.TAG)
    args = parser.parse_args(argv)
    print("machine:", runner.machine())
    pythons = {"this": sys.executable}
    if not args.no_baseline:
        pythons[args.tag] = str(baseline.build(args.tag))
    with tempfile.TemporaryDirectory(prefix="screener-startup-") as tmp:
        folder = Path(tmp)
        shutil.copy(REPO / "fixtures" / "tinyllama-legal.yaml", folder / "company.yaml")
        times: dict[str, list[runner.Run]] = {}
        commands = {}
        for name, python in pythons.items():
            home = folder / name
            home.mkdir()
            env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data")}
            screen = ["company.yaml", "--db", f"sqlite:///{home / 'screener.db'}", "--on", "2026-11-27"]
            commands[f"screen company.yaml ({name})"] = (python, screen, env)
            commands[f"screen --help ({name})"] = (python, ["--help"], env)
            runner.run(python, screen, cwd=folder, env=env)  # warm: caches filled, the database created
        for _ in range(args.rounds):
            times.setdefault("floor imports", []).append(_floor(sys.executable, folder))
            for label, (python, command, env) in commands.items():
                times.setdefault(label, []).append(runner.run(python, command, cwd=folder, env=env))
    medians = {label: (statistics.median(r.seconds for r in runs), statistics.median(r.cpu for r in runs))
               for label, runs in times.items()}  # fmt: skip
    for label, (wall, cpu) in medians.items():
        print(f"{label:<38} {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms CPU (median of {args.rounds})")
    floor_wall, floor_cpu = medians["floor imports"]
    for name in pythons:
        wall, cpu = medians[f"screen company.yaml ({name})"]
        print(
            f"screen company.yaml ({name}) ÷ floor imports: {wall / floor_wall:.2f}× wall, {cpu / floor_cpu:.2f}× CPU"
        )
    print("machine at the end:", runner.machine()["load average"])


if __name__ == "__main__":
    main()
