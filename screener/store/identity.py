"""What makes two stored screenings the same: company, pack content, profile content, outcome.

A row of ``screening`` is one distinct screening of a company. It is identified by

- the company key (website domain, or normalised name);
- the **pack hash**: the content the verdict was computed with (:mod:`screener.rules.identity`);
- the **profile hash**: sha256 of the profile snapshot's JSON as Screener writes it (the
  validated profile, fields in the model's order: ``orjson.dumps(profile.model_dump(mode="json"))``
  and pydantic's own ``to_json`` give the same bytes, which ``tests/test_stored.py`` holds), so the
  same facts hash alike however they arrived (a YAML file, a JSON Lines record, a CSV row);
- the **outcome hash**: sha256 of what the screen decided (score, verdict, coverage, knockouts, the
  matched rules, the data warnings (some depend on the screening date), and of the details
  everything but the rendered text: points, per-category figures, the rules that could not be
  evaluated and what they miss, and whatever else a later release adds to the details).
  Rationales, questions (and their stakes) and notes are explanations and are left out; so is the
  score range, which the pack and the outcome decide.

Screening the same facts with the same pack again gives the same four values whatever the
screening date, unless the date changed the outcome (a company ageing past a rule's threshold),
so re-running unchanged input adds no row (the row records the latest such screening), while new
facts, a new pack or a new outcome add one: ``history`` is a history. The unique index on the four
also answers "was this record already screened with this pack?" in one lookup.

A migration that changes what the details hold must recompute ``outcome_hash`` with
:func:`outcome_hash` for every row, or re-screening unchanged input would add a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

#: Keys of the details that explain the outcome rather than make it.
EXPLANATIONS = frozenset({"explained", "questions", "stakes", "notes"})


def profile_hash(snapshot: bytes | Mapping[str, Any]) -> str:
    """sha256 of a profile snapshot: its JSON as stored, or the JSON-ready data it is written from."""
    return hashlib.sha256(snapshot if isinstance(snapshot, bytes) else orjson.dumps(snapshot)).hexdigest()


def outcome_hash(
    score: float,
    verdict: str,
    coverage: float,
    knockouts: Sequence[str],
    matched: Sequence[str],
    details: Mapping[str, Any],
    warnings: bytes | Sequence[Any],
) -> str:
    """sha256 of what a screening decided (see the module docstring).

    ``details`` as :func:`packing.details`; ``warnings`` the result's data warnings, as JSON or JSON-ready data.
    """
    judged = {key: value for key, value in details.items() if key not in EXPLANATIONS}
    said = orjson.Fragment(warnings) if isinstance(warnings, bytes) else warnings
    return hashlib.sha256(orjson.dumps([score, verdict, coverage, knockouts, matched, judged, said])).hexdigest()
