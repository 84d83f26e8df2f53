"""Safe reading of YAML and JSON documents that remembers where every value came from.

YAML is composed into nodes by ruamel.yaml and then built into plain Python values here, so
only str, int, float, bool, None, date, list and dict can ever come out (no object
construction, no custom tags). Aliases are followed but the total number of values built is
bounded, which defuses "billion laughs" documents, and files above a size bound are refused
before they are parsed. Every value's 1-based line and column is kept in a map from its path
(a tuple of keys and indexes), so that validation errors can point at the exact spot.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from screener.errors import InputError, Location, Problem
from screener.files import open_regular

if TYPE_CHECKING:  # ruamel is imported when a YAML document is read, not at start-up
    from ruamel.yaml.composer import Composer

#: Largest document accepted, in bytes. A real profile or rule pack is a few kilobytes.
MAX_BYTES = 2_000_000
#: Largest number of values one document may hold, or expand into through its aliases. A profile
#: holds a few dozen and the largest real rule pack a few thousand; ruamel composes about 10,000
#: values a second in pure Python, so this bound is also what keeps a refusal within seconds.
MAX_NODES = 50_000
#: Deepest nesting accepted; a profile is four levels deep.
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class Document:
    """A parsed document: its data and the location of each value, by path."""

    data: Any
    file: str
    locations: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    #: where each value's text starts (for a mapping entry, ``locations`` holds its key)
    value_locations: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    line_offset: int = 0  #: for a record of a JSON Lines file: its line number

    def locate(self, path: PathKey) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            if probe in self.locations:
                line, col = self.locations[probe]
                return Location(self.file, line + self.line_offset, col)
            if not probe:
                return Location(self.file, self.line_offset or 0)
            probe = probe[:-1]


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file, refusing missing, oversized or undecodable ones clearly.

    Only a regular file is read (a FIFO would block forever, ``/dev/zero`` never ends), and the
    read itself stops past ``max_bytes``: a size reported by ``stat`` is not trusted.
    """
    with open_regular(path, "rb") as handle:
        data: bytes = handle.read(max_bytes + 1)
    return decode(data, path, max_bytes)


