"""Issue 11, items 2–6, 11, 20 and 23: nothing the user has is replaced, lost or left half-written."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import sqlalchemy
from click.testing import CliRunner, Result

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import ON


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def keys(url: str) -> list[str]:
    return [k for k, _ in names(url)]


def names(url: str) -> list[tuple[str, str]]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT company_key, company_name FROM screening ORDER BY company_key"
            return [tuple(r) for r in connection.exec_driver_sql(query)]
    finally:
        engine.dispose()


def rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- item 3: names in decomposed Unicode form ---------------------------------------------------------

NFC = unicodedata.normalize("NFC", "Café")
NFD = unicodedata.normalize("NFD", "Café")


def test_a_decomposed_name_is_the_same_company_as_the_composed_one_and_not_another(tmp_path, sqlite_url):
    assert NFC != NFD
    memos = tmp_path / "memos"

    def screen(name: str) -> None:
        profile = tmp_path / "profile.yaml"
        profile.write_text(json.dumps({"name": name}), encoding="utf-8")
        result = run(str(profile), "--db", sqlite_url, "--memos", str(memos))
        assert result.exit_code == ExitCode.OK, result.output

    screen("Cafe")
    screen(NFD)
    assert names(sqlite_url) == [("cafe", "Cafe"), ("café", NFD)]
    assert "company:cafe " in (memos / "cafe.md").read_text(encoding="utf-8")
    screen(NFC)
    screen(unicodedata.normalize("NFD", "CAFÉ"))
    # Two companies; each name as written is a screening of its own in the company's history.
    assert sorted(set(keys(sqlite_url))) == ["cafe", "café"]
    assert sorted(p.name for p in memos.iterdir()) == ["cafe-2.md", "cafe.md"]


def test_a_batch_takes_nfd_and_nfc_for_one_company_and_cafe_for_another(tmp_path, sqlite_url):
    deals = tmp_path / "deals.jsonl"
    deals.write_text("".join(json.dumps({"name": n}) + "\n" for n in ("Cafe", NFD, NFC)), encoding="utf-8")
    result = run("batch", str(deals), "--db", sqlite_url, "--out", str(tmp_path / "out.csv"))
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout.startswith("3 read: 2 scored, 0 rejected, 1 duplicates (")
    assert keys(sqlite_url) == ["cafe", "café"]
    (duplicate,) = rejects(tmp_path / "out.rejects.jsonl")
    assert duplicate["line"] == 3 and duplicate["duplicate_of"]["line"] == 2


def test_marks_that_have_no_composed_form_stay_in_the_key():
    from screener.profile.model import company_key

    assert company_key("हिन्दी AI", None) != company_key("हनद AI", None)
    assert company_key(unicodedata.normalize("NFD", "Ångström Labs Inc"), None) == "ångström labs"


# --- item 5: a full disk under the memos of a single screen ---------------------------------------------


def test_a_full_disk_under_the_memo_folder_saves_no_row(tmp_path, sqlite_url):
    from tests.faults import small_disk

    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\nnotes: " + "x" * 20_000 + "\n", encoding="utf-8")
    with small_disk(tmp_path / "disk", free=8 * 1024) as disk:
        result = run(str(profile), "--db", sqlite_url, "--memos", str(disk))
        assert result.exit_code == ExitCode.CONFIG_ERROR
        assert result.stderr == f"error: {disk / 'acme.md'}: cannot write: No space left on device\n"
        assert sorted(p.name for p in disk.iterdir()) == [".filler"]
    assert keys(sqlite_url) == []  # the memo failed before the row was saved


def test_a_database_that_refuses_the_row_leaves_no_memo(tmp_path, sqlite_url):
    import sqlite3

    from screener import store

    store.connect(sqlite_url).dispose()
    with sqlite3.connect(sqlalchemy.make_url(sqlite_url).database) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON screening BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    profile = tmp_path / "acme.yaml"
    profile.write_text("name: Acme\n", encoding="utf-8")
    memos = tmp_path / "memos"
    result = run(str(profile), "--db", sqlite_url, "--memos", str(memos))
    assert result.exit_code == ExitCode.STORE_ERROR
    assert "cannot save screenings: refused by a trigger" in result.stderr
    assert list(memos.iterdir()) == []
