"""``screen batch --workers``: by default one worker per CPU the process may use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ON
from tests.test_batch import profile, write_jsonl

needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")


def run_batch(tmp_path: Path, *args: str, cpus: set[int] | None = None, chunk: str = "3") -> dict:
    path = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(12)])
    done = subprocess.run(
        [sys.executable, "-m", "screener", "batch", str(path), "--no-db", "--on", ON.isoformat(), "--format", "json",
         "--chunk-size", chunk, "--rejects", str(tmp_path / "rejects.jsonl"), *args],
        capture_output=True, text=True, check=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None,
    )  # fmt: skip
    summary: dict = json.loads(done.stdout)
    assert summary["scored"] == 12
    return summary


@needs_affinity
def test_the_default_is_the_cpus_this_process_may_use(tmp_path):
    mine = os.sched_getaffinity(0)
    assert run_batch(tmp_path)["workers"] == len(mine)
    # Limited to one CPU (as taskset or a container would), the same command runs one worker.
    assert run_batch(tmp_path, cpus={min(mine)})["workers"] == 1


def test_workers_given_are_the_workers_run(tmp_path):
    assert run_batch(tmp_path, "--workers", "3")["workers"] == 3
    assert run_batch(tmp_path, "--workers", "1")["workers"] == 1


@needs_affinity
def test_an_input_of_one_chunk_is_screened_in_the_command_itself(tmp_path):
    assert run_batch(tmp_path, chunk="12")["workers"] == 1  # 12 records, one chunk
    assert run_batch(tmp_path, chunk="11")["workers"] == len(os.sched_getaffinity(0))  # two chunks
    assert run_batch(tmp_path, "--workers", "2", chunk="12")["workers"] == 2  # asked for: as asked
