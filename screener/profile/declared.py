"""Profile fields a rule pack declares for itself, and the per-pack profile model that holds them.

A pack's ``fields:`` section names fields the built-in profile does not have::

    fields:
      funding.rounds: {type: integer, min: 0, question: "How many priced rounds has it raised?"}
      investors.kinds: {type: list, of: [vc, angel, corporate, accelerator]}
      signals.top500: {type: boolean, description: "on a top-500 list"}

A declared field lives in a profile at its dotted path, beside the built-in ones (``funding:
{total_raised: $2M, rounds: 3}``). :func:`profile_model` builds, once per set of declarations, a
subclass of :class:`~screener.profile.model.Profile` whose sections carry the declared fields,
so that validation is the same pydantic validation (units, bounds, "did you mean", located
errors) and every key nobody declared is still an error. A declared name may not shadow a
built-in field, sit under a built-in value, or be a name a condition cannot spell.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import keyword
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator

from screener.errors import did_you_mean
from screener.profile.model import Line, Profile, _count, _enum_text, _Model, _money
from screener.profile.units import UnitError, parse_fraction, parse_money

#: Integers beyond this lose precision on their way through the engine's number parser.
ENGINE_INT = 2**53 - 1
#: Names a declared top-level field may not take: the template variables rationales also see.
RESERVED = frozenset({"derived", "rule", "screened_on"})
_PART = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_PARTS = 4


class FieldType(enum.StrEnum):
    """The types a declared field may have: each is one the engine can compare."""

    INTEGER = "integer"
    NUMBER = "number"
    MONEY = "money"  #: whole US dollars, written like built-in money ('$2.5M', '€3M')
    FRACTION = "fraction"  #: 0..1 unless bounds say otherwise, written 0.4 or '40%'
    BOOLEAN = "boolean"
    DATE = "date"
    YEAR = "year"
    ENUM = "enum"  #: one of ``values``
    STRING = "string"  #: one line of text, compared case-insensitively
    LIST = "list"  #: of enumerated values (``of: [a, b]``) or of text (``of: string``); read by a count


#: Bounds a type has unless the declaration narrows them: what the engine can hold.
_DEFAULT_BOUNDS: dict[FieldType, tuple[Any, Any]] = {
    FieldType.INTEGER: (-ENGINE_INT, ENGINE_INT),
    FieldType.NUMBER: (-(10**12), 10**12),  # encoded in thousandths: stays below 2**53
    FieldType.MONEY: (0, 10**15 - 1),
    FieldType.FRACTION: (0.0, 1.0),
    FieldType.YEAR: (1800, 2200),
}
#: The widest bounds a declaration may give (fractions may exceed 1, e.g. growth of '300%').
_ENGINE_BOUNDS: dict[FieldType, tuple[Any, Any]] = {
    **_DEFAULT_BOUNDS,
    FieldType.FRACTION: (-(10**8), 10**8),  # encoded in basis points
}
_ORDERED = frozenset({*_DEFAULT_BOUNDS, FieldType.DATE})


def _scalar_bound(value: Any) -> Any:
    if isinstance(value, list | dict):
        raise ValueError("a bound is one value (a number, an amount such as '$5M', a percentage, a date)")
    return value


Bound = Annotated[int | float | str | dt.date | None, BeforeValidator(_scalar_bound)]


class FieldDeclaration(BaseModel):
    """One declared field, as written in the pack."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    type: FieldType = Field(description="integer, number, money, fraction, boolean, date, year, enum, string or list")
    values: list[str] | None = Field(None, description="enum: the allowed values")
    of: list[str] | str | None = Field(None, description="list: the allowed item values, or 'string' for text")
    min: Bound = Field(None, description="the lowest value allowed, in the field's units")
    max: Bound = Field(None, description="the highest value allowed, in the field's units")
    description: str | None = Field(None, description="what the field is, in a few words")
    question: str | None = Field(None, description="what to ask when it is missing")

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() not in set(FieldType):
            known = ", ".join(FieldType)
            text = value.strip().lower()
            raise ValueError(
                f"{value!r} is not a field type the engine can hold (one of: {known}){did_you_mean(text, FieldType)}"
            )
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("description", "question")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value or re.search(r"[\x00-\x1f\x7f]", value)):
            raise ValueError("must be one line of text")
        return value


@dataclass(frozen=True)
class DeclaredField:
    """A declared field, checked and normalised: bounds in the field's own units."""

    path: str
    type: FieldType
    choices: tuple[str, ...] = ()  #: an enum's values, or a list's item values (empty: a list of text)
    minimum: Any = None
    maximum: Any = None
    description: str = ""
    question: str | None = None

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]


#: A problem found in a declaration: the key path inside ``fields:`` and the message.
Finding = tuple[tuple[str | int, ...], str]


