"""A profile read from standard input: ``screen -``, ``screen memo -``, ``screen explain -``.

The text is YAML or JSON, told apart by its first character (a JSON profile is an object), and
bounded like a file (:data:`~screener.profile.sources.MAX_BYTES`). Problems are located in
``<stdin>``, as in a file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from screener.errors import InputError, Location
from screener.profile.sources import MAX_BYTES, Document, load_document, parse_json, parse_yaml

#: The path that means standard input, as Unix tools spell it.
STDIN = Path("-")
#: The name problems in standard input are located in.
NAME = "<stdin>"


def is_stdin(path: str | Path) -> bool:
    return str(path) == "-"


def load_source(path: str | Path) -> Document:
    """The document at ``path``: standard input for ``-``, else the file."""
    return read_document() if is_stdin(path) else load_document(Path(path))


def read_document(max_bytes: int = MAX_BYTES) -> Document:
    """Parse standard input as one YAML or JSON document."""
    if sys.stdin is None:
        raise InputError("no standard input to read a profile from", Location(NAME))
    if sys.stdin.isatty():
        print("reading a profile (YAML or JSON) from standard input; end it with Ctrl-D", file=sys.stderr)
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read(max_bytes + 1) if stream is not None else sys.stdin.read(max_bytes + 1).encode()
    if len(data) > max_bytes:
        raise InputError(f"standard input is larger than the {max_bytes:,} bytes accepted", Location(NAME))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", Location(NAME)) from None
    if text.lstrip().startswith(("{", "[")):
        parse_json(text, NAME)  # JSON's own parser gives the precise syntax errors; YAML then the locations
    return parse_yaml(text, NAME)
