"""How a screening result is stored: the pack's part once, the company's part per row.

A result lists every rule of the pack with its title, category, points and tags: about 10 KB
with the default pack, the same for every company screened under that pack. Stored whole, a
nightly batch of millions wrote gigabytes of repeated text and spent most of its time doing so.
So the database keeps:

- per pack hash, the pack's full content and the rules as a result shows them without an outcome
  (:class:`PackRules`), once;
- per screening, its columns (company, pack, date, score, verdict, coverage, knockouts, matched
  rule ids, plausibility warnings, the score range) and :func:`details`: points, per-category figures, the rules
  that could not be evaluated and what they miss, any rendered rationales and questions, open questions and
  their stakes, notes.

:func:`join` rebuilds the result from those parts, equal to the ``model_dump(mode="json")`` of
the typed result it was split from, key order included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from screener.rules.rulebook import Rulebook

#: The fields of a rule that come from the pack, in the order a result lists them.
RULE_FIELDS = ("id", "title", "category", "points", "knockout", "tags")
#: The figures of a category score that a row keeps, in order.
CATEGORY_FIGURES = ("points", "best", "worst", "matched", "evaluable", "rules")


@dataclass(frozen=True, slots=True)
class PackRules:
    """What a result says about a pack whatever the company: its rules and categories, in order."""

    hash: str
    rules: list[dict[str, Any]]  #: per rule, RULE_FIELDS
    categories: list[str]
    content: str | None = None  #: the pack's canonical JSON; None when not known (stored before 0004)


def pack_rules(result: dict[str, Any], content: str | None = None) -> PackRules:
    """The pack's part of a result (the JSON form of a ScreeningResult), with the pack's content if known."""
    return PackRules(
        result["pack"]["hash"],
        [{name: rule[name] for name in RULE_FIELDS} for rule in result["rules"]],
        [category["category"] for category in result["categories"]],
        content,
    )


def of_rulebook(book: Rulebook) -> PackRules:
    """The pack's part of every result under ``book``, with its content: what the database keeps of it."""
    return PackRules(
        book.hash,
        [dict(zip(RULE_FIELDS, (r.id, r.spec.title, r.spec.category, r.points, r.knockout, list(r.spec.tags)),
                  strict=True)) for r in book.rules],
        list(book.categories),
        book.content,
    )  # fmt: skip


def details(result: dict[str, Any]) -> dict[str, Any]:
    """The company's part of a result that its row's columns do not already hold."""
    not_evaluable: dict[str, list[str]] = {}
    explained: dict[str, dict[str, str]] = {}
    for rule in result["rules"]:
        if rule["outcome"] == "not-evaluable":
            not_evaluable[rule["id"]] = rule["missing"]
        elif rule["missing"]:
            raise ValueError(f"rule {rule['id']!r} names missing fields but was evaluated")
        said = {name: rule[name] for name in ("rationale", "question") if rule[name] is not None}
        if said:
            explained[rule["id"]] = said
    return {
        "points": result["points"],
        "categories": [[category[name] for name in CATEGORY_FIGURES] for category in result["categories"]],
        "not_evaluable": not_evaluable,
        "explained": explained,
        "questions": result["questions"],
        "stakes": [[q["fields"], q["rules"], q["stake"], q["could_change_verdict"]] for q in result["question_stakes"]],
        "notes": result["notes"],
    } if "question_stakes" in result else {  # a result stored before 0006 (as 0002 reads it)
        "points": result["points"],
        "categories": [[category[name] for name in CATEGORY_FIGURES] for category in result["categories"]],
        "not_evaluable": not_evaluable,
        "explained": explained,
        "questions": result["questions"],
        "notes": result["notes"],
    }  # fmt: skip


#: The score range's parts, as the row's columns name them and as the result does.
RANGE_COLUMNS = (
    ("score_worst", "worst"), ("score_best", "best"), ("verdict_worst", "worst_verdict"),
    ("verdict_best", "best_verdict"),
)  # fmt: skip