def check_fields(declared: dict[str, FieldDeclaration]) -> tuple[tuple[DeclaredField, ...], list[Finding]]:
    """Normalise every declaration, with every problem found (path under ``fields``, message)."""
    problems: list[Finding] = _nesting_problems(list(declared))
    result = []
    builtin = builtin_paths()
    for path, spec in declared.items():
        if any(where == (path,) for where, _ in problems):
            continue
        found: list[Finding] = [((path,), m) for m in _name_problems(path, builtin)]
        found += [((path, key), m) for key, m in _shape_problems(spec)]
        bounds: list[Any] = []
        for key in ("min", "max"):
            raw = getattr(spec, key)
            try:
                bounds.append(None if raw is None else _bound(spec.type, raw))
            except ValueError as exc:
                found.append(((path, key), str(exc)))
                bounds.append(None)
        low, high = bounds
        default_low, default_high = _DEFAULT_BOUNDS.get(spec.type, (None, None))
        low = default_low if low is None else low
        high = default_high if high is None else high
        if low is not None and high is not None and low > high:
            shown = (
                _percent if spec.type is FieldType.FRACTION else _money_text if spec.type is FieldType.MONEY else _show
            )
            found.append(((path, "min"), f"min ({shown(low)}) is above max ({shown(high)})"))
        problems += found
        if found:
            continue
        choices: tuple[str, ...] = ()
        if spec.type is FieldType.ENUM:
            choices = tuple(_enum_text(v) for v in spec.values or ())
        elif spec.type is FieldType.LIST and isinstance(spec.of, list):
            choices = tuple(_enum_text(v) for v in spec.of)
        description = spec.description or path.replace(".", " ").replace("_", " ")
        result.append(DeclaredField(path, spec.type, choices, low, high, description, spec.question))
    return tuple(result), problems


def _name_problems(path: str, builtin: dict[str, bool]) -> list[str]:
    parts = path.split(".")
    for part in parts:
        if not _PART.fullmatch(part):
            return [
                f"{path!r} is not a field name: use lower-case words, digits and '_' joined by dots (funding.rounds)"
            ]
        if keyword.iskeyword(part) or part.startswith("model_") or hasattr(BaseModel, part):
            return [f"{path!r}: {part!r} is a reserved word; choose another name"]
    if len(parts) > MAX_PARTS:
        return [f"{path!r} nests deeper than {MAX_PARTS} levels"]
    if parts[0] in RESERVED:
        return [f"{path!r}: {parts[0]!r} is reserved (derived values are declared under 'derived')"]
    if path in builtin:
        what = "section" if builtin[path] else "field"
        return [f"{path!r} is a built-in {what}; a declared field cannot replace it"]
    for end in range(1, len(parts)):
        prefix = ".".join(parts[:end])
        if prefix in builtin and not builtin[prefix]:
            return [f"{path!r}: {prefix!r} is a built-in field, not a section to declare fields in"]
    return []


def _nesting_problems(paths: list[str]) -> list[Finding]:
    problems: list[Finding] = []
    for path in paths:
        inner = next((other for other in paths if other.startswith(f"{path}.")), None)
        if inner is not None:
            problems.append(((path,), f"{path!r} is declared as a field, but {inner!r} makes it a section"))
    return problems


def _shape_problems(spec: FieldDeclaration) -> list[tuple[str, str]]:
    kind = spec.type
    problems = []
    if kind is FieldType.ENUM:
        problems += [("values", m) for m in _choice_problems(spec.values, "an enum needs its values: values: [a, b]")]
    elif spec.values is not None:
        problems.append(("values", f"only an enum has values (this field is {kind})"))
    if kind is FieldType.LIST:
        if isinstance(spec.of, str):
            if spec.of.strip().lower() != "string":
                problems.append(
                    (
                        "of",
                        f"a list holds enumerated values (of: [a, b]) or text (of: string); the engine cannot hold a list of {spec.of}",
                    )
                )
        else:
            problems += [
                ("of", m) for m in _choice_problems(spec.of, "a list needs its items: of: [a, b] or of: string")
            ]
    elif spec.of is not None:
        problems.append(("of", f"only a list has 'of' (this field is {kind})"))
    if kind not in _ORDERED:
        problems += [(key, f"a {kind} field has no bounds") for key in ("min", "max") if getattr(spec, key) is not None]
    return problems


def _choice_problems(values: list[str] | None, missing: str) -> list[str]:
    if not values:
        return [missing]
    canonical = [_enum_text(v) for v in values]
    problems = [
        f"{v!r} is not a value name (letters, digits, '-')"
        for v, c in zip(values, canonical, strict=True)
        if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", c)
    ]
    repeated = sorted({c for c in canonical if canonical.count(c) > 1})
    if repeated:
        problems.append(f"repeated value(s): {', '.join(repeated)}")
    return problems


