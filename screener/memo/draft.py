"""The job behind ``screen memo`` (and the memos of ``screen PROFILE``): render, check, write.

Memos are prepared first: every memo is rendered in memory, then the memo folder and the files
about to be replaced are checked (a memo edited since it was generated is not overwritten
without ``force``). Only then is anything written. From the database, the stored result is
rendered as it was, without re-scoring. Comparables come from the screening database when there
is one; drafting never writes to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from screener.errors import Location, NotFoundError, Problem, RefusedError, ScreenerError, StoreError
from screener.files import Staged
from screener.memo import comparables, files
from screener.memo.context import MemoContext
from screener.memo.render import MemoRenderer
from screener.profile.loading import load_checked, refuse_repeated_companies
from screener.profile.model import Profile
from screener.rules import catalogue
from screener.rules.catalogue import PackSchema
from screener.rules.rulebook import Rulebook, load_rulebook
from screener.screening.result import ScreeningResult, Verdict

if TYPE_CHECKING:  # the database is imported only by the commands that use it
    from sqlalchemy.engine import Engine


@dataclass
class DraftRequest:
    out: Path | None  #: the memo folder; None: standard output (nothing is written to files)
    template: str = "memo"
    output_format: str | None = None  #: md or html; None: the template file's own, else md
    templates: Path | None = None
    rules: Path | None = None
    on: dt.date = field(default_factory=dt.date.today)
    rates: Mapping[str, float] = field(default_factory=dict)
    database: str | None = ""  #: None: no database (no comparables); "": the default one, if it exists
    force: bool = False
    strict: bool = False  #: plausibility warnings of the profiles are errors: nothing is drafted


#: The path of a memo that goes to standard output (``--out -``).
STDOUT = Path("-")


@dataclass(frozen=True)
class Prepared:
    """A memo rendered and checked, ready to write."""

    path: Path
    text: str
    result: ScreeningResult
    comparables: int | None  #: None: not looked up
    warnings: list[Problem] = field(default_factory=list)  #: the profile's data warnings, located in its file


def prepare(
    screened: Sequence[tuple[ScreeningResult, Profile]],
    renderer: MemoRenderer,
    folder: Path | None,
    *,
    database: str | None,
    description: str | None,
    force: bool,
    schema: PackSchema | None = None,
) -> list[Prepared]:
    """Render the memo of each screened company and decide its file; nothing is written yet.

    Raises before anything is written if a template fails, a memo would replace a file the
    user edited, or a pass note would decline a strong fit (unless ``force``, for both).
    ``folder`` None: the memos go to standard output, each :data:`STDOUT` as its path.
    """
    if renderer.declines and not force:
        refuse_pass_notes([result for result, _ in screened])
    schema = schema or catalogue.builtin()
    pack = screened[0][0].pack.name if screened else ""  # one run screens with one pack
    peers = comparables.for_each(database, pack, list(screened))
    texts, counts = [], []
    for (result, profile), found in zip(screened, peers, strict=True):
        derived = schema.derive(profile, result.screened_on).model_dump(mode="json")
        context = MemoContext.build(result, profile, derived, comparables=found, description=description, schema=schema)
        texts.append(renderer.render(context))
        counts.append(None if found is None else len(found))
    if folder is None:  # no file to name or to protect
        paths = [STDOUT] * len(texts)
    else:
        paths = files.plan(folder, [(r.company.name, r.company.key) for r, _ in screened], renderer.suffix)
        files.refuse_edited(paths, force=force)
    return [
        Prepared(path, text, result, count)
        for path, text, (result, _), count in zip(paths, texts, screened, counts, strict=True)
    ]


def refuse_pass_notes(results: Sequence[ScreeningResult]) -> None:
    """A pass note declines the company: for a strong fit it is almost surely the wrong template."""
    strong = [r for r in results if r.verdict is Verdict.STRONG_FIT]
    if strong:
        raise RefusedError(
            [
                Problem(
                    f"{r.company.name} is a strong fit ({r.score:.1f}/100): a pass note would decline a company the "
                    "thesis backs; draft another template, or pass --force to draft it anyway",
                    Location("--template"),
                )
                for r in strong
            ]
        )


def commit(prepared: Sequence[Prepared]) -> None:
    """Write prepared memos, each atomically and stamped (those for standard output are the caller's to print)."""
    written = stage(prepared)
    for memo in written:
        memo.commit()


def stage(prepared: Sequence[Prepared]) -> list[Staged]:
    """Write every prepared memo to its temporary file (on disk, flushed), renaming none yet.

    What can fail in writing a memo (a full disk, a folder that cannot be written) fails here,
    before anything is committed; :meth:`~screener.files.Staged.commit` then only renames. If one
    cannot be written, those already staged are discarded.
    """
    staged: list[Staged] = []
    try:
        for memo in prepared:
            if memo.path != STDOUT:
                staged.append(files.stage(memo.path, memo.text, memo.result.company.key))
    except BaseException:
        for done in staged:
            done.discard()
        raise
    return staged


def from_profiles(request: DraftRequest, paths: Sequence[Path]) -> list[Prepared]:
    """Screen each profile and write its memo."""
    from screener.screening.screener import Screener

    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    rulebook = load_rulebook(request.rules)
    checked = load_checked(
        list(paths), request.rates, request.on, model=rulebook.schema.profile_model, strict=request.strict
    )
    profiles = [profile for profile, _ in checked]
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
        schema=rulebook.schema,
    )
    commit(prepared)
    return [dataclasses.replace(memo, warnings=warnings) for memo, (_, warnings) in zip(prepared, checked, strict=True)]


