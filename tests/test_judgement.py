"""Explanations a partner would sign (issue 12, item 4): each finding reproduced, and what now holds.

The default pack's reasons for a company that trains its own model, one penalty per fact, data
quality apart from the thesis, questions that another field already settles, and pass notes that
are never drafted for a strong fit by mistake.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.errors import ExitCode
from screener.memo import MemoContext, MemoRenderer
from screener.profile.derived import derive
from screener.profile.model import Profile, load_profile
from screener.screening.result import Outcome, ScreeningResult
from screener.screening.screener import Screener
from tests.conftest import FIXTURES, ON

#: The issue's company: it trains its own proprietary model.
OWN_MODEL = {
    "name": "Ownmodel Co",
    "as_of": "2026-09-01",
    "stage": "series-a",
    "team": {"size": 20},
    "funding": {"total_raised": "$12M"},
    "model": {"base": "own", "approach": "pretrain"},
    "compute": {"gpu_dependence": "none"},
}


def screened(screener: Screener, data: dict) -> ScreeningResult:
    return screener.screen(Profile.model_validate(data), ON)


def rule(result: ScreeningResult, rule_id: str):
    return next(r for r in result.rules if r.id == rule_id)


def test_an_own_model_is_not_dependence_on_a_closed_one(screener) -> None:
    result = screened(screener, OWN_MODEL)
    assert rule(result, "closed-base").outcome is Outcome.NOT_MATCHED
    assert all("Depends on own" not in (r.rationale or "") for r in result.rules)
    penalised = [r.id for r in result.matched if r.points < 0 and r.category in {"model", "approach"}]
    assert penalised == ["pretrain-from-scratch"]  # one fact, one penalty
    assert rule(result, "pretrain-from-scratch").rationale == (
        "Pre-trains its own model: the capital-intensive race the thesis avoids."
    )


def test_someone_elses_closed_model_is_still_a_dependence(screener) -> None:
    result = screened(screener, {**OWN_MODEL, "model": {"base": "GPT-4o", "approach": "fine-tune"}})
    assert rule(result, "closed-base").rationale == (
        "Depends on GPT-4o, a closed model whose weights and pricing its vendor controls."
    )


def test_a_titanforge_like_lab_loses_points_once_for_its_own_model(screener) -> None:
    result = screener.screen(load_profile(FIXTURES / "titanforge-ai.yaml"), ON)
    assert rule(result, "closed-base").outcome is Outcome.NOT_MATCHED
    assert rule(result, "pretrain-from-scratch").outcome is Outcome.MATCHED


def test_no_gpu_count_is_asked_of_a_company_with_no_gpu_dependence(screener) -> None:
    result = screened(screener, OWN_MODEL)
    assert rule(result, "gpu-fleet").outcome is Outcome.NOT_MATCHED
    assert not any("compute.owned_gpus" in q for q in result.questions)
    asked = screened(screener, {**OWN_MODEL, "compute": {"gpu_dependence": "high"}})
    assert any("(compute.owned_gpus); needed by gpu-fleet" in q for q in asked.questions)


def test_a_stage_settles_the_rules_it_gates_without_the_total_raised(screener) -> None:
    late = screened(screener, {"name": "Late Co", "stage": "series-c"})
    assert rule(late, "seed-overfunded").outcome is Outcome.NOT_MATCHED
    assert rule(late, "lean-for-stage").outcome is Outcome.NOT_MATCHED
    (raised,) = [q for q in late.questions if "(funding.total_raised)" in q]
    assert "needed by capital-efficient, capital-heavy, mega-raise. [" in raised


def test_data_quality_rules_are_not_thesis_risks_in_the_memo(screener) -> None:
    profile = Profile.model_validate({**OWN_MODEL, "as_of": "2025-01-15", "model": {"base": "Llama 3.1 8B"}})
    result = screener.screen(profile, ON)
    assert rule(result, "stale-profile").outcome is Outcome.MATCHED
    context = MemoContext.build(result, profile, derive(profile, ON).model_dump(mode="json"))
    assert [r.id for r in context.data_rules] == ["stale-profile"]
    assert "stale-profile" not in [r.id for r in context.risks]
    text = MemoRenderer().render(context)
    risks = text.split("## Risks and red flags", 1)[1].split("## Open questions", 1)[0]
    assert "Stale data" not in risks and "days old" not in risks
    assert "### Data" not in text  # not a theme of the thesis
    assert "> - **Stale data** (-5, counted in the score). The facts are 681 days old (as of 2025-01-15)." in text


# --- pass notes ----------------------------------------------------------------------------------


def test_a_batch_drafts_no_pass_note_for_a_strong_fit_without_force(tmp_path: Path) -> None:
    deals = tmp_path / "deals"
    deals.mkdir()
    for name in ("tinyllama-legal.yaml", "titanforge-ai.yaml"):
        (deals / name).write_text((FIXTURES / name).read_text(), encoding="utf-8")
    args = ["batch", str(deals), "--no-db", "--on", "2026-11-27", "--memos", str(tmp_path / "notes"),
            "--template", "pass-note", "--memo-verdict", "pass"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == ExitCode.OK, result.output
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["titanforge.example.pass-note.md"]
    assert (
        "warning: --template: no pass note drafted for 1 strong fit(s): a pass note would decline a company the "
        "thesis backs (pass --force to draft them anyway)"
    ) in result.stderr
    forced = CliRunner().invoke(main, [*args, "--force", "--format", "json"])
    assert json.loads(forced.stdout)["memos"] == 2


@pytest.mark.parametrize("command", [["memo"], []])
def test_a_single_screen_refuses_a_pass_note_for_a_strong_fit(tmp_path: Path, monkeypatch, command) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        *command,
        str(FIXTURES / "tinyllama-legal.yaml"),
        "--template",
        "pass-note",
        "--no-db",
        "--on",
        "2026-11-27",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert "a pass note would decline a company the thesis backs" in result.stderr
    assert not (tmp_path / "memos").exists()
