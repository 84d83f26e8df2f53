"""Memo files: where they go, and never overwriting one an associate has edited.

Each memo ends with a comment holding the SHA-256 of the text above it, recorded when it was
generated (``<!-- screener-memo sha256:… -->``, invisible in rendered Markdown and HTML). Before
a memo is replaced, the file on disk is checked: if its text no longer matches its own hash (or
it has no stamp, so Screener did not write it), it has been edited and is left alone unless the
user forces it. The stamp travels with the file, so a memo folder can be moved or shared.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from screener.errors import ConfigError, Location, OverwriteError, Problem
from screener.files import atomic_write_text, safe_child

_STAMP = re.compile(r"<!-- screener-memo sha256:(?P<digest>[0-9a-f]{64}) -->\n?\Z")


class FileState(enum.StrEnum):
    ABSENT = "absent"
    GENERATED = "generated"  #: exactly as Screener wrote it
    EDITED = "edited"  #: changed since it was generated, or not written by Screener


def stamp(text: str) -> str:
    """The memo text with its generation stamp appended."""
    if not text.endswith("\n"):
        text += "\n"
    return f"{text}<!-- screener-memo sha256:{_digest(text)} -->\n"


def state(path: Path) -> FileState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FileState.ABSENT
    except (OSError, UnicodeDecodeError):
        return FileState.EDITED
    found = _STAMP.search(text)
    if found is None or _digest(text[: found.start()]) != found["digest"]:
        return FileState.EDITED
    return FileState.GENERATED


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan(folder: Path, names: Sequence[str], suffix: str) -> list[Path]:
    """Where each memo goes, checked before anything is written: the folder exists and is writable.

    Two companies whose names slugify alike get ``-2``, ``-3`` … in the order given.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the memo folder: {exc.strerror or exc}", Location(str(folder))) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError("the memo folder is not writable", Location(str(folder)))
    paths: list[Path] = []
    for name in names:
        number = 1
        path = safe_child(folder, name, suffix)
        while path in paths:
            number += 1
            path = safe_child(folder, name, suffix, number)
        paths.append(path)
    return paths


def refuse_edited(paths: Sequence[Path], *, force: bool) -> None:
    """Raise, naming every memo among ``paths`` that was edited since it was generated."""
    if force:
        return
    edited = [p for p in paths if state(p) is FileState.EDITED]
    if edited:
        raise OverwriteError(
            [
                Problem(
                    "edited since Screener generated it; not overwritten (use --force to replace it)", Location(str(p))
                )
                for p in edited
            ]
        )


def write(path: Path, text: str) -> None:
    """Write a rendered memo atomically, stamped so later edits are recognised."""
    atomic_write_text(path, stamp(text))
