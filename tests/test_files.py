"""Atomic file writes under failure: the writer dies part-way and the old file survives, no temporary left.

Failures are real, not mocked: a lone surrogate that the UTF-8 stream itself refuses to encode after
it has written data, an interrupt from inside the block, and a disk that fills up mid-write
(``RLIMIT_FSIZE`` in a child process, the same EFBIG a full quota gives).
"""

from __future__ import annotations

import contextlib
import errno
import locale
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.errors import ConfigError, InputError
from screener.files import (
    SCRATCH_GRACE,
    Staged,
    _Guarded,
    atomic_write_text,
    atomic_writer,
    open_regular,
    remove_stale,
    remove_stale_folders,
    safe_child,
    scratch_folder,
)

OLD = "previous results\n"


def leftovers(folder: Path) -> list[str]:
    """Every file in ``folder`` but the target: temporaries the writer would leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name != "out.csv")


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "out.csv"
    path.write_text(OLD, encoding="utf-8")
    return path


def test_the_new_content_replaces_the_old_only_when_the_block_ends(target: Path) -> None:
    with atomic_writer(target) as handle:
        handle.write("new\n" * 100_000)
        handle.flush()  # on disk in the temporary file, but not yet at the target
        assert target.read_text(encoding="utf-8") == OLD
        (temporary,) = leftovers(target.parent)
        assert temporary.startswith(".out.csv.") and temporary.endswith(".tmp")
    assert target.read_text(encoding="utf-8") == "new\n" * 100_000
    assert leftovers(target.parent) == []


def test_a_stream_that_fails_part_way_keeps_the_old_file(target: Path) -> None:
    # The stream writes a megabyte, then refuses a character it cannot encode: the error comes
    # from inside the written stream, after data reached the temporary file.
    with pytest.raises(UnicodeEncodeError), atomic_writer(target) as handle:
        handle.write("row,1\n" * 200_000)
        handle.write("bad \ud800 row\n")
        handle.flush()
    assert target.read_text(encoding="utf-8") == OLD
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit, ValueError])
def test_an_interrupt_inside_the_block_keeps_the_old_file(target: Path, error: type[BaseException]) -> None:
    with pytest.raises(error), atomic_writer(target, "wb") as handle:
        handle.write(b"half a file")
        raise error()
    assert target.read_text(encoding="utf-8") == OLD
    assert leftovers(target.parent) == []


def test_a_failed_first_write_leaves_no_file_at_all(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(UnicodeEncodeError), atomic_writer(path) as handle:
        handle.write("\udfff")
    assert list(tmp_path.iterdir()) == []


_DISK_FULL = """
import resource, signal, sys
from pathlib import Path
from screener.files import atomic_write_text
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
from screener.errors import ConfigError
try:
    atomic_write_text(Path(sys.argv[1]), "x" * (4 * limit))
except ConfigError as exc:  # a failed write names the file (issue 11, item 11)
    print(exc)
    sys.exit(3)
print("written")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_disk_that_fills_up_mid_write_keeps_the_old_file(target: Path) -> None:
    import errno

    big_old = OLD * 10_000  # larger than the limit: only new writes are limited, not the file that exists
    target.write_text(big_old, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_DISK_FULL), str(target), str(64 * 1024)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (3, f"{target}: cannot write: {os.strerror(errno.EFBIG)}\n"), done.stderr
    assert target.read_text(encoding="utf-8") == big_old
    assert leftovers(target.parent) == []


def test_a_replaced_file_keeps_its_permissions(target: Path) -> None:
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text(encoding="utf-8") == "new\n"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    # mkstemp makes its file 0600; a memo in a shared folder must be readable as any new file is.
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "new.md", "memo\n")
        assert os.umask(umask) == umask  # the writer put the umask back
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o666 & ~umask


def test_text_is_utf8_and_newlines_are_as_asked(tmp_path: Path) -> None:
    with atomic_writer(tmp_path / "a.csv", newline="") as handle:
        handle.write("Zürich €\r\nnext\n")
    assert (tmp_path / "a.csv").read_bytes() == "Zürich €\r\nnext\n".encode()
    with atomic_writer(tmp_path / "b.bin", "wb") as handle:
        handle.write(b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a" / "b" / "memo.md", "x")
    assert (tmp_path / "a" / "b" / "memo.md").read_text(encoding="utf-8") == "x"


def test_a_folder_that_cannot_be_made_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError) as caught:
        atomic_write_text(tmp_path / "file" / "memo.md", "x")
    assert str(caught.value) == f"{tmp_path / 'file' / 'memo.md'}: cannot write here: File exists"


