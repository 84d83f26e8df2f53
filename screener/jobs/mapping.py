"""CSV column mappings: which columns fill which profile fields, and how their cells are read.

A mapping file is YAML, validated like every other document (unknown keys are errors, with a
location) against the fields of the rule pack it is used with::

    name: startups
    delimiter: auto                 # or ",", ";", "\\t", "|" (auto: detected from the file)
    encoding: auto                  # or utf-8, cp1252, latin-1 (auto: UTF-8 with or without BOM, else cp1252)
    constants:                      # a value for every row
      hq_country: US
    columns:
      name: {field: name}
      founded_at: {field: founded, format: "%m-%d-%Y"}         # dates: formats tried in order
      funding_total_usd: {field: funding.total_raised}          # money: '$70M', '1.1B', '€3M', 5000000
      Raised ($k): {field: funding.total_raised, unit: thousands}
      category_list: {field: sector, split: "|"}                # a list cell: its first item
      last_funding_type: {field: [stage, funding.last_round.stage], values: {angel: pre-seed, series_d: growth}}
      employee_count: {field: team.size, range: upper}          # "11-50" -> 50
    combine:                        # one field from several columns
      stage: {columns: [has_roundA, has_roundB, has_roundC, has_roundD], pick: last,
              values: [series-a, series-b, series-c, growth]}
      investors.kinds: {columns: [has_VC, has_angel], pick: all, values: [vc, angel]}
      signals.any_round: {columns: [has_roundA, has_roundB], pick: any}
    ignore: [permalink, status]     # columns with no profile field

How a cell is read follows the field it fills (:mod:`screener.jobs.cells`). A cell that is empty
or ``-`` means missing, never zero. :meth:`Mapping.apply` turns a row into the nested dict a
profile is validated from, the column each field came from, and the cells it could not read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from screener.errors import ConfigError, Location, Problem, ScreenerError, did_you_mean
from screener.jobs import cells
from screener.jobs.cells import MISSING, CellError
from screener.profile.declared import FieldType
from screener.rules import catalogue
from screener.rules.catalogue import PackSchema
from screener.rules.rulebook import Rulebook
from screener.rules.schema import Kind

__all__ = [
    "BUILTIN", "MISSING", "Applied", "CellError", "Column", "Combine", "Mapping", "convert", "lacks_note", "lacks_warning", "load_mapping",
    "packaged_mapping", "unfilled",
]  # fmt: skip

BUILTIN = "crunchbase"
#: What a cell of each field kind is read as (a declared list reads as "list").
_READS = {
    Kind.INTEGER: "integer",
    Kind.MONEY: "money",
    Kind.FRACTION: "fraction",
    Kind.NUMBER: "number",
    Kind.BOOLEAN: "boolean",
    Kind.ENUM: "text",
    Kind.TEXT: "text",
    Kind.DATE: "date",
    Kind.YEAR: "year",
}
#: The explicit ``type`` a column may give for a field of each way of reading (older mappings say it).
_COMPATIBLE = {
    "integer": {"integer", "number"},
    "money": {"money", "integer", "number"},
    "fraction": {"fraction", "number"},
    "number": {"number", "integer"},
    "boolean": {"boolean"},
    "text": {"text"},
    "date": {"date"},
    "year": {"year", "date", "integer"},
    "country": {"country", "text"},
    "list": {"list", "text"},
}
Reading = Literal["text", "integer", "number", "money", "fraction", "date", "year", "country", "boolean", "list"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_targets(paths: list[str], info: ValidationInfo) -> None:
    """Every path is a field of the pack's profiles (the pack's schema comes as validation context)."""
    schema: PackSchema = (info.context or {}).get("schema") or catalogue.builtin()
    targets = schema.targets
    errors = [f"{p!r} is not a profile field{did_you_mean(p, sorted(targets))}" for p in paths if p not in targets]
    if errors:
        raise ValueError("; ".join(errors))


class Column(_Spec):
    """How one CSV column fills one (or several) profile fields."""

    if_declared: bool = Field(False, description="fill the field only when the rule pack declares it")
    field: str | list[str] = Field(description="dotted profile field path(s), e.g. funding.total_raised")
    type: Reading | None = Field(None, description="optional: how to read the cell (default: from the field)")
    unit: Literal["dollars", "thousands", "millions", "billions", "percent", "fraction"] | None = Field(
        None, description="money: what a plain number counts; fraction: percent (62 = 62%) or fraction (0.62)"
    )
    format: str | list[str] | None = Field(None, description="dates: strptime formats, tried in order")
    values: dict[str, Any] | None = Field(None, description="cell text (any case) → value; null: missing")
    split: str | None = Field(None, description="separator of a list cell (a single-valued field takes the first item)")
    range: Literal["lower", "upper", "middle"] | None = Field(None, description='"11-50" cells: which end')

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str | list[str], info: ValidationInfo) -> str | list[str]:
        if not info.data.get("if_declared"):
            _check_targets([value] if isinstance(value, str) else value, info)
        return value

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,) if isinstance(self.field, str) else tuple(self.field)

    @property
    def formats(self) -> tuple[str, ...]:
        return () if self.format is None else (self.format,) if isinstance(self.format, str) else tuple(self.format)


class Combine(_Spec):
    """One field from several columns."""

    if_declared: bool = Field(False, description="fill the field only when the rule pack declares it")
    columns: list[str] = Field(min_length=2, description="the columns, in order")
    pick: Literal["any", "all", "count", "sum", "first", "last"] = Field(
        description="any: a flag is true; all: the values of the true flags; count: how many are true; "
        "sum: the cells added; first/last: with values, the value of the first/last true flag, else the "
        "first/last cell that is not empty"
    )
    values: list[Any] | dict[str, Any] | None = Field(
        None, description="first/last/all: the value each column's flag stands for (a list in column order)"
    )
    otherwise: Any = Field(None, description="first/last: the value when no flag is true (and none is empty)")
    format: str | list[str] | None = Field(None, description="dates: strptime formats, tried in order")
    split: str | None = Field(None, description="first/last without values: a list cell's first item is used")

    @model_validator(mode="after")
    def _values_fit(self) -> Combine:
        flags = self.pick in {"all"} or (self.pick in {"first", "last"} and self.values is not None)
        if self.pick == "all" and self.values is None:
            raise ValueError("pick: all needs values: the value each column's flag stands for")
        if self.values is not None and not flags:
            raise ValueError(f"pick: {self.pick} takes no values")
        if isinstance(self.values, list) and len(self.values) != len(self.columns):
            raise ValueError(f"values has {len(self.values)} item(s) for {len(self.columns)} columns")
        if isinstance(self.values, dict):
            extra = sorted(set(self.values) - set(self.columns))
            if extra:
                raise ValueError(f"values names column(s) not in columns: {', '.join(extra)}")
        if self.otherwise is not None and self.pick not in {"first", "last"}:
            raise ValueError("only pick: first or last takes otherwise")
        return self

    def value_of(self, column: str) -> Any:
        if isinstance(self.values, dict):
            return self.values.get(column)
        assert self.values is not None
        return self.values[self.columns.index(column)]

    @property
    def formats(self) -> tuple[str, ...]:
        return () if self.format is None else (self.format,) if isinstance(self.format, str) else tuple(self.format)


@dataclass
class Applied:
    """A row mapped onto profile data."""

    data: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  #: field path → the column (or "a, b") it came from
    problems: list[tuple[str, str, str]] = field(default_factory=list)  #: (column, cell text, why) not read


class Mapping(_Spec):
    """A CSV mapping file: columns to fields, fields from several columns, constants, and ignored columns."""

    name: str = "custom"
    description: str | None = None
    delimiter: str = Field("auto", description="auto (detected), or one character such as ',' ';' '\\t' '|'")
    encoding: str = Field("auto", description="auto (UTF-8 with or without BOM, else cp1252), or an encoding name")
    columns: dict[str, Column] = Field(default_factory=dict)
    combine: dict[str, Combine] = Field(default_factory=dict, description="field → how several columns fill it")
    constants: dict[str, Any] = Field(default_factory=dict, description="field → a value for every row")
    ignore: list[str] = Field(default_factory=list)

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        value = {"tab": "\t", "\\t": "\t"}.get(value, value)
        if value != "auto" and (len(value) != 1 or value in "\r\n\"'"):
            raise ValueError(f"{value!r} is not a delimiter: use auto, or one character such as ',' ';' tab '|'")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        import codecs

        if value != "auto":
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"{value!r} is not an encoding Python knows (utf-8, cp1252, latin-1, …)") from None
        return value

    @field_validator("combine")
    @classmethod
    def _known_combined(cls, value: dict[str, Combine], info: ValidationInfo) -> dict[str, Combine]:
        _check_targets([path for path, spec in value.items() if not spec.if_declared], info)
        return value

    @field_validator("constants")
    @classmethod
    def _known_constants(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        _check_targets(list(value), info)
        return value

    @property
    def known_columns(self) -> frozenset[str]:
        return frozenset(self.columns) | {c for spec in self.combine.values() for c in spec.columns} | set(self.ignore)

    def unknown_columns(self, header: list[str], also: frozenset[str] = frozenset()) -> list[str]:
        """The header's columns that the mapping neither reads nor ignores (``also``: read by someone else)."""
        known = self.known_columns | also
        return [c for c in header if c not in known]

    def lacking(self, schema: PackSchema, needed: frozenset[str]) -> list[str]:
        """Which of the profile fields ``needed`` no column, combination or constant of this mapping fills."""
        filled = self.filled(schema)
        return sorted(p for p in needed if p not in filled)

    def filled(self, schema: PackSchema) -> frozenset[str]:
        targets = schema.targets
        paths = {p for spec in self.columns.values() for p in spec.fields} | set(self.combine) | set(self.constants)
        return frozenset(p for p in paths if p in targets)

    def apply(self, row: dict[Any, Any], schema: PackSchema | None = None) -> Applied:
        """A row as nested profile data, with where each field came from and the cells that could not be read."""
        return _applier(self, schema or catalogue.builtin())(row)


