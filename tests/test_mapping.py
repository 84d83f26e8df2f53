"""CSV mappings that read real exports: units, dates, value maps, constants, several columns, encodings."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from screener.cli.main import main
from screener.errors import ConfigError, ExitCode
from screener.jobs.csvformat import detect
from screener.jobs.inputs import RawRecord, iter_records, validate
from screener.jobs.mapping import load_mapping
from screener.rules.rulebook import load_rulebook

DECLARING = """
name: declaring
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
fields:
  funding.rounds: {type: integer, min: 0}
  investors.kinds: {type: list, of: [vc, angel]}
  signals.top500: {type: boolean}
  signals.any_round: {type: boolean}
  signals.flags: {type: integer}
rules:
  - {id: rounds, title: Rounds, category: c, points: 5, when: funding.rounds >= 2, rationale: r}
"""


def records(write, mapping_text: str, csv_text: str, *, pack: str | None = None, rates=None, name="deals.csv"):
    schema = load_rulebook(write("pack.yaml", pack)).schema if pack else None
    mapping = load_mapping(write("map.yaml", mapping_text), schema, rates)
    path = write(name, csv_text)
    warnings: list = []
    found = list(iter_records([path], mapping, rates, warnings.append, schema))
    return path, found, [str(w) for w in warnings]


def test_money_and_percent_cells_use_the_profile_parsers(write) -> None:
    _path, found, _ = records(
        write,
        """
        columns:
          Company: {field: name}
          Raised: {field: funding.total_raised}
          Margin: {field: traction.gross_margin}
        """,
        """
        Company,Raised,Margin
        A,$70M,62%
        B,1.1B,0.4
        C,€3M,-
        D,"5,200,000",
        """,
        rates={"EUR": 1.1},
    )
    raised = [r.profile.funding.total_raised for r in found]
    assert raised == [70_000_000, 1_100_000_000, 3_300_000, 5_200_000]
    assert [r.profile.traction.gross_margin for r in found] == [0.62, 0.4, None, None]


def test_a_currency_without_a_rate_is_a_warning_for_that_cell(write) -> None:
    path, (record,), _ = records(
        write,
        "columns:\n  Company: {field: name}\n  Raised: {field: funding.total_raised}\n",
        "Company,Raised\nA,€3M\n",
    )
    assert record.profile is not None and record.profile.funding.total_raised is None
    assert [str(w) for w in record.warnings] == [
        f"{path}:2: Raised: '€3M': amount is in EUR but no exchange rate for EUR is configured (add 'EUR = <USD "
        "per EUR>' under [fx] in screener.toml, or pass --fx EUR=<rate>); left out"
    ]


def test_dates_follow_the_column_formats_and_day_month_order_is_never_guessed(write) -> None:
    path, found, _ = records(
        write,
        """
        columns:
          name: {field: name}
          founded_at: {field: founded, format: "%m-%d-%Y"}
          last: {field: funding.last_round.date, format: ["%d/%m/%Y", "%Y-%m-%d"]}
          as_of: {field: as_of}
        """,
        """
        name,founded_at,last,as_of
        A,01-31-2007,31/12/2012,2013-01-05
        B,31-01-2007,2012-12-30,03/04/2013
        """,
    )
    a, b = found
    assert (a.profile.founded, a.profile.funding.last_round.date, a.profile.as_of) == (
        dt.date(2007, 1, 31), dt.date(2012, 12, 31), dt.date(2013, 1, 5),
    )  # fmt: skip
    assert b.profile.founded is None and b.profile.as_of is None
    assert b.profile.funding.last_round.date == dt.date(2012, 12, 30)
    assert [str(w) for w in b.warnings] == [
        f"{path}:3: founded_at: '31-01-2007' matches none of the column's date formats (%m-%d-%Y); left out",
        f"{path}:3: as_of: '03/04/2013' is not a date in YYYY-MM-DD form; day and month order is not guessed: "
        "give the column a format, e.g. format: '%m/%d/%Y'; left out",
    ]


def test_value_maps_constants_and_a_column_for_two_fields(write) -> None:
    path, found, _ = records(
        write,
        """
        constants:
          hq_country: US
          as_of: 2014-01-01
        columns:
          name: {field: name}
          round: {field: [stage, funding.last_round.stage], values: {Angel: pre-seed, "Series D": growth, debt: null}}
        """,
        """
        name,round
        A,Angel
        B,series d
        C,Series A
        D,debt
        E,bridge
        """,
    )
    stages = [(r.profile.stage, r.profile.funding.last_round and r.profile.funding.last_round.stage) for r in found]
    assert stages == [("pre-seed", "pre-seed"), ("growth", "growth"), ("series-a", "series-a"), (None, None),
                      (None, None)]  # fmt: skip
    assert all(r.profile.hq_country == "US" and r.profile.as_of == dt.date(2014, 1, 1) for r in found)
    assert next(str(w) for w in found[4].warnings).startswith(f"{path}:6: round: 'bridge': 'bridge' is not one of:")


def test_one_field_from_several_columns(write) -> None:
    path, found, _ = records(
        write,
        """
        columns:
          name: {field: name}
          rounds: {field: funding.rounds}
        combine:
          stage: {columns: [has_roundA, has_roundB, has_roundC, has_roundD], pick: last,
                  values: [series-a, series-b, series-c, growth], otherwise: seed}
          investors.kinds: {columns: [has_VC, has_angel], pick: all, values: [vc, angel]}
          signals.any_round: {columns: [has_roundA, has_roundB, has_roundC, has_roundD], pick: any}
          signals.flags: {columns: [has_VC, has_angel, is_top500], pick: count}
          funding.total_raised: {columns: [equity, debt], pick: sum}
          website: {columns: [homepage, domain], pick: first}
        ignore: [is_top500]
        """,
        """
        name,rounds,has_roundA,has_roundB,has_roundC,has_roundD,has_VC,has_angel,is_top500,equity,debt,homepage,domain
        A,3,1,1,0,0,1,0,1,1000000,500000,-,a.com
        B,0,0,0,0,0,0,1,0,,,https://b.io,b.com
        C,1,1,-,0,0,-,-,-,-,-,-,-
        D,1,yes,maybe,0,0,0,0,0,1,2,-,-
        """,
        pack=DECLARING,
    )
    a, b, c, d = (r.profile for r in found)
    assert (a.stage, a.investors.kinds, a.signals.any_round, a.signals.flags, a.funding.total_raised, a.website) == (
        "series-b", ["vc"], True, 2, 1_500_000, "a.com",
    )  # fmt: skip
    assert (b.stage, b.investors.kinds, b.signals.any_round, b.signals.flags, b.website) == (
        "seed", ["angel"], False, 1, "https://b.io",
    )  # fmt: skip
    # Unknown flags leave unknown what they would decide; a true one decides anyway.
    assert (c.stage, c.investors.kinds, c.signals.any_round, c.signals.flags) == ("series-a", None, True, None)
    assert d.stage is None and d.signals.any_round is None  # the unreadable flag: left out, with a warning
    assert [str(w) for w in found[3].warnings] == [
        f"{path}:5: has_roundB: 'maybe' is not yes/no (1/0, true/false, yes/no); left out",
        f"{path}:5: has_roundB: 'maybe' is not yes/no (1/0, true/false, yes/no); left out",
    ]


def test_a_bad_name_still_rejects_and_strict_rejects_any_bad_cell(write) -> None:
    mapping = load_mapping(
        write(
            "map.yaml", "columns:\n  Company: {field: name}\n  Staff: {field: team.size}\n  Founded: {field: founded}\n"
        )
    )
    row = {"Company": "A" * 301, "Staff": "lots", "Founded": "2020"}
    record = validate(RawRecord(0, "x.csv", 2, "csv", row), None, mapping)
    assert record.profile is None
    assert [str(p) for p in record.problems] == ["x.csv:2: Company: String should have at most 300 characters"]
    row = {"Company": "A", "Staff": "lots", "Founded": "2020"}
    assert validate(RawRecord(0, "x.csv", 2, "csv", row), None, mapping).profile is not None
    strict = validate(RawRecord(0, "x.csv", 2, "csv", row), None, mapping, strict=True)
    assert [str(p) for p in strict.problems] == ["x.csv:2: Staff: 'lots' is not a number"]


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter", "said"),
    [
        ("name;raised\nAcmé;$1M\n".encode(), "utf-8-sig", ";", ("columns separated by semicolon",)),
        ("\ufeffname,raised\nAcmé,$1M\n".encode(), "utf-8-sig", ",", ()),
        ("name\traised\nAcmé\t$1M\n".encode("cp1252"), "cp1252", "\t",
         ("read as cp1252 (not UTF-8)", "columns separated by tab")),
        (b'name,"raised; in $"\n"A; B",1\n', "utf-8-sig", ",", ()),
    ],
)  # fmt: skip
def test_encoding_and_delimiter_are_detected(tmp_path, data, encoding, delimiter, said) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    found = detect(path)
    assert (found.encoding, found.delimiter, found.detected) == (encoding, delimiter, said)


def test_a_semicolon_latin1_export_is_read_and_the_detection_said(write, tmp_path) -> None:
    mapping = load_mapping(
        write("map.yaml", "columns:\n  Société: {field: name}\n  Levée: {field: funding.total_raised}\n")
    )
    path = tmp_path / "export.csv"
    path.write_bytes("Société;Levée\nCafé Ünïcode;€2M\n".encode("cp1252"))
    warnings: list = []
    (record,) = iter_records([path], mapping, {"EUR": 1.0}, warnings.append)
    assert (record.profile.name, record.profile.funding.total_raised) == ("Café Ünïcode", 2_000_000)
    assert [str(w) for w in warnings] == [
        f"{path}: read as cp1252 (not UTF-8) and columns separated by semicolon (detected; set encoding: or "
        "delimiter: in mapping 'custom' to read it otherwise)"
    ]
    forced = load_mapping(
        write("forced.yaml", "encoding: utf-8\ndelimiter: ','\ncolumns:\n  Société;Levée: {field: name}\n")
    )
    (misread,) = iter_records([path], forced)
    assert misread.profile is None  # what the override asks for: not UTF-8, so the row is rejected as such


def test_mapping_problems_are_located(write) -> None:
    shape = write(
        "shape.yaml",
        """
        delimiter: ";;"
        encoding: klingon
        columns:
          Name: {field: nam}
        combine:
          sector: {columns: [x, y], pick: all}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(shape)
    assert str(info.value).splitlines() == [
        f"{shape}:1:1: delimiter: ';;' is not a delimiter: use auto, or one character such as ',' ';' tab '|'",
        f"{shape}:2:1: encoding: 'klingon' is not an encoding Python knows (utf-8, cp1252, latin-1, …)",
        f"{shape}:4:10: columns.Name.field: 'nam' is not a profile field; did you mean 'name'?",
        f"{shape}:6:3: combine.sector: pick: all needs values: the value each column's flag stands for",
    ]
    meaning = write(
        "meaning.yaml",
        """
        constants:
          hq_country: USA1
          team.size: -3
        columns:
          Founded: {field: founded, type: boolean}
          Raised: {field: funding.total_raised, type: date}
          A: {field: team.size}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(meaning)
    assert str(info.value).splitlines() == [
        f"{meaning}:3:3: constants.team.size: team.size is filled by both column 'A' and constants.team.size; keep "
        "one, or read several columns with combine: {team.size: {columns: [...], pick: first}}",
        f"{meaning}:5:29: columns.Founded: founded is read as year; type boolean does not fit it",
        f"{meaning}:6:41: columns.Raised: funding.total_raised is read as money; type date does not fit it",
        f"{meaning}:2:3: constants.hq_country: 'USA1' is not a country: give its ISO 3166 code (such as 'US' or 'DE') or its name",
        f"{meaning}:3:3: constants.team.size: Input should be greater than or equal to 0",
    ]


def test_unmapped_columns_and_what_the_export_lacks_are_said_in_batch(write, tmp_path) -> None:
    path = write(
        "export.csv",
        """
        name,homepage_url,funding_total_usd,last_funding_type,employee_count,favourite_colour
        Acme,acme.ai,$5M,series_d,11-50,blue
        """,
    )
    out = tmp_path / "ranked.jsonl"
    result = CliRunner().invoke(main, ["batch", str(path), "--no-db", "--out", str(out), "--on", "2026-11-27"])
    assert result.exit_code == 0, result.output
    # Past a progress line, printed when starting the workers took longer than its interval.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("batch: ")]
    assert lines[0].startswith("warning: mapping 'crunchbase' fills none of ")
    assert "model.open_weights" in lines[0] and "cannot be evaluated for CSV records" in lines[0]
    assert lines[1] == (
        f"warning: {path}:1: unknown column(s) 'favourite_colour' ignored: map them under 'columns' or list them "
        "under 'ignore' in mapping 'crunchbase'"
    )
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["verdict"] == "review"
    assert row["notes"][0].startswith("the export (mapping 'crunchbase') has no column for: ")


def test_the_crunchbase_mapping_reads_the_stage_and_declared_fields(write) -> None:
    _path, found, _ = records(
        write,
        (load_mapping.__globals__["packaged_mapping"]("crunchbase")).read_text(),
        """
        name,homepage_url,domain,category_list,market,funding_total_usd,country_code,founded_at,last_funding_at,last_funding_type,num_funding_rounds,employee_count
        A,-,a.io,AI|Legal,Software,$70M,USA,2019-03-01,2024-05-01,series_b,3,11-50
        B,https://b.com,b.com,-,Biotech,1.1B,GBR,2018,2023-01-01,angel,1,unknown
        C,-,-,-,-,-,DEU,-,-,debt_financing,-,10000+
        """,
        pack=DECLARING,
    )
    a, b, c = (r.profile for r in found)
    assert (a.website, a.sector, a.funding.total_raised, a.hq_country, a.stage, a.funding.rounds, a.team.size) == (
        "a.io", "AI", 70_000_000, "US", "series-b", 3, 50,
    )  # fmt: skip
    assert (b.website, b.sector, b.stage, b.founded, b.team.size) == (
        "https://b.com",
        "Biotech",
        "pre-seed",
        2018,
        None,
    )
    assert (c.stage, c.team.size, c.funding.rounds) == (None, 10_000, None)
    assert not any(r.warnings for r in found)


def test_batch_strict_rejects_bad_cells(write, tmp_path) -> None:
    mapping = write("map.yaml", "columns:\n  Company: {field: name}\n  Staff: {field: team.size}\n")
    path = write("deals.csv", "Company,Staff\nA,lots\nB,4\n")
    out = tmp_path / "ranked.csv"
    lenient = CliRunner().invoke(main, ["batch", str(path), "--map", str(mapping), "--no-db", "--out", str(out)])
    assert lenient.exit_code == 0, lenient.output
    assert (
        f"warning: {path}: 1 cell(s) of column 'Staff' could not be read and were left out of their profiles (first, "
        "row 2: 'lots' is not a number; left out); --strict rejects such rows instead"
    ) in lenient.stderr
    assert "Staff: 'lots' is not a number; left out" in out.read_text()
    strict = CliRunner().invoke(main, ["batch", str(path), "--map", str(mapping), "--no-db", "--out", str(out),
                                       "--strict"])  # fmt: skip
    assert strict.exit_code == ExitCode.REJECTS
    (reject,) = [json.loads(line) for line in (tmp_path / "ranked.rejects.jsonl").read_text().splitlines()]
    assert reject["errors"] == [{"location": f"{path}:2", "field": "Staff", "message": "'lots' is not a number"}]