@pytest.mark.parametrize(
    ("name", "number", "dots", "expected"),
    [
        ("Acme AI, Inc.", 1, False, "acme-ai-inc.md"),
        ("Acme AI, Inc.", 2, False, "acme-ai-inc-2.md"),
        ("acme.ai", 1, True, "acme.ai.md"),
        ("acme.ai", 1, False, "acme-ai.md"),
        ("../../etc/passwd", 1, False, "etc-passwd.md"),
        ("../..", 1, False, "company.md"),
        ("...", 3, True, "company-3.md"),
        ("", 1, False, "company.md"),
        # Only dots, hyphens and punctuation: no letter or digit, so the fallback name, never "-.md"
        ("../..", 1, True, "company.md"),
        ("-.-", 2, True, "company-2.md"),
        (".-.", 1, True, "company.md"),
        ("!?!", 1, False, "company.md"),
        # Dots and hyphens at the ends go, inner ones stay (with dots) or become one hyphen
        (".-acme.ai-.", 1, True, "acme.ai.md"),
        ("..acme..ai..", 1, False, "acme-ai.md"),
        ("Ünïcode Café", 1, False, "unicode-cafe.md"),
        ("Acme AI, Inc!", 1, True, "acme-ai-inc.md"),
        ("x" * 100, 1, False, "x" * 80 + ".md"),
        ("x" * 100, 1, True, "x" * 80 + ".md"),
        # cut at the last whole word within 80 characters, not in the middle of one
        ("ab " + "frontier " * 20, 1, False, "ab" + "-frontier" * 8 + ".md"),
    ],
)
def test_safe_child_names(tmp_path: Path, name: str, number: int, dots: bool, expected: str) -> None:
    assert safe_child(tmp_path, name, ".md", number, dots=dots) == (tmp_path / expected).resolve()


def test_safe_child_drops_dots_unless_asked(tmp_path: Path) -> None:
    assert safe_child(tmp_path, "acme.ai", ".md") == (tmp_path / "acme-ai.md").resolve()


def test_safe_child_cuts_long_names_before_numbering(tmp_path: Path) -> None:
    long = " ".join(["frontier"] * 20)
    first, second = safe_child(tmp_path, long, ".md"), safe_child(tmp_path, long, ".md", 2)
    assert len(first.stem) <= 80 and first.stem.startswith("frontier-frontier")
    assert second.stem == f"{first.stem}-2"


def test_safe_child_refuses_a_suffix_that_leaves_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        safe_child(tmp_path, "acme", "/../../x.md")
    assert str(caught.value) == f"{tmp_path}: refusing to write outside the folder: 'acme'"


# --- the pieces under atomic writes: staging, locks, what dead runs leave behind ----------------------------


def test_a_staged_file_is_a_locked_temporary_beside_the_target_until_committed(target: Path) -> None:
    staged = Staged(target, "w")
    assert staged.done is False and staged.handle.failed is False
    staged.handle.write("new\n")
    assert staged.temp.parent == target.parent
    assert staged.temp.name.startswith(".out.csv.") and staged.temp.name.endswith(".tmp")
    assert target.read_text(encoding="utf-8") == OLD
    assert remove_stale(target.parent) == []  # its lock is held: a run still writing it
    staged.commit()
    assert target.read_text(encoding="utf-8") == "new\n"
    assert leftovers(target.parent) == [] and staged.done


def test_a_discarded_staged_file_leaves_the_target_and_no_temporary(target: Path) -> None:
    staged = Staged(target, "wb")
    staged.handle.write(b"\x00new")
    staged.discard()
    staged.discard()  # twice is harmless
    assert target.read_text(encoding="utf-8") == OLD
    assert leftovers(target.parent) == [] and staged.done