#: (mapping, schema) by identity → (the two, kept alive so the ids stay theirs, and the applier).
_APPLIERS: dict[tuple[int, int], tuple[Mapping, PackSchema, Callable[[dict[Any, Any]], Applied]]] = {}


def _applier(mapping: Mapping, schema: PackSchema) -> Callable[[dict[Any, Any]], Applied]:
    """One function per (mapping, pack): how each column is read is decided once, not per row."""
    key = (id(mapping), id(schema))
    found = _APPLIERS.get(key)
    if found is None:
        if len(_APPLIERS) >= 16:
            _APPLIERS.clear()
        found = _APPLIERS[key] = (mapping, schema, _build_applier(mapping, schema))
    return found[2]


def _build_applier(mapping: Mapping, schema: PackSchema) -> Callable[[dict[Any, Any]], Applied]:
    targets = schema.targets
    steps: list[tuple[str, tuple[str, ...], Callable[[str], Any]]] = []
    for column, spec in mapping.columns.items():
        paths = tuple(p for p in spec.fields if p in targets)
        if paths:
            steps.append((column, paths, _cell_reader(spec, _reading(schema, paths[0], spec.type))))
    combined = [(path, spec, _reading(schema, path, None)) for path, spec in mapping.combine.items() if path in targets]
    constants = [(path, value) for path, value in mapping.constants.items() if path in targets]

    def apply(row: dict[Any, Any]) -> Applied:
        out = Applied()
        for path, value in constants:
            _put(out.data, path, value)
        for column, paths, read in steps:
            text = row.get(column)
            if text is None or cells.is_missing(text):
                continue
            try:
                value = read(text)
            except CellError as exc:
                out.problems.append((column, text, str(exc)))
                continue
            if value is None:
                continue
            for path in paths:
                _put(out.data, path, value)
                out.origin[path] = column
        for path, spec, reading in combined:
            try:
                value = _combine(spec, reading, row)
            except cells.CombineError as exc:
                out.problems.append((exc.column, exc.text, str(exc)))
                continue
            if value is not None:
                _put(out.data, path, value)
                out.origin[path] = ", ".join(spec.columns)
        return out

    return apply