def score_range(values: tuple[Any, Any, Any, Any]) -> dict[str, Any] | None:
    """The result's score range from the row's range columns; None when the row has none (see migration 0006)."""
    if any(value is None for value in values):
        return None
    return {name: value for (_, name), value in zip(RANGE_COLUMNS, values, strict=True)}


def join(
    pack: PackRules,
    *,
    company: dict[str, Any],
    screened_on: dt.date,
    pack_name: str,
    pack_version: str,
    score: float,
    verdict: str,
    coverage: float,
    knockouts: list[str],
    matched: list[str],
    details: dict[str, Any],
    warnings: list[dict[str, Any]] | None,
    span: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The result, as JSON-ready data, from the pack's part, a row's columns and its details.

    ``span``: the score range (:func:`score_range`); None for a row without one (before 0006, or one its
    upgrade could not compute), whose result then has none, as details without ``stakes`` have no stakes.

    ``warnings`` None: the row predates them (revision 0002, as its migration reads it), and so does the result.
    """
    if len(details["categories"]) != len(pack.categories):
        raise ValueError(f"the details name {len(details['categories'])} categories, pack {pack.hash} has "
                         f"{len(pack.categories)}")  # fmt: skip
    fired = set(matched)
    not_evaluable, explained = details["not_evaluable"], details["explained"]
    rules = []
    for rule in pack.rules:
        rule_id = rule["id"]
        if rule_id in not_evaluable:
            outcome, missing = "not-evaluable", not_evaluable[rule_id]
        else:
            outcome, missing = ("matched" if rule_id in fired else "not-matched"), []
        said = explained.get(rule_id, {})
        rules.append(
            {"id": rule_id, "title": rule["title"], "category": rule["category"], "outcome": outcome,
             "points": rule["points"], "knockout": rule["knockout"], "rationale": said.get("rationale"),
             "missing": missing, "question": said.get("question"), "tags": rule["tags"]}
        )  # fmt: skip
    joined = {
        "company": company,
        "screened_on": screened_on.isoformat(),
        "pack": {"name": pack_name, "version": pack_version, "hash": pack.hash},
        "score": score,
        "verdict": verdict,
        "coverage": coverage,
        **({"score_range": span} if span is not None else {}),
        "points": details["points"],
        "knockouts": knockouts,
        "categories": [
            {"category": name, **dict(zip(CATEGORY_FIGURES, figures, strict=True))}
            for name, figures in zip(pack.categories, details["categories"], strict=True)
        ],
        "rules": rules,
        "questions": details["questions"],
        **(
            {
                "question_stakes": [
                    {"fields": fields, "rules": rules, "stake": stake, "could_change_verdict": change}
                    for fields, rules, stake, change in details["stakes"]
                ]
            }
            if "stakes" in details
            else {}
        ),
        "notes": details["notes"],
    }
    if warnings is not None:
        joined["warnings"] = warnings
    return joined


class Row(Protocol):
    """The columns of a stored screening that :func:`join_row` reads (a table row, a migration's row).

    And ``warnings`` (JSON data), when the row has them: rows of revision 0002 do not; and the
    range columns (``RANGE_COLUMNS``), when it has them: rows before revision 0006 do not.
    """

    company_key: str
    company_name: str
    website: str | None
    pack_name: str
    pack_version: str
    screened_on: dt.date
    score: float
    verdict: str
    coverage: float
    knockouts: list[str]
    matched: list[str]
    details: dict[str, Any]


def join_row(pack: PackRules, row: Row) -> dict[str, Any]:
    """:func:`join` on a stored row."""
    return join(
        pack, company={"name": row.company_name, "website": row.website, "key": row.company_key},
        screened_on=row.screened_on, pack_name=row.pack_name, pack_version=row.pack_version, score=row.score,
        verdict=row.verdict, coverage=row.coverage, knockouts=row.knockouts, matched=row.matched, details=row.details,
        warnings=getattr(row, "warnings", None),
        span=score_range(tuple(getattr(row, column, None) for column, _ in RANGE_COLUMNS)),  # type: ignore[arg-type]
    )  # fmt: skip
