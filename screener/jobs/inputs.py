"""Batch inputs: stream records from profile folders, JSON Lines and mapped CSV files.

Reading is split from validating so that a batch can read in one process and validate in
workers: :func:`read_raw` yields :class:`RawRecord` (where a record is and its unparsed
payload, numbered in reading order), :func:`validate` turns one into a :class:`Record` holding
either a valid :class:`~screener.profile.model.Profile` or every problem found, each located at
``file:line`` (JSON Lines), ``file:row`` with the column as subject (CSV) or
``file:line:column`` (YAML/JSON files). Everything is a generator: memory does not grow with
the input.

A JSON Lines record is validated straight from its text with pydantic's JSON parser (the fast
path); only when that fails is it parsed again to locate every problem.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from screener.errors import InputError, Location, Problem, ScreenerError
from screener.jobs.mapping import Mapping as ColumnMapping
from screener.profile.model import Profile, validate_profile
from screener.profile.sources import Document, iter_json_lines, load_document, parse_json, unique_keys

DOCUMENT_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
SUFFIXES = DOCUMENT_SUFFIXES | {".jsonl", ".csv"}


class RawRecord(NamedTuple):
    """One input record before validation.

    A named tuple rather than a dataclass: batches pickle every record to a worker process, and
    a tuple pickles several times faster.
    """

    seq: int  #: 0-based position in reading order across all inputs
    source: str  #: the file it came from
    line: int  #: JSON Lines: line number; CSV: row (line) number; a profile file: 0
    kind: str  #: "document", "jsonl" or "csv"
    payload: Any = None  #: JSON Lines: the line's text; CSV: the row (column → text); document: None


@dataclass(frozen=True, slots=True)
class Record:
    raw: RawRecord
    profile: Profile | None
    problems: list[Problem]
    data: Any = None  #: the record as read (a dict when it could be parsed), for the rejects file

    @property
    def ok(self) -> bool:
        return self.profile is not None


def expand(paths: Iterable[Path]) -> list[Path]:
    """The input files: named files as given, folders searched (recursively, sorted) for known types.

    Each file once, at its first mention.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES))
        elif not path.exists():
            raise InputError("input not found", Location(str(path)))
        elif path.suffix.lower() not in SUFFIXES:
            raise InputError(
                f"unsupported input type {path.suffix or '(none)'!r}: expected a folder, "
                ".yaml, .yml, .json, .jsonl or .csv",
                Location(str(path)),
            )
        else:
            files.append(path)
    # A file named twice (or named and also inside a named folder) is read once: its records
    # would otherwise all be duplicates of themselves.
    seen: set[Path] = set()
    unique = []
    for file in files:
        resolved = file.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(file)
    return unique


def estimate_records(files: Iterable[Path]) -> int:
    """About how many records ``files`` hold, for a progress bar's ETA: lines of JSON Lines and CSV
    files (less a CSV header), one per profile file. Reads bytes only (a gigabyte a second or so);
    blank lines and quoted line breaks in CSV cells make it a slight overestimate."""
    total = 0
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in {".jsonl", ".csv"}:
            total += 1
            continue
        lines, last = 0, b"\n"
        try:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
                    last = block[-1:]
        except OSError:
            continue  # reading it will report the problem
        lines += last != b"\n"
        total += max(lines - (suffix == ".csv"), 0)
    return total


def read_raw(
    files: Iterable[Path],
    mapping: ColumnMapping | None = None,
    warn: Callable[[Problem], None] | None = None,
) -> Iterator[RawRecord]:
    """Every record of ``files`` (see :func:`expand`), unvalidated, in order."""
    seq = 0
    for path in files:
        suffix, source = path.suffix.lower(), str(path)
        if suffix == ".jsonl":
            try:
                for number, text in iter_json_lines(path):
                    yield RawRecord(seq, source, number, "jsonl", text)
                    seq += 1
            except (OSError, UnicodeDecodeError) as exc:
                yield RawRecord(seq, source, 0, "unreadable", f"cannot read file: {exc}")
                seq += 1
        elif suffix == ".csv":
            if mapping is None:
                raise InputError("a CSV input needs a column mapping (--map)", Location(source))
            for record in _read_csv(path, mapping, warn, seq):
                yield record
                seq += 1
        else:
            yield RawRecord(seq, source, 0, "document")
            seq += 1


