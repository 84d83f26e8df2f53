"""The memo template context: a typed, documented object built from a result and its profile.

Templates see :class:`MemoContext` and nothing else. Every number in it comes from the profile
or the screening result (formatted for people where it is shown as text), and whatever the
profile does not say is marked unknown rather than filled in. A test checks that the packaged
templates read only the names and attributes documented here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from screener.memo.charts import ChartRow, CoverageGauge, ScoreChart, coverage_gauge, score_chart
from screener.memo.questions import ask
from screener.profile.checks import DataWarning
from screener.profile.declared import DeclaredField, FieldType
from screener.profile.model import Profile
from screener.rules import catalogue
from screener.rules.catalogue import PackSchema
from screener.screening.result import Outcome, RuleResult, ScreeningResult
from screener.screening.screener import missing_inputs
from screener.texts import format_money, format_percent, label

VERDICT_LABELS = {"strong-fit": "Strong fit", "review": "Review", "pass": "Pass"}
DATA_TAG = "data"  #: rules with this tag are about the profile's data, not the company


@dataclass(frozen=True)
class CompanyInfo:
    name: str
    website: str | None
    key: str  #: the identity Screener recognises the company by (website domain or normalised name)
    sector: str | None
    stage: str | None
    hq_country: str | None
    founded: str | None  #: the founding year, as text


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    hash: str  #: content hash of the pack the result was computed with
    description: str | None  #: the thesis in one sentence, when the pack is at hand


@dataclass(frozen=True)
class RuleLine:
    """One rule's outcome, as a memo shows it."""

    id: str
    title: str
    category: str
    outcome: str  #: matched, not-matched or not-evaluable
    points: int
    knockout: bool
    rationale: str | None  #: the rendered reason, for matched rules
    question: str | None  #: the rule's own diligence question, when it could not be evaluated
    missing: list[str]  #: the fields whose absence made it not evaluable
    tags: list[str]


@dataclass(frozen=True)
class Theme:
    """One category of the thesis, with its reasons grouped so a memo can read as prose."""

    category: str  #: the pack's category id
    title: str  #: the category for people ("Team", "Economics")
    points: int  #: net points earned
    gained: int  #: points earned by matched positive rules
    lost: int  #: points lost to matched negative rules, as a positive number
    best: int
    worst: int
    matched: int
    evaluable: int
    rules: int
    strengths: list[RuleLine]  #: matched positive rules, data-quality rules left out
    risks: list[RuleLine]  #: matched negative rules and knockouts, data-quality rules left out
    unknown: list[RuleLine]  #: rules of the category that could not be evaluated
    data: bool  #: every rule of the category judges the profile's data (tag ``data``), not the thesis


@dataclass(frozen=True)
class Question:
    text: str  #: phrased as a question
    fields: list[str]  #: the profile fields that would answer it (empty for a rule's own question)
    rules: list[str]  #: the rules waiting on it
    stake: int | None  #: the points those rules could swing; None for a result stored before stakes were
    could_change: bool  #: whether the answer alone could change the verdict


@dataclass(frozen=True)
class ScoreRangeInfo:
    """The score and verdict once the rules that could not be evaluated are known, worst and best case."""

    worst: float  #: 0-100, every open rule the worst way for the company
    best: float  #: 0-100, every open rule the best way
    worst_verdict: str  #: strong-fit, review or pass
    best_verdict: str
    worst_label: str  #: the worst case's verdict for people ("Pass")
    best_label: str
    open: bool  #: some rule is open: worst and best differ
    verdict_could_change: bool  #: the two cases' verdicts are not both the verdict


@dataclass(frozen=True)
class DataWarningLine:
    """A plausibility warning on the profile's data, as the memo's data warnings box shows it."""

    check: str  #: the id of the check that raised it
    fields: list[str]  #: the profile fields it is about
    text: str  #: the warning as a sentence ("Total raised of $30 … is implausibly small; ….")
    suggestion: str | None  #: the value most likely meant, when there is one


@dataclass(frozen=True)
class Fact:
    label: str
    value: str  #: formatted for people; "unknown" when the profile does not say
    known: bool


