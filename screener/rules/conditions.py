"""The condition language of rules: parse (never eval) → a small typed tree → durable-rules JSON.

A condition is a Python-like expression over profile fields, e.g.
``team.size <= 15 and model.open_weights`` or ``model.approach in ["fine-tune", "distill"]``.
The text is parsed by :func:`ast.parse` (which only builds a syntax tree; nothing is executed)
and every node is checked against a short whitelist: ``and``/``or``/``not``, the six
comparisons, ``in``/``not in`` a list of literals, ``present(field)``/``missing(field)``, field
paths and literals. Each comparison is checked against the field catalogue (unknown field with
"did you mean", wrong type, operator that does not apply) and its literal is encoded the way
the engine sees the field. ``not`` is pushed down to the comparisons, since the engine cannot
negate a group.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import operator
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from screener.errors import did_you_mean
from screener.profile.units import UnitError, parse_fraction, parse_money
from screener.rules.schema import FieldSpec, Kind, fields

MAX_LENGTH = 2_000
MAX_DEPTH = 40  #: levels of and/or/not
#: Levels of the syntax tree (a field path ``a.b.c`` is three, ``--1`` three): far beyond any real
#: condition, and far below Python's recursion limit, which the parser's recursion must not meet.
MAX_TREE_DEPTH = 100
#: durable-rules fails a whole assert when more than 64 rules match one fact.
ENGINE_MATCH_LIMIT = 64
#: durable-rules keeps at most 31 expressions per rule (``MAX_SEQUENCE_EXPRESSIONS`` in its
#: rete.h; error 113 past it). Each and/or group takes two, its start and its end, and the anchor
#: every rule is wrapped in (``engine.ANCHOR``) is one group more: a condition may hold 14.
ENGINE_EXPRESSION_LIMIT = 32
MAX_ENGINE_GROUPS = ENGINE_EXPRESSION_LIMIT // 2 - 2
#: Integers beyond this lose precision on their way through the engine's number parser.
MAX_ENGINE_INT = 2**53 - 1


class Op(enum.StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def negated(self) -> Op:
        return _NEGATION[self]

    def flipped(self) -> Op:
        """The operator with its operands swapped: ``5 < x`` is ``x > 5``."""
        return _FLIP[self]


_NEGATION = {Op.EQ: Op.NE, Op.NE: Op.EQ, Op.LT: Op.GE, Op.GE: Op.LT, Op.GT: Op.LE, Op.LE: Op.GT}
_FLIP = {Op.EQ: Op.EQ, Op.NE: Op.NE, Op.LT: Op.GT, Op.GT: Op.LT, Op.LE: Op.GE, Op.GE: Op.LE}
_AST_OPS = {ast.Eq: Op.EQ, ast.NotEq: Op.NE, ast.Lt: Op.LT, ast.LtE: Op.LE, ast.Gt: Op.GT, ast.GtE: Op.GE}
_PY_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}
_DURABLE_OPS = {Op.NE: "$neq", Op.LT: "$lt", Op.LE: "$lte", Op.GT: "$gt", Op.GE: "$gte"}


@dataclass(frozen=True)
class Compare:
    """``field op value``: false whenever the field is missing, like the engine."""

    field: FieldSpec
    op: Op
    value: Any  #: the literal as the rule wrote it (after unit parsing), for people
    encoded: Any  #: the literal as the engine sees it
    column: int = 0
    #: the literal exactly as written (60, "60%", "$15M"), for the unit checks of ``rules check``
    literal: Any = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class Exists:
    """``present(field)`` (``present=True``) or ``missing(field)``."""

    field: FieldSpec
    present: bool
    column: int = 0


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


Node = Compare | Exists | All | AnyOf


class ConditionError(ValueError):
    """A condition that cannot be parsed or checked; carries every (column, message) found."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("; ".join(m for _, m in problems))


