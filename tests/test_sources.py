"""Safe, located reading of YAML and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.errors import InputError
from screener.profile.sources import MAX_NODES, load_document


def test_values_keep_their_line_and_column(write) -> None:
    path = write(
        "p.yaml",
        """
        name: Acme
        team:
          size: 12
          founders:
            - name: Ada
        """,
    )
    doc = load_document(path)
    assert doc.data == {"name": "Acme", "team": {"size": 12, "founders": [{"name": "Ada"}]}}
    assert str(doc.locate(("team", "size"))) == f"{path}:3:3"
    assert str(doc.locate(("team", "founders", 0, "name"))) == f"{path}:5:7"
    # A path that does not exist falls back to its nearest located ancestor.
    assert str(doc.locate(("team", "nothing"))) == f"{path}:2:1"


def test_python_object_tags_are_refused_not_constructed(write, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        "evil.yaml",
        f"""
        name: !!python/object/apply:os.system ["touch {marker}"]
        """,
    )
    with pytest.raises(
        InputError, match=r"evil\.yaml:1:7: tag tag:yaml\.org,2002:python/object/apply:os\.system is not allowed"
    ):
        load_document(path)
    assert not marker.exists()


def test_alias_bombs_are_bounded(write) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]")
    path = write("bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=f"more than {MAX_NODES:,} values"):
        load_document(path)


def test_oversized_files_are_refused_before_parsing(write) -> None:
    path = write("big.yaml", "name: x\nnotes: " + "y" * 100 + "\n")
    with pytest.raises(InputError, match=r"larger than the 50 accepted"):
        load_document(path, max_bytes=50)


def test_duplicate_keys_are_errors(write) -> None:
    path = write("dup.yaml", "name: a\nname: b\n")
    with pytest.raises(InputError, match=r"dup\.yaml:2:1: duplicate key 'name'"):
        load_document(path)


def test_yaml_syntax_errors_are_located(write) -> None:
    path = write("bad.yaml", "name: [unclosed\nteam: 1\n")
    with pytest.raises(InputError, match=r"bad\.yaml:\d+:\d+: invalid YAML"):
        load_document(path)


def test_json_syntax_errors_are_located(write) -> None:
    path = write("bad.json", '{\n  "name": "x",\n  "team": {\n}\n')
    with pytest.raises(InputError, match=r"bad\.json:5:1: invalid JSON"):
        load_document(path)


def test_json_nan_is_refused(write) -> None:
    path = write("nan.json", '{"name": "x", "traction": {"gross_margin": NaN}}')
    with pytest.raises(InputError, match="NaN is not a number Screener accepts"):
        load_document(path)


def test_yaml_infinity_is_refused(write) -> None:
    path = write("inf.yaml", "name: x\nbenchmarks:\n  - {name: a, score: .inf, frontier: 1}\n")
    with pytest.raises(InputError, match=r"inf\.yaml:3:\d+: \.inf is not a number"):
        load_document(path)


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.yaml", "file not found"), ("notes.txt", "unsupported file type '.txt'")],
)
def test_unreadable_inputs(tmp_path: Path, name: str, message: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(InputError, match=message):
        load_document(path)


def test_empty_document(write) -> None:
    with pytest.raises(InputError, match="the document is empty"):
        load_document(write("empty.yaml", "# nothing\n"))


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_document(path)


def test_a_document_of_too_many_values_stops_where_the_bound_is_crossed(write) -> None:
    # A flow list of one-digit values: about a megabyte, under the size bound. Composed whole and
    # counted afterwards, refusing it took a minute; counted while composing, it stops at once.
    path = write("flow.yaml", "name: A\nl: [" + "1," * (MAX_NODES + 10_000) + "1]\n")
    with pytest.raises(InputError) as caught:
        load_document(path)
    # Every node counts, keys and containers too: the document, 'name', 'A', 'l' and the list are
    # five, so the value past the bound is list item MAX_NODES - 5 (from 0), two characters each.
    column = len("l: [") + 1 + 2 * (MAX_NODES - 5)
    assert (
        str(caught.value)
        == f"{path}:2:{column}: the document holds more than {MAX_NODES:,} values, more than Screener reads"
    )


def test_a_document_just_under_the_bound_is_read(write) -> None:
    path = write("flow.yaml", "name: A\nl: [" + ",".join(["1"] * (MAX_NODES - 5)) + "]\n")
    assert len(load_document(path).data["l"]) == MAX_NODES - 5
