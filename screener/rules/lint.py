"""``screen rules check``: everything loading a pack reports, plus what only static analysis sees.

Loading (:func:`screener.rules.rulebook.compile_document`) already rejects bad shape, unknown fields,
type mismatches, duplicate ids, missing points and out-of-range thresholds. On top of that this
module reasons about each condition without running it:

- a condition that can never hold (``x > 10 and x < 5``) is an error: the rule is dead;
- an alternative of an ``or`` that can never hold in its context is a warning;
- a condition that holds for every company whose compared fields are known (``x > 5 or x <= 5``)
  is a warning: the rule only measures whether data is there;
- a condition that compares no field (only ``present()``/``missing()``) is a warning;
- a comparison out of its field's unit or domain (a fraction with 60, money with 15, ``team.size < 0``),
  and two rules counting one fact twice, are :mod:`screener.rules.sense`'s findings;
- a pack the engine refuses to hold is an error;
- a pack whose content changed while its version did not is a warning, judged against a small
  lock file beside the pack (``<pack>.lock``, :mod:`screener.rules.identity`).

The reasoning works on the encoded values the engine sees: every ordered field is encoded as an
integer (money in dollars, fractions in basis points, dates as YYYYMMDD), so intervals are
intervals of integers and ``x > 5 and x < 6`` is, correctly, unsatisfiable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from screener.errors import EngineError, Location, Problem, RuleError, ScreenerError
from screener.profile.sources import Document, load_document
from screener.rules import conditions, hazards, sense
from screener.rules.conditions import All, AnyOf, Compare, Exists, Node, Op
from screener.rules.identity import check_lock
from screener.rules.rulebook import Rule, Rulebook, compile_document, resolve_pack
from screener.rules.schema import Kind

#: Beyond this many alternatives after expanding and/or, a condition is not analysed (never in practice).
MAX_TERMS = 4096

Atom = Compare | Exists


def find_packs(path: str | Path | None) -> list[Path]:
    """Every pack file in a folder (rule tests and lock files excluded), or the one file given."""
    if path is None:
        return [resolve_pack(None)]
    path = Path(path)
    if not path.is_dir():
        return [path]
    packs = sorted(p for p in path.glob("*.y*ml") if not p.name.endswith((".tests.yaml", ".tests.yml")))
    if not packs:
        raise RuleError("no rule pack (*.yaml) in this folder", Location(str(path)))
    return packs


def check_pack(path: str | Path) -> list[Problem]:
    """Every problem of one pack file, errors and warnings, in file order."""
    path = Path(path)
    try:
        doc = load_document(path)
    except ScreenerError as exc:
        return list(exc.problems)
    problems: list[Problem] = []
    rulebook: Rulebook | None = None
    try:
        rulebook = compile_document(doc, path)
    except RuleError as exc:
        problems.extend(exc.problems)
    if rulebook is not None:
        for rule in rulebook.rules:
            problems.extend(check_rule(doc, rule))
        problems.extend(sense.check(doc, rulebook, satisfiable))
        for rule in rulebook.rules:
            problems.extend(hazards.check_precision(doc, rule))
        problems.extend(hazards.check_renders(rulebook))
        problems.extend(_check_engine(rulebook, doc))
    problems.extend(check_lock(doc, path))
    return sorted(dict.fromkeys(problems), key=_order)


def _order(problem: Problem) -> tuple[int, int, str]:
    where = problem.location
    return (where.line, where.column, problem.message) if where else (0, 0, problem.message)


# --- conditions ---------------------------------------------------------------------------------


def check_rule(doc: Document, rule: Rule) -> list[Problem]:
    """Static findings about one compiled rule's condition."""
    node = rule.condition
    line, col = doc.value_locations.get(("rules", rule.index, "when"), (rule.location.line, rule.location.column))

    def at(column: int, message: str, level: str) -> Problem:
        return Problem(message, Location(doc.file, line, col + max(column, 1) - 1), rule.id, level)

    found: list[Problem] = []
    if not conditions.reads(node):
        message = "the condition compares no field, only whether data is present; it never depends on the values"
        found.append(at(1, message, "warning"))
    verdict = satisfiable(node)
    if verdict is False:
        found.append(at(1, f"the condition can never hold: {_why_unsatisfiable(node)}", "error"))
        return found
    for group, item in _alternatives(node):
        if satisfiable(_replace(node, group, item)) is False:
            message = f"the alternative ({conditions.render(item)}) can never hold here; it is dead"
            found.append(at(_column(item), message, "warning"))
    if always_true(node):
        known = ", ".join(conditions.reads(node)) or "its fields"
        message = f"the condition holds for every company whose {known} is known; it cannot tell companies apart"
        found.append(at(1, message, "warning"))
    return found


def satisfiable(node: Node) -> bool | None:
    """Whether some fact makes ``node`` true (with the engine's semantics); None if too big to tell."""
    terms = _dnf(node)
    if terms is None:
        return None
    return any(_conflict(term) is None for term in terms)


