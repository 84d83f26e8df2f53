"""Memo files: where they go, and never overwriting one an associate has edited.

Each memo ends with a comment recorded when it was generated: the SHA-256 of the text above it
and the key of the company it is about (``<!-- screener-memo sha256:… company:… -->``, invisible
in rendered Markdown and HTML). Before a memo is replaced, the file on disk is checked: if its
text no longer matches its own hash, it has been edited; if it has no stamp, Screener did not
write it. Either way it is left alone unless the user forces it. The stamp travels with the
file, so a memo folder can be moved or shared. The company key keeps two companies whose names
slugify alike from taking turns in one file across runs: the second gets ``-2``.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from screener.errors import ConfigError, Location, OverwriteError, Problem
from screener.files import Staged, atomic_write_text, safe_child

_STAMP = re.compile(r"<!-- screener-memo sha256:(?P<digest>[0-9a-f]{64})(?: company:(?P<key>\S+))? -->\n?\Z")


class FileState(enum.StrEnum):
    ABSENT = "absent"
    GENERATED = "generated"  #: exactly as Screener wrote it
    EDITED = "edited"  #: changed since Screener generated it
    UNSTAMPED = "unstamped"  #: no generation stamp: written by hand, or by Screener before 0.2


@dataclass(frozen=True)
class Existing:
    state: FileState
    company: str | None = None  #: the company key in the stamp


def stamp(text: str, company: str) -> str:
    """The memo text with its generation stamp appended."""
    if not text.endswith("\n"):
        text += "\n"
    return f"{text}<!-- screener-memo sha256:{_digest(text)} company:{quote(company, safe='')} -->\n"


def inspect(path: Path) -> Existing:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Existing(FileState.ABSENT)
    except (OSError, UnicodeDecodeError):
        return Existing(FileState.UNSTAMPED)
    found = _STAMP.search(text)
    if found is None:
        return Existing(FileState.UNSTAMPED)
    company = unquote(found["key"]) if found["key"] else None
    intact = _digest(text[: found.start()]) == found["digest"]
    return Existing(FileState.GENERATED if intact else FileState.EDITED, company)


def state(path: Path) -> FileState:
    return inspect(path).state


_REPLACEABLE = frozenset({FileState.ABSENT, FileState.GENERATED})


def replaceable(path: Path) -> bool:
    """Whether Screener may replace (or remove) the file: absent, or exactly as it generated it."""
    return state(path) in _REPLACEABLE


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DOMAIN_KEY = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_NAME_KEY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


def key_stem(key: str) -> str:
    """A file name stem for a company key, different for different keys (batch memos are named so).

    A domain key is its own stem (``acme.ai``); a plain name key has its spaces as hyphens
    (``acme ai`` → ``acme-ai``, which no domain key is). Any other key (accents, other
    scripts, underscores, over 80 characters) is slugified and followed by a digest of the key,
    so that ``café`` and ``cafe`` do not share a file.
    """
    if len(key) <= 80 and (_DOMAIN_KEY.fullmatch(key) or _NAME_KEY.fullmatch(key)):
        return key.replace(" ", "-")
    from slugify import slugify

    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return f"{slugify(key, max_length=60, word_boundary=True) or 'company'}-{digest}"


def plan(folder: Path, companies: Sequence[tuple[str, str]], suffix: str) -> list[Path]:
    """Where the memo of each (name, key) goes; the folder is created and checked first.

    The file is named after the company (``-2``, ``-3`` … when the name is taken, in this run
    or by another company's memo from an earlier one).
    """
    check_folder(folder, links=False)
    paths: list[Path] = []
    for name, key in companies:
        number = 1
        path = safe_child(folder, name, suffix)
        while path in paths or _belongs_to_another(path, key):
            number += 1
            path = safe_child(folder, name, suffix, number)
        paths.append(path)
    return paths


def check_folder(folder: Path, *, links: bool = True) -> None:
    """Refuse a memo folder that memos cannot be written to, before anything is written.

    With ``links=False`` the folder is created (the single screen, about to write). With
    ``links`` (a batch) it is only checked, or where it would be created, and a symbolic link
    named like a memo (``*.md``, ``*.html``) in it is refused: a batch does not know its memos'
    names before it scores, and writing through such a link would leave the folder (or replace
    another company's memo); the single screen checks each memo's own file instead (:func:`plan`).
    """
    if links and not folder.exists():
        parent = next((p for p in folder.absolute().parents if p.exists()), Path("/"))
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise ConfigError(
                f"cannot create the memo folder: {parent} is not a writable folder", Location(str(folder))
            )
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the memo folder: {exc.strerror or exc}", Location(str(folder))) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError("the memo folder is not writable", Location(str(folder)))
    if not links:
        return
    problems = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() and entry.suffix.lower() in {".md", ".html"}:
            message = (
                f"is a symbolic link (to {entry.readlink()}); Screener writes memos only as plain files in "
                "their folder: remove the link, or choose another memo folder"
            )
            problems.append(Problem(message, Location(str(entry))))
    if problems:
        raise ConfigError(problems)


def _belongs_to_another(path: Path, key: str) -> bool:
    existing = inspect(path)
    return existing.company is not None and existing.company != key


def refuse_edited(paths: Sequence[Path], *, force: bool) -> None:
    """Raise, naming every file among ``paths`` that Screener must not replace, unless ``force``."""
    if force:
        return
    problems = []
    for path in paths:
        found = state(path)
        if found in _REPLACEABLE:
            continue
        if found is FileState.EDITED:
            message = "edited since Screener generated it; not overwritten (use --force to replace it)"
        else:
            message = (
                "has no generation stamp (written by hand, or by Screener before 0.2); "
                "not overwritten (use --force to replace it)"
            )
        problems.append(Problem(message, Location(str(path))))
    if problems:
        raise OverwriteError(problems)


def write(path: Path, text: str, company: str) -> None:
    """Write a rendered memo atomically, stamped so later edits are recognised."""
    atomic_write_text(path, stamp(text, company))


def stage(path: Path, text: str, company: str) -> Staged:
    """A rendered, stamped memo written to its temporary file; ``commit()`` puts it in place."""
    staged = Staged(path)
    try:
        staged.handle.write(stamp(text, company))
        staged.handle.flush()
        os.fsync(staged.handle.fileno())
    except OSError as exc:
        staged.discard()
        raise ConfigError(f"cannot write: {exc.strerror or exc}", Location(str(path))) from None
    except BaseException:
        staged.discard()
        raise
    return staged
