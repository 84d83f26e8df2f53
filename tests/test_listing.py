"""``screen list`` a page at a time (store.listing): every row once, in the ranking order, from the index."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener import store
from screener.cli.batch import list_command
from screener.errors import ExitCode, UsageError
from screener.store import listing, packing
from screener.store.writing import Encoded
from tests.conftest import ON

OTHER = packing.PackRules("f" * 64, [], [], "{}")  # a second content of the pack, under version 9.9.9


def encoded(number: int, rng: random.Random, pack: packing.PackRules, name: str, version: str) -> Encoded:
    # Few distinct values, so that verdict, knockouts, score and coverage tie often; companies
    # come back (several screenings each, only the newest listed), dates repeat.
    knocked = rng.random() < 0.3
    score, verdict = rng.choice([12.5, 50.0, 50.0, 91.25]), rng.choice(["strong-fit", "review", "pass", "hold"])
    return Encoded(
        company_key=f"c{rng.randrange(40):02d}.ai", company_name=f"C {number}", website=None,
        pack_name=name, pack_version=version, pack_hash=pack.hash, profile_hash=f"{number:064x}",
        outcome_hash="0" * 64, screened_on=ON + dt.timedelta(days=rng.randrange(3)),
        score=score, verdict=verdict, coverage=rng.choice([0.9, 1.0]), knockouts=b'["k"]' if knocked else b"[]",
        matched=b"[]", profile=b"{}", details=b"{}", warnings=b"[]", score_worst=score, score_best=score,
        verdict_worst=verdict, verdict_best=verdict,
    )  # fmt: skip


@pytest.fixture
def filled(db_url, screener):
    """A database of 230 screenings over 40 companies and two versions of the pack, saved in five transactions."""
    rng = random.Random(14)
    mine = packing.of_rulebook(screener.rulebook)
    name, version = screener.rulebook.name, screener.rulebook.spec.version
    engine = store.connect(db_url)
    number = 0
    for _ in range(5):  # updated_at differs between saves, ties within one
        rows = []
        for _ in range(46):
            pack, label = (OTHER, "9.9.9") if rng.random() < 0.25 else (mine, version)
            rows.append(encoded(number, rng, pack, name, label))
            number += 1
        store.save_encoded(engine, rows, [mine, OTHER])
    yield engine, screener.rulebook
    engine.dispose()


def follow(engine, limit: int, **filters) -> list[int]:
    ids, cursor = [], None
    while True:
        found = listing.page(engine, **filters, after=cursor, limit=limit)
        assert len(found.rows) <= limit
        ids += [row.id for row in found.rows]
        if found.next is None:
            return ids
        assert len(found.rows) == limit
        cursor = listing.Cursor.parse(found.next.token())  # through its text, as a user passes it


def test_following_pages_lists_every_row_once_in_the_ranking_order(filled):
    engine, book = filled
    some_hash = packing.of_rulebook(book).hash[:9]
    for filters in ({}, {"verdict": "pass"}, {"verdict": "hold"}, {"since": ON + dt.timedelta(days=1)},
                    {"pack": book.name}, {"pack": f"{book.name}@9.9.9"}, {"pack": some_hash}):  # fmt: skip
        expected = [row.id for row in store.summaries(engine, **filters)]  # the window-function query
        assert expected, filters
        for limit in (1, 3, 7, 50, 1000):
            ids = follow(engine, limit, **filters)
            assert len(ids) == len(set(ids)), (filters, limit)  # nothing repeated
            assert ids == expected, (filters, limit)  # nothing skipped, the same order, ties included
    # Ties really occur: rows equal on every ranking term but key and id.
    summaries = store.summaries(engine)
    terms = [(s.verdict, s.knockouts == [], s.score, s.coverage) for s in summaries]
    assert len(terms) - len(set(terms)) > 20


def test_a_page_is_the_same_summaries_the_ranked_list_holds(filled):
    engine, _ = filled
    first = listing.page(engine, limit=10)
    assert [r.model_dump() for r in first.rows] == [r.model_dump() for r in store.summaries(engine, top=10)]


def test_rows_saved_between_pages_do_not_repeat_a_row_already_shown(filled, screener):
    engine, book = filled
    first = listing.page(engine, limit=20)
    best = encoded(999, random.Random(1), packing.of_rulebook(book), book.name, book.spec.version)
    best = Encoded(**{**{f: getattr(best, f) for f in best.__dataclass_fields__}, "company_key": "new.ai",
                      "verdict": "strong-fit", "knockouts": b"[]", "score": 100.0})  # fmt: skip
    store.save_encoded(engine, [best], [packing.of_rulebook(book)])
    assert first.next is not None
    second = listing.page(engine, after=first.next, limit=20)
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    assert "new.ai" not in {r.company_key for r in second.rows}  # it ranks before the cursor


def test_the_index_holds_the_terms_the_queries_spell():
    path = Path(store.__file__).parent / "migrations" / "versions" / "0007_ranking_index.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert list(migration.TERMS) == listing.ranking_terms()


def sqlite_plan(sqlite_url: str, **arguments) -> str:
    engine = store.connect(sqlite_url)
    try:
        select = listing.query(since=None, pack=None, limit=50, **arguments)
        compiled = select.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as connection:
            return " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("verdict", [None, "review"])
def test_sqlite_reads_a_page_from_the_ranking_index_without_sorting(sqlite_url, verdict):
    plans = [sqlite_plan(sqlite_url, verdict=verdict)]
    cursor = listing.Cursor(1, 0, 50.0, 0.9, "acme.ai", 12)
    plans += [sqlite_plan(sqlite_url, verdict=verdict, after=cursor, level=n) for n in range(len(listing.RANKING))]
    for number, plan in enumerate(plans):
        assert "USING INDEX ix_screening_ranking" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort of the table
        assert "INDEX ix_screening_newest (company_key=? AND pack_name=? AND pack_version=?" in plan, plan  # one seek
        if number or verdict:  # after a cursor (and for one verdict) a seek, not a walk from the start
            assert "SEARCH s USING INDEX ix_screening_ranking (<expr>" in plan, plan


def test_postgresql_can_read_a_page_from_the_ranking_index(pg_url):
    engine = store.connect(pg_url)
    try:
        cursor = listing.Cursor(1, 0, 50.0, 0.9, "acme.ai", 12)
        select = listing.query(verdict=None, since=None, pack=None, after=cursor, level=2, limit=50)
        compiled = select.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.begin() as connection:
            # An empty table is read sequentially whatever the indexes: forbid that, so that the
            # plan says whether the index serves this query's order and cursor at all.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_sort = off")
            plan = " | ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    finally:
        engine.dispose()
    assert "Index Scan using ix_screening_ranking on screening s" in plan, plan
    assert "Sort" not in plan.split("SubPlan")[0], plan


@pytest.mark.parametrize("token", ["", "nonsense", "W10", "WzEsMCwiYSIsMCwiayIsMV0"])
def test_a_cursor_no_page_printed_is_a_usage_error(token):
    with pytest.raises(UsageError, match="--after .* is not a page cursor"):
        listing.Cursor.parse(token)


def test_the_command_prints_the_next_page_and_following_it_lists_every_row(filled):
    engine, _ = filled
    url = str(engine.url.render_as_string(hide_password=False))
    expected = [(s.company_key, s.pack_version) for s in store.summaries(engine, verdict="pass")]
    seen: list[tuple[str, str]] = []
    args = ["--db", url, "--verdict", "pass", "--limit", "4", "--format", "json"]
    for _ in range(100):
        result = CliRunner().invoke(list_command, args)
        assert result.exit_code == 0, result.output
        seen += [(row["key"], row["version"]) for row in json.loads(result.stdout)]
        hint = [line for line in result.stderr.splitlines() if line.startswith("next page: ")]
        if not hint:
            break
        words = shlex.split(hint[0].removeprefix("next page: "))
        assert words[:2] == ["screen", "list"] and "--verdict" in words and "--limit" in words
        args = words[2:]
    assert seen == expected and len(expected) > 4
    everything = CliRunner().invoke(list_command, ["--db", url, "--all", "--limit", "3", "--format", "json"])
    assert [r["key"] for r in json.loads(everything.stdout)] == [s.company_key for s in store.summaries(engine)]
    assert "next page" not in everything.stderr
    top = CliRunner().invoke(list_command, ["--db", url, "--top", "2", "--format", "json"])
    assert len(json.loads(top.stdout)) == 2 and "next page" not in top.stderr
    bad = CliRunner().invoke(list_command, ["--db", url, "--after", "nonsense"])
    assert bad.exit_code == ExitCode.USAGE and "not a page cursor" in bad.output