def parse(text: str, catalogue: Mapping[str, FieldSpec] | None = None) -> Node:
    """Parse and check a condition. Raises ConditionError listing every problem found."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError([(1, "the condition is empty")])
    if len(text) > MAX_LENGTH:
        raise ConditionError([(1, f"the condition is longer than {MAX_LENGTH} characters")])
    source = " ".join(text.split())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConditionError([(exc.offset or 1, f"syntax error: {exc.msg}")]) from None
    deepest, column = _depth(tree.body)
    if deepest > MAX_TREE_DEPTH:
        message = f"the condition is {deepest} levels deep; at most {MAX_TREE_DEPTH} are read"
        raise ConditionError([(column, message)])
    parser = _Parser(catalogue if catalogue is not None else fields())
    node = parser.condition(tree.body, 0)
    if parser.problems:
        raise ConditionError(list(dict.fromkeys(parser.problems)))
    assert node is not None
    return node


def _depth(root: ast.AST) -> tuple[int, int]:
    """How deep the syntax tree goes, and the column of its deepest node, measured without recursion.

    Bounding it before anything walks the tree recursively is what keeps 990 ``.x`` or 1,980
    minus signs, short enough for :data:`MAX_LENGTH`, from exhausting Python's stack.
    """
    deepest, located, column, stack = 0, 0, 1, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        # The column is that of the deepest node that has one: a name's context or an operator
        # (no column) is often the deepest node, and the last column seen may be far from it.
        if depth > located and hasattr(node, "col_offset"):
            located, column = depth, node.col_offset + 1
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, column


class _Parser:
    def __init__(self, catalogue: Mapping[str, FieldSpec]):
        self.catalogue = catalogue
        self.problems: list[tuple[int, str]] = []

    def fail(self, node: ast.AST, message: str) -> None:
        self.problems.append((getattr(node, "col_offset", 0) + 1, message))

    def condition(self, node: ast.expr, depth: int) -> Node | None:
        if depth > MAX_DEPTH:
            self.fail(node, f"the condition nests deeper than {MAX_DEPTH} levels")
            return None
        if isinstance(node, ast.BoolOp):
            items = [self.condition(v, depth + 1) for v in node.values]
            if any(i is None for i in items):
                return None
            group = tuple(i for i in items if i is not None)
            return All(group) if isinstance(node.op, ast.And) else AnyOf(group)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.condition(node.operand, depth + 1)
            return negate(inner) if inner is not None else None
        if isinstance(node, ast.Compare):
            return self.comparison(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Name | ast.Attribute):
            spec = self.field(node)
            if spec is None:
                return None
            if spec.kind is not Kind.BOOLEAN:
                self.fail(node, f"{spec.path} is not a yes/no field; compare it with a value, or use present()")
                return None
            return Compare(spec, Op.EQ, True, True, node.col_offset + 1)
        self.fail(node, f"{_describe(node)} is not allowed here; expected a comparison such as 'team.size <= 15'")
        return None

    def call(self, node: ast.Call) -> Node | None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in {"present", "missing"}:
            self.fail(node, "the only functions are present(field) and missing(field)")
            return None
        if len(node.args) != 1 or node.keywords:
            self.fail(node, f"{name}() takes exactly one field")
            return None
        spec = self.field(node.args[0])
        return Exists(spec, name == "present", node.col_offset + 1) if spec else None

    def comparison(self, node: ast.Compare) -> Node | None:
        operands = [node.left, *node.comparators]
        parts: list[Node] = []
        ok = True
        for left, op_node, right in zip(operands, node.ops, operands[1:], strict=False):
            part = self.pair(left, op_node, right)
            ok = ok and part is not None
            if part is not None:
                parts.append(part)
        if not ok:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def pair(self, left: ast.expr, op_node: ast.cmpop, right: ast.expr) -> Node | None:
        if isinstance(op_node, ast.In | ast.NotIn):
            spec = self.field(left)
            if not isinstance(right, ast.List | ast.Tuple | ast.Set) or not right.elts:
                self.fail(right, "'in' needs a non-empty list of values, e.g. in ['fine-tune', 'distill']")
                return None
            if spec is None:
                return None
            positive = isinstance(op_node, ast.In)
            member_op = Op.EQ if positive else Op.NE
            items = [self.compare(spec, member_op, element, left.col_offset + 1) for element in right.elts]
            if any(i is None for i in items):
                return None
            group = tuple(i for i in items if i is not None)
            return AnyOf(group) if positive else All(group)
        found = _AST_OPS.get(type(op_node))
        if found is None:
            self.fail(left, f"operator {type(op_node).__name__!r} is not supported; use ==, !=, <, <=, >, >=, in")
            return None
        for side in (left, right):
            if isinstance(side, ast.Call):
                self.fail(side, "the only functions are present(field) and missing(field)")
                return None
            if isinstance(side, ast.BinOp | ast.UnaryOp) and _literal(side) is _NOT_LITERAL:
                self.fail(side, f"arithmetic ({_describe(side)}) is not supported; compare a field with a value")
                return None
        left_is_field = _is_path(left)
        if left_is_field and _is_path(right):
            self.fail(
                left,
                "compare a field with a value, e.g. 'team.size <= 15'; to compare two fields, declare a derived "
                "value (a difference or a ratio) under 'derived' and compare that",
            )
            return None
        if left_is_field == _is_path(right):
            self.fail(left, "compare a field with a value, e.g. 'team.size <= 15'")
            return None
        field_node, value_node = (left, right) if left_is_field else (right, left)
        spec = self.field(field_node)
        if spec is None:
            return None
        return self.compare(spec, found if left_is_field else found.flipped(), value_node, field_node.col_offset + 1)

    def compare(self, spec: FieldSpec, op: Op, value_node: ast.expr, column: int) -> Compare | None:
        literal = _literal(value_node)
        if literal is _NOT_LITERAL:
            self.fail(value_node, f"{_describe(value_node)} is not a value; quote text, e.g. 'series-a'")
            return None
        if op not in {Op.EQ, Op.NE} and not spec.kind.ordered:
            self.fail(value_node, f"{op} does not apply to {spec.path} ({spec.kind}); use == or != or in [...]")
            return None
        try:
            value = coerce(spec, literal)
            encoded = spec.encode(value)
        except OverflowError:
            encoded = None
        except ValueError as exc:
            self.fail(value_node, f"{spec.path}: {exc}")
            return None
        if encoded is None or (isinstance(encoded, int) and abs(encoded) > MAX_ENGINE_INT):
            self.fail(value_node, f"{spec.path}: {literal!r} is too large a number to compare with")
            return None
        return Compare(spec, op, value, encoded, column, literal)

    def field(self, node: ast.expr) -> FieldSpec | None:
        path = _path(node)
        if path is None:
            self.fail(node, f"{_describe(node)} is not a field name")
            return None
        spec = self.catalogue.get(path)
        if spec is None:
            self.fail(node, f"unknown field {path!r}{did_you_mean(path, self.catalogue)}")
        return spec


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, ast.Name) and node.id in {"true", "false", "True", "False"}:
        return node.id.lower() == "true"
    return _NOT_LITERAL


def _path(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _path(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


def _is_path(node: ast.expr) -> bool:
    return _path(node) is not None and _literal(node) is _NOT_LITERAL


def _describe(node: ast.AST) -> str:
    try:
        return repr(ast.unparse(node))
    except Exception:  # unparse is for messages only; never let it mask the real problem
        return type(node).__name__


def coerce(spec: FieldSpec, literal: Any) -> Any:
    """Check a rule's literal against a field's kind and return it in the field's own units."""
    kind = spec.kind
    if kind is Kind.BOOLEAN:
        if not isinstance(literal, bool):
            raise ValueError(f"is yes/no; compare it with true or false, not {literal!r}")
        return literal
    if isinstance(literal, bool):
        raise ValueError(f"is {kind}; true/false does not compare with it")
    if kind is Kind.MONEY:
        negative = spec.signed and isinstance(literal, int | float | str) and str(literal).strip().startswith("-")
        try:
            amount = parse_money(str(literal).strip()[1:] if negative else literal)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return -amount if negative else amount
    if kind is Kind.FRACTION:
        try:
            return parse_fraction(literal, allow_above_one=True)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
    if kind in {Kind.INTEGER, Kind.YEAR}:
        if not isinstance(literal, int):
            raise ValueError(f"is a whole number; {literal!r} is not")
        return literal
    if kind is Kind.NUMBER:
        if not isinstance(literal, int | float):
            raise ValueError(f"is a number; {literal!r} is not")
        return literal
    if not isinstance(literal, str):
        raise ValueError(f"is {kind}; compare it with text in quotes, not {literal!r}")
    if kind is Kind.ENUM:
        value = "-".join(literal.strip().lower().replace("_", " ").split())
        if value not in spec.choices:
            raise ValueError(f"{literal!r} is not one of {', '.join(spec.choices)}{did_you_mean(value, spec.choices)}")
        return value
    if kind is Kind.DATE:
        try:
            return dt.date.fromisoformat(literal)
        except ValueError:
            raise ValueError(f"{literal!r} is not a date in YYYY-MM-DD form") from None
    return literal


