"""A pack's true identity and a real history (issue 12, item 5), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from screener import store
from screener.cli import main
from screener.errors import ExitCode, StoreError
from screener.profile.model import Profile
from screener.rules.identity import as_written, content_hash, update_lock
from screener.rules.rulebook import load_rulebook
from screener.screening.screener import Screener
from tests.conftest import ON

PACK = """
name: thesis
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
min_coverage: 0.5
rules:
  - {id: lean, title: Lean, category: team, points: 10, when: team.size <= 15, rationale: "{{ team.size }} people"}
  - {id: big, title: Big, category: team, points: -5, when: team.size > 100, rationale: big}
  - {id: open, title: Open, category: model, points: 10, when: model.open_weights, rationale: open}
  - {id: young, title: Young, category: team, points: 5, when: derived.months_since_founding <= 24,
     rationale: "{{ derived.months_since_founding }} months old"}
"""
COMPANY = "name: Acme\nwebsite: acme.ai\nfounded: 2025-01-15\nteam: {size: 8}\nmodel: {open_weights: true}\n"


def screen(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def screen_json(db_url: str, *files, on: dt.date = ON, rules=None) -> tuple[dict, str]:
    extra = ["--rules", str(rules)] if rules else []
    code, stdout, stderr = screen(*map(str, files), "--db", db_url, "--no-memo", "--format", "json", "--on",
                                  on.isoformat(), *extra)  # fmt: skip
    assert code == 0, stderr
    return json.loads(stdout), stderr


def history(db_url: str, company: str, *args: str) -> list[dict]:
    code, stdout, stderr = screen("history", company, "--db", db_url, "--format", "json", *args)
    assert code == 0, stderr
    return json.loads(stdout)


def rows(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM screening").scalar_one()
    finally:
        engine.dispose()


# --- the version label: a released version, or a development version ----------------------------------


def test_the_packaged_pack_is_the_version_its_lock_records() -> None:
    """Editing rules/small-team-open-model.yaml means bumping its version and running --update-lock."""
    book = load_rulebook()
    assert book.locked and book.dev is None and book.version == book.spec.version


def test_a_pack_edited_without_a_version_bump_is_a_marked_dev_version_kept_apart(db_url, write) -> None:
    """Issue 12: a stored 92.2 became 89.6, still labelled with the same version."""
    pack = write("thesis.yaml", PACK)
    update_lock(pack)
    company = write("acme.yaml", COMPANY)
    released, stderr = screen_json(db_url, company, rules=pack)
    assert released["pack"]["version"] == "1.0.0" and stderr == ""
    pack.write_text(PACK.replace("team.size <= 15", "team.size <= 5"))
    edited_hash = load_rulebook(pack).hash
    edited, stderr = screen_json(db_url, company, rules=pack)
    assert edited["pack"] == {"name": "thesis", "version": f"1.0.0+dev.{edited_hash[:12]}", "hash": edited_hash}
    assert edited["score"] != released["score"]
    assert stderr == (
        f"warning: {pack}: the pack changed since version 1.0.0 was locked (content {released['pack']['hash'][:12]}, "
        f"now {edited_hash[:12]}): screened as the development version thesis 1.0.0+dev.{edited_hash[:12]}, kept "
        "apart from 1.0.0's screenings; bump the version, or run 'screen rules check --update-lock' to make this "
        "content 1.0.0\n"
    )
    # Both screenings are kept, each with its version and hash; the released one is untouched.
    seen = [(r["version"], r["hash"], r["score"]) for r in history(db_url, "Acme")]
    assert sorted(seen) == sorted([("1.0.0", released["pack"]["hash"], released["score"]),
                                   (f"1.0.0+dev.{edited_hash[:12]}", edited_hash, edited["score"])])  # fmt: skip
    assert [r["score"] for r in history(db_url, "Acme", "--pack", "thesis@1.0.0")] == [released["score"]]
    code, stdout, _ = screen("memo", "--from-db", "Acme", "--pack", "thesis@1.0.0", "--db", db_url, "--out",
                             str(write("memos/x", "").parent), "--template", "summary")  # fmt: skip
    assert code == 0 and f"{released['score']:.1f}" in stdout


def test_without_a_lock_the_database_binds_a_version_to_its_first_content(db_url, write) -> None:
    pack = write("thesis.yaml", PACK)
    company = write("acme.yaml", COMPANY)
    first, _ = screen_json(db_url, company, rules=pack)
    assert first["pack"]["version"] == "1.0.0"
    pack.write_text(PACK.replace("team.size <= 15", "team.size <= 5"))
    second, stderr = screen_json(db_url, company, rules=pack)
    assert second["pack"]["version"] == f"1.0.0+dev.{second['pack']['hash'][:12]}"
    assert stderr.startswith(
        f"warning: {pack}: the database holds screenings of thesis 1.0.0 made with other content "
        f"({first['pack']['hash'][:12]}, this pack is {second['pack']['hash'][:12]}): screened as the development "
        "version"
    )
    # Bumping the version releases the new content.
    pack.write_text(PACK.replace("team.size <= 15", "team.size <= 5").replace("1.0.0", "1.1.0"))
    third, stderr = screen_json(db_url, company, rules=pack)
    assert third["pack"]["version"] == "1.1.0" and stderr == ""
    assert len(history(db_url, "Acme")) == 3


def test_a_lock_that_records_the_content_wins_over_the_database(db_url, write) -> None:
    pack = write("thesis.yaml", PACK)
    company = write("acme.yaml", COMPANY)
    screen_json(db_url, company, rules=pack)  # 1.0.0 bound to this content by the database
    pack.write_text(PACK.replace("team.size <= 15", "team.size <= 5"))
    update_lock(pack)  # ... and by the lock to the new content
    again, stderr = screen_json(db_url, company, rules=pack)
    assert again["pack"]["version"] == "1.0.0" and stderr == ""


def test_a_dev_version_is_deterministic_and_marked_in_batch_and_explain(write, tmp_path) -> None:
    pack = write("thesis.yaml", PACK)
    update_lock(pack)
    pack.write_text(PACK.replace("team.size <= 15", "team.size <= 5"))
    book = load_rulebook(pack)
    assert book.version == f"1.0.0+dev.{book.hash[:12]}"
    profile = Profile.model_validate({"name": "Acme", "team": {"size": 3}})
    with Screener(book) as one, Screener(load_rulebook(pack)) as two:
        assert one.screen(profile, ON).to_json() == two.screen(profile, ON).to_json()
    deals = tmp_path / "deals.jsonl"
    deals.write_text('{"name": "Acme"}\n')
    code, _, stderr = screen("batch", str(deals), "--rules", str(pack), "--no-db", "--on", ON.isoformat(),
                             "--rejects", str(tmp_path / "r.jsonl"))  # fmt: skip
    assert code == 0 and "screened as the development version thesis 1.0.0+dev." in stderr


# --- a real history --------------------------------------------------------------------------------------


def test_history_keeps_every_distinct_screening_and_unchanged_input_adds_none(db_url, write) -> None:
    pack = write("thesis.yaml", PACK)
    company = write("acme.yaml", COMPANY)
    first, _ = screen_json(db_url, company, rules=pack)
    screen_json(db_url, company, rules=pack)  # the same again
    assert rows(db_url) == 1
    # A later date with the same outcome: still one screening, now recorded as of the later date.
    later, _ = screen_json(db_url, company, rules=pack, on=ON + dt.timedelta(days=30))
    assert (later["score"], rows(db_url)) == (first["score"], 1)
    assert [r["screened_on"] for r in history(db_url, "Acme")] == [(ON + dt.timedelta(days=30)).isoformat()]
    # An earlier date with the same outcome changes nothing.
    screen_json(db_url, company, rules=pack, on=ON - dt.timedelta(days=3))
    assert [r["screened_on"] for r in history(db_url, "Acme")] == [(ON + dt.timedelta(days=30)).isoformat()]
    # The date changed the outcome (past 24 months old): a second screening.
    aged, _ = screen_json(db_url, company, rules=pack, on=dt.date(2027, 3, 1))
    assert aged["score"] < first["score"] and rows(db_url) == 2
    # The facts changed: a third.
    company.write_text(COMPANY.replace("size: 8", "size: 9"))
    screen_json(db_url, company, rules=pack, on=dt.date(2027, 3, 1))
    # The pack changed: a fourth.
    pack.write_text(PACK.replace("1.0.0", "1.1.0").replace("points: -5", "points: -6"))
    screen_json(db_url, company, rules=pack, on=dt.date(2027, 3, 1))
    listed = history(db_url, "Acme")
    assert len(listed) == rows(db_url) == 4
    assert [r["version"] for r in listed].count("1.1.0") == 1
    # list shows the newest screening of the company under each pack version.
    code, stdout, _ = screen("list", "--db", db_url, "--format", "json")
    assert code == 0
    assert sorted(r["version"] for r in json.loads(stdout)) == ["1.0.0", "1.1.0"]
    code, stdout, _ = screen("list", "--db", db_url, "--format", "json", "--pack", listed[0]["hash"][:8])
    assert [r["version"] for r in json.loads(stdout)] == ["1.1.0"]


def test_a_batch_and_a_single_screen_of_the_same_facts_are_one_screening(db_url, write, tmp_path) -> None:
    pack = write("thesis.yaml", PACK)
    deals = tmp_path / "deals.jsonl"
    deals.write_text(json.dumps({"name": "Acme", "website": "acme.ai", "founded": "2025-01-15",
                                 "team": {"size": 8}, "model": {"open_weights": True}}) + "\n")  # fmt: skip
    code, _, stderr = screen("batch", str(deals), "--rules", str(pack), "--db", db_url, "--on", ON.isoformat(),
                             "--rejects", str(tmp_path / "r.jsonl"))  # fmt: skip
    assert code == 0, stderr
    screen_json(db_url, write("acme.yaml", COMPANY), rules=pack)
    assert rows(db_url) == 1
    # The row now holds the single screen's rationales.
    (row,) = history(db_url, "Acme")
    engine = store.connect(db_url)
    try:
        (read,) = store.history(engine, "Acme")
    finally:
        engine.dispose()
    assert any(r["rationale"] == "8 people" for r in read.result["rules"])
    assert row["version"] == "1.0.0"


def test_a_later_batch_keeps_the_earlier_screenings_of_its_companies(db_url, tmp_path, write) -> None:
    pack = write("thesis.yaml", PACK)
    deals = tmp_path / "deals.jsonl"

    def run(*records: dict) -> None:
        deals.write_text("".join(json.dumps(r) + "\n" for r in records))
        code, _, stderr = screen("batch", str(deals), "--rules", str(pack), "--db", db_url, "--on", ON.isoformat(),
                                 "--rejects", str(tmp_path / "r.jsonl"), "--chunk-size", "1")  # fmt: skip
        assert code == 0, stderr

    run({"name": "Acme", "website": "acme.ai", "team": {"size": 8}})
    # New facts, and a duplicate (fewer facts: it loses) whose own row is removed when settled.
    run({"name": "Acme", "website": "acme.ai", "team": {"size": 200}, "model": {"open_weights": True}},
        {"name": "Acme Inc", "website": "https://acme.ai/x"})  # fmt: skip
    assert sorted(r["company"] for r in history(db_url, "acme.ai")) == ["Acme", "Acme"]
    assert rows(db_url) == 2


# --- the database keeps each pack's content; screen verify -----------------------------------------------


def test_the_database_keeps_each_packs_content_and_rederives_from_it(db_url, write) -> None:
    pack = write("thesis.yaml", PACK)
    screen_json(db_url, write("acme.yaml", COMPANY), rules=pack)
    book = load_rulebook(pack)
    engine = store.connect(db_url)
    try:
        stored = store.pack_contents(engine, [book.hash])[book.hash]
    finally:
        engine.dispose()
    assert stored == book.content == as_written(json.loads(stored)) and content_hash(json.loads(stored)) == book.hash
    pack.unlink()  # nothing but the database from here on
    code, stdout, _ = screen("verify", "--db", db_url)
    assert (code, stdout) == (0, f"1 screening(s) computed again: 1 agree, 0 differ ({store.safe_url(db_url)})\n")


def test_verify_reports_a_stored_screening_that_differs(db_url, write, tmp_path) -> None:
    pack = write("thesis.yaml", PACK)
    screen_json(db_url, write("acme.yaml", COMPANY), write("beta.yaml", "name: Beta\nteam: {size: 500}\n"), rules=pack)
    deals = tmp_path / "deals.jsonl"
    deals.write_text('{"name": "Gamma", "team": {"size": 3}}\n')  # a batch row: no rationales
    assert screen("batch", str(deals), "--rules", str(pack), "--db", db_url, "--on", ON.isoformat(), "--rejects",
                  str(tmp_path / "r.jsonl"))[0] == 0  # fmt: skip
    assert screen("verify", "--db", db_url)[0] == 0
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE screening SET score = 92.2, verdict = 'strong-fit' WHERE company_key = 'beta'")
            row_id = conn.exec_driver_sql("SELECT id FROM screening WHERE company_key = 'beta'").scalar_one()
    finally:
        engine.dispose()
    code, stdout, _ = screen("verify", "--db", db_url)
    assert code == ExitCode.MISMATCH
    lines = stdout.splitlines()
    assert lines[0] == f"3 screening(s) computed again: 2 agree, 1 differ ({store.safe_url(db_url)})"
    book = load_rulebook(pack)
    assert lines[1] == (
        f"differs: screening {row_id} (Beta, beta) under thesis 1.0.0 ({book.hash[:12]}) on {ON}: score 92.2 "
        "stored, 0.0 computed; verdict strong-fit stored, pass computed; the stored outcome does not match its hash"
    )
    code, stdout, _ = screen("verify", "Acme", "--db", db_url, "--format", "json")
    assert code == 0 and json.loads(stdout)["agreed"] == 1
    code, _, stderr = screen("verify", "Acme Labs", "--db", db_url)
    assert code == ExitCode.NOT_FOUND and stderr.endswith(
        "no stored screening of 'Acme Labs'; did you mean 'acme.ai'?\n"
    )


def test_verify_without_a_database_is_not_found(tmp_path) -> None:
    code, _, stderr = screen("verify", "--db", str(tmp_path / "none.db"))
    assert code == ExitCode.NOT_FOUND
    assert (
        stderr == f"error: {tmp_path / 'none.db'}: no screening database here: screen a company first, or check --db\n"
    )
    assert not (tmp_path / "none.db").exists()


# --- migration 0004 ------------------------------------------------------------------------------------


def before_0006(result: dict) -> dict:
    """A result as releases before the score range stored it."""
    return {key: value for key, value in result.items() if key not in {"score_range", "question_stakes"}}


def database_at_0002(db_url: str, items: list[tuple[dict, dict]]) -> None:
    """A database at revision 0002 holding ``items`` (result as JSON data, profile) as that release stored them."""
    import orjson

    from screener.store import database, packing
    from tests.test_store import _alembic

    engine = database._engine(db_url, create_folder=True)
    _alembic(engine, "upgrade", "0002")
    now = dt.datetime(2026, 1, 1)
    with engine.begin() as conn:
        for number, (result, profile) in enumerate(items, start=1):
            result = before_0006(result)
            pack = packing.pack_rules(result)
            conn.execute(
                sa.text("INSERT INTO pack_rules (hash, rules, categories, created_at) VALUES (:h, :r, :c, :now) "
                        "ON CONFLICT (hash) DO NOTHING"),
                {"h": pack.hash, "r": orjson.dumps(pack.rules).decode(), "c": orjson.dumps(pack.categories).decode(),
                 "now": now},
            )  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO screening (id, company_key, company_name, website, pack_name, pack_version, "
                        "pack_hash, screened_on, score, verdict, coverage, knockouts, matched, profile, details, "
                        "created_at, updated_at) VALUES (:id, :key, :name, :website, :pack, :version, :hash, :on, "
                        ":score, :verdict, :coverage, :knockouts, :matched, :profile, :details, :now, :now)"),
                {"id": number, "key": result["company"]["key"], "name": result["company"]["name"],
                 "website": result["company"]["website"], "pack": result["pack"]["name"],
                 "version": result["pack"]["version"], "hash": result["pack"]["hash"],
                 "on": dt.date.fromisoformat(result["screened_on"]), "score": result["score"],
                 "verdict": result["verdict"], "coverage": result["coverage"],
                 "knockouts": orjson.dumps(result["knockouts"]).decode(),
                 "matched": orjson.dumps([r["id"] for r in result["rules"] if r["outcome"] == "matched"]).decode(),
                 "profile": orjson.dumps(profile).decode(), "details": orjson.dumps(packing.details(result)).decode(),
                 "now": now},
            )  # fmt: skip
    engine.dispose()


def test_a_0002_database_migrates_to_identities_and_stays_idempotent(db_url, screener, write) -> None:
    own = load_rulebook(write("thesis.yaml", PACK))
    items = []
    for book, data in ((screener.rulebook, {"name": "Acme", "website": "acme.ai", "team": {"size": 5}}),
                       (own, {"name": "Beta", "team": {"size": 500}})):  # fmt: skip
        profile = Profile.model_validate(data)
        with Screener(book) as s:
            items.append((s.screen(profile, ON).model_dump(mode="json"), profile.model_dump(mode="json")))
    database_at_0002(db_url, items)
    engine = store.connect(db_url)  # migrates
    try:
        # 0006 computed the range and the questions' stakes again where it knows the pack's content.
        (row,) = store.history(engine, "Acme")
        assert row.result == items[0][0]
        (row,) = store.history(engine, "Beta")
        assert row.result == before_0006(items[1][0]) and row.score_worst is None
        # The packaged pack's content was filled in; a pack of one's own is not known yet.
        assert store.pack_contents(engine, [screener.rulebook.hash, own.hash]) == {
            screener.rulebook.hash: screener.rulebook.content, own.hash: None,
        }  # fmt: skip
        # The migrated rows have the identities a save computes: saving the same screenings adds no row.
        store.save(engine, screener.rulebook, [items[0]])
        store.save(engine, own, [items[1]])
        assert rows(db_url) == 2
        assert store.pack_contents(engine, [own.hash]) == {own.hash: own.content}  # known now
    finally:
        engine.dispose()
    code, stdout, _ = screen("verify", "--db", db_url)
    assert code == 0 and stdout.startswith("2 screening(s) computed again: 2 agree, 0 differ")


def test_a_legacy_screening_whose_pack_content_is_unknown_cannot_be_checked(db_url, write) -> None:
    own = load_rulebook(write("thesis.yaml", PACK))
    profile = Profile.model_validate({"name": "Beta", "team": {"size": 500}})
    with Screener(own) as s:
        database_at_0002(db_url, [(s.screen(profile, ON).model_dump(mode="json"), profile.model_dump(mode="json"))])
    code, _, stderr = screen("verify", "--db", db_url)  # verify only reads: it does not migrate
    assert (
        code == ExitCode.STORE_ERROR
        and f"the database schema is at revision 0002, this release needs {store.HEAD_REVISION}" in stderr
    )
    store.connect(db_url).dispose()
    code, stdout, _ = screen("verify", "--db", db_url)
    assert code == 0
    assert stdout.splitlines()[1] == (
        f"cannot check: screening 1 (Beta, beta) under thesis 1.0.0 ({own.hash[:12]}) on {ON}: the pack's content is "
        "not stored (screened before migration 0004, and not with this pack since)"
    )


def test_a_0002_row_that_cannot_be_migrated_is_named_and_nothing_changes(db_url, screener) -> None:
    from screener.store import database

    profile = Profile.model_validate({"name": "Acme"})
    result = screener.screen(profile, ON).model_dump(mode="json")
    database_at_0002(db_url, [(result, profile.model_dump(mode="json"))])
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE screening SET details = '[1, 2]'")
    finally:
        engine.dispose()
    with pytest.raises(StoreError) as caught:
        store.connect(db_url)
    assert str(caught.value) == (
        f"screening:1: cannot migrate the database: screening 1 (Acme, pack {screener.rulebook.name} "
        f"{screener.rulebook.version}): its profile or details are malformed (TypeError: not a JSON object); fix "
        "or delete that row, then run again"
    )
    engine = database._engine(db_url, create_folder=False)
    try:
        assert database._current_revision(engine) == "0002"
        with engine.connect() as conn:
            assert "profile_hash" not in {c["name"] for c in sa.inspect(conn).get_columns("screening")}
    finally:
        engine.dispose()


def test_the_downgrade_keeps_the_newest_screening_of_each_company_and_version(db_url, screener) -> None:
    from tests.test_store import _alembic

    engine = store.connect(db_url)
    try:
        for size, on in ((5, ON), (6, ON + dt.timedelta(days=1)), (7, ON - dt.timedelta(days=1))):
            profile = Profile.model_validate({"name": "Acme", "team": {"size": size}})
            store.save(engine, screener.rulebook, [(screener.screen(profile, on), profile.model_dump(mode="json"))])
        assert rows(db_url) == 3
        _alembic(engine, "downgrade", "0002")
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT screened_on FROM screening").scalars().all()
        assert [str(k)[:10] for k in kept] == [(ON + dt.timedelta(days=1)).isoformat()]
    finally:
        engine.dispose()
