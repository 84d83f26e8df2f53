"""Writing files so that a crash or Ctrl-C never leaves a half-written one behind.

Content goes to a temporary file in the target's folder, is flushed to disk, and then
atomically renamed over the target. File names derived from user text (company names) are
slugified and checked to stay inside their folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from slugify import slugify

from screener.errors import ConfigError, Location


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w", newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only if the block finishes without error.

    ``mode`` "w" writes UTF-8 text, "wb" bytes. A folder that cannot be created or written is a
    ConfigError naming it, not a traceback.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write here: {exc.strerror or exc}", Location(str(path))) from None
    try:
        with os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file readable by its owner only; the result should have the mode
        # of the file it replaces, or that of any new file (memo folders are shared).
        Path(temp).chmod(_mode_for(path))
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temp).unlink()
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)  # reading the umask means setting it; it is put back at once
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)


def safe_child(folder: Path, name: str, suffix: str, number: int = 1, *, dots: bool = False) -> Path:
    """A file in ``folder`` named after ``name`` (slugified, ``-<number>`` from 2 on); never outside ``folder``.

    ``dots``: keep dots (for a stem from :func:`screener.memo.files.key_stem`, ``acme.ai``).
    """
    disallowed = r"[^-a-z0-9.]+" if dots else r"[^-a-z0-9]+"
    stem = slugify(name, max_length=80, word_boundary=True, regex_pattern=disallowed).strip(".") or "company"
    if number > 1:
        stem = f"{stem}-{number}"  # after the cut, so that long names stay distinct
    target = (folder / f"{stem}{suffix}").resolve()
    if target.parent != folder.resolve():
        raise ConfigError(f"refusing to write outside the folder: {name!r}", Location(str(folder)))
    return target
