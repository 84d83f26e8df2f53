"""Batch inputs: JSON Lines, profile folders and mapped CSV, each record validated and located."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.errors import ConfigError, InputError
from screener.jobs.inputs import iter_records
from screener.jobs.mapping import Column, convert, load_mapping


def messages(records):
    return [[str(p) for p in r.problems] for r in records]


def test_jsonl_records_are_located_by_line(write):
    path = write(
        "deals.jsonl",
        """
        {"name": "Acme AI", "website": "acme.ai", "team": {"size": 8}}

        {"name": "Bad", "team": {"size": "lots"}, "founderz": []}
        {not json
        [1, 2]
        """,
    )
    records = list(iter_records([path]))
    assert [r.raw.line for r in records] == [1, 3, 4, 5]
    assert records[0].ok and records[0].profile.team.size == 8
    assert messages(records)[1:] == [
        [
            f"{path}:3: founderz: unknown field 'founderz'; did you mean 'founded'?",
            f"{path}:3: team.size: Input should be a valid integer, unable to parse string as an integer",
        ],
        [f"{path}:4:2: invalid JSON: Expecting property name enclosed in double quotes"],
        [f"{path}:5: a profile must be a mapping of fields"],
    ]
    assert records[1].data == {"name": "Bad", "team": {"size": "lots"}, "founderz": []}


def test_jsonl_fast_path_gives_the_same_profile_as_the_located_path(write):
    from screener.profile.model import Profile

    line = '{"name": "Acme", "stage": "Series A", "funding": {"total_raised": "$5.2M"}, "founded": "2021"}'
    path = write("one.jsonl", line + "\n")
    (record,) = iter_records([path])
    import json

    assert record.profile == Profile.model_validate(json.loads(line), context={"rates": {}})


def test_folder_of_profiles_yaml_and_json(write, tmp_path):
    write("deals/a.yaml", "name: Acme AI\nteam:\n  size: 12\n")
    write("deals/b.json", '{"name": "Beta", "hq_country": "XX"}\n')
    write("deals/notes.txt", "ignored: not a profile type\n")
    records = list(iter_records([tmp_path / "deals"]))
    assert [Path(r.raw.source).name for r in records] == ["a.yaml", "b.json"]
    assert records[0].ok
    assert messages(records)[1] == [
        f"{tmp_path / 'deals' / 'b.json'}:1:18: hq_country: 'XX' is not an ISO 3166 country code "
        "(alpha-2 such as 'US' or 'DE', or alpha-3 such as 'USA')"
    ]


def test_unsupported_input_is_refused(write):
    path = write("deals.xlsx", "x")
    with pytest.raises(InputError) as info:
        list(iter_records([path]))
    assert (
        str(info.value)
        == f"{path}: unsupported input type '.xlsx': expected a folder, .yaml, .yml, .json, .jsonl or .csv"
    )


def test_csv_with_units_and_dash_as_missing(write):
    mapping = load_mapping(
        write(
            "map.yaml",
            """
            name: thousands
            columns:
              Company: {field: name}
              Raised ($k): {field: funding.total_raised, unit: thousands}
              Margin: {field: traction.gross_margin, unit: percent}
              Staff: {field: team.size, type: integer}
            ignore: [Notes]
            """,
        )
    )
    path = write(
        "deals.csv",
        """
        Company,Raised ($k),Margin,Staff,Notes,Extra
        Acme AI,"1,500",62,-,hello,x
        Beta,,,0,,
        Gamma,lots,150,3.5,,
        """,
    )
    warnings = []
    records = list(iter_records([path], mapping, warn=warnings.append))
    assert [str(w) for w in warnings] == [
        f"{path}:1: unknown column(s) 'Extra' ignored: map them under 'columns' or list them under 'ignore' "
        "in mapping 'thousands'"
    ]
    acme, beta, gamma = records
    assert acme.profile.funding.total_raised == 1_500_000
    assert acme.profile.traction.gross_margin == pytest.approx(0.62)
    assert acme.profile.team.size is None  # "-" is missing, not zero
    assert beta.profile.funding.total_raised is None and beta.profile.team.size == 0
    # Bad optional cells leave their fields out, with a warning each: the company is still screened.
    assert gamma.profile is not None and gamma.profile.name == "Gamma"
    assert gamma.profile.team.size is None and gamma.profile.traction.gross_margin is None
    assert [str(w) for w in gamma.warnings] == [
        f"{path}:4: Staff: '3.5' is not a whole number; left out",
        f"{path}:4: Raised ($k): 'lots': cannot read 'lots' as money; write e.g. 5200000, '$5.2M', '1.2m' or "
        "'€105M'; left out",
        f"{path}:4: Margin: '150': 150% is outside 0%..100%; left out",
    ]
    assert gamma.data["Company"] == "Gamma"
    strict = list(iter_records([path], mapping))
    from screener.jobs.inputs import RawRecord, validate

    rejected = validate(RawRecord(0, str(path), 4, "csv", strict[2].data), None, mapping, strict=True)
    assert rejected.profile is None
    assert [str(p) for p in rejected.problems] == [
        f"{path}:4: Staff: '3.5' is not a whole number",
        f"{path}:4: Raised ($k): cannot read 'lots' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'",
        f"{path}:4: Margin: 150% is outside 0%..100%",
    ]


def test_builtin_crunchbase_mapping(write):
    path = write(
        "export.csv",
        """
        name,homepage_url,category_list,funding_total_usd,status,country_code,founded_at,funding_rounds,last_funding_at,employee_count
        Tinyllama Legal,https://tinyllama.ai,Legal Tech|AI,5200000,operating,GBR,2023-02-01,2,2025-06-30,11-50
        Nowhere,-,-,-,closed,XYZ,2023-13-01,-,-,-
        """,
    )
    records = list(iter_records([path], load_mapping(None)))
    profile = records[0].profile
    assert (profile.website, profile.sector, profile.hq_country, profile.team.size) == (
        "https://tinyllama.ai", "Legal Tech", "GB", 50,
    )  # fmt: skip
    assert profile.funding.total_raised == 5_200_000 and str(profile.funding.last_round.date) == "2025-06-30"
    nowhere = records[1]
    assert nowhere.profile is not None and nowhere.profile.hq_country is None and nowhere.profile.founded is None
    assert [str(w) for w in nowhere.warnings] == [
        f"{path}:3: country_code: 'XYZ' is not an ISO 3166 country code (alpha-2 such as 'US' or 'DE', or alpha-3 such as 'USA'); left out",
        f"{path}:3: founded_at: '2023-13-01' is not a date: month must be in 1..12; left out",
    ]


def test_mapping_file_problems_are_located(write):
    path = write(
        "bad.yaml",
        """
        columns:
          Name: {field: nam}
          Raised: {field: funding.total_raised, units: thousands}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    first, second = str(info.value).splitlines()
    assert first == f"{path}:2:10: columns.Name.field: 'nam' is not a profile field; did you mean 'name'?"
    # validation._unknown_field loses its way in a dict of models, so no "did you mean" here yet.
    assert second.startswith(f"{path}:3:41: columns.Raised.units: unknown field 'units'")


@pytest.mark.parametrize(
    ("text", "spec", "value"),
    [
        ("2.5", {"field": "funding.total_raised", "unit": "millions"}, 2_500_000),
        ("10000+", {"field": "team.size", "type": "integer", "range": "lower"}, 10_000),
        ("11-50", {"field": "team.size", "type": "integer", "range": "middle"}, 30),
        ("usa", {"field": "hq_country", "type": "country"}, "US"),
        ("ai| legal", {"field": "sector", "split": "|"}, "ai"),
        ("2019", {"field": "founded", "type": "year"}, 2019),
    ],
)
def test_convert(text, spec, value):
    assert convert(text, Column(**spec)) == value


def test_a_json_lines_record_with_a_repeated_key_is_rejected_like_a_file(tmp_path) -> None:
    from screener.jobs.inputs import RawRecord, validate

    record = validate(RawRecord(0, "deals.jsonl", 3, "jsonl", '{"name": "A", "name": "B"}\n'))
    assert record.profile is None
    assert [str(p) for p in record.problems] == ["deals.jsonl:3: invalid JSON: duplicate key 'name'"]
