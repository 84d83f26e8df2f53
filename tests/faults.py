"""Real faults for tests: a disk that fills up, the worker processes of a running batch.

No mocks: a small tmpfs is mounted for a full disk (skipped where mounting is not allowed), and
processes are found through /proc.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(folder: Path, free: int) -> Iterator[Path]:
    """A folder on its own tmpfs with about ``free`` bytes left; writing more fails with ENOSPC."""
    folder.mkdir(parents=True, exist_ok=True)
    size = free + 64 * 1024
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        filler = folder / ".filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            handle.write(b"\0" * (size - free))
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def workers(pid: int) -> list[int]:
    """The pool worker processes of a batch running as ``pid`` (not multiprocessing's resource tracker)."""
    result = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command and b"resource_tracker" not in command:
                result.append(child)
    return result
