"""``screen rules check``, the part that knows each field's units and domain, and what a rule means.

A condition can be valid and still wrong: ``traction.gross_margin > 60`` compares a fraction
(0..1) with 60, so it never holds (60 is 6000%); ``funding.total_raised > 15`` compares whole
dollars with 15, so it holds for every company that raised anything. Each comparison is checked
against its field's catalogue entry (:class:`~screener.rules.schema.FieldSpec`: kind, the bounds
no valid value passes, the scale money is usually written in), so declared fields get the same
checks from their declarations:

- a fraction compared with a bare number above 1 is an error, with the percent it most likely
  meant (``did you mean '60%'?``);
- a money field compared with a bare number under 1,000 (not 0) is an error, with the amount it
  most likely meant, in the field's usual scale (``did you mean '$15M'?``);
- a comparison that cannot hold anywhere in the field's domain (``team.size < 0``,
  ``gross_margin > 1``) is an error; one that holds everywhere in it (``team.size >= 0``) a warning.

And across rules: two scored rules of one category and sign that read the same fact (one's compared
fields within the other's) and can match the same company count that fact twice, a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screener.errors import Location, Problem
from screener.profile.sources import Document
from screener.rules import conditions
from screener.rules.conditions import All, Compare, Op
from screener.rules.rulebook import Rule, Rulebook
from screener.rules.schema import FieldSpec, Kind
from screener.texts import format_money, format_percent

#: A bare number under this, compared with money, is almost certainly in millions or thousands.
MONEY_SLIP_BELOW = 1000


def check(doc: Document, rulebook: Rulebook, satisfiable: Callable[[conditions.Node], bool | None]) -> list[Problem]:
    """Every finding of this module for a compiled pack: units and domains per rule, then double counting."""
    found = [problem for rule in rulebook.rules for problem in check_units(doc, rule)]
    wrong = {p.subject for p in found if p.level == "error"}  # a rule that cannot mean what it says counts nothing
    return found + check_double_counting(doc, rulebook, satisfiable, skip=wrong)


def check_units(doc: Document, rule: Rule) -> list[Problem]:
    """Each comparison of the rule against its field's unit and domain."""
    line, col = doc.value_locations.get(("rules", rule.index, "when"), (rule.location.line, rule.location.column))
    found = []
    for atom in conditions.walk(rule.condition):
        if not isinstance(atom, Compare) or atom.literal is None:
            continue  # a yes/no field read alone, or a presence test
        finding = _unit_slip(atom) or _domain(atom)
        if finding is not None:
            message, level = finding
            found.append(Problem(message, Location(doc.file, line, col + max(atom.column, 1) - 1), rule.id, level))
    return found


def _bare(literal: Any) -> bool:
    return isinstance(literal, int | float) and not isinstance(literal, bool)


def _unit_slip(atom: Compare) -> tuple[str, str] | None:
    spec, literal = atom.field, atom.literal
    if not _bare(literal):
        return None
    if spec.kind is Kind.FRACTION and (spec.maximum is not None or spec.signed) and 1 < abs(literal) <= 100:
        return (
            f"{spec.path} is a fraction (0.6 is 60%), so {literal:g} means {literal * 100:g}%; "
            f"did you mean '{literal:g}%'?",
            "error",
        )
    if spec.kind is Kind.MONEY and 0 < abs(literal) < MONEY_SLIP_BELOW:
        meant = format_money(round(abs(literal) * (spec.scale or 10**6)))
        sign = "-" if literal < 0 else ""
        return (
            f"{spec.path} is money in whole dollars, so {literal:g} means {sign}${abs(literal):g}; "
            f"did you mean '{sign}{meant}'?",
            "error",
        )
    return None


