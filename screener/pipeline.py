"""The single-company job behind ``screen PROFILE...``: validate all, screen, then write.

Nothing is written unless every input is valid and every memo renders: profiles are
validated first (all problems reported at once), results and memo texts are computed in
memory, the database rows are saved in one transaction, and only then are memo files written,
each atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from screener.derived import derive
from screener.errors import ProfileError, ScreenerError
from screener.memo import MemoContext, MemoRenderer
from screener.profile import Profile, load_profile
from screener.result import ScreeningResult
from screener.rulebook import Rulebook, load_rulebook
from screener.screening import Screener


@dataclass
class ScreenRequest:
    profiles: list[Path]
    on: dt.date
    rules: Path | None = None
    rates: Mapping[str, float] = field(default_factory=dict)
    templates: Path | None = None
    template: str = "memo.md.j2"
    memos: Path | None = None  #: None: write no memos
    database: str | None = None  #: None: do not record; "": the default database


@dataclass
class ScreenOutcome:
    rulebook: Rulebook
    results: list[ScreeningResult]
    memos: list[Path]
    database: str | None


def load_profiles(paths: list[Path], rates: Mapping[str, float]) -> list[Profile]:
    """Load every profile, raising one error that lists the problems of all invalid ones."""
    profiles, problems = [], []
    for path in paths:
        try:
            profiles.append(load_profile(path, rates))
        except ScreenerError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ProfileError(problems)
    return profiles


def screen_files(request: ScreenRequest) -> ScreenOutcome:
    rulebook = load_rulebook(request.rules)
    profiles = load_profiles(request.profiles, request.rates)
    renderer = MemoRenderer(request.templates, request.template) if request.memos is not None else None
    with Screener(rulebook) as screener:
        results = [screener.screen(profile, request.on) for profile in profiles]
    texts = []
    if renderer is not None:
        for profile, result in zip(profiles, results, strict=True):
            derived = derive(profile, request.on).model_dump(mode="json")
            texts.append(renderer.render(MemoContext.build(result, profile, derived)))
    database = None
    if request.database is not None:
        from screener import store

        engine = store.connect(request.database or None)
        try:
            store.save(engine, [(r, p.model_dump(mode="json")) for r, p in zip(results, profiles, strict=True)])
        finally:
            engine.dispose()
        database = store.safe_url(str(engine.url))
    memos = _write_memos(renderer, request.memos, results, texts) if renderer and request.memos else []
    return ScreenOutcome(rulebook, results, memos, database)


def _write_memos(renderer: MemoRenderer, folder: Path, results: list[ScreeningResult], texts: list[str]) -> list[Path]:
    from screener.files import atomic_write_text, safe_child

    suffix = ".html" if ".html" in (renderer.template.name or "") else ".md"
    written: list[Path] = []
    for result, text in zip(results, texts, strict=True):
        path = safe_child(folder, result.company.name, suffix)
        number = 2
        while path in written:  # two companies whose names slugify alike
            path = safe_child(folder, f"{result.company.name}-{number}", suffix)
            number += 1
        atomic_write_text(path, text)
        written.append(path)
    return written
