"""How a CSV file is written: its text encoding and the character between its columns.

Exports come as they come: UTF-8 with or without a byte-order mark, Windows' cp1252 (what most
"Latin-1" files are), commas, semicolons (European spreadsheets) or tabs. Both are detected
from the first block of the file unless the mapping names them; the detection never guesses
between two readings that both fit, it prefers UTF-8 and the comma.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

#: How much of a file the detection reads.
SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class CsvFormat:
    encoding: str  #: a Python codec name ("utf-8-sig" reads UTF-8 with or without a BOM)
    delimiter: str
    detected: tuple[str, ...] = ()  #: what was detected and is not the default, said to the user

    def describe(self) -> str:
        return " and ".join(self.detected)


def detect(path: Path, encoding: str = "auto", delimiter: str = "auto") -> CsvFormat:
    """The encoding and delimiter of ``path``: those given, or detected (raises OSError if unreadable)."""
    from screener.files import open_regular  # a FIFO swapped in since it was listed would block

    with open_regular(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    notes = []
    if encoding == "auto":
        encoding = _encoding(sample)
        if encoding not in {"utf-8-sig"}:
            notes.append(f"read as {encoding} (not UTF-8)")
    elif codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    if delimiter == "auto":
        text = sample.decode(encoding, errors="replace")
        delimiter = _delimiter(text)
        if delimiter != ",":
            notes.append(f"columns separated by {_NAMES[delimiter]}")
    return CsvFormat(encoding, delimiter, tuple(notes))


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a character cut off at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if any(ord(c) > 0x7F for c in sample.decode("utf-8", errors="ignore")):
        # Real UTF-8 characters beside a few bytes that are not: a UTF-8 file with damaged rows
        # (each rejected where it is), not a file in another encoding.
        return "utf-8-sig"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _delimiter(text: str) -> str:
    """The candidate that splits the header into most columns with the rows agreeing; a comma when in doubt."""
    lines = text.splitlines()[:20]
    if len(text) >= SAMPLE_BYTES - 4 and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut off
    best, best_score = ",", (1, 0)
    for candidate in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agreeing = sum(len(r) == width for r in rows[1:])
        if rows[1:] and agreeing * 2 < len(rows) - 1:
            continue  # most rows disagree with the header: not this one
        score = (width, agreeing)
        if score > best_score:
            best, best_score = candidate, score
    return best
