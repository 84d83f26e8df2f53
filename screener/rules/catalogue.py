"""A pack's catalogue: the built-in fields, the fields and derived values the pack declares, and their readers.

:class:`PackSchema` is what every stage asks when it needs to know a pack's fields: which paths
a condition may compare and how each is encoded (``fields``), which profile fields a derived
value is computed from (``inputs``, for diligence questions), the pydantic profile model that
validates the pack's profiles (``profile_model``) and the derived values of a profile
(``derived_values``). :func:`build` checks a pack's ``fields:`` and ``derived:`` sections,
every problem at once, as (key path, message) pairs the rule book locates.

A schema is pickled to batch workers: it holds only data; the models are rebuilt (once per
process) from the declarations.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from screener.profile.declared import DeclaredField, FieldDeclaration, FieldType, Finding, check_fields, profile_model
from screener.profile.derived import INPUTS, Derived, derived_values
from screener.profile.formulas import (
    SCREENED_ON,
    DeclaredDerived,
    DerivedDeclaration,
    Form,
    calculator,
    counted,
    derived_model,
    name_problem,
)
from screener.profile.model import Profile
from screener.rules.schema import FieldSpec, Kind, fields

_KINDS = {
    FieldType.INTEGER: Kind.INTEGER,
    FieldType.NUMBER: Kind.NUMBER,
    FieldType.MONEY: Kind.MONEY,
    FieldType.FRACTION: Kind.FRACTION,
    FieldType.BOOLEAN: Kind.BOOLEAN,
    FieldType.DATE: Kind.DATE,
    FieldType.YEAR: Kind.YEAR,
    FieldType.ENUM: Kind.ENUM,
    FieldType.STRING: Kind.TEXT,
}
_NUMERIC = frozenset({Kind.INTEGER, Kind.NUMBER, Kind.MONEY, Kind.FRACTION})
_DATES = frozenset({Kind.DATE, Kind.YEAR})


@dataclass(frozen=True, eq=False)
class PackSchema:
    """The fields of one pack: built-in plus declared."""

    declared: tuple[DeclaredField, ...] = ()
    formulas: tuple[DeclaredDerived, ...] = ()
    fields: dict[str, FieldSpec] = field(default_factory=dict)  #: every field a condition may read, by path
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)  #: derived value name → its profile fields

    @property
    def profile_model(self) -> type[Profile]:
        """The pydantic model of this pack's profiles (built-in ``Profile`` when nothing is declared)."""
        return profile_model(self.declared)

    @property
    def derived_model(self) -> type[Derived]:
        return derived_model(self.formulas)

    @property
    def targets(self) -> frozenset[str]:
        """Profile paths a CSV column may fill: every scalar field, the declared lists, name, website, notes."""
        return frozenset(p for p in self.fields if not p.startswith("derived.")) | {
            "name",
            "website",
            "notes",
            *(f.path for f in self.declared),
        }

    def derived_values(self, profile: Profile, on: dt.date) -> dict[str, Any]:
        """Every derived value (built-in and declared) of ``profile`` as of ``on``, by name."""
        values = derived_values(profile, on)
        if self.formulas:
            values.update(_calculator(self.formulas)(profile, on))
        return values

    def derive(self, profile: Profile, on: dt.date) -> Derived:
        return self.derived_model.model_construct(**self.derived_values(profile, on))

    def question(self, path: str) -> str | None:
        spec = self.fields.get(path)
        if spec is not None:
            return spec.question
        declared = next((f for f in self.declared if f.path == path), None)
        return declared.question if declared else None

    def describe(self, path: str) -> str | None:
        """What a profile field is, in words (declared list fields included); None when unknown here."""
        spec = self.fields.get(path)
        if spec is not None:
            return spec.description
        declared = next((f for f in self.declared if f.path == path), None)
        return declared.description if declared else None


@functools.cache
def _calculator(formulas: tuple[DeclaredDerived, ...]) -> Callable[[Profile, dt.date], dict[str, Any]]:
    return calculator(formulas)


def union_model(*schemas: PackSchema) -> type[Profile]:
    """One profile model holding the fields every one of ``schemas`` declares (for comparing packs).

    Raises ValueError naming a field two of them declare differently.
    """
    merged: dict[str, DeclaredField] = {}
    for schema in schemas:
        for spec in schema.declared:
            other = merged.setdefault(spec.path, spec)
            if other != spec:
                raise ValueError(f"the packs declare {spec.path!r} differently ({other.type} and {spec.type})")
    return profile_model(tuple(merged.values()))


@functools.cache
def builtin() -> PackSchema:
    """The schema of a pack that declares nothing."""
    return PackSchema(fields=fields(), inputs=dict(INPUTS))


