"""Batch memos: named after the company key, stamped, kept with a warning when the user edited them."""

from __future__ import annotations

from pathlib import Path

from screener.errors import Location, Problem
from screener.jobs.batch.workers import (
    WorkerState,
)
from screener.screening.result import Verdict
from screener.screening.screener import Evaluation


def drafts(state: WorkerState, verdict: Verdict) -> bool:
    """Whether the batch drafts a memo for a company of this verdict: at or above ``memo_verdict``, and
    never a pass note for a strong fit without ``--force`` (it would decline a company the thesis backs)."""
    renderer = state.renderer
    if renderer is None or not verdict.at_least(state.config.memo_verdict):
        return False
    return not (renderer.declines and verdict is Verdict.STRONG_FIT and not state.config.force)


def withheld(count: int) -> Problem:
    return Problem(
        f"no pass note drafted for {count} strong fit(s): a pass note would decline a company the thesis backs "
        "(pass --force to draft them anyway)",
        Location("--template"),
        level="warning",
    )


def memo_path(state: WorkerState, key: str) -> Path:
    """Where a batch memo goes: named after the company key (``memo.files.key_stem``), which is unique
    in a batch (each company is kept once) and stable across runs."""
    from screener.files import safe_child
    from screener.memo.files import key_stem

    assert state.renderer is not None and state.config.memos is not None
    return safe_child(state.config.memos, key_stem(key), state.renderer.suffix, dots=True)


def remove_memo(state: WorkerState, key: str) -> list[Problem]:
    """Remove company ``key``'s batch memo, unless edited since (then keep it and warn) or stamped for another."""
    from screener.memo import files

    if state.renderer is None or state.config.memos is None:
        return []
    stale = memo_path(state, key)
    existing = files.inspect(stale)
    if existing.state is files.FileState.ABSENT or existing.company not in (key, None):
        return []
    if existing.state is files.FileState.GENERATED or state.config.force:
        stale.unlink(missing_ok=True)
        return []
    return [kept(stale)]


def write_memo(state: WorkerState, evaluation: Evaluation) -> Path | None:
    """Write a company's memo; returns its path instead when it was edited and is kept."""
    from screener.memo import MemoContext, files

    assert state.renderer is not None and state.config.memos is not None
    result = state.screener.result(evaluation, explain=True)
    path = memo_path(state, result.company.key)
    if not state.config.force and not files.replaceable(path):
        return path
    context = MemoContext.build(
        result, evaluation.profile, evaluation.derived.model_dump(mode="json"), schema=state.screener.schema
    )
    files.write(path, state.renderer.render(context), result.company.key)
    return None


def kept(path: Path | str) -> Problem:
    return Problem(
        "memo edited since Screener generated it (or not written by Screener); kept (use --force to replace it)",
        Location(str(path)),
        level="warning",
    )


def unwritten_memo(problem: Problem) -> Problem:
    """A memo the batch could not write, as a warning: the company is scored and saved all the same."""
    return Problem(f"memo not written: {problem.message}", problem.location, problem.subject, "warning")
