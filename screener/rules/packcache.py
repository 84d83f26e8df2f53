"""Parsed rule packs, cached by the sha256 of their text, so that start-up skips the YAML parser.

Composing the default pack with ruamel (pure Python, needed for the line and column of every
value) took about a fifth of ``screen company.yaml``. A pack's parse is a pure function of its
text, its file type and the parser's code, so the located document (data and locations) is
stored as JSON in the user's cache folder (:mod:`screener.cache`) under the sha256 of all three (and of the Python version):
any edit of the pack, and any change of the parser's code, is a different entry. The document is
then validated and compiled as always (:func:`~screener.rules.rulebook.compile_document`), so
every problem a pack has is still reported, at its location.

A pack whose data JSON cannot hold exactly (dates, integers beyond 64 bits) is not cached.
The variables each rationale and question reads (checked against the profile's fields when the
pack compiles) are cached as well, by the snippet's text and Jinja's version (:func:`undeclared`).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import jinja2
import orjson
from jinja2 import meta

from screener import cache
from screener.errors import ScreenerError
from screener.files import open_regular
from screener.profile import sources
from screener.profile.sources import Document, PathKey

KIND = "packs"


def load(path: Path) -> Document:
    """The located document of the pack at ``path``: from the cache when its text was parsed before."""
    try:
        # Only a regular file, and no more of it than a document may hold: a FIFO or /dev/zero
        # named as a pack would otherwise be read for ever.
        with open_regular(path, "rb") as handle:
            text: bytes = handle.read(sources.MAX_BYTES + 1)
    except (OSError, ScreenerError):
        return sources.load_document(path)  # which reports the error as it always does
    if len(text) > sources.MAX_BYTES:
        return sources.load_document(path)
    name = cache.key(_fingerprint(), path.suffix.lower().encode(), text)
    cached = cache.read(KIND, name)
    if cached is not None:
        doc = _document(cached, str(path))
        if doc is not None:
            return doc
    # Parsed from the very bytes the key is taken of: a file edited meanwhile cannot be cached under it.
    doc = sources.parse_document(sources.decode(text, path), path)
    if _exact(doc.data):
        cache.write(KIND, name, _encoded(doc))
    return doc


@functools.cache
def _fingerprint() -> bytes:
    """What else a parse depends on: Screener's parsing code itself, and the Python it runs on."""
    return sys.version.encode() + b"\0" + Path(sources.__file__).read_bytes() + Path(__file__).read_bytes()


def _encoded(doc: Document) -> bytes:
    return orjson.dumps(
        {
            "data": doc.data,
            "locations": [[list(path), *where] for path, where in doc.locations.items()],
            "values": [[list(path), *where] for path, where in doc.value_locations.items()],
        }
    )


def _document(content: bytes, file: str) -> Document | None:
    """The document an entry holds, or None when it is not one (never raises on a bad entry)."""
    try:
        entry = orjson.loads(content)
        locations = _located(entry["locations"])
        values = _located(entry["values"])
        data = entry["data"]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return Document(data, file, locations, values)


def _located(rows: Any) -> dict[PathKey, tuple[int, int]]:
    found: dict[PathKey, tuple[int, int]] = {}
    for path, line, column in rows:
        if not (isinstance(path, list) and all(type(p) in (str, int) for p in path)):
            raise ValueError("not a path")
        if type(line) is not int or type(column) is not int:
            raise ValueError("not a location")
        found[tuple(path)] = (line, column)
    return found


def _exact(value: Any, depth: int = 0) -> bool:
    """Whether JSON gives ``value`` back exactly: its types (not only its equality) and its numbers."""
    kind = type(value)
    if value is None or kind in (str, bool, float):  # parse_yaml refuses NaN and infinities
        return True
    if kind is int:
        return bool(-(2**63) <= value < 2**64)
    if depth > sources.MAX_DEPTH:
        return False
    if kind is list:
        return all(_exact(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(k) is str and _exact(v, depth + 1) for k, v in value.items())
    return False  # a date, or anything else JSON would turn into text


def undeclared(env: jinja2.Environment, source: str) -> frozenset[str]:
    """The variables a rationale or question template reads (Jinja's own analysis), cached by source.

    Parsing each snippet to check its names took most of a cached pack's compile time. A
    template that does not parse raises ``jinja2.TemplateSyntaxError`` as ``env.parse`` does,
    and is never cached.
    """
    name = cache.key(b"undeclared", jinja2.__version__.encode(), source.encode())
    cached = cache.read(SNIPPETS, name)
    if cached is not None:
        try:
            names = orjson.loads(cached)
        except orjson.JSONDecodeError:
            names = None
        if isinstance(names, list) and all(type(n) is str for n in names):
            return frozenset(names)
    found = frozenset(meta.find_undeclared_variables(env.parse(source)))
    cache.write(SNIPPETS, name, orjson.dumps(sorted(found)))
    return found


SNIPPETS = "snippets"
