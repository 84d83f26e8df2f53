"""Persistence against a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from screener import store
from screener.errors import StoreError
from screener.profile.model import Profile
from screener.screening.result import ScreeningResult
from screener.store import database
from tests.conftest import ON


def result_for(screener, name: str, size: int, on: dt.date = ON) -> tuple[ScreeningResult, dict]:
    profile = Profile.model_validate({"name": name, "website": f"https://{name.lower()}.ai", "team": {"size": size}})
    return screener.screen(profile, on), profile.model_dump(mode="json")


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM screening").scalar_one()


def test_rescreening_unchanged_facts_adds_no_row_and_new_facts_add_one(db_url, screener) -> None:
    engine = store.connect(db_url)
    try:
        store.save(engine, screener.rulebook, [result_for(screener, "Acme", 5)])
        store.save(engine, screener.rulebook, [result_for(screener, "Acme", 5)])  # the same again: no new row
        assert count(engine) == 1
        store.save(engine, screener.rulebook, [result_for(screener, "Acme", 500, ON + dt.timedelta(days=1))])
        assert count(engine) == 2  # new facts: a second screening, the first is kept
        rows = store.history(engine, "acme.ai")
        assert [(r.screened_on, r.profile["team"]["size"]) for r in rows] == [(ON + dt.timedelta(days=1), 500), (ON, 5)]
    finally:
        engine.dispose()


def test_a_row_stores_identity_snapshot_pack_score_verdict_rules(db_url, screener) -> None:
    engine = store.connect(db_url)
    try:
        result, profile = result_for(screener, "Beta", 8)
        store.save(engine, screener.rulebook, [(result, profile)])
        (row,) = store.latest(engine)
        assert (row.company_key, row.company_name, row.website) == ("beta.ai", "Beta", "https://beta.ai")
        assert (row.pack_name, row.pack_version, row.pack_hash) == (
            result.pack.name,
            result.pack.version,
            result.pack.hash,
        )
        assert (row.score, row.verdict, row.coverage) == (result.score, result.verdict.value, result.coverage)
        assert row.matched == [r.id for r in result.matched]
        assert row.profile == profile
        assert ScreeningResult.model_validate(row.result) == result
        assert row.created_at <= row.updated_at
    finally:
        engine.dispose()


def test_a_failed_batch_writes_nothing(db_url, screener) -> None:
    engine = store.connect(db_url)
    try:
        good = result_for(screener, "Good", 5)
        bad_result, bad_profile = result_for(screener, "Bad", 5)
        # A NOT NULL violation on the last row, after the first was inserted in the same transaction.
        nameless = bad_result.company.model_copy(update={"name": None})
        bad = (bad_result.model_copy(update={"company": nameless}), bad_profile)
        with pytest.raises(StoreError, match="cannot save screenings"):
            store.save(engine, screener.rulebook, [good, bad])
        assert count(engine) == 0
    finally:
        engine.dispose()


def test_schema_is_created_once_and_versioned(db_url) -> None:
    first = store.connect(db_url)
    second = store.connect(db_url)
    try:
        with second.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == store.HEAD_REVISION
    finally:
        first.dispose()
        second.dispose()


def test_migrations_match_the_models(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = store.connect(db_url)
    try:
        with engine.connect() as conn:
            # An expression index is not compared: PostgreSQL reflects it in its own normalised
            # spelling and SQLite not at all. test_listing checks ix_screening_ranking instead.
            skip = {
                "include_object": lambda _o, name, kind, *_: not (kind == "index" and name == "ix_screening_ranking")
            }
            diff = compare_metadata(MigrationContext.configure(conn, opts=skip), store.Screening.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_uses_wal_and_large_pages(sqlite_url) -> None:
    engine = store.connect(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == store.SQLITE_PAGE_SIZE
    finally:
        engine.dispose()


def test_plain_paths_mean_sqlite_files(tmp_path) -> None:
    engine = store.connect(str(tmp_path / "sub" / "deals.db"))
    engine.dispose()
    assert (tmp_path / "sub" / "deals.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [("nosuchdb://x", "cannot use database"), ("postgresql://nobody@127.0.0.1:1/none", "cannot open database")],
)
def test_unreachable_databases_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.connect(url)


def test_passwords_are_hidden_in_messages() -> None:
    assert "secret" not in store.safe_url("postgresql://u:secret@h/db")


def test_a_checkpointing_thread_copies_the_log_into_the_database(tmp_path, screener) -> None:
    import sqlite3

    path = tmp_path / "deals.db"
    writer = store.connect(str(path), autocheckpoint=False)
    try:
        with store.checkpointing(writer, every=0.01):
            for number in range(5):
                store.save(writer, screener.rulebook, [result_for(screener, f"Co{number}", number + 1)])
        # immutable=1 reads the database file alone, ignoring the write-ahead log.
        main_file = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            assert main_file.execute("SELECT count(*) FROM screening").fetchone() == (5,)
        finally:
            main_file.close()
    finally:
        writer.dispose()


def test_the_checkpointing_thread_keeps_the_log_bounded(tmp_path, screener, monkeypatch) -> None:
    # Many small commits while the thread runs: passive checkpoints alone let the log grow by
    # every commit (measured: a gigabyte in seconds); past the limit it is truncated. No size is
    # bounded by timing here: the log is grown past the limit, writing stops, and the thread (not
    # the end of the block) must bring it back below the limit.
    import time

    monkeypatch.setattr(database, "WAL_LIMIT", 256 * 1024)
    path = tmp_path / "deals.db"
    log = Path(f"{path}-wal")
    writer = store.connect(str(path), autocheckpoint=False)
    try:
        with store.checkpointing(writer, every=0.005):
            for round_ in range(3):  # and again after each truncation
                number = 0
                while database._size(log) <= database.WAL_LIMIT:
                    number += 1
                    store.save(writer, screener.rulebook, [result_for(screener, f"Co{round_}-{number}", number)])
                deadline = time.monotonic() + 60  # only so that a broken thread fails instead of hanging
                while database._size(log) > database.WAL_LIMIT and time.monotonic() < deadline:
                    time.sleep(0.005)
                assert database._size(log) <= database.WAL_LIMIT, "the thread did not truncate the log"
        assert log.stat().st_size == 0  # truncated when the block ends
    finally:
        writer.dispose()


def test_an_existing_database_keeps_its_page_size(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE unrelated (x)")
    old.commit()
    old.close()
    engine = store.connect(str(path))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == 4096
            assert conn.exec_driver_sql("SELECT count(*) FROM screening").scalar_one() == 0
    finally:
        engine.dispose()


def _alembic(engine, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(store.__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def old_database(db_url: str, items: list[tuple[dict, dict]]):
    """A database at revision 0001 holding ``items`` (result as JSON data, profile) as that release stored them."""
    import orjson
    import sqlalchemy as sa

    engine = database._engine(db_url, create_folder=True)
    _alembic(engine, "upgrade", "0001")
    columns = (
        "id, company_key, company_name, website, pack_name, pack_version, pack_hash, screened_on, score, "
        "verdict, coverage, knockouts, matched, profile, result, created_at, updated_at"
    )
    with engine.begin() as conn:
        for number, (result, profile) in enumerate(items, start=1):
            conn.execute(
                sa.text(f"INSERT INTO screening ({columns}) VALUES (:id, :key, :name, :website, :pack, :version, "
                        ":hash, :on, :score, :verdict, :coverage, :knockouts, :matched, :profile, :result, :now, :now)"),
                {"id": number, "key": result["company"]["key"], "name": result["company"]["name"],
                 "website": result["company"]["website"], "pack": result["pack"]["name"],
                 "version": result["pack"]["version"], "hash": result["pack"]["hash"],
                 "on": dt.date.fromisoformat(result["screened_on"]), "score": result["score"],
                 "verdict": result["verdict"], "coverage": result["coverage"],
                 "knockouts": orjson.dumps(result["knockouts"]).decode(),
                 "matched": orjson.dumps([r["id"] for r in result["rules"] if r["outcome"] == "matched"]).decode(),
                 "profile": orjson.dumps(profile).decode(), "result": orjson.dumps(result).decode(),
                 "now": dt.datetime(2026, 1, 1)},
            )  # fmt: skip
    engine.dispose()


def old_items(screener) -> list[tuple[dict, dict]]:
    items = [result_for(screener, name, size) for name, size in (("Acme", 5), ("Beta", 500))]
    explained = screener.screen(Profile.model_validate({"name": "Gamma"}), ON, explain=True)
    assert any(r.rationale or r.question for r in explained.rules)  # details keep what explain adds
    items.append((explained, {"name": "Gamma"}))
    # As releases before the plausibility checks and the score range stored them.
    return [(result.model_dump(mode="json", exclude=OLD_EXCLUDE), profile) for result, profile in items]


#: What a result of 0001 did not have: warnings (0003), the score range and question stakes (0006).
OLD_EXCLUDE = {"warnings", "score_range", "question_stakes"}


def test_a_database_of_full_results_migrates_to_pack_rules_and_back(db_url, screener, caplog) -> None:
    """0002 splits each stored result into its pack's rules and the row's details; 0001 joins them again."""
    items = old_items(screener)
    old_database(db_url, items)
    with caplog.at_level("WARNING", logger="screener.store"):
        engine = store.connect(db_url)  # migrates to the head
    assert caplog.messages == [
        f"converting database {store.safe_url(db_url)} from schema 0001 to {store.HEAD_REVISION}: once, and a "
        "large database takes a while"
    ]
    try:
        for result, _ in items:
            (row,) = store.history(engine, result["company"]["name"])
            # 0003 checked each stored profile (none warns); 0006 computed the range and the stakes again.
            assert row.result["warnings"] == []
            assert {k: v for k, v in row.result.items() if k not in OLD_EXCLUDE} == result
            assert row.result["score_range"] is not None and "question_stakes" in row.result
            assert "result" not in row.details and row.details["points"] == result["points"]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pack_rules").scalar_one() == 1
        _alembic(engine, "downgrade", "0001")
        with engine.connect() as conn:
            back = [json_of(value) for (value,) in conn.exec_driver_sql("SELECT result FROM screening ORDER BY id")]
        assert back == [result for result, _ in items]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda result: result.pop("questions"), "its stored result is malformed (KeyError: 'questions')"),
        (
            lambda result: result["rules"][0].update(title="Renamed"),
            "its result lists the rules of pack {hash} differently from the pack's other results (titles, "
            "categories, points or tags), so they cannot be stored once",
        ),
    ],
)
def test_a_row_that_cannot_be_migrated_is_named_and_nothing_changes(db_url, screener, spoil, why) -> None:
    items = old_items(screener)
    spoil(items[-1][0])
    old_database(db_url, items)
    with pytest.raises(StoreError) as caught:
        store.connect(db_url)
    assert str(caught.value) == (
        f"screening:3: cannot migrate the database: screening 3 (Gamma, pack {screener.rulebook.name} "
        f"{screener.rulebook.version}): {why.format(hash=screener.rulebook.hash)}; fix or delete that row, then run again"
    )
    engine = database._engine(db_url, create_folder=False)
    try:
        assert database._current_revision(engine) == "0001"
        with engine.connect() as conn:  # the schema changes were rolled back with the data, on SQLite too
            assert not sqlalchemy_inspect(conn).has_table("pack_rules")
            assert "result" in {c["name"] for c in sqlalchemy_inspect(conn).get_columns("screening")}
        with engine.begin() as conn:  # fixed by deleting the row: the next run migrates
            conn.exec_driver_sql("DELETE FROM screening WHERE id = 3")
    finally:
        engine.dispose()
    engine = store.connect(db_url)
    try:
        assert sorted(r.company_name for r in store.latest(engine)) == ["Acme", "Beta"]
    finally:
        engine.dispose()


def sqlalchemy_inspect(conn):
    from sqlalchemy import inspect

    return inspect(conn)


def json_of(value) -> dict:
    import orjson

    return value if isinstance(value, dict) else orjson.loads(value)


def test_a_row_whose_pack_rules_are_missing_is_a_clear_error(sqlite_url, screener) -> None:
    engine = store.connect(sqlite_url)
    try:
        store.save(engine, screener.rulebook, [result_for(screener, "Acme", 5)])
        with engine.begin() as conn:  # SQLite does not enforce the foreign key unless asked to
            conn.exec_driver_sql("DELETE FROM pack_rules")
        with pytest.raises(StoreError) as caught:
            store.history(engine, "Acme")
        assert str(caught.value) == (
            f"{sqlite_url}: the rules of the pack these screenings were made with are not stored: "
            f"Acme (pack {screener.rulebook.hash})"
        )
    finally:
        engine.dispose()


def test_summaries_are_the_listed_rows_without_their_documents(db_url, screener) -> None:
    engine = store.connect(db_url)
    try:
        store.save(
            engine,
            screener.rulebook,
            [result_for(screener, name, size) for name, size in (("A", 5), ("B", 500), ("C", 9))],
        )
        for filters in ({}, {"top": 2}, {"verdict": "pass"}, {"since": ON + dt.timedelta(days=1)}):
            full = store.latest(engine, **filters)
            summaries = store.summaries(engine, **filters)
            assert [s.model_dump() for s in summaries] == [
                {name: getattr(r, name) for name in store.ScreeningSummary.model_fields} for r in full
            ]
        assert len(store.summaries(engine)) == 3 and store.summaries(engine, since=ON + dt.timedelta(days=1)) == []
    finally:
        engine.dispose()
