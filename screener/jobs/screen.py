"""The single-company job behind ``screen PROFILE...``: validate all, screen, then write.

Nothing is written unless every input is valid and every memo renders: profiles are
validated first (all problems reported at once; with ``strict``, plausibility warnings too), results and memo texts are computed in
memory, the memo folder is checked (an edited memo is not replaced without ``force``), the
database rows are saved in one transaction, and only then are memo files written, each
atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from screener.errors import Problem
from screener.memo import MemoRenderer
from screener.profile.loading import load_checked, refuse_repeated_companies
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


def screen_files(request: ScreenRequest) -> ScreenOutcome:
    rulebook = load_rulebook(request.rules)
    checked = load_checked(
        request.profiles, request.rates, request.on, model=rulebook.schema.profile_model, strict=request.strict
    )
    profiles = [profile for profile, _ in checked]
    refuse_repeated_companies(request.profiles, profiles)
    renderer = MemoRenderer(request.templates, request.template) if request.memos is not None else None
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
    database = None
    if request.database is not None:
        from screener import store

        engine = store.connect(request.database or None)
        try:
            store.save(engine, [(r, p.model_dump(mode="json")) for r, p in zip(results, profiles, strict=True)])
        finally:
            engine.dispose()
        database = store.safe_url(str(engine.url))
    if memos:
        from screener.memo import draft

        draft.commit(memos)
    return ScreenOutcome(rulebook, results, [m.path for m in memos], database, [w for _, w in checked])
