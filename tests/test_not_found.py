"""Read commands create nothing, and "not found" is exit code 8 everywhere, with a did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import FIXTURES

TINY = str(FIXTURES / "tinyllama-legal.yaml")
TITAN = str(FIXTURES / "titanforge-ai.yaml")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def _run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return _run


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


READS = [("list",), ("history", "Tinyllama Legal"), ("memo", "--from-db", "Tinyllama Legal")]


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_command_on_a_mistyped_database_creates_nothing(run, tmp_path: Path, command) -> None:
    assert run(TINY, "--db", "deals.db", "--no-memo", "--on", "2026-11-27").exit_code == 0
    before = files(tmp_path)
    result = run(*command, "--db", "deal.db")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.output == (
        f"error: {tmp_path / 'deal.db'}: no screening database here: screen a company first, or check --db; "
        "did you mean 'deals.db'?\n"
    )
    assert files(tmp_path) == before


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_a_read_command_creates_no_folder(run, tmp_path: Path, command) -> None:
    result = run(*command, "--db", str(tmp_path / "no" / "such" / "x.db"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.output == (
        f"error: {tmp_path / 'no/such/x.db'}: no screening database here: screen a company first, or check --db "
        f"(there is no folder {tmp_path / 'no/such'})\n"
    )
    assert files(tmp_path) == []


def test_the_default_database_is_not_created_by_reading(run, tmp_path: Path) -> None:
    result = run("list")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.output.startswith(f"error: {tmp_path / 'data' / 'screener' / 'screener.db'}: no screening database")
    assert files(tmp_path) == []


def test_history_suggests_a_stored_name_and_exits_8(run, db_url: str) -> None:
    assert run(TINY, TITAN, "--db", db_url, "--no-memo", "--on", "2026-11-27").exit_code == 0
    result = run("history", "Tinylama Legal", "--db", db_url)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.output.endswith(": no stored screening of 'Tinylama Legal'; did you mean 'Tinyllama Legal'?\n")
    by_site = run("history", "https://titanforge.exmple", "--db", db_url)
    assert by_site.exit_code == ExitCode.NOT_FOUND
    assert by_site.output.endswith("; did you mean 'titanforge.example'?\n")
    memo = run("memo", "--from-db", "Tinylama Legal", "--db", db_url)
    assert memo.exit_code == ExitCode.NOT_FOUND and memo.output == result.output


def test_history_finds_a_company_by_a_part_of_its_name(run, db_url: str) -> None:
    assert run(TINY, TITAN, "--db", db_url, "--no-memo", "--on", "2026-11-27").exit_code == 0
    result = run("history", "tinyllama", "--db", db_url, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == "note: 'tinyllama' matched Tinyllama Legal (tinyllama-legal.example)\n"
    assert '"company": "Tinyllama Legal"' in result.stdout
    several = run("history", "a", "--db", db_url)
    assert several.exit_code == ExitCode.NOT_FOUND
    assert several.output.endswith(
        ": 'a' is part of 2 companies' names or keys: Tinyllama Legal (tinyllama-legal.example), "
        "Titanforge AI (titanforge.example); give the name, website or key\n"
    )


def test_an_empty_list_is_not_an_error(run, tmp_path: Path) -> None:
    assert run(TITAN, "--db", "deals.db", "--no-memo", "--on", "2026-11-27").exit_code == 0
    result = run("list", "--db", "deals.db", "--verdict", "strong-fit", "--format", "json")
    assert (result.exit_code, result.output) == (0, "[]\n")