def negate(node: Node) -> Node:
    """The condition that holds exactly when ``node`` does not (for present fields)."""
    if isinstance(node, Compare):
        return Compare(node.field, node.op.negated(), node.value, node.encoded, node.column, node.literal)
    if isinstance(node, Exists):
        return Exists(node.field, not node.present, node.column)
    if isinstance(node, All):
        return AnyOf(tuple(negate(i) for i in node.items))
    return All(tuple(negate(i) for i in node.items))


def walk(node: Node) -> Iterator[Compare | Exists]:
    """Every comparison and existence test in the tree, in reading order."""
    if isinstance(node, Compare | Exists):
        yield node
    else:
        for item in node.items:
            yield from walk(item)


def reads(node: Node) -> tuple[str, ...]:
    """Fields a condition compares: all must be present for the rule to be evaluable.

    Fields only tested with present()/missing() are not needed: those tests are the point.
    """
    return tuple(dict.fromkeys(c.field.path for c in walk(node) if isinstance(c, Compare)))


def mentions(node: Node) -> tuple[str, ...]:
    """Every field the condition names, including those in present()/missing()."""
    return tuple(dict.fromkeys(c.field.path for c in walk(node)))


def to_durable(node: Node) -> dict[str, Any]:
    """The durable-rules JSON form of a condition (keys are the fact's flat keys)."""
    if isinstance(node, Compare):
        if node.op is Op.EQ:
            return {node.field.key: node.encoded}
        return {_DURABLE_OPS[node.op]: {node.field.key: node.encoded}}
    if isinstance(node, Exists):
        return {"$ex" if node.present else "$nex": {node.field.key: 1}}
    return {"$and" if isinstance(node, All) else "$or": [to_durable(i) for i in node.items]}