def decode(data: bytes, path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of a file's bytes as read (at most ``max_bytes + 1`` of them), refused clearly when it is not."""
    if len(data) > max_bytes:
        raise InputError(f"file is larger than the {max_bytes:,} accepted (bytes)", Location(str(path)))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", Location(str(path))) from None


def load_document(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    """Parse a ``.yaml``/``.yml``/``.json`` file into a located document."""
    _check_suffix(path)
    return parse_document(read_text(path, max_bytes), path)


def parse_document(text: str, path: Path) -> Document:
    """Parse the text of the ``.yaml``/``.yml``/``.json`` file ``path`` (already read) into a located document."""
    _check_suffix(path)
    if path.suffix.lower() == ".json":
        # JSON's own parser gives the precise syntax errors; YAML (a superset) then gives locations.
        parse_json(text, str(path))
    return parse_yaml(text, str(path))


def _check_suffix(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json"}:
        raise InputError(
            f"unsupported file type {suffix or '(none)'!r}: expected .yaml, .yml or .json", Location(str(path))
        )


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict, refusing a key given twice (``json.loads``'s ``object_pairs_hook``).

    JSON would keep the last value silently; a profile that says two things about one field is an error.
    """
    data = dict(pairs)
    if len(data) != len(pairs):
        repeated = next(k for k in data if sum(k == p for p, _ in pairs) > 1)
        raise ValueError(f"duplicate key {repeated!r}")
    return data


def parse_json(text: str, file: str, line_offset: int = 0) -> Any:
    """Parse JSON text, turning syntax errors, NaN and Infinity into located errors."""

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number Screener accepts")

    try:
        return json.loads(text, parse_constant=reject_constant, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        line = exc.lineno + (line_offset - 1 if line_offset else 0)
        raise InputError(f"invalid JSON: {exc.msg}", Location(file, line, exc.colno)) from None
    except ValueError as exc:
        raise InputError(f"invalid JSON: {exc}", Location(file, line_offset or 0)) from None
    except RecursionError:
        raise InputError(
            f"invalid JSON: nested deeper than Screener reads (max {MAX_DEPTH} levels)", Location(file)
        ) from None


def parse_yaml(text: str, file: str) -> Document:
    """Compose YAML text and build plain, located values from its nodes."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _counting_composer()
    try:
        node = yaml.compose(text)
    except _TooManyValues as exc:
        where = Location(file, exc.mark.line + 1, exc.mark.column + 1)
        raise InputError(
            f"the document holds more than {MAX_NODES:,} values, more than Screener reads", where
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", Location(file)) from None
    except RecursionError:
        raise InputError(
            f"the document nests deeper than Screener reads (max {MAX_DEPTH} levels)", Location(file)
        ) from None
    doc = Document(data=None, file=file)
    if node is None:
        raise InputError("the document is empty", Location(file, 1, 1))
    builder = _Builder(doc, yaml.constructor)
    doc.data = builder.build(node, ())
    return doc


class _TooManyValues(Exception):
    def __init__(self, mark: Any):
        self.mark = mark


def _counting_composer() -> type[Composer]:
    """ruamel's composer, stopping at the value past MAX_NODES.

    Composing builds every node of the document before any is looked at, and a flow list of a
    million one-digit values fits under MAX_BYTES: counted only afterwards, it took a minute and
    750 MB to refuse. Aliases are not counted here (composing shares the node); expanding them is
    bounded by the builder.
    """
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent

    class CountingComposer(Composer):
        composed = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if not self.parser.check_event(AliasEvent):
                self.composed += 1
                if self.composed > MAX_NODES:
                    raise _TooManyValues(self.parser.peek_event().start_mark)
            return super().compose_node(parent, index)

    return CountingComposer


class _Builder:
    """Turns composed YAML nodes into plain values, recording locations and bounding expansion."""

    def __init__(self, doc: Document, constructor: Any):
        self.doc = doc
        self.count = 0
        self.constructor = constructor
        self.seen: set[int] = set()  #: nodes built once: meeting one again means an alias
        self.aliases = 0

    def fail(self, node: Any, message: str) -> InputError:
        mark = node.start_mark
        return InputError(message, Location(self.doc.file, mark.line + 1, mark.column + 1))

    def build(self, node: Any, path: PathKey) -> Any:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.count += 1
        if id(node) in self.seen:
            self.aliases += 1
        else:
            self.seen.add(id(node))
        if self.count > MAX_NODES:
            if self.aliases:
                raise self.fail(
                    node, f"the document expands to more than {MAX_NODES:,} values through its aliases (an alias bomb?)"
                )
            raise self.fail(node, f"the document holds more than {MAX_NODES:,} values, more than Screener reads")
        if len(path) > MAX_DEPTH:
            # Also what stops an alias that contains itself: it would nest forever.
            raise self.fail(node, f"the document nests deeper than {MAX_DEPTH} levels (an alias that contains itself?)")
        start = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.doc.locations.setdefault(path, start)
        style = getattr(node, "style", None)
        if style in {'"', "'"}:
            start = (start[0], start[1] + 1)  # the text starts after the opening quote
        elif style in {"|", ">"}:
            start = (start[0] + 1, start[1])  # a block scalar's text starts on the next line
        self.doc.value_locations.setdefault(path, start)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, f"tag {node.tag} is not allowed")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"tag {node.tag} is not allowed")
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, "merge keys (<<) are not supported; write the fields out")
                if not isinstance(key_node, ScalarNode):
                    raise self.fail(key_node, "a key must be a plain value")
                key = str(self.scalar(key_node))
                if key in result:
                    raise self.fail(key_node, f"duplicate key {key!r}")
                self.doc.locations[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.build(value_node, (*path, key))
            return result
        raise self.fail(node, "unsupported YAML node")

    def scalar(self, node: Any) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"tag {node.tag} is not allowed")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. 2026-02-30, or an integer too long to convert
            raise self.fail(node, f"cannot read {node.value[:40]!r}: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{node.value} is not a number Screener accepts")
        return value


def iter_json_lines(path: Path, max_chars: int = MAX_BYTES) -> Iterator[tuple[int, str | None]]:
    """Yield (line number, text) for every non-blank line of a JSON Lines file.

    Reading never stops at a bad line: bytes that are not UTF-8 are kept as surrogate escapes
    (:func:`undecodable` names the first), and a line longer than ``max_chars`` (the document
    bound) is skipped unread and yielded as None, so that every line is one record.
    """
    with open_regular(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, line in enumerate(bounded_lines(handle, max_chars), start=1):
            if line is None or line.strip():
                yield number, line


def bounded_lines(handle: IO[str], max_chars: int = MAX_BYTES) -> Iterator[str | None]:
    """Every line of ``handle``, None for a line over ``max_chars`` (its rest skipped without keeping it).

    Memory stays bounded whatever the file holds: a file with no line break is read in pieces.
    """
    while line := handle.readline(max_chars + 1):
        if len(line) > max_chars and not line.endswith(("\n", "\r")):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(("\n", "\r")):
                pass
            yield None
            continue
        yield line


def undecodable(text: str) -> str | None:
    """What is wrong with text read with surrogate escapes (or holding a lone surrogate), or None.

    The message names the first byte that is not UTF-8, and its 1-based column.
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        if 0xDC80 <= code <= 0xDCFF:  # a byte kept by the surrogateescape error handler
            return f"not UTF-8 text: byte 0x{code - 0xDC00:02X} at column {exc.start + 1} (save the file as UTF-8)"
        return f"not text: a lone surrogate (U+{code:04X}) at column {exc.start + 1}"
    return None


def printable(text: str) -> str:
    """``text`` with each byte that was not UTF-8 shown as ``\\xNN`` and any other lone surrogate as
    ``\\uNNNN``: writable as UTF-8 (for messages and the rejects file)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_show_surrogate, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _show_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def problem_at(doc: Document, path: PathKey, message: str) -> Problem:
    """A problem located at ``path`` in ``doc``, naming the dotted field."""
    subject = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    return Problem(message, doc.locate(path), subject)
