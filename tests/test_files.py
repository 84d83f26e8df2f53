"""Atomic file writes under failure: the writer dies part-way and the old file survives, no temporary left.

Failures are real, not mocked: a lone surrogate that the UTF-8 stream itself refuses to encode after
it has written data, an interrupt from inside the block, and a disk that fills up mid-write
(``RLIMIT_FSIZE`` in a child process, the same EFBIG a full quota gives).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from screener.errors import ConfigError
from screener.files import atomic_write_text, atomic_writer, safe_child

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
    ],
)
def test_safe_child_names(tmp_path: Path, name: str, number: int, dots: bool, expected: str) -> None:
    assert safe_child(tmp_path, name, ".md", number, dots=dots) == (tmp_path / expected).resolve()


def test_safe_child_cuts_long_names_before_numbering(tmp_path: Path) -> None:
    long = " ".join(["frontier"] * 20)
    first, second = safe_child(tmp_path, long, ".md"), safe_child(tmp_path, long, ".md", 2)
    assert len(first.stem) <= 80 and first.stem.startswith("frontier-frontier")
    assert second.stem == f"{first.stem}-2"


def test_safe_child_refuses_a_suffix_that_leaves_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        safe_child(tmp_path, "acme", "/../../x.md")
    assert str(caught.value) == f"{tmp_path}: refusing to write outside the folder: 'acme'"