def evaluate(node: Node, fact: Mapping[str, Any]) -> bool:
    """Evaluate in Python with the engine's semantics (a missing field fails every comparison)."""
    if isinstance(node, Compare):
        return node.field.path in fact and _PY_OPS[node.op](fact[node.field.path], node.encoded)
    if isinstance(node, Exists):
        return (node.field.path in fact) is node.present
    if isinstance(node, All):
        return all(evaluate(i, fact) for i in node.items)
    return any(evaluate(i, fact) for i in node.items)


def decide(node: Node, fact: Mapping[str, Any]) -> bool | None:
    """Whether ``node`` holds, from the fields ``fact`` has: None when the missing ones decide.

    Three-valued: a comparison on a missing field is unknown; ``and`` is false as soon as one part
    is false, ``or`` true as soon as one part is true, whatever the unknown parts hold. Where it
    answers, it answers as the engine does (the engine reads a comparison on a missing field as
    false, and a condition, its negations pushed down to the comparisons, can only lose by that).
    """
    if isinstance(node, Compare):
        path = node.field.path
        return _PY_OPS[node.op](fact[path], node.encoded) if path in fact else None
    if isinstance(node, Exists):
        return (node.field.path in fact) is node.present
    unknown = False
    settles = isinstance(node, AnyOf)  # the value of one part that settles the group
    for item in node.items:
        value = decide(item, fact)
        if value is None:
            unknown = True
        elif value is settles:
            return settles
    return None if unknown else not settles


