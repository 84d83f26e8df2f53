"""``screen verify``: every stored screening computed again from the database alone, and compared.

The database keeps, per screening, the profile snapshot it was computed from, the screening date
and the pack's content hash, and per pack hash its full content. So each stored verdict can be
derived again without any file: the pack is compiled from its stored content (its hash checked),
the profile validated from its snapshot (its hash checked), and the company screened as of the
stored date, with the rationales the stored screening has (a batch stores none). The result must
equal the stored one exactly: score, verdict, every rule's outcome, the open questions, the text.

A screening whose pack content the database does not hold (stored before migration 0004 with a
pack not screened with since) cannot be checked; it is reported as such, not as a difference.
Nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from screener import store
from screener.errors import ScreenerError, StoreError
from screener.rules.identity import dev_label
from screener.screening.screener import Screener
from screener.store import packing
from screener.store.identity import outcome_hash, profile_hash


@dataclass(frozen=True)
class Finding:
    """A stored screening that differs from what its profile and pack give, or that cannot be checked."""

    id: int
    company: str
    key: str
    pack: str  #: name and version label
    pack_hash: str
    screened_on: str
    problems: list[str]  #: what differs, or why it cannot be checked

    def describe(self) -> str:
        return (
            f"screening {self.id} ({self.company}, {self.key}) under {self.pack} ({self.pack_hash[:12]}) on "
            f"{self.screened_on}: {'; '.join(self.problems)}"
        )


@dataclass
class Verification:
    checked: int = 0  #: screenings computed again
    agreed: int = 0
    differ: list[Finding] = field(default_factory=list)
    unverifiable: list[Finding] = field(default_factory=list)  #: the pack's content is not stored
    database: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "checked": self.checked,
            "agreed": self.agreed,
            "differ": [f.__dict__ for f in self.differ],
            "unverifiable": [f.__dict__ for f in self.unverifiable],
        }


def verify(database: str | None, company: str | None = None) -> Verification:
    """Compute every stored screening (of ``company``, when given) again and compare; see the module docstring."""
    engine = store.open_existing(database or None)  # creates nothing; none there is not found (exit 8)
    report = Verification(database=store.safe_url(str(engine.url)))
    packs = _Packs(engine)
    try:
        if company is not None:  # as history finds it: not found, with the closest stored name
            company = store.company_history(engine, company).rows[0].company_key
        for page in store.pages(engine, company=company):
            for row in page:
                _check(row, packs, report)
    finally:
        packs.close()
        engine.dispose()
    return report


@dataclass(frozen=True)
class _Unusable:
    """Why a stored pack cannot screen again; ``known`` False: its content was never stored."""

    why: str
    known: bool = True


class _Packs:
    """Each stored pack compiled once, by hash: a screener, or why there is none."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.screeners: dict[str, Screener | _Unusable] = {}

    def get(self, pack_hash: str) -> Screener | _Unusable:
        if pack_hash not in self.screeners:
            self.screeners[pack_hash] = self._compile(pack_hash)
        return self.screeners[pack_hash]

    def _compile(self, pack_hash: str) -> Screener | _Unusable:
        try:
            book = store.stored_rulebook(self.engine, pack_hash)
        except StoreError as exc:
            return _Unusable(exc.problems[0].message)
        except ScreenerError as exc:
            return _Unusable(f"the stored pack no longer compiles: {exc.problems[0]}")
        if book is None:
            return _Unusable(
                "the pack's content is not stored (screened before migration 0004, and not with this pack since)",
                known=False,
            )
        return Screener(book)

    def close(self) -> None:
        for screener in self.screeners.values():
            if isinstance(screener, Screener):
                screener.close()


def _check(row: Any, packs: _Packs, report: Verification) -> None:
    def finding(problems: list[str]) -> Finding:
        return Finding(row.id, row.company_name, row.company_key, f"{row.pack_name} {row.pack_version}",
                       row.pack_hash, row.screened_on.isoformat(), problems)  # fmt: skip

    screener = packs.get(row.pack_hash)
    if isinstance(screener, _Unusable):
        (report.differ if screener.known else report.unverifiable).append(finding([screener.why]))
        return
    report.checked += 1
    problems = list(_differences(row, screener))
    stored = row.result
    matched = [r["id"] for r in stored["rules"] if r["outcome"] == "matched"]
    if profile_hash(row.profile) != row.profile_hash:
        problems.append("the profile snapshot does not match its hash")
    details = packing.details(stored)
    decided = outcome_hash(row.score, row.verdict, row.coverage, row.knockouts, matched, details, row.warnings)
    if decided != row.outcome_hash:
        problems.append("the stored outcome does not match its hash")
    if problems:
        report.differ.append(finding(problems))
    else:
        report.agreed += 1


def _differences(row: Any, screener: Screener) -> Iterator[str]:
    """What differs between the stored result and the one computed again, in words."""
    book = screener.rulebook
    if row.pack_version not in (book.spec.version, dev_label(book.spec.version, book.hash)):
        yield f"its pack version {row.pack_version!r} is not the stored pack's ({book.spec.version})"
    try:
        profile = book.schema.profile_model.model_validate(row.profile)
    except ValidationError as exc:
        yield f"the stored profile no longer validates: {exc.errors()[0]['msg']}"
        return
    try:
        again = screener.screen(profile, row.screened_on, explain=bool(row.details.get("explained")))
    except ScreenerError as exc:
        yield f"it cannot be screened again: {exc.problems[0]}"
        return
    computed = again.model_dump(mode="json")
    computed["pack"]["version"] = row.pack_version  # the label it was stored under, checked above
    stored = row.result
    for name in ("score", "verdict", "coverage"):
        if stored[name] != computed[name]:
            yield f"{name} {stored[name]} stored, {computed[name]} computed"
    rules = {r["id"]: r for r in computed["rules"]}
    moved = [r["id"] for r in stored["rules"] if rules.get(r["id"], {}).get("outcome") != r["outcome"]]
    if moved:
        yield f"rules whose outcome differs: {', '.join(moved)}"
    said = {"score", "verdict", "coverage", *(["rules"] if moved else [])}
    rest = [k for k in computed if k not in said and stored.get(k) != computed[k]]
    if rest:
        yield f"the stored result differs in {', '.join(rest)}"