def _read_csv(
    path: Path, mapping: ColumnMapping, warn: Callable[[Problem], None] | None, seq: int
) -> Iterator[RawRecord]:
    source = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=mapping.delimiter)
            header = [c for c in reader.fieldnames or [] if c is not None]
            unknown = mapping.unknown_columns(header)
            if unknown and warn is not None:
                warn(
                    Problem(
                        f"unknown column(s) {', '.join(map(repr, unknown))} ignored: map them under 'columns' "
                        f"or list them under 'ignore' in mapping {mapping.name!r}",
                        Location(source, 1),
                        level="warning",
                    )
                )
            for row in reader:
                # A row with more cells than the header keeps the extras under None: an error for that row.
                yield RawRecord(seq, source, reader.line_num, "csv", row)
                seq += 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        yield RawRecord(seq, source, 0, "unreadable", f"cannot read file: {exc}")


def validate(raw: RawRecord, rates: Mapping[str, float] | None = None, mapping: ColumnMapping | None = None) -> Record:
    """Validate one raw record: a profile, or every problem found."""
    context = {"rates": dict(rates or {})}
    if raw.kind == "jsonl":
        try:
            data = json.loads(raw.payload, object_pairs_hook=unique_keys)
            return Record(raw, Profile.model_validate(data, context=context), [])
        except (ValidationError, ValueError, RecursionError):
            pass  # locate every problem the slow way below
        try:
            data = parse_json(raw.payload, raw.source, line_offset=raw.line)
        except ScreenerError as exc:
            return Record(raw, None, exc.problems, raw.payload.rstrip("\n"))
        return _validate_doc(raw, Document(data, raw.source, line_offset=raw.line), rates, data)
    if raw.kind == "csv":
        return _validate_row(raw, rates, mapping)
    if raw.kind == "document":
        try:
            doc = load_document(Path(raw.source))
        except ScreenerError as exc:
            return Record(raw, None, exc.problems)
        return _validate_doc(raw, doc, rates, doc.data)
    return Record(raw, None, [Problem(str(raw.payload), Location(raw.source))])


def _validate_doc(raw: RawRecord, doc: Document, rates: Mapping[str, float] | None, data: Any) -> Record:
    try:
        return Record(raw, validate_profile(doc, rates), [], data)
    except ScreenerError as exc:
        return Record(raw, None, exc.problems, data)


def _validate_row(raw: RawRecord, rates: Mapping[str, float] | None, mapping: ColumnMapping | None) -> Record:
    assert mapping is not None  # read_raw refuses CSV without a mapping
    row: dict[Any, Any] = raw.payload
    where = Location(raw.source, raw.line)
    problems = []
    if row.get(None):
        problems.append(Problem(f"{len(row[None])} more cell(s) than the header has columns", where))
    data, origin, cell_problems = mapping.apply(row)
    problems += [Problem(message, where, column) for column, message in cell_problems]
    record_data = {k: v for k, v in row.items() if k is not None}
    try:
        profile = validate_profile(Document(data, raw.source, line_offset=raw.line), rates)
    except ScreenerError as exc:
        problems += [dataclasses.replace(p, subject=_column(p.subject, origin)) for p in exc.problems]
        return Record(raw, None, problems, record_data)
    if problems:
        return Record(raw, None, problems, record_data)
    return Record(raw, profile, [], record_data)


def _column(subject: str, origin: Mapping[str, str]) -> str:
    """The CSV column a field problem comes from (the field path when no column fills it)."""
    probe = subject
    while probe:
        if probe in origin:
            return origin[probe]
        probe = probe.rpartition(".")[0]
    return subject


def iter_records(
    paths: Iterable[Path],
    mapping: ColumnMapping | None = None,
    rates: Mapping[str, float] | None = None,
    warn: Callable[[Problem], None] | None = None,
) -> Iterator[Record]:
    """Read and validate every record of ``paths`` (files or folders), one at a time."""
    for raw in read_raw(expand(paths), mapping, warn):
        yield validate(raw, rates, mapping)
