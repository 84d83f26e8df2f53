"""Every ranked view orders by verdict, knockouts last within pass, then score, then coverage (issue 12)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from screener import store
from screener.analysis.backtest.metrics import measure
from screener.analysis.backtest.models import Case
from screener.analysis.diff import diff_results
from screener.cli.batch import batch_command, list_command
from screener.profile.model import Profile
from screener.rules.rulebook import load_rulebook
from screener.screening.ranking import rank_key
from screener.screening.result import Verdict
from screener.screening.screener import Screener
from tests.conftest import ON

PACK = """
name: ranking
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
min_coverage: 0.5
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: lean}
  - {id: big, title: Big, category: team, points: -5, when: team.size > 100, rationale: big}
  - {id: open, title: Open, category: model, points: 10, when: model.open_weights, rationale: open}
  - {id: wrapper, title: Wrapper, category: model, knockout: true, when: model.approach == "api-wrapper",
     rationale: wrapper}
  - {id: usage, title: Usage, category: economics, points: 5, when: traction.pricing == "usage", rationale: usage}
  - {id: margin, title: Margin, category: economics, points: 20, when: traction.gross_margin >= "60%",
     rationale: margin}
"""

FULL = {"approach": "fine-tune"}
#: name → profile fields; the names say what the screen makes of them.
COMPANIES = {
    "Knocked Out": {"team": {"size": 5}, "model": {"open_weights": True, "approach": "api-wrapper"},
                    "traction": {"pricing": "usage", "gross_margin": 0.7}},  # 100 points' worth, but a knockout
    "Thin": {"traction": {"pricing": "usage"}},  # 100 on 7% coverage: review
    "Weak": {"team": {"size": 500}, "model": {"open_weights": False, **FULL},
             "traction": {"pricing": "seat", "gross_margin": 0.1}},  # 0: pass
    "Middling": {"team": {"size": 50}, "model": {"open_weights": True, **FULL},
                 "traction": {"pricing": "seat", "gross_margin": 0.1}},  # 30: pass, no knockout
    "Good": {"team": {"size": 50}, "model": {"open_weights": True, **FULL},
             "traction": {"pricing": "usage", "gross_margin": 0.7}},  # 40 of 45 points: strong fit
    "Best": {"team": {"size": 5}, "model": {"open_weights": True, **FULL},
             "traction": {"pricing": "usage", "gross_margin": 0.7}},  # everything: strong fit at 100
    "Good, less known": {"team": {"size": 50}, "model": {"open_weights": True},
                         "traction": {"pricing": "usage", "gross_margin": 0.7}},  # as Good, less coverage
}  # fmt: skip
RANKED = ["Best", "Good", "Good, less known", "Thin", "Middling", "Weak", "Knocked Out"]


@pytest.fixture
def pack(write):
    return load_rulebook(write("ranking.yaml", PACK))


@pytest.fixture
def results(pack):
    with Screener(pack) as screener:
        return {name: screener.screen(Profile.model_validate({"name": name, **data}), ON) for name, data in
                COMPANIES.items()}  # fmt: skip


def test_the_companies_are_what_their_names_say(results) -> None:
    seen = {name: (r.verdict.value, r.score, r.coverage, r.knockouts) for name, r in results.items()}
    assert seen["Knocked Out"] == ("pass", 100.0, 1.0, ["wrapper"])
    assert seen["Thin"][:2] == ("review", 100.0) and seen["Thin"][2] < 0.5
    assert seen["Best"][:2] == ("strong-fit", 100.0) and seen["Weak"][:2] == ("pass", 0.0)
    assert seen["Good"][0] == seen["Good, less known"][0] == "strong-fit"
    assert seen["Good"][1] == seen["Good, less known"][1] and seen["Good"][2] > seen["Good, less known"][2]
    assert seen["Middling"][0] == "pass" and seen["Weak"][1] < seen["Middling"][1] < seen["Knocked Out"][1]
    # By score alone, the knocked-out and the thin company would lead.
    by_score = sorted(results, key=lambda n: -results[n].score)
    assert by_score[:3] == ["Knocked Out", "Thin", "Best"]


def test_rank_key_orders_verdict_knockouts_score_coverage(results) -> None:
    ranked = sorted(results, key=lambda n: rank_key(results[n].verdict, bool(results[n].knockouts),
                                                    results[n].score, results[n].coverage))  # fmt: skip
    assert ranked == RANKED
    assert rank_key(Verdict.PASS, False, 1.0, 0.1) < rank_key("pass", True, 99.0, 1.0)


def test_list_ranks_stored_screenings_the_same_way(db_url, pack, results) -> None:
    engine = store.connect(db_url)
    try:
        store.save(engine, pack, [(r, {"name": name}) for name, r in reversed(list(results.items()))])
        assert [s.company_name for s in store.summaries(engine)] == RANKED
        assert [s.company_name for s in store.latest(engine)] == RANKED
        assert [s.company_name for s in store.summaries(engine, verdict="pass", top=2)] == ["Middling", "Weak"]
    finally:
        engine.dispose()
    listed = CliRunner().invoke(list_command, ["--db", db_url, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [row["company"] for row in json.loads(listed.stdout)] == RANKED


def test_the_batch_ranked_file_ranks_the_same_way(tmp_path, write) -> None:
    pack = write("ranking.yaml", PACK)
    deals = tmp_path / "deals.jsonl"
    deals.write_text("".join(json.dumps({"name": n, **d}) + "\n" for n, d in COMPANIES.items()), encoding="utf-8")
    out = tmp_path / "ranked.jsonl"
    result = CliRunner().invoke(
        batch_command, [str(deals), "--rules", str(pack), "--no-db", "--out", str(out), "--on", ON.isoformat()]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["name"] for r in rows] == RANKED
    assert [r["rank"] for r in rows] == list(range(1, len(RANKED) + 1))


def test_diff_lists_verdict_changes_in_the_new_packs_ranking(write, pack, results) -> None:
    # Under a pack without the knockout that needs a fact no profile gives, every company is review:
    # all but Thin change verdict.
    founded = "  - {id: old, title: Old, category: team, points: 1, when: founded <= 2000, rationale: old}\n"
    knockout = PACK[PACK.index("  - {id: wrapper") : PACK.index("  - {id: usage")]
    vague = load_rulebook(write("vague.yaml", PACK.replace("version: 1.0.0", "version: 0.9.0").replace(
        "min_coverage: 0.5", "min_coverage: 1.0").replace(knockout, "") + founded))  # fmt: skip
    with Screener(vague) as old:
        pairs = [(name, old.screen(Profile.model_validate({"name": name, **COMPANIES[name]}), ON), result)
                 for name, result in results.items()]  # fmt: skip
    diff = diff_results(vague, pack, pairs, ON)
    changed = [name for name in RANKED if name != "Thin"]  # Thin stays review
    assert diff.verdict_changes == changed
    assert [c.file for c in diff.companies] == list(COMPANIES)  # every company, in input order


def test_backtest_precision_at_k_ranks_knockouts_and_thin_profiles_below_fits(results) -> None:
    def case(name: str, label: bool) -> Case:
        r = results[name]
        return Case(r.score, r.verdict, label, {x.id: x.outcome for x in r.rules}, r.coverage, bool(r.knockouts))

    cases = [case("Knocked Out", False), case("Thin", False), case("Good", True), case("Weak", False)]
    report = measure("ranking", "1.0.0", [], cases, ks=(1,), resamples=0)
    assert report.precision_at_k[0].precision.value == 1.0  # by score alone, the knockout: 0.0
