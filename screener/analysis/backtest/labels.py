"""Reading a labels CSV: each row's label, screening date and profile (a file, or mapped from its columns).

A row that cannot be used (its label is not one of the vocabulary, its date is not a date, its
profile does not validate) is a bad row with every problem, located ``file:line:col``; the
backtest rejects it and goes on (``--strict``: stops). What is wrong with the file as a whole
(no header, no label column, a positive label no row has) is an error before anything is screened.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from screener.analysis.backtest.models import LabelVocabulary
from screener.errors import InputError, Location, Problem, did_you_mean
from screener.jobs.csvformat import detect
from screener.jobs.inputs import RawRecord, validate
from screener.jobs.mapping import Mapping as ColumnMapping
from screener.jobs.mapping import load_mapping
from screener.profile.model import Profile
from screener.profile.sources import undecodable
from screener.rules.catalogue import PackSchema

TRUE_LABELS = frozenset({"1", "true", "yes", "y", "positive", "good", "invested"})
FALSE_LABELS = frozenset({"0", "false", "no", "n", "negative", "bad", "passed"})


@dataclass(frozen=True)
class LabelledRow:
    line: int
    record: dict[str, str]  #: the row as read
    label: bool
    on: dt.date | None
    profile: Path | Profile  #: a profile file, or the profile mapped from the row itself
    notes: tuple[Problem, ...] = ()  #: cells of the row left out of its profile


@dataclass(frozen=True)
class BadRow:
    line: int
    record: dict[str, str]
    problems: list[Problem]
    implausible: bool = False  #: bad only because --strict makes its data warnings errors


@dataclass
class Labels:
    rows: list[LabelledRow] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    vocabulary: LabelVocabulary | None = None
    mapping: ColumnMapping | None = None


class Vocabulary:
    """Which label texts are positive and which negative (compared without case or surrounding spaces)."""

    def __init__(self, column: str, positive: tuple[str, ...] = (), negative: tuple[str, ...] = ()):
        self.column = column
        self.positive = tuple(dict.fromkeys(v.strip().lower() for v in positive))
        self.negative = tuple(dict.fromkeys(v.strip().lower() for v in negative))
        both = sorted(set(self.positive) & set(self.negative))
        if both:
            raise InputError(
                f"{', '.join(map(repr, both))} given as both --positive and --negative", Location("--positive")
            )
        if not self.positive and not self.negative:
            self.positive, self.negative = tuple(sorted(TRUE_LABELS)), tuple(sorted(FALSE_LABELS))
            self.default = True
        else:
            self.default = False

    def read(self, text: str) -> bool | str:
        """The label of a cell, or why it is not one."""
        value = text.strip().lower()
        if not value:
            return "no label"
        if value in self.positive:
            return True
        if value in self.negative:
            return False
        if self.default:
            return f"{text.strip()!r} is not a label; use 1/0, yes/no, true/false or positive/negative (or --positive VALUE)"
        if not self.negative:
            return False  # --positive alone: every other label is negative
        if not self.positive:
            return True
        return (
            f"{text.strip()!r} is neither a positive ({', '.join(self.positive)}) nor a negative "
            f"({', '.join(self.negative)}) label"
        )

    def model(self) -> LabelVocabulary:
        if self.default or not self.negative:
            negative = list(self.negative) if self.default else []
        else:
            negative = list(self.negative)
        return LabelVocabulary(column=self.column, positive=list(self.positive), negative=negative)


def read_labels(
    path: Path,
    vocabulary: Vocabulary,
    as_of_column: str | None = None,
    profile_column: str = "profile",
    mapping: Path | None = None,
    rates: Mapping[str, float] | None = None,
    schema: PackSchema | None = None,
    strict: bool = False,
) -> Labels:
    """Read every row of the labels CSV (see the module docstring)."""
    label_column = vocabulary.column
    found = Labels()
    first, _ = _open(path, None, header_only=True)
    mapped = profile_column not in first
    columns: ColumnMapping | None = None
    if mapped:
        columns = load_mapping(mapping, schema, dict(rates or {}))
        found.mapping = columns
    header, rows = _open(path, columns)
    wanted = [c for c in (None if mapped else profile_column, label_column, as_of_column) if c]
    missing = [
        Problem(f"no column {c!r} (columns: {', '.join(header)}){did_you_mean(c, header)}", Location(str(path), 1, 1))
        for c in wanted
        if c not in header
    ]
    if missing:
        raise InputError(missing)
    if columns is not None:
        unknown = columns.unknown_columns(header, frozenset(c for c in (label_column, as_of_column) if c))
        if unknown:
            found.warnings.append(
                Problem(
                    f"unknown column(s) {', '.join(map(repr, unknown))} ignored: map them under 'columns' or list "
                    f"them under 'ignore' in mapping {columns.name!r}",
                    Location(str(path), 1),
                    level="warning",
                )
            )
    index = {c: header.index(c) for c in wanted}
    seen: Counter[str] = Counter()
    for line, cells in rows:
        record = dict(zip(header, cells, strict=False))
        problems: list[Problem] = []

        def fail(column: str, message: str, line: int = line, problems: list[Problem] = problems) -> None:
            problems.append(Problem(message, Location(str(path), line, index[column] + 1), column))

        for column, cell in record.items():
            bad = undecodable(cell)
            if bad is not None:
                problems.append(Problem(bad, Location(str(path), line), column))
        if problems:
            found.bad.append(BadRow(line, _printable(record), problems))
            continue
        text = record.get(label_column, "")
        seen[text.strip().lower()] += 1
        label = vocabulary.read(text)
        if isinstance(label, str):
            fail(label_column, label)
        on = None
        if as_of_column:
            try:
                on = dt.date.fromisoformat(record.get(as_of_column, "").strip())
            except ValueError:
                fail(as_of_column, f"{record.get(as_of_column, '')!r} is not a date in YYYY-MM-DD form")
        profile: Path | Profile | None = None
        notes: tuple[Problem, ...] = ()
        if columns is not None:
            checked = validate(RawRecord(line, str(path), line, "csv", record), rates, columns, schema, strict)
            problems += checked.problems
            profile, notes = checked.profile, tuple(checked.warnings)
        elif not record.get(profile_column, "").strip():
            fail(profile_column, "no profile file given")
        else:
            profile = path.parent / record[profile_column].strip()
        if problems or profile is None or isinstance(label, str):
            found.bad.append(BadRow(line, record, problems))
            continue
        found.rows.append(LabelledRow(line, record, label, on, profile, notes))
    _check_vocabulary(path, vocabulary, seen)
    found.vocabulary = vocabulary.model()
    if not found.rows and not found.bad:
        raise InputError("the labels file has no rows", Location(str(path), 2))
    return found


def _check_vocabulary(path: Path, vocabulary: Vocabulary, seen: Counter[str]) -> None:
    """A label given on the command line that no row has is a typo, not a finding."""
    if vocabulary.default:
        return
    labels = [text for text in seen if text]
    shown = ", ".join(f"{text} ({seen[text]})" for text in sorted(labels, key=lambda t: -seen[t]))
    problems = []
    for option, values in (("--positive", vocabulary.positive), ("--negative", vocabulary.negative)):
        for value in values:
            if value not in seen:
                message = f"no row is labelled {value!r} (the labels are: {shown}){did_you_mean(value, labels)}"
                problems.append(Problem(message, Location(option)))
    if problems:
        raise InputError(problems)


def _open(
    path: Path, mapping: ColumnMapping | None, header_only: bool = False
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (stripped names) and the rows (line, cells) of the labels file, read in the encoding and
    with the delimiter the mapping names, or those detected."""
    try:
        form = detect(path, mapping.encoding if mapping else "auto", mapping.delimiter if mapping else "auto")
        handle = path.open(encoding=form.encoding, errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise InputError("file not found", Location(str(path))) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", Location(str(path))) from None
    reader = csv.reader(handle, delimiter=form.delimiter)
    try:
        header = [h.strip() for h in next(reader, [])]
    except (csv.Error, UnicodeError) as exc:
        handle.close()
        raise InputError(f"cannot read the header ({form.encoding}): {exc}", Location(str(path), 1)) from None
    if not header:
        handle.close()
        raise InputError("the labels file is empty; expected a header row", Location(str(path), 1, 1))
    if header_only:
        handle.close()
        return header, iter(())

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            while True:
                start = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeError) as exc:
                    raise InputError(
                        f"cannot read the row ({form.encoding}): {exc}", Location(str(path), start)
                    ) from None
                if any(c.strip() for c in cells):
                    yield start, cells

    return header, rows()


def _printable(record: dict[str, str]) -> dict[str, str]:
    from screener.profile.sources import printable

    return {k: printable(v) for k, v in record.items()}
