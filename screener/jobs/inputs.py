"""Batch inputs: stream records from profile folders, JSON Lines and mapped CSV files.

Reading is split from validating so that a batch can read in one process and validate in
workers: :func:`read_raw` yields :class:`RawRecord` (where a record is and its unparsed
payload, numbered in reading order), :func:`validate` turns one into a :class:`Record` holding
either a valid :class:`~screener.profile.model.Profile` or every problem found, each located at
``file:line`` (JSON Lines), ``file:row`` with the column as subject (CSV) or
``file:line:column`` (YAML/JSON files). Everything is a generator: memory does not grow with
the input.

Every physical record is one raw record, also one that cannot be read: bytes that are not UTF-8
are kept as surrogate escapes and rejected with their line and column, a line or row longer
than the document bound is skipped unread and rejected, and reading goes on with the next. A
CSV header that names a column twice is refused before anything is read
(:func:`header_problems`).

A JSON Lines record is validated straight from its text with pydantic's JSON parser (the fast
path); only when that fails is it parsed again to locate every problem.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from pydantic import ValidationError

from screener.errors import InputError, Location, Problem, ScreenerError
from screener.files import open_regular
from screener.jobs.csvformat import CsvFormat, detect
from screener.jobs.mapping import Mapping as ColumnMapping
from screener.profile.model import Profile, validate_profile
from screener.profile.sources import (
    MAX_BYTES,
    Document,
    bounded_lines,
    iter_json_lines,
    load_document,
    parse_json,
    printable,
    undecodable,
    unique_keys,
)
from screener.rules import catalogue
from screener.rules.catalogue import PackSchema

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
    #: cells of a CSV row that could not be read and were left out (the profile is valid without them)
    warnings: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.profile is not None


#: Copies of standard input (``screen batch -``), each read like a JSON Lines file, and the name its
#: records are located in: ``<stdin>:3: ...`` rather than a temporary file's path.
STDIN_COPIES: dict[Path, str] = {}


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
        elif not path.is_file():
            raise InputError(
                "is not a regular file (a FIFO, device or socket); Screener reads only files", Location(str(path))
            )
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


def estimate_records(files: Iterable[Path], at_most: int | None = None) -> int:
    """About how many records ``files`` hold, for a progress bar's ETA: lines of JSON Lines and CSV
    files (less a CSV header), one per profile file. Reads bytes only (a gigabyte a second or so);
    blank lines and quoted line breaks in CSV cells make it a slight overestimate. ``at_most``:
    stop reading once the count passes it (the answer is then only known to be larger)."""
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
                    if at_most is not None and total + lines > at_most + 1:
                        return total + lines
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
    """Every record of ``files`` (see :func:`expand`), unvalidated, in order.

    Every physical record is one RawRecord, whatever it holds: a line or row that cannot be read
    (bytes that are not UTF-8, longer than the document bound, broken CSV quoting) is one
    record that validating rejects with its location, and reading goes on with the next.
    """
    seq = 0
    for path in files:
        suffix, source = path.suffix.lower(), STDIN_COPIES.get(path, str(path))
        if suffix == ".jsonl":
            try:
                for number, text in iter_json_lines(path):
                    if text is None:
                        yield RawRecord(seq, source, number, "unreadable", _too_long("line"))
                    else:
                        yield RawRecord(seq, source, number, "jsonl", text)
                    seq += 1
            except OSError as exc:
                yield RawRecord(seq, source, 0, "unreadable", f"cannot read file: {exc.strerror or exc}")
                seq += 1
            except InputError as exc:  # it changed since it was listed (now a FIFO, or gone)
                yield RawRecord(seq, source, 0, "unreadable", exc.problems[0].message)
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


def _too_long(what: str) -> str:
    return f"the {what} is longer than {MAX_BYTES:,} characters, the most one record may be; it was not read"


class _RowTooLong(Exception):
    """Raised through the CSV reader by :class:`_CsvLines` for a row over the document bound."""


class _CsvLines:
    """The lines of a CSV file as the csv module reads them, each row bounded by the document bound.

    A row longer than :data:`~screener.profile.sources.MAX_BYTES` raises :class:`_RowTooLong`
    through the reader (which can read on afterwards) instead of growing without bound.
    ``number`` is the last line read; :meth:`row_done` starts the count of the next row.
    """

    def __init__(self, handle: IO[str]):
        self.lines = bounded_lines(handle)
        self.number = 0
        self.chars = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number += 1
        self.chars += len(line) if line is not None else MAX_BYTES + 1
        if line is None or self.chars > MAX_BYTES:
            raise _RowTooLong
        return line

    def row_done(self) -> None:
        self.chars = 0


@contextlib.contextmanager
def open_csv(path: Path, mapping: ColumnMapping) -> Iterator[tuple[_CsvLines, Iterator[list[str]]]]:
    """A CSV file's bounded lines and its csv reader, in the encoding and delimiter the mapping names or
    that are detected (bytes the encoding cannot read kept as surrogate escapes)."""
    # A cell may be as long as a whole profile document; the csv module's default is 128 KiB.
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    form = csv_format(path, mapping)
    with open_regular(path, encoding=form.encoding, errors="surrogateescape", newline="") as handle:
        lines = _CsvLines(handle)
        yield lines, csv.reader(lines, delimiter=form.delimiter)


def csv_format(path: Path, mapping: ColumnMapping) -> CsvFormat:
    """How ``path`` is written: the mapping's encoding and delimiter, or those detected from the file."""
    return detect(path, mapping.encoding, mapping.delimiter)


