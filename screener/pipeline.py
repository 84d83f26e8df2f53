"""The single-company job behind ``screen PROFILE...``: validate all, screen, then write.

Nothing is written unless every input is valid and every memo renders: profiles are
validated first (all problems reported at once), results and memo texts are computed in
memory, the memo folder is checked, the database rows are saved in one transaction, and only
then are memo files written, each atomically.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from screener.errors import ConfigError, Location, Problem, ProfileError, ScreenerError
from screener.files import atomic_write_text, safe_child
from screener.memo import MemoContext, MemoRenderer
from screener.profile import Profile, company_key, load_profile
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
    _refuse_repeated_companies(request.profiles, profiles)
    renderer = MemoRenderer(request.templates, request.template) if request.memos is not None else None
    with Screener(rulebook) as screener:
        evaluations = [screener.evaluate(profile, request.on) for profile in profiles]
        results = [screener.result(evaluation) for evaluation in evaluations]
    texts = []
    if renderer is not None:
        for evaluation, result in zip(evaluations, results, strict=True):
            context = MemoContext.build(result, evaluation.profile, evaluation.derived.model_dump(mode="json"))
            texts.append(renderer.render(context))
    paths = _memo_paths(renderer, request.memos, results) if renderer and request.memos else []
    database = None
    if request.database is not None:
        from screener import store

        engine = store.connect(request.database or None)
        try:
            store.save(engine, [(r, p.model_dump(mode="json")) for r, p in zip(results, profiles, strict=True)])
        finally:
            engine.dispose()
        database = store.safe_url(str(engine.url))
    for path, text in zip(paths, texts, strict=True):
        atomic_write_text(path, text)
    return ScreenOutcome(rulebook, results, paths, database)


def _refuse_repeated_companies(paths: list[Path], profiles: list[Profile]) -> None:
    """Two files describing one company would race for one database row: say so instead."""
    seen: dict[str, Path] = {}
    problems = []
    for path, profile in zip(paths, profiles, strict=True):
        key = company_key(profile.name, profile.website)
        if key in seen:
            message = f"the same company ({key}) as {seen[key]}; screen one of them, or use 'screen batch'"
            problems.append(Problem(message, Location(str(path))))
        seen.setdefault(key, path)
    if problems:
        raise ProfileError(problems)


def _memo_paths(renderer: MemoRenderer, folder: Path, results: list[ScreeningResult]) -> list[Path]:
    """Where each memo goes, checked before anything is written: the folder exists and is writable."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the memo folder: {exc.strerror or exc}", Location(str(folder))) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError("the memo folder is not writable", Location(str(folder)))
    paths: list[Path] = []
    for result in results:
        number = 1
        path = safe_child(folder, result.company.name, renderer.suffix)
        while path in paths:  # two companies whose names slugify alike
            number += 1
            path = safe_child(folder, result.company.name, renderer.suffix, number)
        paths.append(path)
    return paths
