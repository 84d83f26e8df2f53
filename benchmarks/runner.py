"""Running ``screen`` of this checkout or of the baseline release in a fresh process, measured.

Every benchmark runs the command line a user types (``python -m screener ...``), so both releases
run the same way whatever their internals: wall time around the process, its peak RSS and that
of its workers, read from inside it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHILD = """
import json, os, resource, runpy, sys, time
script = os.environ.get("SCREENER_BENCH_SCRIPT")
sys.argv = [script or "screen", *sys.argv[1:]]
started = time.perf_counter()
code = 0
try:
    if script:
        runpy.run_path(script, run_name="__main__")
    else:
        runpy.run_module("screener", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
wall = time.perf_counter() - started
usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
with open(os.environ["SCREENER_BENCH_REPORT"], "w") as report:
    json.dump({"code": code, "inside": wall, "rss_kb": usage.ru_maxrss, "worker_rss_kb": children.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime}, report)
"""


#: The environment of every run: a user's, with bytecode caching on (a shell that turned it off for
#: development would make every import compile its source, which no installed copy does).
_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    seconds: float  #: wall time of the whole process, interpreter start-up included
    cpu: float  #: user + system seconds of the process and its workers
    rss_mib: float  #: peak RSS of the process
    worker_rss_mib: float  #: peak RSS of its largest worker
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(python: Path | str, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """``screen ARGS`` with ``python``; raises when it fails unexpectedly (exit codes above 7)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        report = Path(handle.name)
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), "-c", _CHILD, *args], capture_output=True, text=True, cwd=cwd,
            env={**_ENVIRONMENT, **(env or {}), "SCREENER_BENCH_REPORT": str(report)},
        )  # fmt: skip
        seconds = time.perf_counter() - started
        measured = json.loads(report.read_text()) if report.stat().st_size else {}
    finally:
        report.unlink(missing_ok=True)
    if done.returncode > 7 or not measured:
        raise RuntimeError(f"screen {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return Run(
        seconds, measured["cpu"], measured["rss_kb"] / 1024, measured["worker_rss_kb"] / 1024, measured["code"],
        done.stdout, done.stderr,
    )  # fmt: skip


def run_script(python: Path | str, script: Path, args: list[str] | None = None) -> Run:
    """A Python script run and measured exactly as :func:`run` runs ``screen``."""
    return run(python, args or [], env={"SCREENER_BENCH_SCRIPT": str(script)})


def machine() -> dict[str, Any]:
    """The CPU (as lscpu names it), cores, Python and load, to print beside every figure."""
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "CPU MHz", "L3 cache"):
            if key in fields:
                info[key] = fields[key].strip()
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor() or "unknown"
    info["usable cores"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["load average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def sync() -> None:
    """Flush earlier runs' writes, so that they are not paid for during the next measurement."""
    os.sync()