def could_be(node: Node, absent: Collection[str]) -> frozenset[bool | None]:
    """What ``node`` could be decided to, as :func:`decide` would, with the fields in ``absent`` still missing.

    Every other field may hold any value (those the answer gives, and those present whose values are
    not considered), so this says what is possible, not what is likely: an ``and`` with a part on a
    missing field can be false, never true.
    """
    if isinstance(node, Compare):
        return _UNKNOWN if node.field.path in absent else _EITHER
    if isinstance(node, Exists):
        return frozenset({(node.field.path not in absent) is node.present})
    parts = [could_be(item, absent) for item in node.items]
    settles = isinstance(node, AnyOf)  # the value of one part that settles the group
    found: set[bool | None] = set()
    if any(settles in part for part in parts):
        found.add(settles)
    if all((not settles) in part for part in parts):
        found.add(not settles)
    if any(None in part for part in parts) and all(part - {settles} for part in parts):
        found.add(None)
    return frozenset(found)


_UNKNOWN: frozenset[bool | None] = frozenset({None})
_EITHER: frozenset[bool | None] = frozenset({True, False})


def decidable(node: Node, absent: Collection[str]) -> bool:
    """Whether ``node`` could be decided without the fields in ``absent``: a test on some other field."""
    return any(isinstance(atom, Exists) or atom.field.path not in absent for atom in walk(node))


def groups(node: Node) -> int:
    """How many and/or groups the engine builds for a condition (an ``in [...]`` list is one)."""
    if isinstance(node, Compare | Exists):
        return 0
    return 1 + sum(groups(item) for item in node.items)


def engine_limit(node: Node) -> str | None:
    """Why the engine would refuse this condition (durable-rules error 113), or None."""
    found = groups(node)
    if found <= MAX_ENGINE_GROUPS:
        return None
    return (
        f"the condition has {found} and/or groups (each 'in [...]' list is one); the engine holds at most "
        f"{MAX_ENGINE_GROUPS} in one rule (durable-rules error 113): split it into several rules"
    )


def max_matches(node: Node) -> int:
    """How many times the engine may fire a rule with this condition for one fact.

    durable-rules fires a rule once per true branch of an ``or``; equalities on one field with
    different values cannot be true together, so such a group counts once.
    """
    if isinstance(node, Compare | Exists):
        return 1
    if isinstance(node, All):
        total = 1
        for item in node.items:
            total *= max_matches(item)
        return total
    equalities = Counter(
        (i.field.path, repr(i.encoded)) for i in node.items if isinstance(i, Compare) and i.op is Op.EQ
    )
    per_field = Counter[str]()
    for (path, _), count in equalities.items():
        per_field[path] = max(per_field[path], count)
    others = sum(max_matches(i) for i in node.items if not (isinstance(i, Compare) and i.op is Op.EQ))
    return others + sum(per_field.values())


def render(node: Node, top: bool = True) -> str:
    """Canonical text of a condition, as shown in explanations."""
    if isinstance(node, Compare):
        return f"{node.field.path} {node.op} {_show(node.value)}"
    if isinstance(node, Exists):
        return f"{'present' if node.present else 'missing'}({node.field.path})"
    joiner = " and " if isinstance(node, All) else " or "
    text = joiner.join(render(i, top=False) for i in node.items)
    return text if top else f"({text})"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | dt.date):
        return repr(str(value))
    return repr(value)
