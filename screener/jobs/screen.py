"""The single-company job behind ``screen PROFILE...``: validate all, screen, then write.

Nothing is written unless every input is valid, every memo renders and can be written:
profiles are validated first (all problems reported at once; with ``strict``, plausibility
warnings too), results and memo texts are computed in memory, the memo folder is checked (an
edited memo is not replaced without ``force``), every memo is written to a temporary file
beside its target and flushed to disk, the database rows are saved in one transaction, and
only then are the memo files renamed into place (or, if saving failed, removed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.errors import Problem
from screener.memo import MemoRenderer
from screener.profile.loading import load_checked, refuse_repeated_companies
from screener.profile.model import Profile
from screener.rules.rulebook import Rulebook, load_rulebook
from screener.screening.result import ScreeningResult
from screener.screening.screener import Screener


@dataclass
class ScreenRequest:
    profiles: list[Path]
    on: dt.date
    rules: Path | None = None
    rates: Mapping[str, float] = field(default_factory=dict)
    templates: Path | None = None
    template: str = "memo"  #: a template name (memo, summary, pass-note) or file (memo.html.j2)
    memos: Path | None = None  #: None: write no memos
    database: str | None = None  #: None: do not record; "": the default database
    force: bool = False  #: replace memos edited since they were generated
    strict: bool = False  #: plausibility warnings are errors: nothing is screened or written


@dataclass
class ScreenOutcome:
    rulebook: Rulebook
    results: list[ScreeningResult]
    memos: list[Path]
    database: str | None
    warnings: list[list[Problem]] = field(default_factory=list)  #: per result: its data warnings, located
    #: About the pack: screened as a development version (``rules.identity``)
    pack_warnings: list[Problem] = field(default_factory=list)


def screen_files(request: ScreenRequest) -> ScreenOutcome:
    rulebook = load_rulebook(request.rules)
    checked = load_checked(
        request.profiles, request.rates, request.on, model=rulebook.schema.profile_model, strict=request.strict
    )
    profiles = [profile for profile, _ in checked]
    refuse_repeated_companies(request.profiles, profiles)
    renderer = MemoRenderer(request.templates, request.template) if request.memos is not None else None
    engine = None
    if request.database is not None:
        from screener import store

        engine = store.connect(request.database or None)
    try:
        outcome = _screen(request, rulebook, profiles, renderer, engine)
    finally:
        if engine is not None:
            engine.dispose()
    outcome.warnings = [w for _, w in checked]
    return outcome


def _screen(
    request: ScreenRequest, rulebook: Rulebook, profiles: list[Profile], renderer: MemoRenderer | None, engine: Any
) -> ScreenOutcome:
    if engine is not None:
        from screener import store

        # The database binds a version no lock file names to the content first stored under it.
        rulebook = store.released(engine, rulebook)
    with Screener(rulebook) as screener:
        results = [screener.screen(profile, request.on) for profile in profiles]
    memos = []
    if renderer is not None and request.memos is not None:
        from screener.memo import draft

        memos = draft.prepare(
            list(zip(results, profiles, strict=True)),
            renderer,
            request.memos,
            database=request.database,
            description=rulebook.spec.description or None,
            force=request.force,
            schema=rulebook.schema,
        )
    staged = []
    if memos:
        from screener.memo import draft

        # Written (and flushed to disk) before the database commits, renamed into place after: a
        # full disk or an unwritable folder fails before anything is saved.
        staged = draft.stage(memos)
    database = None
    try:
        if engine is not None:
            from screener import store

            store.save(
                engine, rulebook, [(r, p.model_dump(mode="json")) for r, p in zip(results, profiles, strict=True)]
            )
            database = store.safe_url(str(engine.url))
    except BaseException:
        for memo in staged:
            memo.discard()
        raise
    for memo in staged:
        memo.commit()
    warning = rulebook.dev_warning()
    return ScreenOutcome(rulebook, results, [m.path for m in memos], database, [], [warning] if warning else [])