@dataclass(frozen=True)
class Comparable:
    """An earlier screening of a similar company, from the screening database."""

    name: str
    key: str
    verdict: str
    verdict_label: str
    score: float
    screened_on: str
    stage: str  #: "unknown" when not recorded
    sector: str  #: "unknown" when not recorded
    team_size: str  #: formatted, or "unknown"
    total_raised: str  #: formatted, or "unknown"
    basis: str  #: why it is comparable ("same sector and stage", "same stage")


@dataclass(frozen=True)
class MemoContext:
    """Everything a memo template may use. A test checks templates use nothing else."""

    company: CompanyInfo
    pack: PackInfo
    screened_on: str  #: the screening date, ISO format
    as_of: str | None  #: the date the facts were true, ISO format, if known
    score: float  #: 0-100
    verdict: str  #: strong-fit, review or pass
    verdict_label: str  #: the verdict for people ("Strong fit")
    coverage: float  #: share of the pack's weight that could be evaluated (0..1)
    score_range: ScoreRangeInfo | None  #: None only for a stored screening whose range is not known
    notes: list[str]  #: why the verdict differs from the score alone
    warnings: list[DataWarningLine]  #: plausibility warnings on the profile's data (the data warnings box)
    themes: list[Theme]  #: per category, in pack order
    strengths: list[RuleLine]  #: matched rules with positive points (not data-quality rules)
    risks: list[RuleLine]  #: matched rules with negative points: the thesis risks (not data-quality rules)
    data_rules: list[RuleLine]  #: matched data-quality rules (tag ``data``): they judge the profile, not the company
    knockouts: list[RuleLine]  #: matched knockout rules
    reasons: list[
        RuleLine
    ]  #: the case against, for a pass note: knockouts, then risks, worst first, without data rules
    unknown: list[RuleLine]  #: rules that could not be evaluated
    questions: list[Question]  #: open diligence questions raised by missing data, the most points at stake first
    key_facts: list[Fact]  #: the key facts table
    unknown_facts: list[str]  #: labels of the key facts the profile does not give
    pack_facts: list[Fact]  #: the fields the rule pack declares, in pack order (labelled by their description)
    rules: list[RuleLine]  #: every rule and its outcome, in pack order (the appendix)
    comparables: list[Comparable] | None  #: similar companies screened earlier; None: not looked up
    chart: ScoreChart  #: geometry of the points-by-category chart
    gauge: CoverageGauge  #: geometry of the coverage gauge
    profile: dict[str, Any]  #: the validated profile, as JSON-ready data
    derived: dict[str, Any]  #: the derived values, as JSON-ready data

    @classmethod
    def build(
        cls,
        result: ScreeningResult,
        profile: Profile,
        derived: dict[str, Any],
        *,
        comparables: Sequence[Comparable] | None = None,
        description: str | None = None,
        schema: PackSchema | None = None,
    ) -> MemoContext:
        """``schema``: the fields of the pack the result was screened with (default: built-in only)."""
        schema = schema or catalogue.builtin()
        rules = [_line(r) for r in result.rules]
        matched = [r for r in rules if r.outcome == Outcome.MATCHED]
        unknown = [r for r in rules if r.outcome == Outcome.NOT_EVALUABLE]
        themes = _themes(result, rules)
        facts = key_facts(profile, derived)
        return cls(
            company=CompanyInfo(
                name=result.company.name,
                website=result.company.website,
                key=result.company.key,
                sector=profile.sector,
                stage=profile.stage.value if profile.stage else None,
                hq_country=profile.hq_country,
                founded=_year(profile.founded),
            ),
            pack=PackInfo(result.pack.name, result.pack.version, result.pack.hash, description),
            screened_on=result.screened_on.isoformat(),
            as_of=profile.as_of.isoformat() if profile.as_of else None,
            score=result.score,
            verdict=result.verdict.value,
            verdict_label=VERDICT_LABELS[result.verdict.value],
            coverage=result.coverage,
            score_range=_range(result),
            notes=list(result.notes),
            warnings=[_warning(w) for w in result.warnings],
            themes=themes,
            strengths=[r for r in matched if r.points > 0 and DATA_TAG not in r.tags],
            risks=[r for r in matched if r.points < 0 and DATA_TAG not in r.tags],
            data_rules=[r for r in matched if DATA_TAG in r.tags],
            knockouts=[r for r in matched if r.knockout],
            reasons=_reasons(matched),
            unknown=unknown,
            questions=questions(profile, result, schema),
            key_facts=facts,
            unknown_facts=[f.label for f in facts if not f.known],
            pack_facts=declared_facts(profile, schema.declared),
            rules=rules,
            comparables=None if comparables is None else list(comparables),
            chart=score_chart([(t.title, t.gained, t.lost) for t in themes]),
            gauge=coverage_gauge(result.coverage),
            profile=profile.model_dump(mode="json"),
            derived=derived,
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


#: Every type a template can reach through the context; the documented attribute names are theirs.
CONTEXT_TYPES: tuple[type, ...] = (
    MemoContext, CompanyInfo, PackInfo, ScoreRangeInfo, RuleLine, Theme, Question, DataWarningLine, Fact, Comparable, ScoreChart,
    ChartRow, CoverageGauge,
)  # fmt: skip


def context_names() -> frozenset[str]:
    """The variable names a memo template may use."""
    return frozenset(f.name for f in dataclasses.fields(MemoContext))


def _line(rule: RuleResult) -> RuleLine:
    return RuleLine(
        id=rule.id,
        title=rule.title,
        category=rule.category,
        outcome=rule.outcome.value,
        points=rule.points,
        knockout=rule.knockout,
        rationale=rule.rationale,
        question=rule.question,
        missing=list(rule.missing),
        tags=list(rule.tags),
    )


def _warning(warning: DataWarning) -> DataWarningLine:
    text = warning.message[:1].upper() + warning.message[1:]
    return DataWarningLine(
        warning.check, list(warning.fields), text if text.endswith(".") else f"{text}.", warning.suggestion
    )


def _themes(result: ScreeningResult, rules: list[RuleLine]) -> list[Theme]:
    themes = []
    for category in result.categories:
        mine = [r for r in rules if r.category == category.category]
        matched = [r for r in mine if r.outcome == Outcome.MATCHED]
        themes.append(
            Theme(
                category=category.category,
                title=category.category.replace("-", " ").replace("_", " ").capitalize(),
                points=category.points,
                gained=sum(r.points for r in matched if r.points > 0),
                lost=-sum(r.points for r in matched if r.points < 0),
                best=category.best,
                worst=category.worst,
                matched=category.matched,
                evaluable=category.evaluable,
                rules=category.rules,
                strengths=[r for r in matched if r.points > 0 and DATA_TAG not in r.tags],
                risks=[r for r in matched if (r.points < 0 or r.knockout) and DATA_TAG not in r.tags],
                unknown=[r for r in mine if r.outcome == Outcome.NOT_EVALUABLE],
                data=bool(mine) and all(DATA_TAG in r.tags for r in mine),
            )
        )
    return themes


def _reasons(matched: list[RuleLine]) -> list[RuleLine]:
    # Rules tagged "data" judge the profile (stale, thin), not the company: they are questions
    # for diligence, not reasons to give founders.
    against = [r for r in matched if (r.knockout or r.points < 0) and DATA_TAG not in r.tags]
    return sorted(against, key=lambda r: (not r.knockout, r.points))


def questions(profile: Profile, result: ScreeningResult, schema: PackSchema | None = None) -> list[Question]:
    """What diligence has to find out, in the result's order (the most points at stake first).

    One question per missing profile field, phrased for people (:func:`~screener.memo.questions.ask`),
    and the rules' own. A result stored before questions had stakes lists them in pack order, without.
    """
    own = {r.id: r.question for r in result.rules if r.outcome is Outcome.NOT_EVALUABLE and r.question}
    if result.question_stakes:
        return [
            Question(ask(q.fields[0], schema) if q.fields else own[q.rules[0]], list(q.fields), list(q.rules), q.stake,
                     q.could_change_verdict)
            for q in result.question_stakes
        ]  # fmt: skip
    rules = result.rules
    needed = missing_inputs(profile, [(r.id, r.outcome, r.missing, r.question) for r in rules], schema)
    texts: dict[str, list[str]] = {}
    for rule_id, text in own.items():
        texts.setdefault(text, []).append(rule_id)
    asked = [Question(ask(path, schema), [path], ids, None, False) for path, ids in needed.items()]
    return asked + [Question(text, [], ids, None, False) for text, ids in texts.items()]


def _range(result: ScreeningResult) -> ScoreRangeInfo | None:
    span = result.score_range
    if span is None:
        return None
    worst, best = span.worst_verdict.value, span.best_verdict.value
    return ScoreRangeInfo(
        span.worst, span.best, worst, best, VERDICT_LABELS[worst], VERDICT_LABELS[best], span.worst != span.best,
        not worst == best == result.verdict.value,
    )  # fmt: skip


def key_facts(profile: Profile, derived: dict[str, Any]) -> list[Fact]:
    def money(value: Any) -> str | None:
        return None if value is None else format_money(int(value))

    def pct(value: float | None) -> str | None:
        return None if value is None else format_percent(value)

    def words(value: object) -> str | None:
        return None if value is None else label(value)

    def yes_no(value: bool | None) -> str | None:
        return None if value is None else ("yes" if value else "no")

    team, funding, model, compute, traction = (
        profile.team,
        profile.funding,
        profile.model,
        profile.compute,
        profile.traction,
    )
    last = funding.last_round
    rows = [
        ("Website", profile.website),
        ("Stage", words(profile.stage)),
        ("Founded", _year(profile.founded)),
        ("HQ", profile.hq_country.upper() if profile.hq_country else None),
        ("Sector", profile.sector),
        ("Team size", f"{team.size:,}" if team.size is not None else None),
        ("Founders", ", ".join(f.name or "unnamed" for f in team.founders) or None),
        ("Total raised", money(funding.total_raised)),
        ("Last round", _round(words(last.stage) if last else None, money(last.amount if last else None),
                              last.date.isoformat() if last and last.date else None)),
        ("Raised per head", money(derived.get("funding_per_head"))),
        ("Base model", model.base),
        ("Open weights", yes_no(model.open_weights)),
        ("Licence", model.license),
        ("Approach", words(model.approach)),
        ("Test-time compute", yes_no(model.test_time_compute)),
        ("GPU dependence", words(compute.gpu_dependence)),
        ("Compute spend per month", money(compute.monthly_compute)),
        ("Training share of compute", pct(compute.training_share)),
        ("ARR", money(traction.arr)),
        ("ARR per head", money(derived.get("arr_per_head"))),
        ("Gross margin", pct(traction.gross_margin)),
        ("Pricing", words(traction.pricing)),
        ("Paying customers", f"{traction.customers:,}" if traction.customers is not None else None),
        ("Benchmark gap to frontier", pct(derived.get("benchmark_gap"))),
    ]  # fmt: skip
    return [Fact(label, value, True) if value else Fact(label, "unknown", False) for label, value in rows]


def declared_facts(profile: Profile, fields: Sequence[DeclaredField]) -> list[Fact]:
    """The pack's own fields as fact rows: labelled by their description, formatted by their type."""
    import operator

    rows = []
    for spec in fields:
        try:
            value = operator.attrgetter(spec.path)(profile)
        except AttributeError:  # inside an optional section that is absent
            value = None
        text = None if value is None or value == [] else _show(spec.type, value)
        name = spec.description[:1].upper() + spec.description[1:]
        rows.append(Fact(name, text, True) if text else Fact(name, "unknown", False))
    return rows


def _show(kind: FieldType, value: Any) -> str:
    if kind is FieldType.MONEY:
        return format_money(int(value))
    if kind is FieldType.FRACTION:
        return format_percent(value)
    if kind is FieldType.BOOLEAN:
        return "yes" if value else "no"
    if kind is FieldType.ENUM:
        return label(value)
    if kind is FieldType.LIST:
        return ", ".join(label(v) for v in value)
    if kind is FieldType.INTEGER:
        return f"{value:,}"
    if kind is FieldType.NUMBER:
        return f"{value:,.6g}"
    return str(getattr(value, "isoformat", lambda: value)())


def _year(founded: object) -> str | None:
    if founded is None:
        return None
    return str(getattr(founded, "year", founded))


def _round(stage: str | None, amount: str | None, date: str | None) -> str | None:
    if not (stage or amount or date):
        return None
    text = " ".join(part for part in (amount, stage) if part) or "a round"
    return f"{text} ({date})" if date else text
