"""The job behind ``screen memo`` (and the memos of ``screen PROFILE``): render, check, write.

Memos are prepared first: every memo is rendered in memory, then the memo folder and the files
about to be replaced are checked (a memo edited since it was generated is not overwritten
without ``force``). Only then is anything written. From the database, the stored result is
rendered as it was, without re-scoring. Comparables come from the screening database when there
is one; drafting never writes to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from screener.errors import Location, NotFoundError, ScreenerError, StoreError
from screener.memo import comparables, files
from screener.memo.context import MemoContext
from screener.memo.render import MemoRenderer
from screener.profile.loading import load_profiles, refuse_repeated_companies
from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook
from screener.screening.result import ScreeningResult


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
class Prepared:
    """A memo rendered and checked, ready to write."""

    path: Path
    text: str
    result: ScreeningResult
    comparables: int | None  #: None: not looked up


def prepare(
    screened: Sequence[tuple[ScreeningResult, Profile]],
    renderer: MemoRenderer,
    folder: Path,
    *,
    database: str | None,
    description: str | None,
    force: bool,
) -> list[Prepared]:
    """Render the memo of each screened company and decide its file; nothing is written yet.

    Raises before anything is written if a template fails or a memo would replace a file the
    user edited (unless ``force``).
    """
    from screener.profile.derived import derive

    pack = screened[0][0].pack.name if screened else ""  # one run screens with one pack
    peers = comparables.for_each(database, pack, list(screened))
    texts, counts = [], []
    for (result, profile), found in zip(screened, peers, strict=True):
        derived = derive(profile, result.screened_on).model_dump(mode="json")
        context = MemoContext.build(result, profile, derived, comparables=found, description=description)
        texts.append(renderer.render(context))
        counts.append(None if found is None else len(found))
    paths = files.plan(folder, [(r.company.name, r.company.key) for r, _ in screened], renderer.suffix)
    files.refuse_edited(paths, force=force)
    return [
        Prepared(path, text, result, count)
        for path, text, (result, _), count in zip(paths, texts, screened, counts, strict=True)
    ]


def commit(prepared: Sequence[Prepared]) -> None:
    """Write prepared memos, each atomically and stamped."""
    for memo in prepared:
        files.write(memo.path, memo.text, memo.result.company.key)


def from_profiles(request: DraftRequest, paths: Sequence[Path]) -> list[Prepared]:
    """Screen each profile and write its memo."""
    from screener.screening.screener import Screener

    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    rulebook = load_rulebook(request.rules)
    profiles = load_profiles(list(paths), request.rates)
    refuse_repeated_companies(list(paths), profiles)
    with Screener(rulebook) as screener:
        results = [screener.screen(profile, request.on) for profile in profiles]
    prepared = prepare(
        list(zip(results, profiles, strict=True)),
        renderer,
        request.out,
        database=request.database,
        description=rulebook.spec.description or None,
        force=request.force,
    )
    commit(prepared)
    return prepared


def from_database(request: DraftRequest, company: str, pack: str | None = None) -> Prepared:
    """Render the newest stored screening of ``company`` (under ``pack``, if given) as it was."""
    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    result, profile = _stored(request.database, company, pack)
    prepared = prepare(
        [(result, profile)],
        renderer,
        request.out,
        database=request.database,
        description=_description(request.rules, result.pack.name),
        force=request.force,
    )
    commit(prepared)
    return prepared[0]


def _stored(database: str | None, company: str, pack: str | None) -> tuple[ScreeningResult, Profile]:
    from screener import store

    engine = store.connect_existing(database or None)
    if engine is None:
        where = store.normalise_url(database or store.default_url())
        raise NotFoundError("no screening database here yet (screen a company first)", Location(where))
    where = store.safe_url(str(engine.url))
    try:
        rows = [r for r in store.history(engine, company) if pack is None or r.pack_name == pack]
    finally:
        engine.dispose()
    if not rows:
        under = f" under pack {pack!r}" if pack else ""
        raise NotFoundError(f"no stored screening of {company!r}{under} (see 'screen list')", Location(where))
    keys = sorted({r.company_key for r in rows})
    if len(keys) > 1:
        raise NotFoundError(
            f"{company!r} names {len(keys)} companies ({', '.join(keys)}); give the website or key instead",
            Location("--from-db"),
        )
    row = rows[0]
    try:
        return ScreeningResult.model_validate(row.result), Profile.model_validate(row.profile)
    except ValidationError as exc:
        raise StoreError(
            f"the stored screening of {row.company_name!r} (id {row.id}) cannot be read back: "
            f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}",
            Location(where),
        ) from None


def _description(rules: Path | None, pack_name: str) -> str | None:
    """The thesis sentence of the pack the screening used, when that pack is at hand."""
    try:
        rulebook = load_rulebook(rules)
    except ScreenerError:
        return None
    return (rulebook.spec.description or None) if rulebook.name == pack_name else None
