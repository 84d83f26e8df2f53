"""Plausibility checks: each finding of a careful analyst, as a warning everywhere a result goes.

Warnings by default (printed, in JSON, in the memo, in the database, counted by a batch);
errors with --strict or ``[checks] strict``; silenced per profile with ``silence``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from screener import store
from screener.cli import main
from screener.errors import ExitCode, ProfileError
from screener.profile import plausibility
from screener.profile.checks import CHECKS
from screener.profile.model import Profile, load_profile
from screener.screening.screener import Screener
from screener.store import database
from screener.store.stored import StoredResults
from tests.conftest import FIXTURES, ON, REPO
from tests.test_store import _alembic

#: The profile of the issue's first finding: every value valid, most of them wrong.
SLIPPED = """
name: Slipshod AI
as_of: 2026-09-01
founded: 2024
stage: series-a
team: {size: 20}
funding: {total_raised: 29.5}
model: {base: Llama 3.1 8B, approach: fine-tune}
traction: {arr: "$1.2M", gross_margin: "0.62%", customers: 12}
"""


def warnings_of(data: dict, on: dt.date = ON) -> list[tuple[str, str, str | None]]:
    profile = Profile.model_validate({"name": "T", **data})
    return [(w.check, w.message, w.suggestion) for w in plausibility.check(profile, on)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"funding": {"total_raised": 29.5}},
            ("money-unit-slip", "total raised of $30 (written 29.5) is implausibly small; did you mean '$29.5M'? "
             "Money is read as whole dollars", "$29.5M"),
        ),
        (
            {"funding": {"last_round": {"amount": 4500}}},
            ("money-unit-slip", "the last round of $4.5K is implausibly small; did you mean '$4.5M'? Money is read as "
             "whole dollars", "$4.5M"),
        ),
        (
            {"traction": {"arr": "2.4"}},
            ("money-unit-slip", "ARR of $2 (written '2.4') is implausibly small; did you mean '$2.4M'? Money is read as "
             "whole dollars", "$2.4M"),
        ),
        (
            {"traction": {"gross_margin": "0.62%"}},
            ("percent-slip", "gross margin of 0.62% is implausibly thin; did you mean '62%'? A percent sign already "
             "divides by 100", "62%"),
        ),
        (
            {"funding": {"total_raised": "$5M", "last_round": {"amount": "$8M"}}},
            ("last-round-above-total", "the last round ($8M) is larger than the total raised ($5M), which includes it",
             None),
        ),
        (
            {"stage": "seed", "funding": {"last_round": {"stage": "series-a"}}},
            ("round-stage-ahead", "the last round is series-a but the company's stage is seed; one of them is out of "
             "date", "series-a"),
        ),
        (
            {"stage": "seed", "funding": {"total_raised": "$120M"}},
            ("seed-mega-raise", "a seed company that has raised $120M: the stage or the amount is stale", None),
        ),
        (
            {"founded": 2030},
            ("founded-in-future", "founded in 2030, after the screening date 2026-11-27", None),
        ),
        (
            {"founded": "2026-10-01", "as_of": "2026-09-01"},
            ("founded-after-as-of", "founded 2026-10-01, after the facts are said to be true (as_of 2026-09-01)", None),
        ),
        (
            {"as_of": "2026-12-01"},
            ("as-of-in-future", "as_of 2026-12-01 is after the screening date 2026-11-27: facts cannot be from the "
             "future (check as_of, or screen with --on)", None),
        ),
        (
            {"funding": {"last_round": {"date": "2027-01-15"}}},
            ("round-in-future", "the last round is dated 2027-01-15, after the screening date 2026-11-27", None),
        ),
        (
            {"founded": 2024, "funding": {"last_round": {"date": "2023-06-01"}}},
            ("round-before-founding", "the last round is dated 2023-06-01, before the company was founded (in 2024)",
             None),
        ),
        (
            {"team": {"size": 0}},
            ("team-zero", "a full-time team of 0 people: unknown headcount is left out, not written as 0", None),
        ),
        (
            {"team": {"size": 1, "founders": [{"name": "A"}, {"name": "B"}]}},
            ("team-below-founders", "a full-time team of 1 but 2 founders are listed", "2"),
        ),
        (
            {"traction": {"arr": "$100M", "customers": 0}},
            ("arr-without-customers", "ARR of $100M with 0 paying customers", None),
        ),
        (
            {"team": {"size": 3}, "traction": {"arr": "$45M"}},
            ("revenue-per-head-extreme", "ARR of $45M with 3 people is $15M per employee, beyond any software "
             "company: check the ARR and the headcount", None),
        ),
        (
            {"compute": {"gpu_dependence": "none", "owned_gpus": 400}},
            ("gpus-without-dependence", "owns 400 GPUs but its GPU dependence is given as none", None),
        ),
        (
            {"model": {"base": "GPT-4o", "open_weights": True}},
            ("open-weights-closed-licence", "open weights are claimed, but the licence (OpenAI terms (API)) is a closed "
             "vendor's terms", None),
        ),
    ],
)  # fmt: skip
def test_each_check_names_what_looks_wrong(data: dict, expected: tuple) -> None:
    assert warnings_of(data) == [expected]


@pytest.mark.parametrize(
    "data",
    [
        {"funding": {"total_raised": 0}},  # bootstrapped: no money raised is not a slip
        {"funding": {"total_raised": 10_000, "last_round": {"amount": 10_000}}},  # at the bound
        {"traction": {"arr": 1_000, "gross_margin": 0.01, "customers": 3}},
        {"traction": {"arr": 0, "customers": 0}},
        {"funding": {"total_raised": "$5M", "last_round": {"amount": "$5M"}}},  # the first round is all of it
        {"stage": "series-a", "funding": {"last_round": {"stage": "series-a"}, "total_raised": "$99M"}},
        {"stage": "seed", "funding": {"total_raised": 99_999_999}},
        {"founded": 2026, "as_of": "2026-11-27", "funding": {"last_round": {"date": "2026-01-01"}}},
        {"team": {"size": 2, "founders": [{"name": "A"}, {"name": "B"}]}, "traction": {"arr": "$20M"}},
        {"compute": {"gpu_dependence": "none", "owned_gpus": 99}},
        {"model": {"base": "Llama 3.1 8B", "open_weights": True}},
    ],
)
def test_plausible_values_at_the_edges_do_not_warn(data: dict) -> None:
    assert warnings_of(data) == []


def test_the_fixtures_are_plausible() -> None:
    for path in [*sorted(FIXTURES.glob("*.yaml")), FIXTURES / "tessellate-tax.json"]:
        assert plausibility.check(load_profile(path, {"EUR": 1.08}), ON) == [], path.name


def test_a_founding_in_the_future_is_said_once() -> None:
    found = warnings_of({"founded": 2030, "as_of": "2026-09-01"})
    assert [check for check, _, _ in found] == ["founded-in-future"]


def test_the_screening_date_decides_the_date_checks() -> None:
    data = {"as_of": "2026-12-01", "founded": "2026-11-28"}
    assert [c for c, _, _ in warnings_of(data, dt.date(2026, 11, 27))] == ["founded-in-future", "as-of-in-future"]
    assert [c for c, _, _ in warnings_of(data, dt.date(2027, 2, 1))] == []


def test_every_check_of_the_catalogue_is_implemented_and_documented() -> None:
    assert plausibility.implemented() == frozenset(CHECKS)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for check_id, flags in CHECKS.items():
        assert f"| `{check_id}` | {flags} |" in readme, check_id


def test_silence_accepts_a_value_that_is_right() -> None:
    data = {"team": {"size": 0}, "traction": {"arr": "$100M", "customers": 0}}
    assert [c for c, _, _ in warnings_of({**data, "silence": ["team-zero"]})] == ["arr-without-customers"]
    assert warnings_of({**data, "silence": ["team-zero", "arr-without-customers"]}) == []


def test_an_unknown_check_in_silence_is_an_error_with_a_hint(write) -> None:
    path = write("p.yaml", "name: T\nsilence: [team-zero, team-zro]\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"{path}:2:22: silence[1]: unknown plausibility check 'team-zro'; did you mean 'team-zero'?"
    )


# --- through the command line -------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)

    def _run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return _run


def test_the_finding_warns_in_the_terminal_and_in_json(run, write) -> None:
    path = write("slip.yaml", SLIPPED)
    table = run(str(path), "--on", "2026-11-27", "--no-db", "--no-memo")
    assert table.exit_code == ExitCode.OK
    assert "Data warnings (2): check these values before relying on the score" in table.stdout
    result = run(str(path), "--on", "2026-11-27", "--no-db", "--no-memo", "--format", "json")
    assert result.exit_code == ExitCode.OK
    assert json.loads(result.stdout)["warnings"] == [
        {"check": "money-unit-slip", "fields": ["funding.total_raised"],
         "message": "total raised of $30 (written 29.5) is implausibly small; did you mean '$29.5M'? Money is read "
                    "as whole dollars", "suggestion": "$29.5M"},
        {"check": "percent-slip", "fields": ["traction.gross_margin"],
         "message": "gross margin of 0.62% is implausibly thin; did you mean '62%'? A percent sign already divides "
                    "by 100", "suggestion": "62%"},
    ]  # fmt: skip
    assert result.stderr.splitlines() == [
        f"warning: {path}:6:25: funding.total_raised: total raised of $30 (written 29.5) is implausibly small; did "
        "you mean '$29.5M'? Money is read as whole dollars [money-unit-slip]",
        f"warning: {path}:8:41: traction.gross_margin: gross margin of 0.62% is implausibly thin; did you mean "
        "'62%'? A percent sign already divides by 100 [percent-slip]",
    ]


def test_the_same_profile_and_date_give_the_same_bytes(run, write) -> None:
    path = write("slip.yaml", SLIPPED)
    args = (str(path), "--on", "2026-11-27", "--no-db", "--no-memo", "--format", "json")
    assert run(*args).stdout == run(*args).stdout


def test_strict_makes_warnings_errors_and_writes_nothing(run, write, tmp_path: Path) -> None:
    path = write("slip.yaml", SLIPPED)
    db = tmp_path / "s.db"
    result = run(str(path), "--on", "2026-11-27", "--db", str(db), "--strict")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.splitlines() == [
        f"error: {path}:6:25: funding.total_raised: total raised of $30 (written 29.5) is implausibly small; did "
        "you mean '$29.5M'? Money is read as whole dollars [money-unit-slip]",
        f"error: {path}:8:41: traction.gross_margin: gross margin of 0.62% is implausibly thin; did you mean "
        "'62%'? A percent sign already divides by 100 [percent-slip]",
        "error: 2 data warning(s) are errors with --strict; where a value is right, name its check under 'silence' "
        "in the profile (e.g. silence: [team-zero])",
    ]
    assert not db.exists() and not (tmp_path / "memos").exists()


def test_the_configuration_can_make_every_run_strict(run, write, tmp_path: Path) -> None:
    path = write("slip.yaml", SLIPPED)
    write("screener.toml", "[checks]\nstrict = true\n")
    assert run(str(path), "--on", "2026-11-27", "--no-db", "--no-memo").exit_code == ExitCode.INVALID_INPUT
    assert run(str(path), "--on", "2026-11-27", "--no-db", "--no-memo", "--no-strict").exit_code == ExitCode.OK
    assert run("memo", str(path), "--on", "2026-11-27", "--no-db").exit_code == ExitCode.INVALID_INPUT


def test_a_silenced_profile_passes_strict(run, write) -> None:
    path = write(
        "slip.yaml", SLIPPED.replace("name: Slipshod AI", "name: Slipshod AI\nsilence: [money-unit-slip, percent-slip]")
    )
    result = run(str(path), "--on", "2026-11-27", "--no-db", "--no-memo", "--strict", "--format", "json")
    assert result.exit_code == ExitCode.OK and json.loads(result.stdout)["warnings"] == []


def test_every_memo_template_shows_the_data_warnings_box(run, write, tmp_path: Path) -> None:
    path = write("slip.yaml", SLIPPED)
    money = (
        "Total raised of $30 (written 29.5) is implausibly small; did you mean &#39;$29.5M&#39;? Money is read as "
        "whole dollars."
    )
    for template in ("memo", "summary", "pass-note"):
        for fmt in ("md", "html"):
            result = run("memo", str(path), "--template", template, "--format", fmt, "--on", "2026-11-27",
                         "--no-db", "--out", "out", "--force")  # fmt: skip
            assert result.exit_code == ExitCode.OK, result.output
            suffix = "" if template == "memo" else f".{template}"
            text = (tmp_path / "out" / f"slipshod-ai{suffix}.{fmt}").read_text(encoding="utf-8")
            if fmt == "html":
                assert '<aside class="data-warnings" role="note">' in text and money in text
                assert "data warnings (2)" in text.lower()
            else:
                assert "data warnings (2)" in text.lower() and money.replace("&#39;", "'") in text
    memo = (tmp_path / "out" / "slipshod-ai.md").read_text(encoding="utf-8")
    assert (
        "> - Total raised of $30 (written 29.5) is implausibly small; did you mean '$29.5M'? Money is read as whole "
        "dollars. (`funding.total_raised`; check `money-unit-slip`)"
    ) in memo


# --- the database ---------------------------------------------------------------------------------


def test_warnings_are_stored_with_the_screening(db_url, write, screener: Screener) -> None:
    profile = load_profile(write("slip.yaml", SLIPPED))
    result = screener.screen(profile, ON)
    engine = store.connect(db_url)
    try:
        store.save(engine, screener.rulebook, [(result, profile.model_dump(mode="json"))])
        (row,) = store.history(engine, "Slipshod AI")
        assert [w["check"] for w in row.warnings] == ["money-unit-slip", "percent-slip"]
        assert row.result == result.model_dump(mode="json")
        (summary,) = store.summaries(engine)
        assert summary.warnings == row.warnings
    finally:
        engine.dispose()


def test_migration_0003_checks_the_profiles_stored_before_it(db_url, screener: Screener) -> None:
    engine = database._engine(db_url, create_folder=True)
    try:
        _alembic(engine, "upgrade", "0002")
        slipped = Profile.model_validate({"name": "Zero", "team": {"size": 0}})
        fine = Profile.model_validate({"name": "Fine", "team": {"size": 5}})
        # A 0002 row as that release wrote it: no warnings column.
        rows = [store.writing._encoded(screener.screen(p, ON).model_dump(mode="json"), p.model_dump(mode="json"))
                for p in (slipped, fine)]  # fmt: skip
        later = {
            "warnings",
            "profile_hash",
            "outcome_hash",
            "score_worst",
            "score_best",
            "verdict_worst",
            "verdict_best",
        }
        columns = [c for c in store.writing._COLUMNS if c not in later]
        with engine.begin() as conn:
            for number, row in enumerate(rows, start=1):
                pack = screener.rulebook
                if number == 1:
                    conn.execute(
                        sa.text("INSERT INTO pack_rules (hash, rules, categories, created_at) VALUES (:h, :r, :c, :t)"),
                        {"h": pack.hash, "r": json.dumps(StoredResults(screener).pack_rules.rules),
                         "c": json.dumps(list(pack.categories)), "t": dt.datetime(2026, 1, 1)},
                    )  # fmt: skip
                values = {**{c: getattr(row, c) for c in columns if hasattr(row, c)},
                          "created_at": dt.datetime(2026, 1, 1), "updated_at": dt.datetime(2026, 1, 1)}  # fmt: skip
                for name in ("knockouts", "matched", "profile", "details"):
                    values[name] = values[name].decode()
                conn.execute(
                    sa.text(
                        f"INSERT INTO screening ({', '.join(values)}) VALUES ({', '.join(':' + c for c in values)})"
                    ),
                    values,
                )
    finally:
        engine.dispose()
    engine = store.connect(db_url)
    try:
        (zero,) = store.history(engine, "Zero")
        (fine_row,) = store.history(engine, "Fine")
        assert [w["check"] for w in zero.warnings] == ["team-zero"] and fine_row.warnings == []
        assert zero.result["warnings"] == zero.warnings
        _alembic(engine, "downgrade", "0002")
        with engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_columns("screening")}
        assert "warnings" not in names
    finally:
        engine.dispose()


# --- batches --------------------------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


RECORDS = [
    {"name": "Alpha", "website": "alpha.example", "team": {"size": 5}, "funding": {"total_raised": 29.5}},
    {"name": "Beta", "website": "beta.example", "team": {"size": 0}, "traction": {"arr": "$1M", "customers": 0}},
    {"name": "Gamma", "website": "gamma.example", "team": {"size": 6}},
]


def test_a_batch_counts_the_warnings_and_lists_them_per_company(tmp_path: Path) -> None:
    deals = _jsonl(tmp_path / "deals.jsonl", RECORDS)
    out = tmp_path / "ranked.csv"
    result = CliRunner().invoke(main, ["batch", str(deals), "--out", str(out), "--no-db", "--on", "2026-11-27"])
    assert result.exit_code == ExitCode.OK, result.output
    assert (
        "data warnings: 2 companies (money-unit-slip 1, team-zero 1, arr-without-customers 1); see the warnings "
        "column" in result.stdout
    )
    with out.open(newline="") as handle:
        ranked = {row["name"]: row["warnings"] for row in csv.DictReader(handle)}
    assert ranked == {"Alpha": "money-unit-slip", "Beta": "team-zero; arr-without-customers", "Gamma": ""}
    summary = CliRunner().invoke(
        main, ["batch", str(deals), "--no-db", "--on", "2026-11-27", "--format", "json", "--out", str(out)]
    )
    data = json.loads(summary.stdout)
    assert (data["warned"], data["data_warnings"]) == (2, {"money-unit-slip": 1, "team-zero": 1,
                                                          "arr-without-customers": 1})  # fmt: skip


def test_a_strict_batch_rejects_the_records_that_warn(tmp_path: Path) -> None:
    deals = _jsonl(tmp_path / "deals.jsonl", RECORDS)
    db = tmp_path / "s.db"
    result = CliRunner().invoke(
        main,
        ["batch", str(deals), "--out", str(tmp_path / "r.jsonl"), "--db", str(db), "--on", "2026-11-27", "--strict"],
    )
    assert result.exit_code == ExitCode.REJECTS
    rejects = [json.loads(line) for line in (tmp_path / "r.rejects.jsonl").read_text().splitlines()]
    assert [(r["record"]["name"], [e["message"] for e in r["errors"]]) for r in rejects] == [
        ("Alpha", ["total raised of $30 (written 29.5) is implausibly small; did you mean '$29.5M'? Money is read as "
                   "whole dollars [money-unit-slip] (an error with --strict)"]),
        ("Beta", ["a full-time team of 0 people: unknown headcount is left out, not written as 0 [team-zero] (an error "
                  "with --strict)", "ARR of $1M with 0 paying customers [arr-without-customers] (an error with "
                  "--strict)"]),
    ]  # fmt: skip
    assert rejects[0]["errors"][0]["location"] == f"{deals}:1"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT company_name FROM screening").fetchall() == [("Gamma",)]


def test_a_duplicate_that_lost_is_not_counted(tmp_path: Path) -> None:
    records = [RECORDS[1], {**RECORDS[1], "team": {"size": 4}, "as_of": "2026-10-01", "traction": {"arr": "$1M"}}]
    deals = _jsonl(tmp_path / "deals.jsonl", records)
    result = CliRunner().invoke(main, ["batch", str(deals), "--no-db", "--on", "2026-11-27", "--format", "json"])
    data = json.loads(result.stdout)
    assert (data["duplicates"], data["warned"], data["data_warnings"]) == (1, 0, {})


def test_diff_names_the_inputs_whose_data_warns(write) -> None:
    zero = write("zero.yaml", "name: Zero Co\nteam: {size: 0}\n")
    pack = REPO / "rules" / "small-team-open-model.yaml"
    result = CliRunner().invoke(
        main,
        ["diff", str(pack), str(pack), str(zero), str(FIXTURES / "tinyllama-legal.yaml"), "--on", "2026-11-27"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert "data warnings: 1 of the inputs: Zero Co (team-zero)" in result.stdout
    data = CliRunner().invoke(main, ["diff", str(pack), str(pack), str(zero), "--on", "2026-11-27", "--format", "json"])
    assert json.loads(data.stdout)["companies"][0]["warnings"] == ["team-zero"]


def test_a_csv_export_is_checked_like_any_profile(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "name,homepage_url,funding_total_usd,employee_count\n"
        "Slip Co,https://slip.example,29.5,12\n"
        "Fine Co,https://fine.example,5000000,12\n",
        encoding="utf-8",
    )
    out = tmp_path / "ranked.jsonl"
    result = CliRunner().invoke(main, ["batch", str(export), "--out", str(out), "--no-db", "--on", "2026-11-27"])
    assert result.exit_code == ExitCode.OK, result.output
    ranked = {row["name"]: row["warnings"] for row in map(json.loads, out.read_text().splitlines())}
    assert ranked == {"Slip Co": ["money-unit-slip"], "Fine Co": []}
