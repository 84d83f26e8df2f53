"""Fields and derived values a rule pack declares: checked like built-in ones, read by rules, shown everywhere."""

from __future__ import annotations

import json
import sqlite3

import orjson
import pytest
from click.testing import CliRunner

from screener.cli.main import main
from screener.errors import ExitCode
from screener.rules.rulebook import load_rulebook
from screener.screening.screener import Screener
from screener.store import packing
from screener.store.stored import StoredResults
from tests.conftest import ON

PACK = """
name: declared
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
fields:
  funding.rounds: {type: integer, min: 0, max: 30, question: "How many priced rounds has it raised?"}
  funding.first_round_on: {type: date, description: "the date of the first priced round"}
  investors.kinds: {type: list, of: [vc, angel, corporate, accelerator], description: "the kinds of investors"}
  signals.top500: {type: boolean, description: "on a top-500 list"}
  signals.grant: {type: money, max: "$5M", description: "the grant received"}
  signals.churn: {type: fraction, description: "monthly churn"}
  company.status: {type: enum, values: [operating, acquired, closed], description: "the operating status"}
  company.city: {type: string, description: "the city"}
  milestones: {type: integer, min: 0, description: "milestones reached"}
derived:
  arr_to_raised: {ratio: [traction.arr, funding.total_raised], description: "ARR over capital raised"}
  arr_over_raised: {difference: [traction.arr, funding.total_raised]}
  vc_backers: {count: investors.kinds, value: vc}
  backers: {count: investors.kinds}
  months_since_first: {months: [funding.first_round_on, screened_on]}
  days_first_to_last: {days: [funding.first_round_on, funding.last_round.date]}
rules:
  - {id: rounds, title: Several rounds, category: funding, points: 10, when: funding.rounds >= 2,
     rationale: "{{ name }} has raised {{ funding.rounds }} priced rounds."}
  - {id: vc, title: VC-backed, category: funding, points: 5, when: derived.vc_backers >= 1, rationale: vc}
  - {id: top, title: Top 500, category: signals, points: 5, when: signals.top500, rationale: top}
  - {id: efficient, title: ARR above raised, category: traction, points: 5, when: derived.arr_over_raised > 0,
     rationale: efficient}
  - {id: ratio, title: Half of raised, category: traction, points: 5, when: 'derived.arr_to_raised >= "50%"',
     rationale: ratio}
  - {id: young, title: Recent first round, category: funding, points: 5, when: derived.months_since_first <= 24,
     rationale: young}
  - {id: closed, title: Closed, category: funding, knockout: true, when: company.status == "closed", rationale: c}
  - {id: churn, title: High churn, category: traction, points: -5, when: 'signals.churn > "5%"', rationale: ch}
"""

