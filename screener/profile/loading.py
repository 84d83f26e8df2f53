"""Loading several profiles at once: every file validated, every problem of every file reported together.

What both the single screen (:mod:`screener.jobs.screen`) and memo drafting need before anything
is scored: the profiles, and the plausibility warnings of each located in its file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from screener.errors import Location, Problem, ProfileError, ScreenerError
from screener.profile import plausibility
from screener.profile.model import Profile, company_key, validate_profile
from screener.profile.stdin import NAME, is_stdin, load_source


def load_profiles(paths: list[Path], rates: Mapping[str, float], model: type[Profile] | None = None) -> list[Profile]:
    """Load every profile, raising one error that lists the problems of all invalid ones.

    ``model``: the rule pack's profile model, with the fields it declares (default the built-in one).
    """
    return [profile for profile, _ in load_checked(paths, rates, None, model=model)]


def load_checked(
    paths: list[Path],
    rates: Mapping[str, float],
    on: dt.date | None,
    *,
    model: type[Profile] | None = None,
    strict: bool = False,
) -> list[tuple[Profile, list[Problem]]]:
    """Load every profile (against ``model``) with its plausibility warnings as of ``on`` (none when None), located.

    Raises one error listing the problems of all invalid profiles; with ``strict``, the warnings
    of all profiles are errors too. ``-`` is standard input, which can be read once.
    """
    loaded, problems = [], []
    if sum(is_stdin(p) for p in paths) > 1:
        raise ProfileError("standard input can be read once; give '-' once", Location(NAME))
    for path in paths:
        try:
            doc = load_source(path)
            profile = validate_profile(doc, rates, model)
        except ScreenerError as exc:
            problems.extend(exc.problems)
            continue
        warnings = plausibility.located(plausibility.check(profile, on), doc) if on is not None else []
        loaded.append((profile, warnings))
    if problems:
        raise ProfileError(problems)
    if strict and any(warnings for _, warnings in loaded):
        raise ProfileError(plausibility.as_errors([w for _, warnings in loaded for w in warnings]))
    return loaded


def refuse_repeated_companies(paths: list[Path], profiles: list[Profile]) -> None:
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
