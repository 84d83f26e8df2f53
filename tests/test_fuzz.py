"""Issue 11: fuzzing the two ways data comes in, through the CLI, with Hypothesis.

Mutated profiles through ``screen PROFILE`` (a real SQLite file, real memos) and mutated JSON
Lines and CSV byte streams through ``screen batch``. Whatever the bytes, the command exits with
a documented code and no traceback; a batch counts every physical record (``read = scored +
rejected + duplicates``, and ``read`` is the number of non-blank lines or rows); a rejected
single profile leaves nothing written. The budgets are modest so the suite stays fast; the
"deep" Hypothesis profile (``SCREENER_HYPOTHESIS=deep``) multiplies them.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import FIXTURES, ON, examples


def _base() -> dict[str, Any]:
    from screener.profile.sources import load_document

    return json.loads(json.dumps(load_document(FIXTURES / "tinyllama-legal.yaml").data, default=str))


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.just(10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["62%", "$5.2M", "€4M", "1e309", "series-z", "2026-02-30", "x[1]", "int", "\ud800", "-", ""]),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.sampled_from(["int", "date", "x[1]", "size", "name"]), st.integers(), max_size=3),
)


@st.composite
def mutated_profiles(draw: Any) -> dict[str, Any]:
    data = _base()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        node = data
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        if not isinstance(node, dict):
            continue
        key = draw(
            st.one_of(st.sampled_from(sorted(node) or ["name"]), st.sampled_from(["int", "date", "x[1]", "founderz"]))
        )
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            node.pop(key, None)
        else:
            node[key] = draw(ODD_VALUES)
    return data


def run(*args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--on", ON.isoformat()])


def no_traceback(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_profiles(), st.sampled_from([".json", ".yaml"]))
def test_a_mutated_profile_is_screened_or_rejected_with_nothing_written(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / f"acme{suffix}"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8", errors="surrogatepass")
        database = root / "screener.db"
        result = run(str(path), "--db", str(database), "--memos", str(root / "memos"))
        no_traceback(result)
        assert result.exit_code in {ExitCode.OK, ExitCode.INVALID_INPUT}, result.output
        rows = _rows(database)
        memos = list((root / "memos").iterdir()) if (root / "memos").exists() else []
        if result.exit_code == ExitCode.INVALID_INPUT:
            assert (rows, memos) == (0, [])
        else:
            assert (rows, len(memos)) == (1, 1)


def _rows(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return connection.execute("SELECT count(*) FROM screening").fetchone()[0] if "screening" in tables else 0


# --- byte streams ------------------------------------------------------------------------------------------

NASTY = st.sampled_from([b"\xe9", b"\xff\xfe", b"\x00", b"\r", b"\n", b'"', b",", b"{", b"}", b"\\", b"\xc3", b" "])


@st.composite
def mutated_bytes(draw: Any, text: bytes) -> bytes:
    data = bytearray(text)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        where = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.integers(min_value=0, max_value=2))
        if action == 0:
            data[where:where] = draw(st.one_of(NASTY, st.binary(max_size=4)))
        elif action == 1:
            del data[where : where + draw(st.integers(min_value=1, max_value=8))]
        elif where < len(data):
            data[where] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data)


def _records(count: int) -> list[dict[str, Any]]:
    return [
        {"name": f"Company {n}", "website": f"https://c{n}.ai", "team": {"size": 3 + n}, "stage": "seed"}
        for n in range(count)
    ]


JSONL = b"".join(json.dumps(r).encode() + b"\n" for r in _records(8))
CSV = ("name,homepage_url,employee_count\n" + "".join(f"Company {n},c{n}.ai,{3 + n}\n" for n in range(8))).encode()


def _batch(root: Path, path: Path) -> Any:
    return run("batch", str(path), "--no-db", "--out", str(root / "out.jsonl"), "--format", "json")


def _check_counts(result: Any, root: Path, physical: int | None) -> None:
    no_traceback(result)
    assert result.exit_code in {ExitCode.OK, ExitCode.REJECTS}, result.output
    summary = json.loads(result.stdout)
    assert summary["read"] == summary["scored"] + summary["rejected"] + summary["duplicates"]
    if physical is not None:
        assert summary["read"] == physical
    rejects = (root / "out.rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == summary["rejected"] + summary["duplicates"]
    ranked = (root / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(ranked) == summary["scored"]


@settings(max_examples=examples(50), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bytes(JSONL))
def test_every_line_of_a_mutated_json_lines_file_is_counted(data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "deals.jsonl"
        path.write_bytes(data)
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="surrogateescape")
        physical = sum(1 for line in text if line.strip())
        _check_counts(_batch(root, path), root, physical)


@settings(max_examples=examples(50), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_bytes(CSV))
def test_every_row_of_a_mutated_csv_file_is_counted_or_its_header_refused(data):
    from screener.jobs.inputs import csv_format
    from screener.jobs.mapping import load_mapping
    from screener.profile.sources import undecodable

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "export.csv"
        path.write_bytes(data)
        result = _batch(root, path)
        no_traceback(result)
        form = csv_format(path, load_mapping(None))
        try:
            text = data.decode(form.encoding, errors="surrogateescape")
        except UnicodeDecodeError:  # detected as UTF-16 and cut short: its rows cannot be told apart
            _check_counts(result, root, None)
            return
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=form.delimiter))
        header = rows[0] if rows else []
        if len(set(header)) != len(header) or any(undecodable(cell) for cell in header):
            assert result.exit_code == ExitCode.INVALID_INPUT, result.output
            assert not (root / "out.jsonl").exists() and not (root / "out.rejects.jsonl").exists()
            return
        _check_counts(result, root, sum(1 for row in rows[1:] if row))
