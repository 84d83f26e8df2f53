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
from screener.profile.model import Profile, company_key
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
    assert (
        "Not looked up for this draft (it was made without the screening database, or by a batch)"
        in (tmp_path / "memos" / "titanforge-ai.md").read_text()
    )


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
    assert nowhere.exit_code == ExitCode.NOT_FOUND
    assert nowhere.output == f"error: {db}: no screening database here: screen a company first, or check --db\n"
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
    store.save(engine, screener.rulebook, [(screener.screen(profile, ON), profile.model_dump(mode="json"))])
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


# --- what the review of the first version found ------------------------------------------------


def test_a_memo_from_an_older_screener_gets_its_own_message(run, tmp_path: Path) -> None:
    (tmp_path / "memos").mkdir()
    (tmp_path / "memos" / "tinyllama-legal.md").write_text("# Tinyllama Legal: screening memo (draft)\n")
    result = run("memo", TINY, "--no-db")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert "has no generation stamp (written by hand, or by Screener before 0.2)" in result.output


def test_two_companies_with_one_name_do_not_take_turns_in_one_file(run, write, tmp_path: Path) -> None:
    first = write("a/acme.yaml", "name: Acme\nwebsite: https://acme.one\n")
    second = write("b/acme.yaml", "name: Acme\nwebsite: https://acme.two\n")
    assert run("memo", str(first), "--no-db").exit_code == 0
    assert run("memo", str(second), "--no-db").exit_code == 0
    assert run("memo", str(first), "--no-db").exit_code == 0  # finds its own file again
    assert sorted(p.name for p in (tmp_path / "memos").iterdir()) == ["acme-2.md", "acme.md"]
    assert "acme.one" in (tmp_path / "memos" / "acme.md").read_text()
    assert "acme.two" in (tmp_path / "memos" / "acme-2.md").read_text()


def test_from_db_refuses_a_name_that_means_two_companies(run, write, tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    for folder, site in (("a", "acme.one"), ("b", "acme.two")):
        profile = write(f"{folder}/acme.yaml", f"name: Acme\nwebsite: https://{site}\nteam: {{size: 5}}\n")
        assert run(str(profile), "--db", db, "--no-memo").exit_code == 0
    result = run("memo", "--from-db", "Acme", "--db", db)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "'Acme' names 2 companies (acme.one, acme.two); give the website or key instead" in result.output
    assert run("memo", "--from-db", "acme.two", "--db", db).exit_code == 0


def test_a_company_is_not_its_own_comparable(db_url: str, screener) -> None:
    engine = store.connect(db_url)
    try:
        _save(engine, screener, name="Tiny Co", website="https://tiny.example", stage="seed", team={"size": 8})
        _save(engine, screener, name="Other Co", stage="seed", team={"size": 8})
        without_site = Profile.model_validate({"name": "Tiny Co", "stage": "seed", "team": {"size": 8}})
        found = comparables.find(engine, without_site, company_key("Tiny Co", None), screener.rulebook.name)
        assert [c.name for c in found] == ["Other Co"]
    finally:
        engine.dispose()


def test_reading_for_a_memo_does_not_create_or_migrate_a_database(run, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a file, but no screening schema
    assert store.connect_existing(f"sqlite:///{empty}") is None
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('0000')")
    result = run("memo", TINY, "--db", str(old))
    assert result.exit_code == ExitCode.STORE_ERROR
    assert "schema is at revision 0000, this release needs" in result.output
    with sqlite3.connect(old) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0000",)]


def test_templates_list_warns_about_misnamed_files(run, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "board.j2").write_text("x\n")
    (tmp_path / "mine" / "_partial.j2").write_text("x\n")
    result = CliRunner().invoke(main, ["templates", "list", "--templates", str(tmp_path / "mine")])
    assert result.exit_code == 0
    assert (
        result.stderr
        == f"warning: {tmp_path / 'mine' / 'board.j2'}: not a memo template name (NAME.md.j2 or NAME.html.j2); ignored\n"
    )


def test_a_configured_templates_folder_that_is_missing_says_where_it_was_set(run, tmp_path: Path) -> None:
    (tmp_path / "screener.toml").write_text('[defaults]\ntemplates = "nope"\n')
    result = run("memo", TINY, "--no-db")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.output == "error: screener.toml:2:1: defaults.templates: folder not found: nope\n"


def test_memo_files_get_the_usual_file_mode(run, tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        assert run("memo", TINY, "--no-db").exit_code == 0
    finally:
        os.umask(umask)
    assert (tmp_path / "memos" / "tinyllama-legal.md").stat().st_mode & 0o777 == 0o644


def test_a_pass_note_for_a_strong_fit_needs_force(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["memo", TINY, "--template", "pass-note", "--no-db", "--on", "2026-11-27"])
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.stderr == (
        "error: --template: Tinyllama Legal is a strong fit (92.2/100): a pass note would decline a company the "
        "thesis backs; draft another template, or pass --force to draft it anyway\n"
    )
    assert not (tmp_path / "memos").exists()
    forced = CliRunner().invoke(
        main, ["memo", TINY, "--template", "pass-note", "--no-db", "--on", "2026-11-27", "--force"]
    )
    assert forced.exit_code == 0
    assert forced.stderr == "note: Tinyllama Legal is strong-fit, not pass; check the pass note\n"
    assert (tmp_path / "memos" / "tinyllama-legal.pass-note.md").exists()


def test_a_pass_note_for_a_review_is_drafted_and_flagged(tmp_path: Path, monkeypatch, write) -> None:
    monkeypatch.chdir(tmp_path)
    thin = write("thin.yaml", "name: Thin Co\nteam: {size: 8}\n")
    result = CliRunner().invoke(main, ["memo", str(thin), "--template", "pass-note", "--no-db"])
    assert result.exit_code == 0
    assert result.stderr == "note: Thin Co is review, not pass; check the pass note\n"