def from_database(request: DraftRequest, company: str, pack: str | None = None) -> Prepared:
    """Render the newest stored screening of ``company`` (under ``pack``, if given) as it was."""
    renderer = MemoRenderer(request.templates, request.template, request.output_format)
    at_hand = _pack_at_hand(request.rules)
    result, profile, book = _stored(request.database, company, pack, at_hand)
    prepared = prepare(
        [(result, profile)],
        renderer,
        request.out,
        database=request.database,
        description=(book.spec.description or None) if book is not None else None,
        force=request.force,
        schema=book.schema if book is not None else catalogue.builtin(),
    )
    commit(prepared)
    return prepared[0]


def _stored(
    database: str | None, company: str, pack: str | None, at_hand: Rulebook | None
) -> tuple[ScreeningResult, Profile, Rulebook | None]:
    """The newest stored screening of ``company``, and the pack that made it when it can be had."""
    from screener import store

    engine = store.open_existing(database or None)
    where = store.safe_url(str(engine.url))
    try:
        rows = store.company_history(engine, company, pack).rows
        keys = sorted({r.company_key for r in rows})
        if len(keys) > 1:
            raise NotFoundError(
                f"{company!r} names {len(keys)} companies ({', '.join(keys)}); give the website or key instead",
                Location("--from-db"),
            )
        row = rows[0]
        book = _pack_of(engine, row.pack_name, row.pack_hash, at_hand)
    finally:
        engine.dispose()
    # The fields a pack declares are read back with that pack's profile model.
    schema = book.schema if book is not None else catalogue.builtin()
    try:
        return ScreeningResult.model_validate(row.result), schema.profile_model.model_validate(row.profile), book
    except ValidationError as exc:
        hint = ""
        if any(e["type"] == "extra_forbidden" for e in exc.errors()):
            hint = f" (it holds fields pack {row.pack_name!r} declares: pass that pack with --rules)"
        raise StoreError(
            f"the stored screening of {row.company_name!r} (id {row.id}) cannot be read back{hint}: "
            f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}",
            Location(where),
        ) from None


def _pack_of(engine: Engine, name: str, pack_hash: str, at_hand: Rulebook | None) -> Rulebook | None:
    """The pack a stored screening was made with: the one at hand when it is that content, else the
    content the database keeps (stored since migration 0004), else the one at hand of that name."""
    from screener import store

    if at_hand is not None and at_hand.hash == pack_hash:
        return at_hand
    try:
        book = store.stored_rulebook(engine, pack_hash)
    except ScreenerError:
        book = None  # a stored pack this release cannot compile: read back with what is at hand
    if book is not None:
        return book
    return at_hand if at_hand is not None and at_hand.name == name else None


def _pack_at_hand(rules: Path | None) -> Rulebook | None:
    """The pack ``--rules`` names (or the default), when it loads: its thesis sentence and fields."""
    try:
        return load_rulebook(rules)
    except ScreenerError:
        return None
