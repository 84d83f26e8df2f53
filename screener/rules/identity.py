"""A pack's identity: its canonical content and content hash, its lock file, and its version label.

A pack's name and version are what people call it; its **content hash** (sha256 of its canonical
JSON: reformatting the YAML or its comments does not change it, editing anything else does) is
what it is. Editing a pack without bumping its version would otherwise let two different theses
share one label, and their screenings be taken for one another.

So a version is bound to one content. The binding is recorded in a small **lock file** beside the
pack (``rules/x.yaml`` → ``rules/x.lock``, JSON: ``{"pack": name, "versions": {version: hash}}``),
written by ``screen rules check --update-lock``; when the lock does not name the version, the
screening database (which keeps every pack's content by hash) binds it to the first content stored
under it. A pack whose content differs from what its version is bound to screens as a
**development version**, labelled ``1.1.0+dev.<first 12 hex digits of its hash>``: its results
say so, and they are stored apart from the released version's, never merged into them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.errors import Location, Problem, RuleError, ScreenerError
from screener.profile.sources import Document, load_document, read_text

LOCK_SUFFIX = ".lock"
#: A lock file holds a hash per version: a few hundred bytes each.
MAX_LOCK_BYTES = 1_000_000
#: What marks a development version's label (semantic versioning's build metadata).
DEV_MARK = "+dev."


def canonical(data: Any) -> str:
    """A pack's canonical JSON, keys sorted: what its content hash is taken of."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def as_written(data: Any) -> str:
    """A pack's JSON in its own key order: what the database keeps, so that the pack compiled back
    from it declares its fields in the order its author wrote them (memos list them so)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(data: Any) -> str:
    """sha256 of a pack's canonical JSON: reformatting the YAML does not change it, editing does."""
    return hashlib.sha256(canonical(data).encode()).hexdigest()


def dev_label(version: str, content: str) -> str:
    """The label of a development version: ``1.1.0+dev.fe40b0925a80``."""
    return f"{version}{DEV_MARK}{content[:12]}"


@dataclass
class Lock:
    """The content hash recorded for each version of a pack."""

    pack: str
    versions: dict[str, str] = field(default_factory=dict)


def lock_path(pack: Path) -> Path:
    """``rules/x.yaml`` → ``rules/x.lock`` (not ``*.yaml``, so it is never mistaken for a pack)."""
    return pack.with_suffix(LOCK_SUFFIX)


def read_lock(pack: Path) -> Lock | None:
    path = lock_path(pack)
    if not path.exists():
        return None
    try:
        # Bounded and regular files only, as every input: a FIFO named x.lock would block the command.
        text = read_text(path, MAX_LOCK_BYTES)
    except ScreenerError as exc:
        raise RuleError(f"the lock file cannot be read: {exc.problems[0].message}", Location(str(path))) from None
    try:
        data = json.loads(text)
        versions = data["versions"]
        if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
            raise TypeError
        return Lock(str(data.get("pack", "")), {str(k): v for k, v in versions.items()})
    except (ValueError, KeyError, TypeError, OSError):
        raise RuleError(
            'the lock file is not {"pack": ..., "versions": {version: hash}}; delete it and run '
            "'screen rules check --update-lock'",
            Location(str(path)),
        ) from None


def locked_change(lock: Lock, version: str, content: str) -> str:
    """Why content ``content`` is a development version of ``version``, which ``lock`` records with other content."""
    return f"the pack changed since version {version} was locked (content {lock.versions[version][:12]}, now {content[:12]})"


def check_lock(doc: Document, pack: Path) -> list[Problem]:
    """A warning when the pack's current version is locked with a different content hash."""
    data = doc.data if isinstance(doc.data, dict) else {}
    version = data.get("version")
    if not isinstance(version, str):
        return []
    try:
        lock = read_lock(pack)
    except RuleError as exc:
        return [Problem(p.message, p.location, "", "warning") for p in exc.problems]
    now = content_hash(doc.data)
    if lock is None or lock.versions.get(version, now) == now:
        return []
    line, col = doc.value_locations.get(("version",), (0, 0))
    change = locked_change(lock, version, now)
    message = f"{change}; bump the version, or run 'screen rules check --update-lock' to accept the change"
    return [Problem(message, Location(doc.file, line, col), "version", "warning")]


def update_lock(pack: Path) -> Path:
    """Record the pack's current version and content hash in its lock file; return the lock's path."""
    from screener.files import atomic_write_text

    doc = load_document(pack)
    data = doc.data if isinstance(doc.data, dict) else {}
    version, name = data.get("version"), data.get("name")
    if not isinstance(version, str):
        raise RuleError("the pack has no version to lock", doc.locate(("version",)))
    try:
        lock = read_lock(pack)
    except RuleError:
        lock = None
    lock = lock or Lock(str(name or pack.stem))
    lock.versions[version] = content_hash(doc.data)
    path = lock_path(pack)
    text = json.dumps({"pack": lock.pack, "versions": dict(sorted(lock.versions.items()))}, indent=2)
    atomic_write_text(path, text + "\n")
    return path
