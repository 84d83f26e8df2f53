"""The job behind ``screen memo``: memo drafts from profiles, or from stored screenings.

From profiles, every profile is validated and screened first and every memo rendered in
memory; then the memo folder and the files about to be replaced are checked (a memo edited
since it was generated is not overwritten without ``force``), and only then is anything
written. From the database, the stored result is rendered as it was, without re-scoring.
Comparables come from the screening database when there is one; drafting never writes to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from screener.errors import Location, NotFoundError, StoreError
from screener.memo import comparables, files
from screener.memo.context import MemoContext
from screener.memo.render import MemoRenderer
from screener.profile import Profile
from screener.result import ScreeningResult
from screener.rulebook import Rulebook, load_rulebook


@dataclass
class DraftRequest:
    out: Path  #: the memo folder
    template: str = "memo"
    output_format: str | None = None  #: md or html; None: the template file's own, else md
    templates: Path | None = None
    rules: Path | None = None
    on: dt.date = field(default_factory=dt.date.today)
    rates: Mapping[str, float] = field(default_factory=dict)
    database: str | None = ""  #: None: no database (no comparables); "": the default one, if it exists
    force: bool = False


@dataclass(frozen=True)
class Draft:
    path: Path
    result: ScreeningResult
    comparables: int | None  #: None: not looked up


def from_profiles(request: DraftRequest, paths: Sequence[Path]) -> list[Draft]:
    """Screen each profile and write its memo."""
    from screener.derived import derive
    from screener.pipeline import load_profiles, refuse_repeated_companies
    from screener.screening import Screener

    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    rulebook = load_rulebook(request.rules)
    profiles = load_profiles(list(paths), request.rates)
    refuse_repeated_companies(list(paths), profiles)
    with Screener(rulebook) as screener:
        results = [screener.screen(profile, request.on) for profile in profiles]
    peers = comparables.for_each(request.database, rulebook.name, list(zip(results, profiles, strict=True)))
    contexts = [
        MemoContext.build(
            result,
            profile,
            derive(profile, request.on).model_dump(mode="json"),
            comparables=found,
            description=rulebook.spec.description or None,
        )
        for result, profile, found in zip(results, profiles, peers, strict=True)
    ]
    return _write(request, renderer, contexts, results)


def from_database(request: DraftRequest, company: str, pack: str | None = None) -> Draft:
    """Render the newest stored screening of ``company`` (under ``pack``, if given) as it was."""
    from screener import store
    from screener.derived import derive

    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    engine = store.connect_existing(request.database or None)
    if engine is None:
        where = store.normalise_url(request.database or store.default_url())
        raise NotFoundError("no screening database here yet (screen a company first)", Location(where))
    try:
        rows = [r for r in store.history(engine, company) if pack is None or r.pack_name == pack]
        if not rows:
            under = f" under pack {pack!r}" if pack else ""
            where = store.safe_url(str(engine.url))
            raise NotFoundError(f"no stored screening of {company!r}{under} (see 'screen list')", Location(where))
        keys = sorted({r.company_key for r in rows})
        if len(keys) > 1:
            raise NotFoundError(
                f"{company!r} names {len(keys)} companies ({', '.join(keys)}); give the website or key instead",
                Location("--from-db"),
            )
        row = rows[0]
        try:
            result = ScreeningResult.model_validate(row.result)
            profile = Profile.model_validate(row.profile)
        except ValidationError as exc:
            raise StoreError(
                f"the stored screening of {row.company_name!r} (id {row.id}) cannot be read back: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}",
                Location(store.safe_url(str(engine.url))),
            ) from None
        found = comparables.find(engine, profile, result.company.key, result.pack.name)
    finally:
        engine.dispose()
    context = MemoContext.build(
        result,
        profile,
        derive(profile, result.screened_on).model_dump(mode="json"),
        comparables=found,
        description=_description(request.rules, result.pack.name),
    )
    return _write(request, renderer, [context], [result])[0]


def _write(
    request: DraftRequest, renderer: MemoRenderer, contexts: list[MemoContext], results: list[ScreeningResult]
) -> list[Draft]:
    texts = [renderer.render(context) for context in contexts]
    paths = files.plan(request.out, [(r.company.name, r.company.key) for r in results], renderer.suffix)
    files.refuse_edited(paths, force=request.force)
    for path, text, result in zip(paths, texts, results, strict=True):
        files.write(path, text, result.company.key)
    return [
        Draft(path, result, None if context.comparables is None else len(context.comparables))
        for path, result, context in zip(paths, results, contexts, strict=True)
    ]


def _description(rules: Path | None, pack_name: str) -> str | None:
    """The thesis sentence of the pack the screening used, when that pack is at hand."""
    from screener.errors import ScreenerError

    try:
        rulebook: Rulebook = load_rulebook(rules)
    except ScreenerError:
        return None
    return (rulebook.spec.description or None) if rulebook.name == pack_name else None