def header_problems(files: Iterable[Path], mapping: ColumnMapping | None) -> list[Problem]:
    """What is wrong with the header of each CSV input, before any record is read.

    A column named twice would leave one of its cells unread in every row; a header that is not
    UTF-8 cannot name the mapping's columns.
    """
    problems = []
    for path in files:
        if path.suffix.lower() != ".csv" or mapping is None:
            continue
        try:
            with open_csv(path, mapping) as (_, reader):
                header = next(reader, [])
        except (OSError, UnicodeError, InputError, csv.Error, _RowTooLong):
            continue  # reading the file reports it, as one record
        problems.extend(_header_problems(header, str(path)))
    return problems


def _header_problems(header: list[str], source: str) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        bad = undecodable(name)
        if bad:
            problems.append(Problem(f"header column {number}: {bad}", Location(source, 1)))
        elif name in first:
            problems.append(
                Problem(
                    f"column {name!r} appears twice in the header (columns {first[name]} and {number}); "
                    "rename one, or remove it",
                    Location(source, 1),
                )
            )
        first.setdefault(name, number)
    return problems


def _read_csv(
    path: Path, mapping: ColumnMapping, warn: Callable[[Problem], None] | None, seq: int
) -> Iterator[RawRecord]:
    source = str(path)
    start = 1
    try:
        with open_csv(path, mapping) as (lines, reader):
            try:
                header = next(reader, [])
            except (csv.Error, _RowTooLong):
                header = []
            lines.row_done()
            form = csv_format(path, mapping)
            if form.detected and warn is not None:
                warn(
                    Problem(
                        f"{form.describe()} (detected; set encoding: or delimiter: in mapping {mapping.name!r} "
                        "to read it otherwise)",
                        Location(source),
                        level="warning",
                    )
                )
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
            width = len(header)
            while True:
                start = lines.number + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except _RowTooLong:
                    yield RawRecord(seq, source, start, "unreadable", _too_long("row"))
                except csv.Error as exc:
                    yield RawRecord(seq, source, start, "unreadable", f"cannot read the row: {exc}")
                else:
                    if not cells:
                        lines.row_done()
                        continue  # a blank line is no record
                    row: dict[str | None, Any] = dict(zip(header, cells, strict=False))
                    if len(cells) > width:
                        # More cells than the header has columns: kept under None, an error for that row.
                        row[None] = cells[width:]
                    yield RawRecord(seq, source, start, "csv", row)
                lines.row_done()
                seq += 1
    except OSError as exc:
        yield RawRecord(
            seq, source, start if start > 1 else 0, "unreadable", f"cannot read file: {exc.strerror or exc}"
        )
    except UnicodeError as exc:  # a multi-byte encoding (UTF-16) cut short: nothing after it can be read
        yield RawRecord(seq, source, start if start > 1 else 0, "unreadable", f"cannot read the file's text: {exc}")
    except InputError as exc:  # it changed since it was listed (now a FIFO, or gone)
        yield RawRecord(seq, source, 0, "unreadable", exc.problems[0].message)


#: The fast path's JSON parser, built once: ``json.loads`` with an ``object_pairs_hook`` builds a
#: decoder on every call (9 µs of a record's 300). What it accepts and refuses is json.loads's.
_DECODER = json.JSONDecoder(object_pairs_hook=unique_keys)


def validate(
    raw: RawRecord,
    rates: Mapping[str, float] | None = None,
    mapping: ColumnMapping | None = None,
    schema: PackSchema | None = None,
    strict: bool = False,
) -> Record:
    """Validate one raw record: a profile, or every problem found.

    ``schema``: the rule pack's fields (its profile model holds the fields it declares; default the
    built-in ones). A CSV cell that cannot be read leaves its field out with a warning, unless the
    field is ``name`` or ``strict`` is set: then the record is rejected.
    """
    schema = schema or catalogue.builtin()
    model = schema.profile_model
    context = {"rates": dict(rates or {})}
    if raw.kind == "jsonl":
        bad = undecodable(raw.payload)
        if bad is not None:
            return Record(
                raw, None, [Problem(bad, Location(raw.source, raw.line))], printable(raw.payload.rstrip("\n"))
            )
        try:
            data = _DECODER.decode(raw.payload)
            return Record(raw, model.model_validate(data, context=context), [])
        except (ValidationError, ValueError, RecursionError):
            pass  # locate every problem the slow way below
        try:
            data = parse_json(raw.payload, raw.source, line_offset=raw.line)
        except ScreenerError as exc:
            return Record(raw, None, exc.problems, raw.payload.rstrip("\n"))
        return _validate_doc(raw, Document(data, raw.source, line_offset=raw.line), rates, data, model)
    if raw.kind == "csv":
        assert mapping is not None  # read_raw refuses CSV without a mapping
        return _validate_row(raw, rates, mapping, schema, strict)
    if raw.kind == "document":
        try:
            doc = load_document(Path(raw.source))
        except ScreenerError as exc:
            return Record(raw, None, exc.problems)
        return _validate_doc(raw, doc, rates, doc.data, model)
    return Record(raw, None, [Problem(str(raw.payload), Location(raw.source, raw.line))])


