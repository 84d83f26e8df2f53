"""Loading several profiles at once: every file validated, every problem of every file reported together.

What both the single screen (:mod:`screener.jobs.screen`) and memo drafting need before anything
is scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from screener.errors import Location, Problem, ProfileError, ScreenerError
from screener.profile.model import Profile, company_key, load_profile


def load_profiles(paths: list[Path], rates: Mapping[str, float], model: type[Profile] | None = None) -> list[Profile]:
    """Load every profile, raising one error that lists the problems of all invalid ones.

    ``model``: the rule pack's profile model, with the fields it declares (default the built-in one).
    """
    profiles, problems = [], []
    for path in paths:
        try:
            profiles.append(load_profile(path, rates, model))
        except ScreenerError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ProfileError(problems)
    return profiles


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