ACME = """
name: Acme
funding: {total_raised: $2M, rounds: 3, first_round_on: 2025-01-10}
traction: {arr: $1.5M}
investors: {kinds: [vc, Angel, VC]}
signals: {top500: true, grant: €1M, churn: 2%}
company: {status: Operating, city: Lyon}
milestones: 4
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def pack(write):
    return write("declared.yaml", PACK)


def test_a_profile_carries_declared_fields_with_units_and_canonical_values(write, pack) -> None:
    book = load_rulebook(pack)
    profile = book.schema.profile_model.model_validate(_yaml(ACME), context={"rates": {"EUR": 1.1}})
    assert profile.funding.rounds == 3 and profile.funding.total_raised == 2_000_000  # type: ignore[attr-defined]
    assert profile.investors.kinds == ["vc", "angel", "vc"]  # type: ignore[attr-defined]
    assert profile.signals.grant == 1_100_000 and profile.signals.churn == 0.02  # type: ignore[attr-defined]
    assert profile.company.status == "operating"  # type: ignore[attr-defined]
    with Screener(book) as screener:
        fact, derived = screener.fact(profile, ON)
    assert derived.model_dump()["vc_backers"] == 2
    assert derived.model_dump()["backers"] == 3
    assert derived.model_dump()["arr_to_raised"] == 0.75
    assert derived.model_dump()["arr_over_raised"] == -500_000
    assert derived.model_dump()["months_since_first"] == 22
    assert derived.model_dump()["days_first_to_last"] is None  # no last round
    # The engine sees only strings, booleans and integers: fractions in basis points, dates as YYYYMMDD.
    assert fact["signals.churn"] == 200 and fact["derived.arr_to_raised"] == 7500
    assert fact["funding.rounds"] == 3 and fact["signals.top500"] is True


def _yaml(text: str) -> dict:
    from screener.profile.sources import parse_yaml

    data = parse_yaml(text, "x.yaml").data
    assert isinstance(data, dict)
    return data


def test_declared_fields_are_validated_like_built_in_ones(write, pack) -> None:
    bad = write(
        "bad.yaml",
        """
        name: Bad
        funding: {total_raised: $2M, rounds: -1, roundz: 2}
        investors: {kinds: [vc, angle]}
        signals: {top500: maybe, grant: $9M, churn: 140%}
        company: {status: closd}
        milestones: true
        extra: 1
        """,
    )
    result = run("score", str(bad), "--rules", str(pack), "--no-db", "--no-memo", "--on", "2026-11-27")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.splitlines() == [
        f"error: {bad}:2:30: funding.rounds: -1 is below the minimum 0",
        f"error: {bad}:2:42: funding.roundz: unknown field 'roundz'; did you mean 'rounds'?",
        f"error: {bad}:3:25: investors.kinds[1]: 'angle' is not one of: vc, angel, corporate, accelerator; "
        "did you mean 'angel'?",
        f"error: {bad}:4:38: signals.churn: 140% is above the maximum 100%",
        f"error: {bad}:4:26: signals.grant: $9,000,000 is above the maximum $5,000,000",
        f"error: {bad}:4:11: signals.top500: Input should be a valid boolean, unable to interpret input",
        f"error: {bad}:5:11: company.status: 'closd' is not one of: operating, acquired, closed; did you mean 'closed'?",
        f"error: {bad}:6:1: milestones: expected a whole number, not true/false",
        f"error: {bad}:7:1: extra: unknown field 'extra'; known fields here: as_of, benchmarks, company, compute, "
        "founded, funding, hq_country, investors, milestones, model, name, notes, sector, signals, silence, sources, stage, "
        "team, traction, website",
    ]


def test_the_default_profile_still_refuses_fields_only_a_pack_declares(write) -> None:
    path = write("acme.yaml", ACME)
    result = run("score", str(path), "--no-db", "--no-memo", "--on", "2026-11-27")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"error: {path}:2:30: funding.rounds: unknown field 'rounds'; did you mean 'last_round'?" in result.stderr


BAD_PACK = """
name: bad-pack
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
fields:
  funding.total_raised: {type: money}
  stage.kind: {type: string}
  signals: {type: boolean}
  signals.top500: {type: boolean}
  a.b: {type: float}
  c.d: {type: list, of: integer}
  e.f: {type: enum}
  g.h: {type: integer, min: 5, max: 2}
  k.class: {type: integer}
  l.m: {type: boolean, min: 1}
  n.o: {type: integer, max: 100000000000000000000}
  Bad-Name: {type: integer}
derived:
  r1: {ratio: [traction.arr, stage]}
  r2: {difference: [founded, as_of]}
  r3: {count: signals.top500, value: x}
  r4: {months: [as_of]}
  funding_per_head: {ratio: [traction.arr, team.size]}
  r5: {ratio: [traction.arr, team.sise]}
  r6: {ratio: [a, b], difference: [a, b]}
rules:
  - {id: x, title: X, category: c, points: 1, when: "traction.arr > funding.total_raised", rationale: r}
