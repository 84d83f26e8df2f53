"""The batch's stored form equals the typed result's, and joins back into it byte for byte."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from screener.profile.derived import COMPLETENESS_FIELDS, filled, is_present
from screener.profile.model import Profile, load_profile
from screener.rules.rulebook import load_rulebook
from screener.screening.screener import Screener
from screener.store import packing
from screener.store.identity import outcome_hash
from screener.store.stored import StoredResults
from tests.conftest import FIXTURES, ON, examples
from tests.test_invariants import profiles


@pytest.fixture(scope="module")
def stored(screener: Screener) -> StoredResults:
    return StoredResults(screener)


def expected(screener: Screener, profile: Profile) -> dict:
    return screener.result(screener.evaluate(profile, ON), explain=False).model_dump(mode="json")


def check(screener: Screener, stored: StoredResults, profile: Profile) -> None:
    assert filled(profile) == sum(is_present(profile, path) for path in COMPLETENESS_FIELDS)
    got = stored(profile, ON)
    want = expected(screener, profile)
    # Same bytes as the details of the typed result's JSON form: key order and number formats included.
    assert got.details == orjson.dumps(packing.details(want))
    assert stored.pack_rules == packing.pack_rules(want, screener.rulebook.content)
    # The outcome hash is the one a typed result saved one at a time gets (store.identity).
    matched_ids = [r["id"] for r in want["rules"] if r["outcome"] == "matched"]
    typed = outcome_hash(want["score"], want["verdict"], want["coverage"], want["knockouts"], matched_ids,
                         packing.details(want), want["warnings"])  # fmt: skip
    assert got.outcome == typed
    # A batch hashes the profile's own JSON, a single screen its JSON-ready dump: the same bytes.
    assert type(profile).__pydantic_serializer__.to_json(profile) == orjson.dumps(profile.model_dump(mode="json"))
    # And the row a batch writes joins back into the very result, byte for byte.
    row = SimpleNamespace(
        company_key=got.key, company_name=got.name, website=got.website, pack_name=want["pack"]["name"],
        pack_version=want["pack"]["version"], screened_on=ON, score=got.score, verdict=got.verdict.value,
        coverage=got.coverage, knockouts=got.knockouts, matched=got.matched, details=orjson.loads(got.details),
        warnings=orjson.loads(got.warnings), score_worst=got.range.worst, score_best=got.range.best,
        verdict_worst=got.range.worst_verdict.value, verdict_best=got.range.best_verdict.value,
    )  # fmt: skip
    assert got.checks == [w["check"] for w in want["warnings"]]
    assert orjson.dumps(packing.join_row(stored.pack_rules, row)) == orjson.dumps(want)
    assert (got.key, got.score, got.verdict.value, got.coverage, got.knockouts) == (
        want["company"]["key"], want["score"], want["verdict"], want["coverage"], want["knockouts"],
    )  # fmt: skip
    matched = [r for r in want["rules"] if r["outcome"] == "matched"]
    assert got.matched == [r["id"] for r in matched]
    if want["verdict"] == "pass":  # what sank it: knockouts, then the rules that cost most
        against = [r for r in matched if r["knockout"] or r["points"] < 0]
        ordered = sorted(against, key=lambda r: (not r["knockout"], r["points"]))
    else:  # what earned it
        ordered = sorted((r for r in matched if r["points"] > 0), key=lambda r: -r["points"])
    assert got.reasons == [r["title"] for r in ordered][:3]


def test_every_fixture(screener, stored) -> None:
    for path in [*sorted(FIXTURES.glob("*.yaml")), FIXTURES / "tessellate-tax.json"]:
        check(screener, stored, load_profile(path, {"EUR": 1.08}))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profile=profiles)
def test_generated_profiles(screener, stored, profile: Profile) -> None:
    check(screener, stored, profile)


def test_a_knockout_and_a_thin_profile(screener, stored) -> None:
    knocked = Profile.model_validate({"name": "K", "model": {"approach": "api-wrapper", "open_weights": False}})
    thin = Profile.model_validate({"name": "T", "team": {"size": 0}})  # per-head values undefined, size present
    for profile in (knocked, thin):
        check(screener, stored, profile)
    assert stored(knocked, ON).verdict == "pass"


SMALL_PACK = """
name: small
version: 1.0.0
thresholds: {strong_fit: 75, review: 40}
min_coverage: 0.5
rules:
  - {id: small, title: "Small \\"team\\"", category: "team 50%", points: 10, when: team.size <= 10, rationale: "s"}
  - {id: big, title: Big, category: "team 50%", points: -10, when: team.size > 100, rationale: "b"}
  - {id: open, title: Open, category: model, points: 5, when: model.open_weights, rationale: "o"}
  - {id: wrapper, title: Wrapper, category: model, knockout: true, when: model.approach == "api-wrapper", rationale: "w"}
  - {id: lean, title: Lean, category: economics, points: 5, when: derived.arr_per_head >= 100000, rationale: "l"}
"""


@pytest.mark.parametrize(
    "fields",
    [
        {"team": {"size": 5}, "model": {"open_weights": True, "approach": "api-wrapper"}},
        {"team": {"size": 500}, "traction": {"arr": 10_000_000}},
        {"model": {"open_weights": False}},
        {},
    ],
)
def test_another_pack_with_a_knockout_and_awkward_names(write, fields) -> None:
    with Screener(load_rulebook(write("pack.yaml", SMALL_PACK))) as screener:
        check(screener, StoredResults(screener), Profile.model_validate({"name": "T", **fields}))