def test_a_write_that_fails_is_a_located_error_and_remembered(tmp_path: Path) -> None:
    target = tmp_path / "memo.md"
    with open("/dev/full", "wb", buffering=0) as full:  # every write: ENOSPC, as on a full disk
        guarded = _Guarded(full, target)
        assert guarded.failed is False
        with pytest.raises(ConfigError) as caught:
            guarded.write(b"x")
        assert guarded.failed
        assert guarded.fileno() == full.fileno()  # everything else is the handle's own
    assert str(caught.value) == f"{target}: cannot write: No space left on device"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_commit_that_cannot_rename_is_a_located_error_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "memo.md"
    target.mkdir()  # a folder where the file should go: the rename fails
    staged = Staged(target, "w")
    staged.handle.write("x")
    with pytest.raises(ConfigError) as caught:
        staged.commit()
    assert str(caught.value) == f"{target}: cannot write: Is a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memo.md"] and staged.done


def test_the_lock_is_released_after_commit_and_discard(tmp_path: Path) -> None:
    for end in ("commit", "discard"):
        staged = Staged(tmp_path / f"{end}.md")
        lock = staged._lock
        assert lock is not None
        getattr(staged, end)()
        with pytest.raises(OSError):
            os.fstat(lock)  # the lock's descriptor is closed


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / ".memo.md.abc123.tmp"  # what kill -9 leaves: nobody holds its lock
    dead.write_text("half")
    other = tmp_path / ".other.md.abc123.tmp"
    other.write_text("half")
    (tmp_path / ".memo.md.dir.tmp").mkdir()  # not a file: left alone
    (tmp_path / ".memo.md.link.tmp").symlink_to(other)  # a link: left alone
    (tmp_path / "memo.md.abc.tmp").write_text("no leading dot")  # not one of ours
    live = Staged(tmp_path / "memo.md")
    try:
        assert remove_stale(tmp_path, "memo.md") == [dead]
        assert other.exists() and live.temp.exists()
        assert remove_stale(tmp_path) == [other]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [".memo.md.dir.tmp", ".memo.md.link.tmp", "memo.md.abc.tmp", live.temp.name]
        )
    finally:
        live.discard()
    assert remove_stale(tmp_path / "missing") == []


def test_stale_scratch_folders_are_removed_and_live_or_young_ones_kept(tmp_path: Path) -> None:
    prefix = f"screener-test-{os.getpid()}-{tmp_path.name}-"
    base = Path(tempfile.gettempdir())
    dead = base / f"{prefix}dead"
    dead.mkdir()
    (dead / "lock").write_text("")  # a lock file nobody holds: its run died
    young = base / f"{prefix}young"
    young.mkdir()  # no lock yet: a run starting up
    old = base / f"{prefix}old"
    old.mkdir()
    # Past the grace period by half a second: the folder only gets older while the test runs.
    past = time.time() - SCRATCH_GRACE - 0.5
    os.utime(old, (past, past))
    plain = base / f"{prefix}file"
    plain.write_text("not a folder")
    try:
        with scratch_folder(prefix) as live:
            assert live.name.startswith(prefix) and (live / "lock").is_file()
            assert not dead.exists() and not old.exists()  # cleared on the way in
            assert young.is_dir() and plain.is_file()
            assert remove_stale_folders(prefix) == []  # the live one holds its lock
            assert live.is_dir()
        assert not live.exists()
        dead.mkdir()
        (dead / "lock").write_text("")
        assert remove_stale_folders(prefix) == [dead]
    finally:
        shutil.rmtree(young, ignore_errors=True)
        plain.unlink()


