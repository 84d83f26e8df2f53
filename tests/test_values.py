"""Dates, countries and stages read the same from YAML, JSON, JSON Lines and CSV, through the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.errors import ExitCode

MAPPING = """
name: values
columns:
  Company: {field: name}
  Country: {field: hq_country}
  Stage: {field: stage}
  As of: {field: as_of, type: date}
  Last round: {field: funding.last_round.date, type: date}
"""


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)

    def _run(*args: str):
        return CliRunner().invoke(main, [*args, "--on", "2026-11-27"], catch_exceptions=False)

    return _run


def stored(db: Path) -> dict[str, dict]:
    with sqlite3.connect(db) as connection:
        return {
            name: json.loads(profile)
            for name, profile in connection.execute("SELECT company_name, profile FROM screening")
        }


def test_a_month_a_country_name_and_a_stage_mean_the_same_in_yaml_json_and_csv(run, write, tmp_path: Path) -> None:
    write(
        "deals/a.yaml",
        "name: From YAML\nhq_country: USA\nstage: Series A\nas_of: 2026-09\nfunding: {last_round: {date: 2024-07}}\n",
    )
    write(
        "deals/b.json",
        '{"name": "From JSON", "hq_country": "United States", "stage": "series_a", "as_of": "2026-09",'
        ' "funding": {"last_round": {"date": "2024-07"}}}',
    )
    write(
        "deals/c.jsonl",
        '{"name": "From JSON Lines", "hq_country": "us", "stage": "SERIES A", "as_of": "2026-09-01", "funding": {"last_round": {"date": "2024-07-01T09:30:00Z"}}}\n',
    )
    write("deals/d.csv", "Company,Country,Stage,As of,Last round\nFrom CSV,USA,Series A,2026-09,2024-07\n")
    write("map.yaml", MAPPING)
    result = run("batch", str(tmp_path / "deals"), "--map", str(tmp_path / "map.yaml"), "--db", str(tmp_path / "s.db"))
    assert result.exit_code == ExitCode.OK, result.output
    profiles = stored(tmp_path / "s.db")
    assert len(profiles) == 4
    for name, profile in profiles.items():
        read = (profile["hq_country"], profile["stage"], profile["as_of"], profile["funding"]["last_round"]["date"])
        assert read == ("US", "series-a", "2026-09-01", "2024-07-01"), name


def test_yaml_founded_may_be_a_year_or_a_month(run, write, tmp_path: Path) -> None:
    year = write("year.yaml", "name: Year Co\nfounded: 2024\n")
    month = write("month.yaml", "name: Month Co\nfounded: 2024-03\n")
    result = run(str(year), str(month), "--no-memo", "--db", str(tmp_path / "s.db"))
    assert result.exit_code == ExitCode.OK, result.output
    profiles = stored(tmp_path / "s.db")
    assert (profiles["Year Co"]["founded"], profiles["Month Co"]["founded"]) == (2024, "2024-03-01")


REFUSED = {
    "hq_country": [
        ("UK", "'UK' is not an ISO 3166 country code; did you mean 'GB' (United Kingdom)?"),
        ("XX", "'XX' is not an ISO 3166 country code (alpha-2 such as 'US' or 'DE', or alpha-3 such as 'USA')"),
        ("Germny", "'Germny' is not a country: give its ISO 3166 code (such as 'US' or 'DE') or its name; did you mean 'DE' (Germany)?"),
    ],
    "stage": [
        ("Series D", "'Series D' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', 'series-c' or 'growth'; did you mean 'growth' (every round after series-c)?"),
        ("Series A2", "'Series A2' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', 'series-c' or 'growth'; did you mean 'series-a'?"),
        ("Angel", "'Angel' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', 'series-c' or 'growth'; did you mean 'pre-seed'?"),
    ],
    "as_of": [
        ("2024-13", "'2024-13' is not a date: month must be in 1..12"),
        ("July 2024", "'July 2024' is not a date in YYYY-MM-DD form"),
    ],
}  # fmt: skip
CASES = [(field, value, message) for field, cases in REFUSED.items() for value, message in cases]


@pytest.mark.parametrize(("field", "value", "message"), CASES, ids=[f"{f}={v}" for f, v, _ in CASES])
def test_a_refused_value_gets_the_same_message_from_yaml_json_and_csv(run, write, tmp_path, field, value, message):
    yaml = write("p.yaml", f"name: Refused\n{field}: '{value}'\n")
    result = run(str(yaml), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == f"error: {yaml}:2:1: {field}: {message}\n"

    as_json = write("p.json", json.dumps({"name": "Refused", field: value}))
    result = run(str(as_json), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.endswith(f": {field}: {message}\n")

    column = {"hq_country": "Country", "stage": "Stage", "as_of": "As of"}[field]
    write("map.yaml", MAPPING)
    csv = write("p.csv", f"Company,{column}\nRefused,{value}\n")
    strict = run("batch", str(csv), "--map", "map.yaml", "--no-db", "--rejects", "r.jsonl", "--strict")
    assert strict.exit_code == ExitCode.REJECTS
    (reject,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert reject["errors"] == [{"location": f"{csv}:2", "field": column, "message": message}]
    # Without --strict a cell that cannot be read is left out of the profile, with the same reason.
    lenient = run("batch", str(csv), "--map", "map.yaml", "--no-db", "--rejects", "r.jsonl", "--format", "json")
    assert lenient.exit_code == ExitCode.OK
    (warning,) = [w for w in json.loads(lenient.stdout)["warnings"] if "could not be read" in w]
    assert "(first, row 2: " in warning and f"{message}; left out)" in warning


def test_a_day_and_month_order_is_never_guessed(run, write, tmp_path) -> None:
    yaml = write("p.yaml", "name: Refused\nas_of: 03/04/2012\n")
    result = run(str(yaml), "--no-db", "--no-memo")
    assert result.stderr == (
        f"error: {yaml}:2:1: as_of: '03/04/2012' is not a date in YYYY-MM-DD form; day and month order is not "
        "guessed: write it as YYYY-MM-DD\n"
    )
    write("map.yaml", MAPPING)
    csv = write("p.csv", "Company,As of\nRefused,03/04/2012\n")
    result = run("batch", str(csv), "--map", "map.yaml", "--no-db", "--rejects", "r.jsonl", "--strict")
    (reject,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert reject["errors"][0]["message"] == (
        "'03/04/2012' is not a date in YYYY-MM-DD form; day and month order is not guessed: give the column a "
        "format, e.g. format: '%m/%d/%Y'"
    )
