"""Reading a labels CSV: each row's label, screening date and profile (a file, or mapped from its columns)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from screener.jobs.mapping import Mapping as ColumnMapping

from screener.errors import InputError, Location, Problem
from screener.jobs.mapping import load_mapping
from screener.profile.model import Profile
from screener.rules.catalogue import PackSchema

TRUE_LABELS = frozenset({"1", "true", "yes", "y", "positive", "good", "invested"})


FALSE_LABELS = frozenset({"0", "false", "no", "n", "negative", "bad", "passed"})


@dataclass(frozen=True)
class LabelledRow:
    profile: Path | Profile  #: a profile file, or the profile mapped from the row itself
    label: bool
    on: dt.date | None
    line: int


def read_labels(
    path: Path,
    label_column: str = "label",
    as_of_column: str | None = None,
    profile_column: str = "profile",
    mapping: Path | None = None,
    rates: Mapping[str, float] | None = None,
    schema: PackSchema | None = None,
) -> list[LabelledRow]:
    """Read the labels CSV, reporting every bad cell as ``file:line:col: column: message``.

    Each row names a profile file in ``profile_column``; a file without that column holds the
    profiles themselves, mapped onto profile fields like a batch CSV (``mapping``, default the
    built-in Crunchbase-style mapping).
    """
    from screener.profile.sources import read_text

    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise InputError("the labels file is empty; expected a header row", Location(str(path), 1, 1))
    names = [h.strip() for h in header]
    problems: list[Problem] = []
    columns = load_mapping(mapping, schema, dict(rates or {})) if profile_column not in names else None
    wanted = [c for c in (None if columns else profile_column, label_column, as_of_column) if c]
    for column in wanted:
        if column not in names:
            problems.append(Problem(f"no column {column!r} (columns: {', '.join(names)})", Location(str(path), 1, 1)))
    if problems:
        raise InputError(problems)
    index = {c: names.index(c) for c in wanted}
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            position = index[column]
            return cells[position].strip() if position < len(cells) else ""

        def fail(column: str, message: str, line: int = line) -> None:
            problems.append(Problem(message, Location(str(path), line, index[column] + 1), column))

        raw_label = cell(label_column).lower()
        label = raw_label in TRUE_LABELS
        if not label and raw_label not in FALSE_LABELS:
            fail(label_column, f"{raw_label!r} is not a label; use 1/0, yes/no, true/false or positive/negative")
        on = None
        if as_of_column:
            try:
                on = dt.date.fromisoformat(cell(as_of_column))
            except ValueError:
                fail(as_of_column, f"{cell(as_of_column)!r} is not a date in YYYY-MM-DD form")
        if columns is not None:
            profile = _mapped_profile(
                path, line, dict(zip(names, cells, strict=False)), columns, rates, problems, schema
            )
            if profile is not None:
                rows.append(LabelledRow(profile, label, on, line))
            continue
        if not cell(profile_column):
            fail(profile_column, "no profile file given")
        rows.append(LabelledRow(path.parent / cell(profile_column), label, on, line))
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError("the labels file has no rows", Location(str(path), 2))
    return rows


def _mapped_profile(
    path: Path,
    line: int,
    row: dict[str, str],
    mapping: ColumnMapping,
    rates: Mapping[str, float] | None,
    problems: list[Problem],
    schema: PackSchema | None,
) -> Profile | None:
    from screener.jobs.inputs import RawRecord, validate

    record = validate(RawRecord(line, str(path), line, "csv", row), rates, mapping, schema)
    problems.extend(record.problems)
    return record.profile