def test_open_regular_opens_a_file_with_options(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("é\r\n".encode())
    with open_regular(path, encoding="utf-8", newline="") as handle:
        assert handle.read() == "é\r\n"
    with open_regular(path, "rb") as handle:
        assert handle.read() == "é\r\n".encode()
        assert os.get_blocking(handle.fileno())  # reads wait for data as usual


def test_open_regular_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "in"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            open_regular(fifo)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)  # a watchdog, not a timing: a blocking open would wait here for ever
    blocked = reader.is_alive()
    if blocked:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer comes and goes: the open returns
        reader.join()
    assert not blocked, "open_regular waited for a writer to open the FIFO"
    assert [str(exc) for exc in outcome] == [
        f"{fifo}: is not a regular file (a FIFO, device or socket); Screener reads only files"
    ]
    assert isinstance(outcome[0], InputError)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.mkdir(), "is a folder, expected a file"),
        (lambda p: p.symlink_to(p), "cannot read file: Too many levels of symbolic links"),
    ],
)
def test_open_regular_refuses_what_is_not_a_readable_file(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "in"
    make(path)
    with pytest.raises(InputError) as caught:
        open_regular(path)
    assert str(caught.value) == f"{path}: {message}"
    with pytest.raises(ConfigError) as caught_as:
        open_regular(path, error=ConfigError)
    assert str(caught_as.value) == f"{path}: {message}"


def test_text_is_utf8_under_the_c_locale(tmp_path: Path) -> None:
    # Under the C locale the default text encoding is ASCII, which refuses "é": memos and CSV
    # files are UTF-8 whatever the locale says.
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        assert locale.getencoding() != "UTF-8"  # the default really is another encoding here
        atomic_write_text(tmp_path / "memo.md", "Zürich €\n")
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert (tmp_path / "memo.md").read_bytes() == "Zürich €\n".encode()


@contextlib.contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """Writes beyond ``size`` bytes fail with EFBIG in this process, as on a full quota, until the block ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, not the signal that kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_staged_write_past_a_full_quota_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "memo.md"
    staged = Staged(target, "w")
    try:
        with file_size_limit(1024), pytest.raises(ConfigError) as caught:
            staged.handle.write("x" * 100_000)  # past the buffer: written at once, and refused
        assert staged.handle.failed
    finally:
        staged.discard()
    assert str(caught.value) == f"{target}: cannot write: {os.strerror(errno.EFBIG)}"
    assert list(tmp_path.iterdir()) == []


def test_discarding_a_file_whose_buffer_cannot_be_flushed_still_removes_it(tmp_path: Path) -> None:
    staged = Staged(tmp_path / "memo.md", "w")
    staged.handle.write("x" * 2000)  # still in the buffer; closing would flush it
    with file_size_limit(1024):
        staged.discard()  # the flush fails (EFBIG): nothing to keep, so no error
    assert list(tmp_path.iterdir()) == [] and staged.done


def test_a_linked_scratch_folder_is_never_removed(tmp_path: Path) -> None:
    prefix = f"screener-test-{os.getpid()}-{tmp_path.name}-"
    dead = tmp_path / "dead"
    dead.mkdir()
    (dead / "lock").write_text("")  # looks like a dead run's folder, but is reached through a link
    link = Path(tempfile.gettempdir()) / f"{prefix}link"
    link.symlink_to(dead)
    try:
        assert remove_stale_folders(prefix) == []
        assert (dead / "lock").exists()
    finally:
        link.unlink()


def test_a_scratch_folder_whose_lock_is_a_fifo_does_not_hang_the_cleanup(tmp_path: Path) -> None:
    prefix = f"screener-test-{os.getpid()}-{tmp_path.name}-"
    folder = Path(tempfile.gettempdir()) / f"{prefix}fifo"
    folder.mkdir()
    os.mkfifo(folder / "lock")
    removed: list[list[Path]] = []
    cleaner = threading.Thread(target=lambda: removed.append(remove_stale_folders(prefix)), daemon=True)
    cleaner.start()
    cleaner.join(10)  # a watchdog: a blocking open of the FIFO would wait here for ever
    blocked = cleaner.is_alive()
    if blocked:
        os.close(os.open(folder / "lock", os.O_WRONLY | os.O_NONBLOCK))
        cleaner.join()
    shutil.rmtree(folder, ignore_errors=True)
    assert not blocked, "the cleanup waited for a writer to open the FIFO"
    assert removed == [[folder]]  # nobody holds it: a dead run's


def test_newlines_are_translated_as_asked(tmp_path: Path) -> None:
    with atomic_writer(tmp_path / "a.txt", newline="\r\n") as handle:
        handle.write("one\ntwo\n")
    assert (tmp_path / "a.txt").read_bytes() == b"one\r\ntwo\r\n"


def test_a_name_with_glob_characters_finds_its_own_stale_temporaries(tmp_path: Path) -> None:
    dead = tmp_path / ".r[1].csv.abc123.tmp"
    dead.write_text("half")
    lookalike = tmp_path / ".r1.csv.abc123.tmp"  # what "r[1].csv" would match as a pattern
    lookalike.write_text("half")
    assert remove_stale(tmp_path, "r[1].csv") == [dead]
    assert lookalike.exists()


def test_a_scratch_folders_lock_is_held_from_the_moment_it_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system's temporary folder, for this test
    with scratch_folder("screener-test-") as folder:
        assert sorted(p.name for p in folder.iterdir()) == ["lock"]  # no unlocked "lock.new" left behind
        assert remove_stale_folders("screener-test-") == []
        assert folder.exists()
    assert not folder.exists()