def _domain(atom: Compare) -> tuple[str, str] | None:
    """An error when the comparison holds for no value the field can take, a warning when for all."""
    spec, op, value = atom.field, atom.op, atom.value
    low, high = spec.minimum, spec.maximum
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    never = always = None
    if low is not None:
        if (op is Op.LT and value <= low) or (op is Op.LE and value < low) or (op is Op.EQ and value < low):
            never = f"{spec.path} is never below {_bound(spec, low)}"
        elif (op is Op.GE and value <= low) or (op is Op.GT and value < low) or (op is Op.NE and value < low):
            always = f"{spec.path} is never below {_bound(spec, low)}"
    if high is not None and never is None and always is None:
        if (op is Op.GT and value >= high) or (op is Op.GE and value > high) or (op is Op.EQ and value > high):
            never = f"{spec.path} is never above {_bound(spec, high)}"
        elif (op is Op.LE and value >= high) or (op is Op.LT and value > high) or (op is Op.NE and value > high):
            always = f"{spec.path} is never above {_bound(spec, high)}"
    written = f"{spec.path} {op} {_written(atom.literal)}"
    if never is not None:
        return f"{written} can never hold: {never}", "error"
    if always is not None:
        return f"{written} holds for every company whose {spec.path} is known: {always}", "warning"
    return None


def _bound(spec: FieldSpec, bound: Any) -> str:
    if spec.kind is Kind.FRACTION:
        return f"{bound:g} ({format_percent(bound)})"
    if spec.kind is Kind.MONEY:
        return format_money(int(bound))
    return f"{bound:,}" if isinstance(bound, int) and spec.kind is not Kind.YEAR else str(bound)


def _written(literal: Any) -> str:
    return f'"{literal}"' if isinstance(literal, str) else repr(literal)


# --- across rules --------------------------------------------------------------------------------


def check_double_counting(
    doc: Document,
    rulebook: Rulebook,
    satisfiable: Callable[[conditions.Node], bool | None],
    skip: frozenset[str] | set[str] = frozenset(),
) -> list[Problem]:
    """A warning on each scored rule that counts, for the same reason, a fact an earlier rule already counts.

    Same reason: the same category and the same sign of points. Same fact: both compare the same
    fields; or the fields one compares are among those the other compares and one of them is a
    measure (a number, money, a date), as ``funding.total_raised`` is in ``total_raised >= "$300M"``
    and in ``stage == "seed" and total_raised > "$15M"``; a shared yes/no or enumerated field is
    more often context (``gpu_dependence != "none"``) than the fact itself. Counted twice: some
    company matches both (``satisfiable`` of the two conditions together, as ``rules check`` decides).
    """
    found = []
    scored = [r for r in rulebook.rules if not r.knockout and r.reads and r.id not in skip]
    for later_index, later in enumerate(scored):
        for earlier in scored[:later_index]:
            if earlier.spec.category != later.spec.category or (earlier.points > 0) != (later.points > 0):
                continue
            first, second = set(earlier.reads), set(later.reads)
            if not (first <= second or second <= first):
                continue
            kinds = {a.field.path: a.field.kind for a in conditions.walk(later.condition)}
            if first != second and not any(kinds[p].ordered for p in first & second):
                continue
            if satisfiable(All((earlier.condition, later.condition))) is not True:
                continue
            shared = ", ".join(p for p in later.reads if p in first)
            verb, total = ("rewards", f"gains {earlier.points + later.points}") if later.points > 0 else (
                "penalises", f"loses {-(earlier.points + later.points)}"
            )  # fmt: skip
            line, col = doc.value_locations.get(("rules", later.index, "when"), (later.location.line, 0))
            message = (
                f"{verb} the same fact as rule {earlier.id!r} (line {earlier.location.line}): both read {shared} in "
                f"category {later.spec.category!r} and can match one company, which then {total} points for it; "
                "make the conditions exclusive, or merge the rules"
            )
            found.append(Problem(message, Location(doc.file, line, col), later.id, "warning"))
            break  # one warning per rule: the first rule it repeats
    return found