def _validate_doc(
    raw: RawRecord, doc: Document, rates: Mapping[str, float] | None, data: Any, model: type[Profile]
) -> Record:
    try:
        return Record(raw, validate_profile(doc, rates, model), [], data)
    except ScreenerError as exc:
        return Record(raw, None, exc.problems, data)


def _validate_row(
    raw: RawRecord, rates: Mapping[str, float] | None, mapping: ColumnMapping, schema: PackSchema, strict: bool
) -> Record:
    row: dict[Any, Any] = raw.payload
    where = Location(raw.source, raw.line)
    problems = []
    for column, cell in row.items():
        bad = undecodable(cell) if isinstance(cell, str) else None
        if bad is not None:
            problems.append(Problem(bad, where, column or ""))
    if problems:  # the row's text cannot be trusted: report the bytes, not what they would mean
        return Record(
            raw, None, problems, {k: printable(v) if isinstance(v, str) else v for k, v in row.items() if k is not None}
        )
    record_data = {k: v for k, v in row.items() if k is not None}
    if row.get(None):
        problems.append(Problem(f"{len(row[None])} more cell(s) than the header has columns", where))
    applied = mapping.apply(row, schema)
    names = {c for c, spec in mapping.columns.items() if "name" in spec.fields}
    left_out: list[Problem] = []
    for column, _text, why in applied.problems:
        if column in names or strict:
            problems.append(Problem(why, where, column))
        else:
            left_out.append(Problem(f"{why}; left out", where, column, level="warning"))
    data, origin = applied.data, applied.origin
    # A cell that reads but is not a valid value (a bound, an enum value) is left out too, unless it is
    # the name; each round drops what the last one refused, so a field never hides another's problem.
    for _ in range(len(origin) + 1):
        try:
            profile = validate_profile(Document(data, raw.source, line_offset=raw.line), rates, schema.profile_model)
        except ScreenerError as exc:
            fatal, dropped = [], []
            for problem in exc.problems:
                path = _mapped_path(problem.subject, origin)
                column = origin.get(path, "") if path else ""
                if path is None or path == "name" or strict:
                    fatal.append(dataclasses.replace(problem, subject=column or problem.subject))
                    continue
                text = _cells_of(row, column)
                dropped.append(path)
                message = f"{text}: {problem.message}; left out" if text else f"{problem.message}; left out"
                left_out.append(Problem(message, where, column, level="warning"))
            if fatal or not dropped:
                return Record(raw, None, problems + fatal, record_data)
            for path in dict.fromkeys(dropped):
                _remove(data, path)
                origin.pop(path, None)
            continue
        if problems:
            return Record(raw, None, problems, record_data)
        return Record(raw, profile, [], record_data, left_out)
    return Record(raw, None, problems, record_data)  # pragma: no cover (each round drops a field)


def _mapped_path(subject: str, origin: Mapping[str, str]) -> str | None:
    """The mapped field a problem's subject lies in (``investors.kinds[1]`` → ``investors.kinds``), or None."""
    probe = re.sub(r"\[\d+\]", "", subject)
    while probe:
        if probe in origin:
            return probe
        probe = probe.rpartition(".")[0]
    return None


def _cells_of(row: Mapping[Any, Any], column: str) -> str:
    columns = [c.strip() for c in column.split(",")] if column and column not in row else [column]
    shown = [repr(row[c]) for c in columns if c in row and row[c] not in (None, "")]
    return ", ".join(shown)


def _remove(data: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        inner = data.get(part)
        if not isinstance(inner, dict):
            return
        data = inner
    data.pop(leaf, None)


def iter_records(
    paths: Iterable[Path],
    mapping: ColumnMapping | None = None,
    rates: Mapping[str, float] | None = None,
    warn: Callable[[Problem], None] | None = None,
    schema: PackSchema | None = None,
) -> Iterator[Record]:
    """Read and validate every record of ``paths`` (files or folders), one at a time."""
    for raw in read_raw(expand(paths), mapping, warn):
        yield validate(raw, rates, mapping, schema)