def _reading(schema: PackSchema, path: str, explicit: str | None) -> str:
    if path in {"name", "website", "notes"}:
        natural = "text"
    elif path == "hq_country":
        natural = "country"
    elif path in schema.fields:
        natural = _READS[schema.fields[path].kind]
    else:
        declared = next((f for f in schema.declared if f.path == path), None)
        natural = "list" if declared is not None and declared.type is FieldType.LIST else "text"
    if explicit is not None and explicit not in _COMPATIBLE[natural]:
        raise ValueError(f"{path} is read as {natural}; type {explicit} does not fit it")
    # An explicit reading that differs only in name (integer for money) reads as the field does.
    return natural


def _cell_reader(spec: Column, reading: str) -> Callable[[str], Any]:
    return cells.reader(reading, spec.values or {}, spec.formats, spec.range, spec.unit, spec.split)


def _combine(spec: Combine, reading: str, row: dict[Any, Any]) -> Any:
    values = None if spec.values is None else spec.value_of
    return cells.combine(spec.pick, spec.columns, values, spec.otherwise, spec.split, spec.formats, reading, row)


def convert(text: str, spec: Column, schema: PackSchema | None = None) -> Any:
    """One non-missing cell as its (first) field reads it; raises CellError with a short reason."""
    schema = schema or catalogue.builtin()
    return _cell_reader(spec, _reading(schema, spec.fields[0], spec.type))(text)


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def load_mapping(path: Path | None, schema: PackSchema | None = None, rates: dict[str, float] | None = None) -> Mapping:
    """Read a mapping file (None: the built-in Crunchbase-style mapping) for a pack's fields, every problem located.

    Constants are validated as a profile's values are (with ``rates`` for money in other currencies).
    """
    from screener.profile.sources import load_document
    from screener.profile.validation import located_problems

    schema = schema or catalogue.builtin()
    source = path if path is not None else packaged_mapping(BUILTIN)
    try:
        doc = load_document(source)
    except ScreenerError as exc:  # unreadable: a configuration problem of --map, not a bad record
        raise ConfigError(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise ConfigError("a mapping file must be a mapping with 'columns'", Location(str(source), 1, 1))
    try:
        mapping = Mapping.model_validate(doc.data, context={"schema": schema})
    except ValidationError as exc:
        raise ConfigError(located_problems(doc, exc, Mapping)) from None
    problems = (
        _twice_problems(doc, mapping)
        + _reading_problems(doc, mapping, schema)
        + _constant_problems(doc, mapping, schema, rates or {})
    )
    if problems:
        raise ConfigError(problems)
    return mapping


def _twice_problems(doc: Any, mapping: Mapping) -> list[Problem]:
    """A field filled from two places would keep one of them silently: say which."""
    problems = []
    filled: dict[str, str] = {}
    places = [(("columns", c), f"column {c!r}", spec.fields) for c, spec in mapping.columns.items()]
    places += [(("combine", p), f"combine.{p}", (p,)) for p in mapping.combine]
    places += [(("constants", p), f"constants.{p}", (p,)) for p in mapping.constants]
    for where, name, paths in places:
        for path in paths:
            if path in filled:
                message = (
                    f"{path} is filled by both {filled[path]} and {name}; keep one, or read several columns with "
                    f"combine: {{{path}: {{columns: [...], pick: first}}}}"
                )
                problems.append(Problem(message, doc.locate(where), ".".join(where)))
            filled.setdefault(path, name)
    return problems


def _reading_problems(doc: Any, mapping: Mapping, schema: PackSchema) -> list[Problem]:
    problems = []
    targets = schema.targets
    for column, spec in mapping.columns.items():
        for path in spec.fields:
            if path not in targets:
                continue
            try:
                _reading(schema, path, spec.type)
            except ValueError as exc:
                problems.append(Problem(str(exc), doc.locate(("columns", column, "type")), f"columns.{column}"))
    return problems


def _constant_problems(doc: Any, mapping: Mapping, schema: PackSchema, rates: dict[str, float]) -> list[Problem]:
    if not mapping.constants:
        return []
    data: dict[str, Any] = {"name": "constants"}
    for path, value in mapping.constants.items():
        _put(data, path, value)
    try:
        schema.profile_model.model_validate(data, context={"rates": rates})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            path = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function"))
            key = next((k for k in mapping.constants if path == k or path.startswith(f"{k}.")), path)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(Problem(message, doc.locate(("constants", key)), f"constants.{key}"))
        return problems
    return []


def packaged_mapping(name: str) -> Path:
    """A mapping shipped inside the package (``screener/jobs/mappings/NAME.yaml``)."""
    return Path(__file__).with_name("mappings") / f"{name}.yaml"


def unfilled(mapping: Mapping, rulebook: Rulebook) -> list[str]:
    """The profile fields the pack's rules compare (traced through derived values) that the mapping never fills."""
    schema = rulebook.schema
    needed: set[str] = set()
    for path in rulebook.compared:
        if path.startswith("derived."):
            needed.update(schema.inputs.get(path.removeprefix("derived."), ()))
        else:
            needed.add(path)
    return mapping.lacking(schema, frozenset(needed))


def lacks_note(mapping: Mapping, missing: list[str]) -> str:
    """What a review of a record read through ``mapping`` says about the fields its export cannot give."""
    shown = ", ".join(missing[:6]) + (f", … ({len(missing)} in all)" if len(missing) > 6 else "")
    return f"the export (mapping {mapping.name!r}) has no column for: {shown}"


def lacks_warning(mapping: Mapping, rulebook: Rulebook, missing: list[str]) -> Problem:
    """The one line a batch says when the export lacks fields the pack's rules read."""
    lacking = set(missing)
    blind = [
        r.id
        for r in rulebook.rules
        if any(
            p in lacking
            or (p.startswith("derived.") and set(rulebook.schema.inputs.get(p.removeprefix("derived."), ())) & lacking)
            for p in r.reads
        )
    ]
    blind_weight = sum(rulebook.weight(r) for r in rulebook.rules if r.id in blind)
    reachable = 1 - blind_weight / rulebook.total_weight if rulebook.total_weight else 0.0
    if reachable < rulebook.spec.min_coverage:
        outcome = (
            f"at most {reachable:.0%} of the pack's weight can be evaluated (min_coverage {rulebook.spec.min_coverage:.0%}), "
            "so they review at best; map those columns, or screen them with a pack the export suits"
        )
    else:
        outcome = f"they are screened on the other {len(rulebook.rules) - len(blind)}"
    return Problem(
        f"mapping {mapping.name!r} fills none of {len(missing)} field(s) pack {rulebook.name!r} reads "
        f"({', '.join(missing)}): {len(blind)} of its {len(rulebook.rules)} rules cannot be evaluated for CSV "
        f"records; {outcome}",
        level="warning",
    )
