"""The ranked output: rows sorted in runs of :data:`RUN_ROWS`, spilled to disk and merged, written atomically.

Rows are ranked as every ranked view is (:mod:`screener.screening.ranking`): by verdict, knocked-out
companies at the bottom of pass, then by score, then by coverage; then by name and input position.
Memory stays flat in the number of records: each run is sorted and pickled to a scratch file,
and the runs are merged with :func:`heapq.merge` into the CSV, JSON Lines or Parquet file. A
failed or interrupted run leaves the previous file (or none).
"""

from __future__ import annotations

import heapq
import importlib
import json
import pickle
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from screener.files import atomic_writer
from screener.jobs.batch.duplicates import Index
from screener.jobs.batch.workers import (
    check_stop,
    chunks,
)
from screener.screening.ranking import VERDICT_ORDER

#: Columns of the ranked output, in order.
COLUMNS = (
    "rank", "name", "key", "website", "score", "verdict", "coverage", "knockouts", "reasons", "warnings", "source",
    "line", "notes", "score_worst", "score_best", "verdict_could_change",
)  # fmt: skip


#: Ranked rows kept in memory before a sorted run is spilled to a temporary file.
RUN_ROWS = 50_000


#: One ranked output row, without its rank: the values of COLUMNS[1:12], the record's position, its notes,
#: its score range (worst, best) and whether the range's verdicts differ from its verdict.
#: ``warnings``: the ids of the plausibility checks that warned about the record's data; ``notes``: the CSV
#: cells left out of its profile, and for a review, the fields its export lacks.
Row = tuple[
    str,
    str,
    str | None,
    float,
    str,
    float,
    list[str],
    list[str],
    list[str],
    str,
    int,
    int,
    list[str],
    float,
    float,
    bool,
]


def _order(row: Row) -> tuple[int, bool, float, float, str, int]:
    # screening.ranking.rank_key, spelled out: this runs for every row of a batch of millions.
    return (VERDICT_ORDER[row[4]], bool(row[6]), -row[3], -row[5], row[1], row[11])


#: Rows pickled together in a spilled run: one pickle call per row cost more than sorting them.
SPILL_BLOCK = 1000


def spill(rows: list[Row], folder: Path, number: int) -> Path:
    path = folder / f"run-{number:05d}.pickle"
    with path.open("wb") as handle:
        for block in chunks(sorted(rows, key=_order), SPILL_BLOCK):
            pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_run(path: Path) -> Iterator[Row]:
    with path.open("rb") as handle:
        while True:
            try:
                yield from pickle.load(handle)  # noqa: S301 (our own temporary file)
            except EOFError:
                return


def _ranked(runs: list[Path], index: Index | None) -> Iterator[tuple[Any, ...]]:
    """Output rows with their rank (the values of COLUMNS), best first; with an index, only winners."""
    merged: Iterable[Row] = heapq.merge(*(_read_run(p) for p in runs), key=_order)
    if index is not None:
        merged = (row for row in merged if not index.lost(row[11]))
    for rank, row in enumerate(merged, start=1):
        check_stop()  # a stop while writing leaves the previous file
        yield (rank, *row[:11], *row[12:])


def count_warnings(runs: list[Path], index: Index) -> tuple[int, dict[str, int]]:
    """Companies kept whose data drew warnings, and per check how many: what duplicates leave of the pass's count."""
    warned, by_check = 0, Counter[str]()
    for row in heapq.merge(*(_read_run(p) for p in runs), key=_order):
        if row[8] and not index.lost(row[11]):
            warned += 1
            by_check.update(set(row[8]))
    return warned, dict(by_check)


def write_ranked(path: Path, runs: list[Path], index: Index | None) -> None:
    suffix = path.suffix.lower()
    rows = _ranked(runs, index)
    if suffix == ".parquet":
        _write_parquet(path, (dict(zip(COLUMNS, row, strict=True)) for row in rows))
        return
    with atomic_writer(path, newline="") as handle:
        if suffix == ".jsonl":
            for row in rows:
                handle.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
                handle.write("\n")
        else:
            import csv

            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for (
                rank,
                name,
                key,
                website,
                score,
                verdict,
                coverage,
                knockouts,
                reasons,
                warnings,
                source,
                line,
                notes,
                worst,
                best,
                could_change,
            ) in rows:
                writer.writerow(
                    [rank, _cell(name), _cell(key), _cell(website), score, verdict, coverage, "; ".join(knockouts),
                     "; ".join(reasons), "; ".join(warnings), _cell(source), line, _cell("; ".join(notes)), worst,
                     best, could_change]
                )  # fmt: skip


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (company names come from the input)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def _write_parquet(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    pa = importlib.import_module("pyarrow")
    pq = importlib.import_module("pyarrow.parquet")

    schema = pa.schema(
        [("rank", pa.int64()), ("name", pa.string()), ("key", pa.string()), ("website", pa.string()),
         ("score", pa.float64()), ("verdict", pa.string()), ("coverage", pa.float64()),
         ("knockouts", pa.list_(pa.string())), ("reasons", pa.list_(pa.string())),
         ("warnings", pa.list_(pa.string())), ("source", pa.string()),
         ("line", pa.int64()), ("notes", pa.list_(pa.string())), ("score_worst", pa.float64()),
         ("score_best", pa.float64()), ("verdict_could_change", pa.bool_())]
    )  # fmt: skip
    with atomic_writer(path, "wb") as handle:
        writer = pq.ParquetWriter(handle, schema)
        try:
            for batch in chunks(rows, RUN_ROWS):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        finally:
            writer.close()
