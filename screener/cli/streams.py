"""``screen batch -`` and ``screen batch … --out -``: standard input and output for a batch.

Standard input (JSON Lines) is copied to a temporary file first: a batch with duplicates reads
its inputs twice, and a pipe can be read once. Its records are located in ``<stdin>``. The
ranked rows for standard output are written to a temporary file as any output is (atomically,
merged from sorted runs) and printed when the batch has finished, rejected records included
(exit code 7), nothing when it failed; while the batch runs, everything else it prints goes to stderr, so standard
output holds the rows alone.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from screener.errors import ExitCode
from screener.files import scratch_folder
from screener.jobs.inputs import STDIN_COPIES
from screener.profile.stdin import NAME, is_stdin

#: Temporary outputs that stand for standard output.
_STDOUT_COPIES: set[Path] = set()


def shown(path: Path | None) -> str:
    """How a summary names an output: ``standard output`` for ``--out -``."""
    return "standard output" if path in _STDOUT_COPIES else str(path)


@contextlib.contextmanager
def batch_streams(
    inputs: tuple[Path, ...], out: Path | None, out_format: str, rejects: Path | None
) -> Iterator[tuple[list[Path], Path | None, Path | None]]:
    """The inputs, output and rejects file to run the batch with, ``-`` replaced by temporary files."""
    if sum(is_stdin(p) for p in inputs) > 1:
        raise click.UsageError("standard input can be read once; give '-' once")
    to_stdout = out is not None and is_stdin(out)
    with contextlib.ExitStack() as stack:
        # Locked while the batch runs, so that a run killed with kill -9 leaves no copy of the deal
        # data behind for long: the next run removes it.
        folder = stack.enter_context(scratch_folder("screener-streams-"))
        files = list(inputs)
        if any(is_stdin(p) for p in inputs):
            copy = folder / "stdin.jsonl"
            with copy.open("wb") as handle:
                shutil.copyfileobj(sys.stdin.buffer, handle)
            files = [copy if is_stdin(p) else p for p in inputs]
            STDIN_COPIES[copy] = NAME
            stack.callback(STDIN_COPIES.pop, copy, None)
        if not to_stdout:
            yield files, out, rejects
            return
        ranked = folder / f"ranked.{out_format}"
        _STDOUT_COPIES.add(ranked)
        stack.callback(_STDOUT_COPIES.discard, ranked)
        stdout, finished = sys.stdout, False
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield files, ranked, rejects if rejects is not None else Path("rejects.jsonl")
            finished = True
        except SystemExit as exc:  # the command's own exit: 7 is a batch that finished with rejects
            finished = exc.code in (None, 0, int(ExitCode.REJECTS))
            raise
        finally:
            if finished:
                _print(ranked, stdout)


def _print(ranked: Path, stdout: TextIO) -> None:
    if ranked.exists():
        with ranked.open(encoding="utf-8", newline="") as handle:
            shutil.copyfileobj(handle, stdout)
        stdout.flush()
