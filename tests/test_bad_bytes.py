"""Issue 11, items 1 and 22: a bad line or row is one reject with its location, and reading goes on.

Every physical record of every input is counted: ``read = scored + rejected + duplicates``.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from screener.cli.batch import batch_command
from screener.errors import ExitCode
from tests.conftest import ON


def batch(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(batch_command, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def jsonl_lines(count: int) -> list[bytes]:
    return [json.dumps({"name": f"Company {n}", "website": f"https://c{n}.ai"}).encode() for n in range(count)]


def test_an_undecodable_byte_in_json_lines_rejects_that_line_only(tmp_path):
    lines = jsonl_lines(1000)
    lines[500] = lines[500].replace(b"Company 500", b"Caf\xe9 500")
    path = tmp_path / "deals.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, stdout, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "out.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("1000 read: 999 scored, 1 rejected, 0 duplicates (")
    (reject,) = rejects(tmp_path / "out.rejects.jsonl")
    assert reject["line"] == 501
    assert reject["record"] == '{"name": "Caf\\xe9 500", "website": "https://c500.ai"}'
    assert reject["errors"] == [
        {
            "location": f"{path}:501",
            "field": None,
            "message": "not UTF-8 text: byte 0xE9 at column 14 (save the file as UTF-8)",
        }
    ]
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 1 + 999


def test_a_lone_surrogate_escape_in_json_is_a_reject_not_a_crash(tmp_path):
    path = tmp_path / "deals.jsonl"
    path.write_text('{"name": "A\\ud800"}\n{"name": "Emoji \\ud83d\\ude00"}\n', encoding="utf-8")
    code, stdout, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "out.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("2 read: 1 scored, 1 rejected, 0 duplicates (")
    (reject,) = rejects(tmp_path / "out.rejects.jsonl")
    assert reject["record"] == {"name": "A\ud800"}  # kept as a JSON escape, so the file stays UTF-8
    assert reject["errors"] == [
        {
            "location": f"{path}:1",
            "field": "name",
            "message": "Input should be a valid string, unable to parse raw data as a unicode string",
        }
    ]


def test_an_undecodable_csv_cell_rejects_that_row_only(tmp_path):
    rows = [b"name,homepage_url"] + [f"Company {n},c{n}.ai".encode() for n in range(1000)]
    rows[1] = "Zürich 0,c0.ai".encode()  # real UTF-8 in the file: it is UTF-8 (not detected as cp1252)
    rows[501] = b"Caf\xe9 500,c500.ai"
    path = tmp_path / "export.csv"
    path.write_bytes(b"\r\n".join(rows) + b"\r\n")
    code, stdout, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "out.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("1000 read: 999 scored, 1 rejected, 0 duplicates (")
    (reject,) = rejects(tmp_path / "out.rejects.jsonl")
    assert (reject["line"], reject["record"]) == (502, {"name": "Caf\\xe9 500", "homepage_url": "c500.ai"})
    assert reject["errors"] == [
        {
            "location": f"{path}:502",
            "field": "name",
            "message": "not UTF-8 text: byte 0xE9 at column 4 (save the file as UTF-8)",
        }
    ]


def test_a_csv_cell_over_pythons_field_limit_is_read(tmp_path):
    """Python's csv module stops at 131,072 characters a cell; Screener reads cells up to the document bound."""
    notes = "n" * 200_000
    path = tmp_path / "export.csv"
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  name: {field: name}\n  notes: {field: notes}\n", encoding="utf-8")
    path.write_text(
        "name,notes\n" + "".join(f'Company {n},"{notes if n == 415 else "-"}"\n' for n in range(1000)),
        encoding="utf-8",
    )
    code, stdout, stderr = batch(str(path), "--map", str(mapping), "--no-db", "--out", str(tmp_path / "out.jsonl"))
    assert code == ExitCode.OK, stderr
    assert stdout.startswith("1000 read: 1000 scored, 0 rejected, 0 duplicates (")


def test_lines_and_rows_over_the_document_bound_are_one_reject_each(tmp_path):
    huge = "y" * 2_500_000
    csv_path = tmp_path / "export.csv"
    csv_path.write_text(f'name,homepage_url\nA,a.ai\n"{huge}",b.ai\nC,c.ai\n', encoding="utf-8")
    jsonl = tmp_path / "deals.jsonl"
    jsonl.write_text(f'{{"name": "D"}}\n{{"name": "{huge}"}}\n{{"name": "E"}}\n', encoding="utf-8")
    code, stdout, _ = batch(str(csv_path), str(jsonl), "--no-db", "--out", str(tmp_path / "out.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("6 read: 4 scored, 2 rejected, 0 duplicates (")
    found = rejects(tmp_path / "out.rejects.jsonl")
    assert [(Path(r["source"]).name, r["line"], r["errors"][0]["message"]) for r in found] == [
        ("export.csv", 3, "the row is longer than 2,000,000 characters, the most one record may be; it was not read"),
        ("deals.jsonl", 2, "the line is longer than 2,000,000 characters, the most one record may be; it was not read"),
    ]


def test_an_unclosed_quote_makes_one_rejected_row_of_the_rest(tmp_path):
    """CSV quoting runs to the next quote: the rows after an unclosed one are its last cell, rejected."""
    path = tmp_path / "export.csv"
    path.write_text('name,homepage_url\nA,a.ai\nB,b.ai,"x\nC,c.ai\n', encoding="utf-8")
    code, stdout, _ = batch(str(path), "--no-db", "--out", str(tmp_path / "out.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("2 read: 1 scored, 1 rejected, 0 duplicates (")
    (reject,) = rejects(tmp_path / "out.rejects.jsonl")
    assert reject["errors"] == [
        {"location": f"{path}:3", "field": None, "message": "1 more cell(s) than the header has columns"}
    ]


def test_a_column_named_twice_in_the_header_is_a_located_error(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("name,homepage_url,name\nAcme,acme.ai,Other\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    code, stdout, stderr = batch(str(path), "--no-db", "--out", str(out))
    assert code == ExitCode.INVALID_INPUT
    assert stderr == (
        f"error: {path}:1: column 'name' appears twice in the header (columns 1 and 3); rename one, or remove it\n"
    )
    assert stdout == ""
    assert not out.exists() and not (tmp_path / "out.rejects.jsonl").exists()
