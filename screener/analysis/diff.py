"""``screen diff``: what changes for real companies when a rule pack changes.

Every profile is screened under the old and the new pack (same date, same rates). The report
lists the companies whose verdict changes (ranked as under the new pack: verdict, knockouts
last, score, coverage), the biggest score moves, and for each company the
rules responsible: rules present in both packs whose outcome or points differ, and rules
added or removed that could be evaluated for it (an evaluable rule moves the score's range
even when it does not match). Changes of thresholds or minimum coverage are reported for the
pack as a whole, since they move verdicts without any rule changing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from screener.errors import Location, RuleError
from screener.rules.rulebook import Rulebook
from screener.screening.ranking import rank_key
from screener.screening.result import Outcome, PackRef, RuleResult, ScoreRange, ScreeningResult, Verdict


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleChange(_Out):
    id: str
    change: str = Field(description="'changed', 'added' or 'removed'")
    old_outcome: Outcome | None = None
    new_outcome: Outcome | None = None
    old_points: int | None = None
    new_points: int | None = None
    old_knockout: bool = False
    new_knockout: bool = False

    def describe(self) -> str:
        def side(outcome: Outcome | None, points: int | None, knockout: bool) -> str:
            if outcome is None:
                return "absent"
            weight = "knockout" if knockout else f"{points:+d}"
            return f"{outcome.value} ({weight})"

        old = side(self.old_outcome, self.old_points, self.old_knockout)
        new = side(self.new_outcome, self.new_points, self.new_knockout)
        return f"{self.id}: {old} → {new}"


class CompanyDiff(_Out):
    company: str
    file: str
    old_verdict: Verdict
    new_verdict: Verdict
    old_score: float
    new_score: float
    delta: float
    old_coverage: float
    new_coverage: float
    old_knockouts: list[str] = Field(description="matched knockout rules under the old pack")
    new_knockouts: list[str] = Field(description="matched knockout rules under the new pack")
    old_range: ScoreRange | None = Field(None, description="the score range the open rules allow under the old pack")
    new_range: ScoreRange | None = Field(None, description="the score range the open rules allow under the new pack")
    rules: list[RuleChange] = Field(description="rules whose outcome or points differ for this company")
    warnings: list[str] = Field(
        default_factory=list, description="the plausibility checks its data failed (the same under both packs)"
    )

    @property
    def verdict_changed(self) -> bool:
        return self.old_verdict is not self.new_verdict


class PackDiff(_Out):
    old: PackRef
    new: PackRef
    screened_on: dt.date
    settings: list[str] = Field(description="pack-level changes: thresholds, minimum coverage")
    companies: list[CompanyDiff] = Field(description="every company, in input order")
    verdict_changes: list[str] = Field(
        description="files of companies whose verdict changes, ranked as under the new pack (screening.ranking)"
    )
    biggest_moves: list[str] = Field(description="files of the companies with the largest score moves, largest first")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def diff_results(
    old_book: Rulebook,
    new_book: Rulebook,
    pairs: Sequence[tuple[str, ScreeningResult, ScreeningResult]],
    on: dt.date,
    top: int = 10,
) -> PackDiff:
    """Compare (file, old result, new result) triples; pure, no engine."""
    companies = [
        CompanyDiff(
            company=old.company.name,
            file=file,
            old_verdict=old.verdict,
            new_verdict=new.verdict,
            old_score=old.score,
            new_score=new.score,
            delta=round(new.score - old.score, 1),
            old_coverage=old.coverage,
            new_coverage=new.coverage,
            old_knockouts=old.knockouts,
            new_knockouts=new.knockouts,
            old_range=old.score_range,
            new_range=new.score_range,
            rules=rule_changes(old.rules, new.rules),
            warnings=[w.check for w in new.warnings],
        )
        for file, old, new in pairs
    ]
    moved = sorted((c for c in companies if c.delta), key=lambda c: (-abs(c.delta), c.file))
    changed = sorted(
        (c for c in companies if c.verdict_changed),
        key=lambda c: (*rank_key(c.new_verdict, bool(c.new_knockouts), c.new_score, c.new_coverage), c.file),
    )
    return PackDiff(
        old=pairs[0][1].pack if pairs else _ref(old_book),
        new=pairs[0][2].pack if pairs else _ref(new_book),
        screened_on=on,
        settings=setting_changes(old_book, new_book),
        companies=companies,
        verdict_changes=[c.file for c in changed],
        biggest_moves=[c.file for c in moved[:top]],
    )


def _ref(book: Rulebook) -> PackRef:
    return PackRef(name=book.name, version=book.version, hash=book.hash)


def rule_changes(old: Sequence[RuleResult], new: Sequence[RuleResult]) -> list[RuleChange]:
    """Rules that treat this company differently under the two packs (new pack order, then removed ones)."""
    before: Mapping[str, RuleResult] = {r.id: r for r in old}
    after: Mapping[str, RuleResult] = {r.id: r for r in new}
    changes = []
    for rule in new:
        was = before.get(rule.id)
        if was is None:
            if rule.outcome is not Outcome.NOT_EVALUABLE:
                changes.append(
                    RuleChange(
                        id=rule.id,
                        change="added",
                        new_outcome=rule.outcome,
                        new_points=rule.points,
                        new_knockout=rule.knockout,
                    )
                )
            continue
        same = (was.outcome, was.points, was.knockout) == (rule.outcome, rule.points, rule.knockout)
        if not same:
            changes.append(
                RuleChange(
                    id=rule.id,
                    change="changed",
                    old_outcome=was.outcome,
                    new_outcome=rule.outcome,
                    old_points=was.points,
                    new_points=rule.points,
                    old_knockout=was.knockout,
                    new_knockout=rule.knockout,
                )
            )
    for rule in old:
        if rule.id not in after and rule.outcome is not Outcome.NOT_EVALUABLE:
            changes.append(
                RuleChange(
                    id=rule.id,
                    change="removed",
                    old_outcome=rule.outcome,
                    old_points=rule.points,
                    old_knockout=rule.knockout,
                )
            )
    return changes


def setting_changes(old: Rulebook, new: Rulebook) -> list[str]:
    found = []
    for name in ("strong_fit", "review"):
        before, after = getattr(old.spec.thresholds, name), getattr(new.spec.thresholds, name)
        if before != after:
            found.append(f"threshold {name}: {before:g} → {after:g}")
    if old.spec.min_coverage != new.spec.min_coverage:
        found.append(f"min_coverage: {old.spec.min_coverage:g} → {new.spec.min_coverage:g}")
    return found


def diff_files(
    old_pack: Path, new_pack: Path, inputs: Sequence[Path], on: dt.date, rates: Mapping[str, float], top: int = 10
) -> PackDiff:
    """Load both packs and every profile (all problems at once), screen under both, compare."""
    from screener.profile.loading import load_profiles
    from screener.rules.catalogue import union_model
    from screener.rules.rulebook import load_rulebook
    from screener.screening.screener import Screener

    old_book = load_rulebook(old_pack)
    new_book = load_rulebook(new_pack)
    try:
        # A profile may carry the fields either pack declares; each pack reads only its own.
        model = union_model(old_book.schema, new_book.schema)
    except ValueError as exc:
        raise RuleError(str(exc), Location(str(new_book.path))) from None
    profiles = load_profiles(list(inputs), rates, model)
    with Screener(old_book) as old_screener, Screener(new_book) as new_screener:
        pairs = [
            (str(path), old_screener.screen(p, on, explain=False), new_screener.screen(p, on, explain=False))
            for path, p in zip(inputs, profiles, strict=True)
        ]
    return diff_results(old_book, new_book, pairs, on, top)