def always_true(node: Node) -> bool:
    """Whether ``node`` holds for every fact in which each compared field is present."""
    present = tuple(Exists(conditions_field, True) for conditions_field in _compared_specs(node))
    return satisfiable(All((conditions.negate(node), *present))) is False


def _compared_specs(node: Node) -> list[Any]:
    specs: dict[str, Any] = {}
    for atom in conditions.walk(node):
        if isinstance(atom, Compare):
            specs.setdefault(atom.field.path, atom.field)
    return list(specs.values())


def _dnf(node: Node) -> list[tuple[Atom, ...]] | None:
    """The condition as alternatives of conjunctions of atoms; None beyond MAX_TERMS."""
    if isinstance(node, Compare | Exists):
        return [(node,)]
    parts = [_dnf(item) for item in node.items]
    if any(p is None for p in parts):
        return None
    if isinstance(node, AnyOf):
        flat = [term for part in parts if part is not None for term in part]
        return flat if len(flat) <= MAX_TERMS else None
    terms: list[tuple[Atom, ...]] = [()]
    for part in parts:
        assert part is not None
        terms = [left + right for left in terms for right in part]
        if len(terms) > MAX_TERMS:
            return None
    return terms


def _conflict(term: tuple[Atom, ...]) -> str | None:
    """The field whose constraints in a conjunction cannot all hold, or None if the conjunction can."""
    by_field: dict[str, list[Atom]] = {}
    for atom in term:
        by_field.setdefault(atom.field.path, []).append(atom)
    for path, atoms in by_field.items():
        if not _field_satisfiable(atoms):
            return path
    return None


def _field_satisfiable(atoms: list[Atom]) -> bool:
    wants_missing = any(isinstance(a, Exists) and not a.present for a in atoms)
    wants_present = any(isinstance(a, Compare) or (isinstance(a, Exists) and a.present) for a in atoms)
    if wants_missing:
        return not wants_present  # a comparison on a missing field is false, like in the engine
    compares = [a for a in atoms if isinstance(a, Compare)]
    if not compares:
        return True
    spec = compares[0].field
    equal = {a.encoded for a in compares if a.op is Op.EQ}
    unequal = {a.encoded for a in compares if a.op is Op.NE}
    if len(equal) > 1:
        return False
    if not spec.kind.ordered:
        if equal:
            return not equal & unequal
        domain = _finite_domain(spec.kind, spec.choices)
        return domain is None or bool(domain - unequal)
    values = [a.encoded for a in compares]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return True  # not an integer encoding: do not guess
    low: float = float("-inf")
    high: float = float("inf")
    for a in compares:
        if a.op is Op.GT:
            low = max(low, a.encoded + 1)
        elif a.op is Op.GE:
            low = max(low, a.encoded)
        elif a.op is Op.LT:
            high = min(high, a.encoded - 1)
        elif a.op is Op.LE:
            high = min(high, a.encoded)
    if equal:
        (value,) = equal
        return low <= value <= high and value not in unequal
    if low > high:
        return False
    if low == float("-inf") or high == float("inf"):
        return True
    return high - low + 1 > len({v for v in unequal if low <= v <= high})


def _finite_domain(kind: Kind, choices: tuple[str, ...]) -> set[Any] | None:
    if kind is Kind.BOOLEAN:
        return {True, False}
    if kind is Kind.ENUM:
        return set(choices)
    return None


def _why_unsatisfiable(node: Node) -> str:
    terms = _dnf(node) or []
    if len(terms) == 1:
        path = _conflict(terms[0])
        atoms = [a for a in terms[0] if a.field.path == path]
        return f"{' and '.join(conditions.render(a) for a in atoms)} cannot all be true"
    return "every alternative contradicts itself"


def _alternatives(node: Node) -> Iterator[tuple[AnyOf, Node]]:
    """Every (or-group, one of its items) pair in the tree."""
    if isinstance(node, AnyOf):
        for item in node.items:
            yield node, item
    if isinstance(node, All | AnyOf):
        for item in node.items:
            yield from _alternatives(item)


def _replace(node: Node, target: Node, replacement: Node) -> Node:
    """``node`` with the subtree ``target`` (by identity) replaced."""
    if node is target:
        return replacement
    if isinstance(node, All):
        return All(tuple(_replace(i, target, replacement) for i in node.items))
    if isinstance(node, AnyOf):
        return AnyOf(tuple(_replace(i, target, replacement) for i in node.items))
    return node


def _column(node: Node) -> int:
    return next((atom.column for atom in conditions.walk(node)), 1)


# --- engine -------------------------------------------------------------------------------------


def _check_engine(rulebook: Rulebook, doc: Document) -> list[Problem]:
    """Build the real engine once: a pack it refuses is an error the screen would only hit later."""
    from screener.rules.engine import Engine

    try:
        with Engine(rulebook):
            return []
    except RuleError as exc:  # rules it refused, each at its line
        return list(exc.problems)
    except EngineError as exc:
        return [Problem(p.message, doc.locate(("rules",)), "", "error") for p in exc.problems]
