"""Issue 11, items 7–14: bad input gets a located message and its exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import ON


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


PACK = """\
name: test-pack
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - id: lean
    title: Lean
    category: team
    points: 5
    when: %s
    rationale: "lean"
"""


# --- item 7: unknown keys that look like pydantic's own location parts ---------------------------


def test_unknown_keys_named_like_pydantic_tags_are_reported_as_unknown_fields(tmp_path):
    deals = tmp_path / "deals.jsonl"
    deals.write_text(
        '{"name": "A", "int": 1}\n{"name": "B", "team": {"date": 1}}\n{"name": "C", "x[1]": 2}\n{"name": "D"}\n',
        encoding="utf-8",
    )
    result = run("batch", str(deals), "--no-db", "--out", str(tmp_path / "out.csv"), "--on", ON.isoformat())
    assert result.exit_code == ExitCode.REJECTS, result.stderr
    assert result.stdout.startswith("4 read: 1 scored, 3 rejected, 0 duplicates (")
    top = "as_of, benchmarks, compute, founded, funding, hq_country, model, name, notes, sector, silence, sources, stage, team, traction, website"
    assert [r["errors"] for r in rejects(tmp_path / "out.rejects.jsonl")] == [
        [{"location": f"{deals}:1", "field": "int", "message": f"unknown field 'int'; known fields here: {top}"}],
        [{"location": f"{deals}:2", "field": "team.date", "message": "unknown field 'date'; known fields here: founders, size"}],
        [{"location": f"{deals}:3", "field": "x[1]", "message": f"unknown field 'x[1]'; known fields here: {top}"}],
    ]  # fmt: skip


def test_team_date_is_an_unknown_field_of_team_in_a_single_screen(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text("name: Acme\nteam:\n  date: 1\n", encoding="utf-8")
    result = run(str(path), "--no-db", "--no-memo", "--on", ON.isoformat())
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == f"error: {path}:3:3: team.date: unknown field 'date'; known fields here: founders, size\n"


def test_a_rule_pack_key_named_int_is_an_unknown_field(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK % "team.size <= 15" + "    int: 3\n", encoding="utf-8")
    result = run("rules", "check", str(pack))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert f"{pack}:11:5: lean: int: unknown field 'int'" in result.stdout + result.stderr


# --- item 8: a huge integer in a fraction field ---------------------------------------------------


def test_a_huge_integer_in_a_fraction_field_is_a_located_error(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(f"name: Acme\ntraction:\n  gross_margin: {10**400}\n", encoding="utf-8")
    result = run(str(path), "--no-db", "--no-memo", "--on", ON.isoformat())
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == (
        f"error: {path}:3:3: traction.gross_margin: a number of 401 digits is not a fraction (0..1)\n"
    )


def test_a_huge_integer_in_a_batch_is_one_reject(tmp_path):
    deals = tmp_path / "deals.jsonl"
    records = [{"name": f"C{n}", "traction": {"gross_margin": 0.5}} for n in range(20)]
    records[7]["traction"]["gross_margin"] = 10**400
    records[9]["founded"] = 10**400
    deals.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run("batch", str(deals), "--no-db", "--out", str(out), "--on", ON.isoformat())
    assert result.exit_code == ExitCode.REJECTS
    assert result.stdout.startswith("20 read: 18 scored, 2 rejected, 0 duplicates (")
    assert [(r["line"], r["errors"][0]["message"]) for r in rejects(tmp_path / "out.rejects.jsonl")] == [
        (8, "a number of 401 digits is not a fraction (0..1)"),
        (10, "a number of 401 digits is not a plausible founding year"),
    ]
    assert len(out.read_text().splitlines()) == 19


# --- item 12: deep conditions under the length limit ------------------------------------------------


def test_a_field_path_990_parts_deep_is_a_located_rule_error(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK % ("team" + ".x" * 990), encoding="utf-8")
    result = run("rules", "check", str(pack))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stdout == (
        f"error: {pack}:9:11: lean: the condition is 992 levels deep; at most 100 are read\n"
        "1 pack(s) checked: 1 error(s), 0 warning(s)\n"
    )


def test_1980_minus_signs_are_a_located_rule_error_when_screening(tmp_path):
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK % ("team.size < " + "-" * 1980 + "1"), encoding="utf-8")
    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\n", encoding="utf-8")
    result = run(str(profile), "--rules", str(pack), "--no-db", "--no-memo", "--on", ON.isoformat())
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stderr == f"error: {pack}:9:2003: lean: the condition is 1982 levels deep; at most 100 are read\n"


# --- item 9: a database written by a newer Screener -------------------------------------------------


def test_a_database_with_a_newer_schema_is_refused_and_left_alone(tmp_path):
    import sqlite3

    from screener import store

    path = tmp_path / "deals.db"
    store.connect(str(path)).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    before = path.read_bytes()
    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\n", encoding="utf-8")
    message = (
        f"error: sqlite:///{path}: this database was written by a newer Screener (schema 0099; this release knows "
        f"schemas up to {store.HEAD_REVISION}); upgrade Screener to use it. Nothing was changed\n"
    )
    for args in (
        [str(profile), "--no-memo", "--db", str(path)],
        ["batch", str(profile), "--db", str(path), "--rejects", str(tmp_path / "r.jsonl")],
        ["memo", "--from-db", "Acme", "--db", str(path), "--out", str(tmp_path / "memos")],
        ["history", "Acme", "--db", str(path)],
    ):
        result = run(*args, *(["--on", ON.isoformat()] if args[0] != "history" and "--from-db" not in args else []))
        assert (result.exit_code, result.stderr) == (ExitCode.STORE_ERROR, message), args
    assert path.read_bytes() == before


# --- items 4 and 10: database URLs that name no file, or cannot be read -------------------------------


def test_database_urls_that_cannot_be_read_are_located_configuration_errors(tmp_path):
    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\n", encoding="utf-8")
    unreadable = "(its host or port cannot be read: a port is a number, an IPv6 address is written in brackets, [::1])"
    cases = {
        "postgresql://u:secret@h:abc/db": f"not a database URL: 'postgresql://u:***@h:abc/db' {unreadable}",
        "postgresql://postgres@[::1/x": f"not a database URL: 'postgresql://postgres@[::1/x' {unreadable}",
        "sqlite:///%00": "the database file name in 'sqlite:///%00' holds a NUL character",
    }
    for url, message in cases.items():
        result = run(str(profile), "--no-memo", "--db", url, "--on", ON.isoformat())
        assert (result.exit_code, result.stderr) == (ExitCode.CONFIG_ERROR, f"error: --db: {message}\n"), url


def test_sqlite_urls_that_name_no_file_are_refused_before_anything_is_saved(tmp_path):
    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\n", encoding="utf-8")
    for url in ("sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"):
        for args in ([str(profile), "--no-memo"], ["batch", str(profile), "--rejects", str(tmp_path / "r.jsonl")]):
            result = run(*args, "--db", url, "--on", ON.isoformat())
            assert result.exit_code == ExitCode.CONFIG_ERROR, (url, args)
            assert result.stderr == (
                f"error: --db: {url!r} names no database file (SQLite would keep the screenings in memory and lose "
                "them when the command ends); write sqlite:///path/to/file.db, or a file path\n"
            )
            assert "saved" not in result.stdout