def build(
    declared_fields: Mapping[str, FieldDeclaration], declared_derived: Mapping[str, DerivedDeclaration]
) -> tuple[PackSchema, list[Finding]]:
    """The schema of a pack's declarations, and every problem found: ((section, name, key...), message)."""
    if not declared_fields and not declared_derived:
        return builtin(), []
    checked, field_problems = check_fields(dict(declared_fields))
    problems: list[Finding] = [(("fields", *path), message) for path, message in field_problems]
    catalogue = dict(fields())
    for declared in checked:
        if declared.type in _KINDS:
            catalogue[declared.path] = FieldSpec(
                declared.path, _KINDS[declared.type], declared.description, declared.choices, declared.question,
                True, declared.minimum, declared.maximum,
            )  # fmt: skip
    lists = {spec.path: spec for spec in checked if spec.type is FieldType.LIST}
    failed = {str(path) for (_, path, *_), _ in problems}
    formulas = []
    inputs = dict(INPUTS)
    for name, declaration in declared_derived.items():
        found, result = _check_derived(name, declaration, catalogue, lists, failed)
        problems += [(("derived", name, *path), message) for path, message in found]
        if result is not None:
            spec, formula = result
            catalogue[spec.path] = spec
            formulas.append(formula)
            inputs[name] = formula.inputs
    return PackSchema(checked, tuple(formulas), catalogue, inputs), problems


def _check_derived(
    name: str,
    declaration: DerivedDeclaration,
    catalogue: Mapping[str, FieldSpec],
    lists: Mapping[str, DeclaredField],
    failed: set[str],
) -> tuple[list[Finding], tuple[FieldSpec, DeclaredDerived] | None]:
    problem = name_problem(name)
    if problem is not None:
        return [((), problem)], None
    form = declaration.form
    description = declaration.description or _describe(form, declaration.operands)
    key = form.value
    if form is Form.COUNT:
        path = declaration.operands[0]
        target = lists.get(path)
        if target is None:
            if path in failed:
                return [], None  # its declaration's own problem is reported
            known = [p for p in lists]
            hint = f" (declared lists: {', '.join(known)})" if known else " (declare one under fields: type: list)"
            return [((key,), f"{path!r} is not a declared list field{hint}")], None
        values = counted(declaration, bool(target.choices))
        unknown = [v for v in values if target.choices and v not in target.choices]
        if unknown:
            where = "values" if declaration.values is not None else "value"
            choices = ", ".join(target.choices)
            return [((where,), f"{', '.join(map(repr, unknown))} is not one of {path}'s values ({choices})")], None
        formula = DeclaredDerived(name, form, (path,), values, description, bool(target.choices))
        return [], (FieldSpec(f"derived.{name}", Kind.INTEGER, description, declared=True, minimum=0), formula)
    problems: list[Finding] = []
    if all(path == SCREENED_ON for path in declaration.operands):
        return [((key,), f"{form} over the screening date alone is the same for every company; name a field")], None
    kinds: list[Kind | None] = []
    for position, path in enumerate(declaration.operands):
        if path == SCREENED_ON and form in {Form.MONTHS, Form.DAYS}:
            kinds.append(Kind.DATE)
            continue
        spec = catalogue.get(path)
        if spec is None or path.startswith("derived."):
            if path in failed:
                kinds.append(None)
                continue
            from screener.errors import did_you_mean

            why = (
                "a derived value is not an operand; use profile fields"
                if path.startswith("derived.")
                else (
                    f"unknown field {path!r}{did_you_mean(path, [p for p in catalogue if not p.startswith('derived.')])}"
                )
            )
            problems.append(((key, position), why))
            kinds.append(None)
            continue
        kinds.append(spec.kind)
    if problems or None in kinds:
        return problems, None
    first, second = kinds
    assert first is not None and second is not None
    result = _result_kind(form, first, second)
    if not isinstance(result, Kind):
        return [((key,), result)], None
    per_unit = form is Form.RATIO and result is Kind.MONEY
    formula = DeclaredDerived(name, form, declaration.operands, (), description, per_unit=per_unit)
    # A ratio is naturally compared with 1.5 or 3 (times), so it is not a signed fraction (whose bare 3
    # would be a slip for 3%); a difference can be negative, in its operands' unit.
    signed = form is not Form.RATIO
    return [], (FieldSpec(f"derived.{name}", result, description, declared=True, signed=signed), formula)


def _result_kind(form: Form, first: Kind, second: Kind) -> Kind | str:
    """The kind of a form's value over operands of these kinds, or why they do not combine."""
    if form is Form.RATIO:
        if first is Kind.MONEY and second in {Kind.INTEGER, Kind.NUMBER}:
            return Kind.MONEY  # an amount per something (raised per round): compared as "$2M"
        if first in _NUMERIC and second in _NUMERIC:
            return Kind.FRACTION  # a pure ratio: compared as 1.5 or "150%"
        return f"a ratio needs two numeric fields (integer, number, money, fraction); got {first} and {second}"
    if form is Form.DIFFERENCE:
        if first == second and first in _NUMERIC:
            return first
        if {first, second} <= {Kind.INTEGER, Kind.NUMBER}:
            return Kind.NUMBER
        if first == second == Kind.YEAR:
            return Kind.INTEGER
        if first in _DATES and second in _DATES:
            return "a difference of dates is counted in months or days: use months: [...] or days: [...]"
        return f"a difference needs two fields of the same kind (money and money, integer and integer); got {first} and {second}"
    if first in _DATES and second in _DATES:
        return Kind.INTEGER
    return f"{form} counts between two dates or years (or screened_on); got {first} and {second}"


def _describe(form: Form, operands: tuple[str, ...]) -> str:
    if form is Form.COUNT:
        return f"the number of items of {operands[0]}"
    first, second = operands
    return {
        Form.RATIO: f"{first} divided by {second}",
        Form.DIFFERENCE: f"{first} minus {second}",
        Form.MONTHS: f"whole months from {first} to {second}",
        Form.DAYS: f"days from {first} to {second}",
    }[form]
