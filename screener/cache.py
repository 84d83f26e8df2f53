"""The user's cache folder: what start-up would otherwise compute again on every run.

Two things are cached, each under its own sub-folder: parsed rule packs (``packs/``, by the
sha256 of the pack's text, see :mod:`screener.rules.packcache`) and compiled Jinja templates
(``templates/``, Jinja's own bytecode cache, keyed on each template's source). Nothing cached
changes a result: a miss only costs the time saved by a hit.

The cache is trusted only as far as it is safe to:

- It lives in ``SCREENER_CACHE_DIR``, else the platform's user cache folder
  (``~/.cache/screener`` on Linux). ``SCREENER_CACHE=off`` turns it off.
- The folder (and each sub-folder) must be a real folder, not a link, owned by the user and
  writable by nobody else (it is created with mode 0700, as Jinja does for its own bytecode cache),
  else nothing is read from it or written to it, with a warning on stderr: another user could
  have put anything there.
- An entry carries a header naming its kind, its key and the sha256 of its content. An entry
  that is damaged (truncated, edited, written by another format) is ignored and replaced.
- Entries are written to a temporary file and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from jinja2 import BytecodeCache, Environment, Template
from jinja2.bccache import Bucket

#: Bumped when the entry layout changes: entries of another format are ignored.
FORMAT = b"screener-cache-1"

#: Folders already checked in this process, and what the check said.
_checked: dict[Path, bool] = {}


def root() -> Path | None:
    """The cache folder, or None when caching is off."""
    if os.environ.get("SCREENER_CACHE", "").lower() in {"off", "0", "no", "false"}:
        return None
    configured = os.environ.get("SCREENER_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("screener", appauthor=False))


def folder(kind: str) -> Path | None:
    """The sub-folder for ``kind``, created if need be; None when caching is off or the folder is unsafe."""
    base = root()
    if base is None:
        return None
    path = base / kind
    known = _checked.get(path)
    if known is not None:
        return path if known else None
    safe = _prepare(base) and _prepare(path)
    _checked[path] = safe
    return path if safe else None


def _prepare(path: Path) -> bool:
    """Create ``path`` (mode 0700) if missing; whether it is a folder only this user can write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        _warn(f"the cache folder {path} cannot be created ({exc.strerror}): start-up is not cached")
        return False
    try:
        info = path.lstat()
    except OSError:
        return False
    problem = _unsafe(info)
    if problem:
        _warn(f"the cache folder {path} is not used: {problem}")
        return False
    return True


def _warn(message: str) -> None:
    import logging  # only now: a warning is rare, and logging costs milliseconds to import

    logging.getLogger(__name__).warning(message)


def _unsafe(info: os.stat_result, *, folder: bool = True) -> str:
    """Why a cache folder or entry cannot be trusted ("" when it can)."""
    kind = stat.S_ISDIR if folder else stat.S_ISREG
    if not kind(info.st_mode):
        return "it is not a folder" if folder else "it is not a file"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "it belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "other users can write to it"
    return ""


def key(*parts: bytes) -> str:
    """A cache key: the sha256 of the parts, each length-prefixed so that no two lists collide."""
    digest = hashlib.sha256(FORMAT)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def read(kind: str, name: str) -> bytes | None:
    """The content of entry ``name`` of ``kind``, or None when it is missing or cannot be trusted."""
    directory = folder(kind)
    if directory is None:
        return None
    path = directory / name
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            raw = handle.read()
    except OSError:
        return None
    header, _, content = raw.partition(b"\n")
    expected = b" ".join((FORMAT, kind.encode(), name.encode(), hashlib.sha256(content).hexdigest().encode()))
    if _unsafe(info, folder=False) or header != expected:
        with contextlib.suppress(OSError):
            path.unlink()  # damaged or not ours: written again on this run
        return None
    return content


def write(kind: str, name: str, content: bytes) -> None:
    """Store ``content`` as entry ``name`` of ``kind`` (best effort: a failure only loses the saving)."""
    directory = folder(kind)
    if directory is None:
        return
    header = b" ".join((FORMAT, kind.encode(), name.encode(), hashlib.sha256(content).hexdigest().encode()))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + b"\n" + content)
        Path(temp).replace(directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            Path(temp).unlink()


class TemplateCache(BytecodeCache):
    """Jinja's bytecode cache in the ``templates/`` folder, entries checked like every entry.

    Jinja keys a template on its name and file and checks its source's checksum; the key here
    also holds the environment's fingerprint (Jinja's version, the environment's class and
    options, its filters and tests, and ``salt``), because the code Jinja generates depends on
    them: a sandboxed HTML environment and a Markdown one compile one source differently.
    """

    KIND = "templates"

    def __init__(self, env: Environment, salt: bytes = b""):
        import jinja2

        options = (
            jinja2.__version__, type(env).__module__, type(env).__qualname__, repr(env.autoescape),
            getattr(env.finalize, "__qualname__", repr(env.finalize)), env.trim_blocks, env.lstrip_blocks,
            env.keep_trailing_newline, env.block_start_string, env.variable_start_string, env.comment_start_string,
            env.line_statement_prefix, env.line_comment_prefix, sorted(env.filters), sorted(env.tests),
            sorted(env.globals), [type(x).__qualname__ for x in env.extensions.values()],
        )  # fmt: skip
        self.fingerprint = key(repr(options).encode(), salt)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return key(self.fingerprint.encode(), name.encode(), (filename or "").encode())

    def load_bytecode(self, bucket: Bucket) -> None:
        content = read(self.KIND, bucket.key)
        if content is not None:
            bucket.bytecode_from_string(content)

    def dump_bytecode(self, bucket: Bucket) -> None:
        write(self.KIND, bucket.key, bucket.bytecode_to_string())

    def compiled(self, env: Environment, source: str) -> Template:
        """``env.from_string(source)``, its code from the cache (Jinja caches only templates it loads)."""
        # Jinja keys a template on its name: a string's name is its own digest.
        bucket = self.get_bucket(env, "<string:" + key(source.encode()) + ">", None, source)
        code = bucket.code
        if code is None:
            code = bucket.code = env.compile(source)
            self.set_bucket(bucket)
        return env.template_class.from_code(env, code, env.make_globals(None))
