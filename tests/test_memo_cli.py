"""`screen memo` and `screen templates list` end to end: files, database, comparables, edit safety."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener import store
from screener.cli import main
from screener.errors import ExitCode
from screener.memo import comparables
from screener.memo.files import FileState, state
from screener.profile import Profile, company_key
from tests.conftest import FIXTURES, ON

TINY = str(FIXTURES / "tinyllama-legal.yaml")
TITAN = str(FIXTURES / "titanforge-ai.yaml")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCREENER_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")

    def _run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return _run


def test_memo_from_a_profile_in_html(run, tmp_path: Path) -> None:
    result = run("memo", TINY, "--format", "html", "--out", "drafts", "--on", ON.isoformat())
    assert result.exit_code == 0, result.output
    memo = tmp_path / "drafts" / "tinyllama-legal.html"
    assert result.output == f"{memo}  Tinyllama Legal: strong-fit, 92.2/100; 0 comparable(s)\n"
    text = memo.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<svg class="chart"' in text
    assert state(memo) is FileState.GENERATED
    assert not (tmp_path / "default.db").exists(), "drafting must not create a database"


def test_each_template_gets_its_own_file(run, tmp_path: Path) -> None:
    for template in ("memo", "summary", "pass-note"):
        assert run("memo", TITAN, "--template", template, "--no-db").exit_code == 0
    names = sorted(p.name for p in (tmp_path / "memos").iterdir())
    assert names == ["titanforge-ai.md", "titanforge-ai.pass-note.md", "titanforge-ai.summary.md"]
    assert (tmp_path / "memos" / "titanforge-ai.pass-note.md").read_text().startswith("Subject: Titanforge AI")
    assert "Not looked up for this draft" in (tmp_path / "memos" / "titanforge-ai.md").read_text()


def test_an_edited_memo_is_not_overwritten_without_force(run, tmp_path: Path) -> None:
    assert run("memo", TINY, "--no-db").exit_code == 0
    memo = tmp_path / "memos" / "tinyllama-legal.md"
    assert run("memo", TINY, "--no-db").exit_code == 0  # unchanged since generated: replaced
    edited = memo.read_text().replace("## Key facts", "## Key facts\n\nCalled the CEO: ARR confirmed.")
    memo.write_text(edited)
    refused = run("memo", TINY, TITAN, "--no-db")
    assert refused.exit_code == ExitCode.CONFIG_ERROR
    assert f"error: {memo}: edited since Screener generated it; not overwritten (use --force" in refused.output
    assert memo.read_text() == edited
    assert not (tmp_path / "memos" / "titanforge-ai.md").exists(), "nothing is written when one memo is refused"
    forced = run("memo", TINY, "--no-db", "--force")
    assert forced.exit_code == 0 and "Called the CEO" not in memo.read_text()


def test_a_file_screener_did_not_write_counts_as_edited(run, tmp_path: Path) -> None:
    (tmp_path / "memos").mkdir()
    (tmp_path / "memos" / "tinyllama-legal.md").write_text("my own notes\n")
    assert run("memo", TINY, "--no-db").exit_code == ExitCode.CONFIG_ERROR
    assert (tmp_path / "memos" / "tinyllama-legal.md").read_text() == "my own notes\n"


def test_screen_also_keeps_edited_memos_and_writes_nothing(run, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert run(TINY, "--db", str(db), "--on", ON.isoformat()).exit_code == 0
    memo = tmp_path / "memos" / "tinyllama-legal.md"
    memo.write_text(memo.read_text() + "\nMy notes.\n")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM screening")
    result = run(TINY, "--db", str(db), "--on", ON.isoformat())
    assert result.exit_code == ExitCode.CONFIG_ERROR
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM screening").fetchone() == (0,)
    assert run(TINY, "--db", str(db), "--force").exit_code == 0


def test_from_db_renders_the_stored_screening_without_rescoring(run, db_url: str, tmp_path: Path) -> None:
    assert run(TINY, "--db", db_url, "--no-memo", "--on", "2026-06-30").exit_code == 0
    stored = run("memo", "--from-db", "tinyllama-legal.example", "--db", db_url, "--out", "stored")
    assert stored.exit_code == 0, stored.output
    fresh = run("memo", TINY, "--db", db_url, "--out", "fresh", "--on", "2026-06-30")
    assert fresh.exit_code == 0
    text = (tmp_path / "stored" / "tinyllama-legal.md").read_text()
    assert "screen of 2026-06-30" in text  # the stored date, not today's
    assert text == (tmp_path / "fresh" / "tinyllama-legal.md").read_text()


def test_from_db_errors(run, tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    nowhere = run("memo", "--from-db", "Tinyllama Legal", "--db", db)
    assert nowhere.exit_code == ExitCode.NOT_FOUND and "no screening database here yet" in nowhere.output
    assert not Path(db).exists()
    assert run(TINY, "--db", db, "--no-memo").exit_code == 0
    missing = run("memo", "--from-db", "Nobody Inc", "--db", db)
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert "no stored screening of 'Nobody Inc'" in missing.output
    other_pack = run("memo", "--from-db", "Tinyllama Legal", "--pack", "other", "--db", db)
    assert other_pack.exit_code == ExitCode.NOT_FOUND and "under pack 'other'" in other_pack.output
    for args in ((), (TINY, "--from-db", "x"), (TINY, "--pack", "p"), ("--from-db", "x", "--no-db")):
        assert run("memo", *args).exit_code == ExitCode.USAGE, args


def test_unknown_template_lists_what_exists(run) -> None:
    result = run("memo", TINY, "--template", "board", "--no-db")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert "memo template 'board.md.j2' not found; available: memo (html), memo (md), pass-note (html)" in result.output


def test_bad_profile_is_reported_and_nothing_written(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nteam: {size: many}\n")
    result = run("memo", TINY, str(bad), "--no-db")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"{bad}:2:" in result.output and "team.size" in result.output
    assert not (tmp_path / "memos").exists()


def test_templates_list_shows_packaged_and_user_templates(run, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "memo.md.j2").write_text("{#- Our house memo. -#}\n{{ company.name }}\n")
    (tmp_path / "mine" / "board.html.j2").write_text("{#- Board pack page. -#}\n{{ company.name }}\n")
    table = run("templates", "list")
    assert table.exit_code == 0
    assert "pass-note" in table.output and "Investment-committee memo" in table.output
    listed = json.loads(run("templates", "list", "--templates", "mine", "--format", "json").output)
    first = {(t["name"], t["format"]): t for t in listed}
    assert listed[0]["source"] == "user"
    assert first[("memo", "md")]["overrides"] and first[("memo", "md")]["title"] == "Our house memo."
    assert first[("board", "html")]["source"] == "user" and not first[("board", "html")]["overrides"]
    assert first[("memo", "html")]["source"] == "packaged"
    assert run("templates", "list", "--templates", "absent").exit_code == ExitCode.CONFIG_ERROR
    used = run("memo", TINY, "--no-db", "--templates", "mine")
    assert used.exit_code == 0
    assert (tmp_path / "memos" / "tinyllama-legal.md").read_text().startswith("Tinyllama Legal\n")


# --- comparables, on SQLite and PostgreSQL ------------------------------------------------------


def _save(engine, screener, **fields) -> Profile:
    profile = Profile.model_validate(fields)
    store.save(engine, [(screener.screen(profile, ON), profile.model_dump(mode="json"))])
    return profile


def test_comparables_share_sector_or_stage_and_the_nearest_come_first(db_url: str, screener) -> None:
    engine = store.connect(db_url)
    try:
        me = Profile.model_validate({"name": "Me", "sector": "Legal AI", "stage": "seed", "team": {"size": 8}})
        _save(engine, screener, name="Me", sector="legal ai", stage="seed", team={"size": 8})  # itself: left out
        _save(engine, screener, name="Far Twin", sector="legal AI", stage="seed", team={"size": 900})
        _save(engine, screener, name="Near Twin", sector="LEGAL AI", stage="seed", team={"size": 9})
        _save(engine, screener, name="Same Sector", sector="legal ai", stage="series-b", team={"size": 8})
        _save(engine, screener, name="Same Stage", sector="robotics", stage="seed", team={"size": 8})
        _save(engine, screener, name="Neither", sector="robotics", stage="series-b", team={"size": 8})
        found = comparables.find(engine, me, company_key("Me", None), screener.rulebook.name)
        assert [c.name for c in found] == ["Near Twin", "Far Twin", "Same Sector", "Same Stage"]
        assert [c.basis for c in found] == ["same sector and stage"] * 2 + ["same sector", "same stage"]
        assert found[0].team_size == "9" and found[0].verdict_label in {"Strong fit", "Review", "Pass"}
        assert comparables.find(engine, me, company_key("Me", None), "another-pack") == []
        nothing = Profile.model_validate({"name": "Vague"})
        assert comparables.find(engine, nothing, company_key("Vague", None), screener.rulebook.name) == []
    finally:
        engine.dispose()


def test_the_memo_lists_comparables_from_the_database(run, tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    fixtures = [str(p) for p in sorted(FIXTURES.glob("*.yaml")) if "eur-" not in p.name]
    assert run(*fixtures, "--db", db, "--no-memo", "--on", ON.isoformat()).exit_code == 0
    result = run("memo", TINY, "--db", db, "--on", ON.isoformat())
    assert result.exit_code == 0 and "; 5 comparable(s)" in result.output
    text = (tmp_path / "memos" / "tinyllama-legal.md").read_text()
    table = text.split("## Comparables")[1].split("## Key facts")[0]
    assert table.count("| same stage |") + table.count("| same sector and stage |") == 5
    assert "Tinyllama Legal" not in table


def test_distance_counts_facts_only_one_side_gives() -> None:
    a = {"team": {"size": 10}, "funding": {"total_raised": 5_000_000}, "founded": 2024}
    b = {"team": {"size": 10}, "funding": {"total_raised": 5_000_000}, "founded": "2024-03-01"}
    c = {"team": {"size": 10}}
    assert comparables.distance(a, b) == 0
    assert comparables.distance(a, c) > comparables.distance(a, b)
    assert comparables.distance({}, {}) == 1.0