def _bound(kind: FieldType, raw: Any) -> Any:
    """A declared bound in the field's own units, checked against what the engine can hold."""
    if isinstance(raw, bool):
        raise ValueError(f"a bound of a {kind} field is a value, not true/false")
    value: Any
    try:
        if kind is FieldType.MONEY:
            value = parse_money(raw)
        elif kind is FieldType.FRACTION:
            value = parse_fraction(raw, allow_above_one=True)
        elif kind is FieldType.DATE:
            value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
        elif kind in {FieldType.INTEGER, FieldType.YEAR}:
            if not isinstance(raw, int):
                raise ValueError(f"{raw!r} is not a whole number")
            value = raw
        elif not isinstance(raw, int | float):
            raise ValueError(f"{raw!r} is not a number")
        else:
            value = raw
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    except ValueError:
        if kind is FieldType.DATE:
            raise ValueError(f"{raw!r} is not a date in YYYY-MM-DD form") from None
        raise
    if kind in _ENGINE_BOUNDS:
        low, high = _ENGINE_BOUNDS[kind]
        if not low <= value <= high:
            raise ValueError(f"{_show(value)} is beyond what the engine can compare ({_show(low)}..{_show(high)})")
    return value


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else f"{value:,}" if isinstance(value, int) else f"{value:g}"


@functools.cache
def builtin_paths() -> dict[str, bool]:
    """Every built-in profile path, with whether it is a section (a nested model)."""
    paths: dict[str, bool] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            section = _section_of(info.annotation)
            paths[f"{prefix}{name}"] = section is not None
            if section is not None:
                walk(section, f"{prefix}{name}.")

    walk(Profile, "")
    return paths


def _section_of(annotation: Any) -> type[BaseModel] | None:
    """The model of a section field (``Team``, or ``Round`` in ``Round | None``); None for values and lists."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        return None
    for arg in typing.get_args(annotation):
        found = _section_of(arg)
        if found is not None:
            return found
    return None


# --- the per-pack profile model ---------------------------------------------------------------


@functools.cache
def profile_model(fields: tuple[DeclaredField, ...]) -> type[Profile]:
    """The profile model that also holds ``fields`` (the built-in one when there are none).

    Built once per set of declarations; a process holding several packs holds several models.
    """
    if not fields:
        return Profile
    tree: dict[str, Any] = {}
    for spec in fields:
        *parents, leaf = spec.path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = spec
    model = create_model("Profile", __base__=Profile, __module__=__name__, **_members(Profile, tree))
    return typing.cast(type[Profile], model)


def _members(base: type[BaseModel] | None, tree: dict[str, Any]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, node in tree.items():
        if isinstance(node, DeclaredField):
            members[name] = (annotation(node) | None, Field(None, description=node.description))
            continue
        info = base.model_fields.get(name) if base is not None else None
        section = _section_of(info.annotation) if info is not None else None
        parent: type[BaseModel] = section or _Model
        title = section.__name__ if section else name.title().replace("_", "")
        extended = create_model(title, __base__=parent, __module__=__name__, **_members(section, node))
        description = info.description if info is not None else f"the pack's fields under {name}"
        if info is not None and not info.is_required() and info.default is None:
            members[name] = (extended | None, Field(None, description=description))  # e.g. funding.last_round
        else:
            members[name] = (extended, Field(default_factory=extended, description=description))
    return members


def annotation(spec: DeclaredField) -> Any:
    """The pydantic type of a declared field's value, with its parser and bounds."""
    kind = spec.type
    bounded = AfterValidator(_within(spec))
    if kind is FieldType.INTEGER:
        return Annotated[int, BeforeValidator(_count), BeforeValidator(_whole), bounded]
    if kind is FieldType.NUMBER:
        return Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False), bounded]
    if kind is FieldType.MONEY:
        return Annotated[int, BeforeValidator(_money), bounded]
    if kind is FieldType.FRACTION:
        return Annotated[float, BeforeValidator(_fraction), bounded]
    if kind is FieldType.BOOLEAN:
        return bool
    if kind is FieldType.DATE:
        return Annotated[dt.date, bounded]
    if kind is FieldType.YEAR:
        return Annotated[int, BeforeValidator(_year), bounded]
    if kind is FieldType.STRING:
        return Annotated[Line, Field(max_length=2000)]
    if kind is FieldType.ENUM:
        return Annotated[str, BeforeValidator(_enum_text), AfterValidator(_one_of(spec.choices))]
    if spec.choices:
        return list[Annotated[str, BeforeValidator(_enum_text), AfterValidator(_one_of(spec.choices))]]
    return list[Annotated[Line, Field(max_length=2000)]]


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _fraction(value: Any) -> float:
    try:
        return parse_fraction(value, allow_above_one=True)
    except UnitError as exc:
        raise ValueError(str(exc)) from None


def _year(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a year, not true/false")
    if isinstance(value, dt.date):
        return value.year
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}\s*", value):
        return int(value)
    return value


def _within(spec: DeclaredField) -> Callable[[Any], Any]:
    low, high = spec.minimum, spec.maximum
    shown = _percent if spec.type is FieldType.FRACTION else _money_text if spec.type is FieldType.MONEY else _show

    def check(value: Any) -> Any:
        if low is not None and value < low:
            raise ValueError(f"{shown(value)} is below the minimum {shown(low)}")
        if high is not None and value > high:
            raise ValueError(f"{shown(value)} is above the maximum {shown(high)}")
        return value

    return check


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def _money_text(value: int) -> str:
    return f"${value:,}"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}{did_you_mean(value, choices)}")
        return value

    return check
