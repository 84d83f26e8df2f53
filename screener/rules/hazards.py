"""What ``screen rules check`` finds in a pack that would otherwise surface only while screening.

- **Snippets that fail to render.** Loading checks a rationale's and a question's Jinja syntax and
  variables, but ``{{ 1 / 0 }}``, a filter given the wrong type, a macro that calls itself or a
  loop past the render bounds (:data:`screener.texts.MAX_RENDER_STEPS`) fail only when rendered.
  Each snippet is rendered here against a representative profile (every field filled in) and
  against that profile with each field left out in turn, where the screen could render it: a
  rationale when the rule matched (its compared fields present), a question when the rule could
  not be evaluated (one of them missing). A failure is an error at the snippet's line, saying
  which field was missing.
- **Literals the engine's fixed-point encoding cannot hold.** Fractions reach the engine in whole
  basis points and numbers in thousandths (:mod:`screener.rules.schema`):
  ``traction.gross_margin > 1e-5`` compares with 0. Such a literal is a warning at its column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from screener.errors import Location, Problem, RuleError
from screener.profile import units
from screener.profile.sources import Document
from screener.rules import conditions
from screener.rules.conditions import Compare
from screener.rules.rulebook import Rule, Rulebook, render_snippet, snippet_context
from screener.rules.schema import Kind

#: The screening date the representative profile is rendered on.
ON = dt.date(2026, 1, 15)

_SAMPLES: dict[Kind, Any] = {
    Kind.MONEY: 5_000_000,
    Kind.FRACTION: 0.5,
    Kind.INTEGER: 10,
    Kind.YEAR: 2020,
    Kind.NUMBER: 1.5,
    Kind.BOOLEAN: True,
    Kind.DATE: "2025-06-01",
    Kind.TEXT: "Example",
}
_FIXED = {
    "name": "Example AI",
    "website": "https://example.ai",
    "hq_country": "US",
    "model": {"base": "Llama 3.1 8B"},
    "team": {"founders": [{"name": "Ada Park", "background": ["frontier-lab"], "prior_exit": True}]},
    "benchmarks": [{"name": "LegalBench", "score": 78.5, "frontier": 80.1}],
}


# --- snippets -----------------------------------------------------------------------------------


def check_renders(rulebook: Rulebook) -> list[Problem]:
    """Render every rationale and question as a screen could; one error per snippet that fails."""
    problems: dict[tuple[str, str], Problem] = {}
    for missing, context in _contexts(rulebook):
        for rule in rulebook.rules:
            evaluable = all(_present(context, path) for path in rule.reads)
            for what in ("rationale", "question"):
                if (rule.id, what) in problems or (what == "question" and rule.question is None):
                    continue
                if (what == "rationale") != evaluable:
                    continue  # a rationale is rendered for a match, a question when the rule is not evaluable
                try:
                    render_snippet(rule, what, context)
                except RuleError as exc:
                    problems[(rule.id, what)] = _when(exc.problems[0], missing)
    return list(problems.values())


def _when(problem: Problem, missing: str | None) -> Problem:
    if missing is None:
        return problem
    what, _, reason = problem.message.partition(": ")
    return Problem(f"{what} when {missing} is missing: {reason}", problem.location, problem.subject)


def _contexts(rulebook: Rulebook) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """The representative profile's context, then that of the profile without each of its fields."""
    model = rulebook.schema.profile_model
    data = _valid(model, _representative(rulebook))
    if data is None:
        return
    yield None, _context(rulebook, model, data)
    for path in _leaves(data):
        if path == ("name",):
            continue
        smaller = _without(data, path)
        if _valid(model, smaller) is not None:
            yield ".".join(path), _context(rulebook, model, smaller)


def _representative(rulebook: Rulebook) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, spec in rulebook.schema.fields.items():
        if path.startswith("derived."):
            continue
        value = spec.choices[0] if spec.kind is Kind.ENUM and spec.choices else _SAMPLES.get(spec.kind)
        if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
            value = spec.minimum
        if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
            value = spec.maximum
        if value is not None:
            _put(data, path.split("."), value)
    for key, value in _FIXED.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return data


def _valid(model: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """``data`` less whatever the profile model refuses (a declared field's own rules), or None."""
    for _ in range(5):
        try:
            model.model_validate(data, context={"rates": {}})
            return data
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                path = tuple(p for p in error["loc"] if isinstance(p, str))
                while path and not _has(data, path):
                    path = path[:-1]
                if len(path) <= 1 and path in {(), ("name",)}:
                    return None
                data = _without(data, path)
    return None


def _context(rulebook: Rulebook, model: Any, data: dict[str, Any]) -> dict[str, Any]:
    profile = model.model_validate(data, context={"rates": {}})
    derived = rulebook.schema.derive(profile, ON).model_dump(mode="json")
    return snippet_context(profile, derived, ON)


def _present(context: dict[str, Any], path: str) -> bool:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return bool(node != [])


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _has(data: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _without(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    if len(path) == 1:
        return {k: v for k, v in data.items() if k != path[0]}
    return {k: (_without(v, path[1:]) if k == path[0] and isinstance(v, dict) else v) for k, v in data.items()}


def _put(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


# --- fixed-point literals -----------------------------------------------------------------------


def check_precision(doc: Document, rule: Rule) -> list[Problem]:
    """A warning for each literal the engine's fixed-point encoding rounds (``> 1e-5`` compares with 0)."""
    line, col = doc.value_locations.get(("rules", rule.index, "when"), (rule.location.line, rule.location.column))
    found = []
    for atom in conditions.walk(rule.condition):
        if isinstance(atom, Compare) and atom.field.kind is Kind.MONEY:
            found.extend(_money_precision(doc, rule, atom, line, col))
            continue
        if not isinstance(atom, Compare) or atom.field.kind not in {Kind.FRACTION, Kind.NUMBER}:
            continue
        if not isinstance(atom.value, int | float) or isinstance(atom.value, bool):
            continue
        held = atom.field.decode(atom.encoded)
        if abs(held - atom.value) <= 1e-9 * max(1.0, abs(atom.value)):
            continue
        if atom.field.kind is Kind.FRACTION:
            message = (
                f"{atom.field.path} {atom.op} {atom.value:g} compares as {atom.op} {held * 100:g}%: fractions "
                "reach the engine in whole basis points (0.01%); write the limit in basis points' precision"
            )
        else:
            message = (
                f"{atom.field.path} {atom.op} {atom.value:g} compares as {atom.op} {held:g}: numbers reach the "
                "engine in thousandths; write the limit to three decimals"
            )
        found.append(Problem(message, Location(doc.file, line, col + max(atom.column, 1) - 1), rule.id, "warning"))
    return found


def _money_precision(doc: Document, rule: Rule, atom: Compare, line: int, col: int) -> list[Problem]:
    """Money reaches the engine in whole dollars: ``>= "$300,000,000.40"`` would compare as ``>= $300,000,000``."""
    literal = atom.literal if atom.literal is not None else atom.value
    text = str(literal).strip()
    try:
        exact = units.money_amount(text[1:] if text.startswith("-") else literal)
    except units.UnitError:
        return []  # a literal in a foreign currency: its conversion, not its cents, is what matters
    if exact == exact.to_integral_value():
        return []
    message = (
        f"{atom.field.path} {atom.op} {text} compares as {atom.op} {'-' if atom.value < 0 else ''}${abs(atom.value):,}: "
        "money reaches the engine in whole dollars; write the limit in whole dollars"
    )
    return [Problem(message, Location(doc.file, line, col + max(atom.column, 1) - 1), rule.id, "warning")]
