"""Reading and writing files safely: only regular files are opened for reading (a FIFO or a device
would block or never end), and a crash, a full disk or Ctrl-C never leaves a half-written file behind.

Content goes to a temporary file in the target's folder, is flushed to disk, and then
atomically renamed over the target. A temporary file is locked (``flock``) for as long as the
process that writes it lives, so that a later run can tell one left behind by ``kill -9`` from
one being written right now, and remove it (:func:`remove_stale`). A write that fails (a full
disk, a folder that cannot be written) is a ConfigError naming the target, never a traceback.
File names derived from user text (company names) are slugified and checked to stay inside
their folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from screener.errors import ConfigError, InputError, Location, ScreenerError

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows: no advisory locks, so nothing is ever taken for stale)
    fcntl = None  # type: ignore[assignment]


def _failed(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot write: {exc.strerror or exc}", Location(str(path)))


class _Guarded:
    """A file handle whose write errors are ConfigErrors naming the target (and are remembered)."""

    def __init__(self, handle: IO[Any], target: Path):
        self._handle = handle
        self._target = target
        self.failed = False

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.failed = True
            raise _failed(self._target, exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class Staged:
    """A file written beside ``path`` under a temporary name, locked, until :meth:`commit` or :meth:`discard`.

    ``mode`` "w" writes UTF-8 text, "wb" bytes. :meth:`commit` flushes it to disk and renames it
    over ``path``; until then ``path`` is untouched. Used directly to write several files first
    and commit them together once something else (a database transaction) has succeeded.
    """

    def __init__(self, path: Path, mode: str = "w", newline: str | None = None):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise ConfigError(f"cannot write here: {exc.strerror or exc}", Location(str(path))) from None
        self.temp = Path(temp)
        # The lock lives on a second descriptor so that it outlasts closing the file, up to the rename.
        self._lock = _lock(fd)
        handle = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline=newline)
        self.handle = _Guarded(handle, path)
        self.done = False

    def commit(self) -> None:
        """Flush to disk and rename over the target (with the mode of the file it replaces)."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            # mkstemp creates the file readable by its owner only; the result should have the mode
            # of the file it replaces, or that of any new file (memo folders are shared).
            self.temp.chmod(_mode_for(self.path))
            self.temp.replace(self.path)
        except OSError as exc:
            self.discard()
            raise _failed(self.path, exc) from None
        self._release()

    def discard(self) -> None:
        """Remove the temporary file; the target stays as it was."""
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()
        self._release()

    def _release(self) -> None:
        if not self.done:
            self.done = True
            if self._lock is not None:
                os.close(self._lock)


def _lock(fd: int) -> int | None:
    if fcntl is None:
        return None
    lock = os.dup(fd)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file just created: nobody else holds it
    return lock


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w", newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only if the block finishes without error.

    A folder that cannot be created or written, or a write that fails, is a ConfigError naming ``path``.
    """
    staged = Staged(path, mode, newline)
    try:
        yield staged.handle  # type: ignore[misc]
    except BaseException:
        staged.discard()
        raise
    staged.commit()


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


def _unlocked(path: Path) -> bool:
    """Whether no live process holds ``path``'s lock (so it was left by one that died)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def remove_stale(folder: Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files that writes of ``folder/name`` (of any file: None) left behind when their process died.

    A temporary file still being written (its lock held) is left alone. Returns what was removed.
    """
    removed = []
    with contextlib.suppress(OSError):
        # A name is a name, not a pattern: "r[1].csv" must find ".r[1].csv.*.tmp".
        for temp in folder.glob(f".{'*' if name is None else glob.escape(name)}.*.tmp"):
            if temp.is_file() and not temp.is_symlink() and _unlocked(temp):
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                    removed.append(temp)
    return removed


#: A scratch folder without a lock file is taken for stale only when older than this (seconds):
#: a run that is starting has created the folder but not yet its lock.
SCRATCH_GRACE = 60.0


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder, locked while this process lives, removed afterwards.

    Removes the folders of the same prefix that dead runs left behind first.
    """
    remove_stale_folders(prefix)
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        folder = Path(name)
        # Locked before it is named: a run looking for dead folders (which takes each lock it finds
        # for a moment) must never find this one's free, nor hold it when this run takes it.
        staging = folder / "lock.new"
        fd = os.open(staging, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            staging.replace(folder / "lock")
            yield folder
        finally:
            os.close(fd)


def remove_stale_folders(prefix: str) -> list[Path]:
    """Remove the scratch folders of ``prefix`` in the temporary folder whose runs died (``kill -9``)."""
    if fcntl is None:
        return []
    removed = []
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            lock = folder / "lock"
            stale = _unlocked(lock) if lock.exists() else now - folder.stat().st_mtime > SCRATCH_GRACE
        except OSError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def safe_child(folder: Path, name: str, suffix: str, number: int = 1, *, dots: bool = False) -> Path:
    """A file in ``folder`` named after ``name`` (slugified, ``-<number>`` from 2 on); never outside ``folder``.

    ``dots``: keep dots (for a stem from :func:`screener.memo.files.key_stem`, ``acme.ai``).
    A name with no letter or digit (``../..``, ``-.-``, ``!!!``) is ``company``: a stem of dots
    and hyphens only would make a hidden or unreadable file name (``-.md``, ``..md``).
    """
    from slugify import slugify  # only memos need it; every command imports this module

    disallowed = r"[^-a-z0-9.]+" if dots else r"[^-a-z0-9]+"
    # Hyphens go with the dots: slugify trims its own separators only, and a kept dot at an end
    # would otherwise leave one behind ("-a-." -> "-a-").
    stem = slugify(name, max_length=80, word_boundary=True, regex_pattern=disallowed).strip(".-")
    if not any(char.isalnum() for char in stem):
        stem = "company"
    if number > 1:
        stem = f"{stem}-{number}"  # after the cut, so that long names stay distinct
    target = (folder / f"{stem}{suffix}").resolve()
    if target.parent != folder.resolve():
        raise ConfigError(f"refusing to write outside the folder: {name!r}", Location(str(folder)))
    return target


def open_regular(path: Path, mode: str = "r", *, error: type[ScreenerError] = InputError, **options: Any) -> IO[Any]:
    """Open a regular file for reading, or raise ``error`` (an InputError by default) saying why it cannot be read.

    Opened without blocking and checked on the open descriptor, so that a FIFO, a device or a
    socket (also behind a symbolic link, also one swapped in after a check) is refused rather
    than read.
    """
    where = Location(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error("file not found", where) from None
    except IsADirectoryError:
        raise error("is a folder, expected a file", where) from None
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", where) from None
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise error("is a folder, expected a file", where)
        if not stat.S_ISREG(status.st_mode):
            raise error("is not a regular file (a FIFO, device or socket); Screener reads only files", where)
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode, **options)
    except BaseException:
        os.close(fd)
        raise