"""


def test_bad_declarations_are_located_pack_errors(write) -> None:
    path = write("bad-pack.yaml", BAD_PACK)
    result = run("rules", "check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stdout.splitlines()[:-1] == [
        f"error: {path}:5:3: fields.funding.total_raised: 'funding.total_raised' is a built-in field; a declared "
        "field cannot replace it",
        f"error: {path}:6:3: fields.stage.kind: 'stage.kind': 'stage' is a built-in field, not a section to declare "
        "fields in",
        f"error: {path}:7:3: fields.signals: 'signals' is declared as a field, but 'signals.top500' makes it a section",
        f"error: {path}:9:9: fields.a.b.type: 'float' is not a field type the engine can hold (one of: integer, "
        "number, money, fraction, boolean, date, year, enum, string, list)",
        f"error: {path}:10:21: fields.c.d.of: a list holds enumerated values (of: [a, b]) or text (of: string); the "
        "engine cannot hold a list of integer",
        f"error: {path}:11:3: fields.e.f.values: an enum needs its values: values: [a, b]",
        f"error: {path}:12:24: fields.g.h.min: min (5) is above max (2)",
        f"error: {path}:13:3: fields.k.class: 'k.class': 'class' is a reserved word; choose another name",
        f"error: {path}:14:24: fields.l.m.min: a boolean field has no bounds",
        f"error: {path}:15:24: fields.n.o.max: 100,000,000,000,000,000,000 is beyond what the engine can compare "
        "(-9,007,199,254,740,991..9,007,199,254,740,991)",
        f"error: {path}:16:3: fields.Bad-Name: 'Bad-Name' is not a field name: use lower-case words, digits and '_' "
        "joined by dots (funding.rounds)",
        f"error: {path}:18:8: derived.r1.ratio: a ratio needs two numeric fields (integer, number, money, fraction); "
        "got money and enum",
        f"error: {path}:19:8: derived.r2.difference: a difference of dates is counted in months or days: use "
        "months: [...] or days: [...]",
        f"error: {path}:20:8: derived.r3.count: 'signals.top500' is not a declared list field (declare one under "
        "fields: type: list)",
        f"error: {path}:21:3: derived.r4: months takes two fields: months: [first, second]",
        f"error: {path}:22:3: derived.funding_per_head: 'funding_per_head' is a built-in derived value; a declared "
        "one cannot replace it",
        f"error: {path}:23:30: derived.r5.ratio[1]: unknown field 'team.sise'; did you mean 'team.size'?",
        f"error: {path}:24:3: derived.r6: give exactly one form (ratio, difference, months, days, count); found "
        "ratio, difference",
        f"error: {path}:26:54: x: compare a field with a value, e.g. 'team.size <= 15'; to compare two fields, "
        "declare a derived value (a difference or a ratio) under 'derived' and compare that",
    ]


def test_conditions_check_declared_fields_like_built_in_ones(write) -> None:
    rules = """
      - {id: a, title: A, category: c, points: 1, when: funding.rounds == "three", rationale: r}
      - {id: b, title: B, category: c, points: 1, when: company.status == "bankrupt", rationale: r}
      - {id: c, title: C, category: c, points: 1, when: funding.roundz >= 2, rationale: r}
      - {id: d, title: D, category: c, points: 1, when: company.status > "closed", rationale: r}
      - {id: e, title: E, category: c, points: 1, when: derived.vc_backerz >= 1, rationale: r}
    """
    head = PACK.split("rules:")[0]
    path = write("p.yaml", head + "rules:\n" + "\n".join(line[4:] for line in rules.strip("\n").splitlines()) + "\n")
    result = run("rules", "check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    line = head.count("\n") + 1  # the writer drops the leading newline
    assert result.stdout.splitlines()[:-1] == [
        f"error: {path}:{line}:71: a: funding.rounds: is a whole number; 'three' is not",
        f"error: {path}:{line + 1}:71: b: company.status: 'bankrupt' is not one of operating, acquired, closed",
        f"error: {path}:{line + 2}:53: c: unknown field 'funding.roundz'; did you mean 'funding.rounds'?",
        f"error: {path}:{line + 3}:70: d: > does not apply to company.status (enum); use == or != or in [...]",
        f"error: {path}:{line + 4}:53: e: unknown field 'derived.vc_backerz'; did you mean 'derived.vc_backers'?",
    ]


def test_declared_fields_flow_through_the_result_explain_and_questions(write, pack) -> None:
    acme = write("acme.yaml", ACME)
    result = run("score", str(acme), "--rules", str(pack), "--no-db", "--no-memo", "--on", "2026-11-27",
                 "--format", "json", "--fx", "EUR=1.1")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    matched = [r["id"] for r in data["rules"] if r["outcome"] == "matched"]
    assert matched == ["rounds", "vc", "top", "ratio", "young"]
    assert data["rules"][0]["rationale"] == "Acme has raised 3 priced rounds."
    explained = run("explain", str(acme), "--rules", str(pack), "--rule", "efficient", "--on", "2026-11-27",
                    "--format", "json", "--fx", "EUR=1.1")  # fmt: skip
    check = json.loads(explained.output)["rules"][0]["checks"][0]
    assert (check["field"], check["value"], check["shown"], check["held"]) == (
        "derived.arr_over_raised", -500000, "-$500K", False,
    )  # fmt: skip
    thin = write("thin.yaml", "name: Thin\nfunding: {total_raised: $2M}\n")
    result = run("score", str(thin), "--rules", str(pack), "--no-db", "--no-memo", "--on", "2026-11-27",
                 "--format", "json")  # fmt: skip
    thin_result = json.loads(result.output)
    questions = thin_result["questions"]
    # Declared fields are asked like built-in ones, each with its stake (the rules' points), most first.
    assert "How many priced rounds has it raised? (funding.rounds; needed by rounds) [10 points at stake]" in questions
    assert "Find out the kinds of investors (investors.kinds); needed by vc. [5 points at stake]" in questions
    assert "Find out on a top-500 list (signals.top500); needed by top. [5 points at stake]" in questions
    assert any(q.startswith("Find out the annual recurring revenue (ARR) (traction.arr); needed by efficient, ratio. "
                            "[10 points at stake") for q in questions)  # fmt: skip
    stakes = [q["stake"] for q in thin_result["question_stakes"]]
    assert stakes == sorted(stakes, reverse=True)


def test_a_memo_shows_the_pack_fields_and_asks_the_declared_question(write, pack, tmp_path) -> None:
    acme = write("acme.yaml", ACME.replace("rounds: 3, ", ""))
    out = tmp_path / "memos"
    result = run("memo", str(acme), "--rules", str(pack), "--no-db", "--out", str(out), "--on", "2026-11-27",
                 "--fx", "EUR=1.1")  # fmt: skip
    assert result.exit_code == 0, result.output
    memo = (out / "acme.md").read_text()
    assert "| The date of the first priced round | 2025-01-10 |" in memo
    assert "| Funding rounds | unknown |" in memo  # described by its name when the pack gives no description
    assert "| The kinds of investors | vc, angel, vc |" in memo
    assert "| On a top-500 list | yes |" in memo
    assert "| The grant received | $1.1M |" in memo
    assert "| Monthly churn | 2% |" in memo
    assert "| The operating status | operating |" in memo
    assert "| The city | Lyon |" in memo
    assert "| Milestones reached | 4 |" in memo
    assert "How many priced rounds has it raised?" in memo


def test_the_database_keeps_declared_fields_and_reads_them_back(write, pack, tmp_path) -> None:
    acme = write("acme.yaml", ACME)
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = run("score", str(acme), "--rules", str(pack), "--db", db, "--no-memo", "--on", "2026-11-27",
                 "--fx", "EUR=1.1")  # fmt: skip
    assert result.exit_code == 0, result.output
    from screener import store

    engine = store.connect(db)
    try:
        (row,) = store.history(engine, "Acme")
    finally:
        engine.dispose()
    assert row.profile["funding"]["rounds"] == 3 and row.profile["investors"]["kinds"] == ["vc", "angel", "vc"]
    out = tmp_path / "memos"
    again = run("memo", "--from-db", "Acme", "--rules", str(pack), "--db", db, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "| Milestones reached | 4 |" in (out / "acme.md").read_text()
    # Without --rules, and with the pack's file gone, the pack is compiled from the content the
    # database keeps: the memo is the same, its declared fields in the order the pack wrote them.
    first = (out / "acme.md").read_text()
    pack.unlink()
    stored = run("memo", "--from-db", "Acme", "--db", db, "--out", str(out), "--force")
    assert stored.exit_code == 0, stored.output
    assert (out / "acme.md").read_text() == first
    # A database from before migration 0004 kept no pack content: then the pack must be passed.
    with sqlite3.connect(tmp_path / "s.db") as connection:
        connection.execute("UPDATE pack_rules SET content = NULL")
    connection.close()
    without = run("memo", "--from-db", "Acme", "--db", db, "--out", str(out), "--force")
    assert without.exit_code == ExitCode.STORE_ERROR
    assert "(it holds fields pack 'declared' declares: pass that pack with --rules)" in without.stderr


def test_batch_reads_declared_fields_and_its_fast_path_equals_the_typed_result(write, pack, tmp_path) -> None:
    deals = write(
        "deals.jsonl",
        '{"name": "A", "funding": {"total_raised": 1000000, "rounds": 2}, "traction": {"arr": 2000000}}\n'
        '{"name": "B", "investors": {"kinds": ["vc"]}, "signals": {"top500": false}}\n'
        '{"name": "C", "funding": {"rounds": "many"}}\n',
    )
    out = tmp_path / "ranked.jsonl"
    result = run("batch", str(deals), "--rules", str(pack), "--no-db", "--out", str(out), "--on", "2026-11-27")
    assert result.exit_code == ExitCode.REJECTS, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["A", "B"]
    (reject,) = [json.loads(line) for line in (tmp_path / "ranked.rejects.jsonl").read_text().splitlines()]
    assert reject["errors"][0]["field"] == "funding.rounds"
    book = load_rulebook(pack)
    model = book.schema.profile_model
    with Screener(book) as screener:
        stored = StoredResults(screener)
        for data in (_yaml(ACME), {"name": "B", "investors": {"kinds": ["vc"]}}, {"name": "E"}):
            profile = model.model_validate(data, context={"rates": {"EUR": 1.1}})
            want = screener.result(screener.evaluate(profile, ON), explain=False).model_dump(mode="json")
            assert stored(profile, ON).details == orjson.dumps(packing.details(want))


def test_diff_reads_profiles_with_the_fields_either_pack_declares(write, pack) -> None:
    acme = write("acme.yaml", ACME)
    old = write("old.yaml", PACK.replace("version: 1.0.0", "version: 0.9.0").split("  - {id: top")[0])
    result = run("diff", str(old), str(pack), str(acme), "--on", "2026-11-27", "--fx", "EUR=1.1")
    assert result.exit_code == 0, result.output
    assert "top" in result.output


def test_backtest_reads_declared_fields(write, pack) -> None:
    write("p/a.yaml", ACME)
    write("p/b.yaml", "name: B\nfunding: {rounds: 0}\ncompany: {status: closed}\n")
    labels = write("labels.csv", "profile,label\np/a.yaml,1\np/b.yaml,0\n")
    result = run("backtest", str(pack), str(labels), "--format", "json", "--on", "2026-11-27", "--fx", "EUR=1.1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["companies"] == 2


def test_declared_fields_get_the_unit_aware_checks_of_built_in_ones(write) -> None:
    path = write(
        "lint.yaml",
        """
        name: lint-declared
        version: 1.0.0
        thresholds: {strong_fit: 70, review: 40}
        fields:
          signals.churn: {type: fraction}
          signals.grant: {type: money}
          funding.rounds: {type: integer, min: 0}
        derived:
          arr_to_raised: {ratio: [traction.arr, funding.total_raised]}
          arr_over_raised: {difference: [traction.arr, funding.total_raised]}
        rules:
          - {id: a, title: A, category: c, points: 1, when: signals.churn > 60, rationale: r}
          - {id: b, title: B, category: c, points: 1, when: signals.grant > 15, rationale: r}
          - {id: c, title: C, category: c, points: 1, when: funding.rounds < 0, rationale: r}
          - {id: d, title: D, category: c, points: 1, when: derived.arr_to_raised > 1.5, rationale: r}
          - {id: e, title: E, category: c, points: 1, when: derived.arr_over_raised > "-$1M", rationale: r}
          - {id: f, title: F, category: c, points: 1, when: funding.rounds >= 0, rationale: r}
        """,
    )
    result = run("rules", "check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stdout.splitlines() == [
        f"error: {path}:12:53: a: signals.churn is a fraction (0.6 is 60%), so 60 means 6000%; did you mean '60%'?",
        f"error: {path}:13:53: b: signals.grant is money in whole dollars, so 15 means $15; did you mean '$15M'?",
        f"error: {path}:14:53: c: funding.rounds < 0 can never hold: funding.rounds is never below 0",
        f"warning: {path}:17:53: f: funding.rounds >= 0 holds for every company whose funding.rounds is known: "
        "funding.rounds is never below 0",
        "1 pack(s) checked: 3 error(s), 1 warning(s)",
    ]


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("fields: {a.b: 5}", "4:10: fields.a.b: expected a mapping of fields (key: value), not a single value or a list"),
        ("fields: {a.b: {type: integer, min: [1]}}",
         "4:31: fields.a.b.min: a bound is one value (a number, an amount such as '$5M', a percentage, a date)"),
        ('fields: {a.b: {type: fraction, min: "5%", max: "2%"}}', "4:32: fields.a.b.min: min (5%) is above max (2%)"),
        ("derived: {x: {days: [screened_on, screened_on]}}",
         "4:15: derived.x.days: days over the screening date alone is the same for every company; name a field"),
        ("derived: {x: {ratio: traction.arr}}", "4:15: derived.x.ratio: Input should be a valid list"),
        ("fields: {a.b: {type: money, max: €5M}}",
         "4:29: fields.a.b.max: amount is in EUR but no exchange rate for EUR is configured (add 'EUR = <USD per "
         "EUR>' under [fx] in screener.toml, or pass --fx EUR=<rate>)"),
    ],
)  # fmt: skip
def test_a_bad_declaration_of_any_shape_is_one_located_error(write, declaration: str, message: str) -> None:
    path = write(
        "p.yaml",
        "name: p\nversion: 1.0.0\nthresholds: {strong_fit: 70, review: 40}\n"
        f"{declaration}\nrules:\n"
        "  - {id: x, title: X, category: c, points: 1, when: present(team.size), rationale: r}\n",
    )
    result = run("rules", "check", str(path))
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stdout.splitlines() == [f"error: {path}:{message}", "1 pack(s) checked: 1 error(s), 0 warning(s)"]
