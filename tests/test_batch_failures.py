"""Issue 11: a batch that fails, is stopped or meets a dead worker loses nothing, hangs on nothing,
says what it had done and how to finish, and cleans up after runs that were killed.

Real processes, real signals, a real full disk (a small tmpfs), a real SQLite trigger that refuses
a row: nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner

from screener.cli.batch import batch_command
from screener.errors import ExitCode
from tests.conftest import ON
from tests.faults import small_disk, workers


def profile(number: int, **extra) -> dict:
    return {
        "name": f"Company {number}",
        "website": f"https://company{number}.ai",
        "team": {"size": 3 + number % 40},
        **extra,
    }


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def batch(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(batch_command, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def keys(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [k for (k,) in connection.exec_driver_sql("SELECT company_key FROM screening")]
    except sqlalchemy.exc.SQLAlchemyError:
        return []
    finally:
        engine.dispose()


_RUN = "import sys; from screener.cli.batch import batch_command; batch_command(sys.argv[1:])"


def start(*args: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _RUN, *args, "--on", ON.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"}, **options,
    )  # fmt: skip


def wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _out, err = process.communicate()
            pytest.fail(f"the batch ended or stalled before the test could act: {process.returncode}\n{err.decode()}")
        time.sleep(0.05)


def messages(stderr: str) -> list[str]:
    """stderr's lines, without the progress lines a batch prints when stderr is not a terminal."""
    return [line for line in stderr.splitlines() if not line.startswith("batch: ")]


def finish(process: subprocess.Popen, seconds: float = 120) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the batch hung: {err.decode()}")
    return process.returncode, out.decode(), err.decode()


# --- item 2: outputs that would replace an input, or be read as one ---------------------------------------


def test_an_output_naming_an_input_is_refused_before_reading(tmp_path):
    deals = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(3)])
    before = deals.read_bytes()
    code, _stdout, stderr = batch(str(deals), "--no-db", "--out", str(deals))
    assert code == ExitCode.USAGE
    assert stderr == f"error: --out {deals} is an input of this batch; writing it would replace the input\n"
    code, _, stderr = batch(str(deals), "--no-db", "--rejects", str(deals))
    assert (code, stderr) == (
        ExitCode.USAGE,
        f"error: --rejects {deals} is an input of this batch; writing it would replace the input\n",
    )
    assert deals.read_bytes() == before


def test_an_output_inside_an_input_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "deals"
    write_jsonl(folder / "a.jsonl", [profile(1)])
    code, _, stderr = batch(
        str(folder), "--no-db", "--out", str(folder / "ranked.csv"), "--rejects", str(tmp_path / "r.jsonl")
    )
    assert code == ExitCode.USAGE
    assert stderr == (
        f"error: --out {folder / 'ranked.csv'} is inside the input folder {folder}; the next batch over that folder "
        "would read it as input: write it elsewhere\n"
    )
    monkeypatch.chdir(folder)
    code, _, stderr = batch(".", "--no-db")  # the default rejects file, ./rejects.jsonl
    assert code == ExitCode.USAGE
    assert stderr == (
        "error: --rejects rejects.jsonl is inside the input folder .; the next batch over that folder would read it "
        "as input: write it elsewhere\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["a.jsonl"]


def test_an_earlier_batchs_outputs_in_an_input_folder_are_not_read_again(tmp_path):
    folder = tmp_path / "deals"
    write_jsonl(folder / "a.jsonl", [profile(n) for n in range(10)] + ["{broken"] * 5)
    out = tmp_path / "out" / "ranked.jsonl"
    for output in (out, out.with_suffix(".csv")):
        code, stdout, _ = batch(str(folder), "--no-db", "--out", str(output))
        assert code == ExitCode.REJECTS
        assert stdout.startswith("15 read: 10 scored, 5 rejected, 0 duplicates (")
        for written in output.parent.iterdir():
            (folder / written.name).write_bytes(written.read_bytes())  # the user moves them into the folder
    code, stdout, stderr = batch(str(folder), "--no-db", "--out", str(tmp_path / "again.csv"))
    assert code == ExitCode.REJECTS
    assert stdout.startswith("15 read: 10 scored, 5 rejected, 0 duplicates (")
    assert (
        "3 file(s) in the input folders were written by an earlier batch (ranked output or rejects) and are not read"
        in stderr
    )


# --- item 6: a batch that fails mid-way keeps the rejects of what it read -------------------------------


def refuse_row(url: str, key: str) -> None:
    """A real trigger in the real database that refuses one company's row, so that a chunk fails to save."""
    path = sqlalchemy.make_url(url).database
    with sqlite3.connect(path) as connection:
        connection.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON screening WHEN NEW.company_key = '{key}' "
            "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )


@pytest.mark.parametrize("workers_", ["1", "2"])
def test_a_database_failure_mid_batch_keeps_the_rejects_and_says_how_far_it_got(tmp_path, sqlite_url, workers_):
    from screener import store

    store.connect(sqlite_url).dispose()
    refuse_row(sqlite_url, "company45.ai")
    records = [profile(n) if n % 10 else "{broken" for n in range(60)]
    deals = write_jsonl(tmp_path / "deals.jsonl", records)
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_text("from an earlier run\n")
    code, stdout, stderr = batch(
        str(deals), "--db", sqlite_url, "--chunk-size", "10", "--rejects", str(rejects), "--workers", workers_
    )
    assert code == ExitCode.STORE_ERROR
    assert stdout == ""
    lines = messages(stderr)
    assert lines[0] == "unfinished: 40 read so far: 36 scored, 4 rejected, 0 duplicates"
    assert lines[1:3] == [
        f"rejects of the records read: {rejects}",
        "to finish, run the same command again: the records already saved are skipped as unchanged, so nothing "
        "is scored twice or duplicated",
    ]
    assert lines[3].startswith("error: ") and "cannot save screenings: refused by a trigger" in lines[3]
    assert [json.loads(line)["line"] for line in rejects.read_text().splitlines()] == [1, 11, 21, 31]
    saved = keys(sqlite_url)
    # The failed chunk (40-49) saved nothing; with two workers the next one may have been saved meanwhile.
    assert not any(f"company{n}.ai" in saved for n in range(40, 50))
    assert len(saved) == 36 if workers_ == "1" else len(saved) in {36, 45}


# --- item 11: a full disk under the outputs ---------------------------------------------------------------


def test_a_full_disk_under_the_ranked_output_is_a_clean_error_and_keeps_the_previous_file(tmp_path):
    deals = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(2000)])
    with small_disk(tmp_path / "disk", free=16 * 1024) as disk:
        out = disk / "ranked.csv"
        out.write_text("previous results\n")
        code, _stdout, stderr = batch(str(deals), "--no-db", "--out", str(out), "--rejects", str(tmp_path / "r.jsonl"))
        assert code == ExitCode.CONFIG_ERROR
        assert messages(stderr)[-1] == f"error: {out}: cannot write: No space left on device"
        assert "Traceback" not in stderr
        assert out.read_text() == "previous results\n"
        assert sorted(p.name for p in disk.iterdir()) == [".filler", "ranked.csv"]  # no temporary file left
    assert (tmp_path / "r.jsonl").read_text() == ""  # the rejects of what was read: none


def test_a_full_disk_under_the_rejects_file_is_a_clean_error(tmp_path):
    deals = write_jsonl(tmp_path / "deals.jsonl", ["{broken " + "x" * 200] * 2000)
    with small_disk(tmp_path / "disk", free=16 * 1024) as disk:
        rejects = disk / "rejects.jsonl"
        code, _, stderr = batch(str(deals), "--no-db", "--rejects", str(rejects))
        assert code == ExitCode.CONFIG_ERROR
        assert messages(stderr)[-1] == f"error: {rejects}: cannot write: No space left on device"
        assert sorted(p.name for p in disk.iterdir()) == [".filler"]  # nothing half-written


# --- item 23: a link in the memo folder ---------------------------------------------------------------------


def test_a_symbolic_link_in_the_memo_folder_is_refused_before_scoring(tmp_path, sqlite_url):
    memos = tmp_path / "memos"
    memos.mkdir()
    outside = tmp_path / "elsewhere.md"
    outside.write_text("not a memo\n")
    (memos / "company7.ai.md").symlink_to(outside)
    deals = write_jsonl(tmp_path / "deals.jsonl", [profile(n) for n in range(200)])
    out = tmp_path / "out.csv"
    code, _stdout, stderr = batch(
        str(deals), "--db", sqlite_url, "--memos", str(memos), "--memo-verdict", "pass", "--out", str(out)
    )
    assert code == ExitCode.CONFIG_ERROR
    assert stderr == (
        f"error: {memos / 'company7.ai.md'}: is a symbolic link (to {outside}); Screener writes memos only as plain "
        "files in their folder: remove the link, or choose another memo folder\n"
    )
    assert sorted(p.name for p in memos.iterdir()) == ["company7.ai.md"]
    assert keys(sqlite_url) == [] and not out.exists()
    assert outside.read_text() == "not a memo\n"


# --- item 15 and the interrupt work: dead workers and signals ------------------------------------------------


def test_a_worker_killed_by_the_oom_killer_fails_the_batch_and_a_rerun_completes_it(tmp_path, sqlite_url):
    n = 6000
    deals = write_jsonl(tmp_path / "deals.jsonl", [profile(i) for i in range(n)])
    out = tmp_path / "o.csv"
    args = (str(deals), "--db", sqlite_url, "--workers", "2", "--chunk-size", "10", "--out", str(out))
    process = start(*args)
    wait_for(lambda: len(keys(sqlite_url)) > 0 and len(workers(process.pid)) == 2, process)
    os.kill(workers(process.pid)[0], signal.SIGKILL)
    code, _stdout, stderr = finish(process)
    assert code == ExitCode.CONFIG_ERROR, stderr
    assert messages(stderr)[-1] == (
        "error: a worker process died (killed by SIGKILL), perhaps stopped by the out-of-memory killer; the batch "
        "stopped. What the workers had saved stays: run the same command again to complete it (with fewer "
        "--workers, or a smaller --chunk-size, if memory was short)"
    )
    assert messages(stderr)[0].startswith("unfinished: ")
    assert "Traceback" not in stderr and not out.exists()
    assert 0 < len(keys(sqlite_url)) < n
    code, _, stderr = batch(*args)
    assert code == ExitCode.OK, stderr
    assert sorted(keys(sqlite_url)) == sorted({f"company{i}.ai" for i in range(n)})


@pytest.mark.parametrize(
    ("how", "workers_", "code"),
    [("SIGINT to the process group (Ctrl-C)", "2", 130), ("SIGTERM to the parent", "1", 143), ("SIGINT", "1", 130)],
)
def test_a_stopped_batch_says_what_it_did_keeps_its_rejects_and_a_rerun_completes_it(
    tmp_path, db_url, how, workers_, code
):
    n = 1500
    records = [profile(i) if i % 50 else "{broken" for i in range(n)]
    deals = write_jsonl(tmp_path / "deals.jsonl", records)
    rejects = tmp_path / "rejects.jsonl"
    out = tmp_path / "o.csv"
    args = (
        str(deals),
        "--db",
        db_url,
        "--workers",
        workers_,
        "--chunk-size",
        "10",
        "--out",
        str(out),
        "--rejects",
        str(rejects),
    )
    process = start(*args, start_new_session=True)
    wait_for(lambda: len(keys(db_url)) > 0, process)
    if "group" in how:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM if "TERM" in how else signal.SIGINT)
    returncode, stdout, stderr = finish(process)
    assert returncode == code, stderr
    lines = messages(stderr)
    read, scored, rejected = (int(w) for w in _counts(lines[0]))
    assert read == scored + rejected and 0 < read < n
    assert lines[1:] == [
        f"rejects of the records read: {rejects}",
        "to finish, run the same command again: the records already saved are skipped as unchanged, so nothing "
        "is scored twice or duplicated",
        f"error: stopped by {'SIGTERM' if code == 143 else 'SIGINT (Ctrl-C)'}",
    ]
    assert len(rejects.read_text().splitlines()) == rejected
    assert not out.exists()
    assert len(keys(db_url)) >= scored  # a worker may commit the chunk it had under way
    code_again, stdout, stderr = batch(*args)
    assert code_again == ExitCode.REJECTS, stderr
    assert stdout.startswith(f"{n} read: {n - n // 50} scored, {n // 50} rejected, 0 duplicates (")
    assert sorted(keys(db_url)) == sorted({f"company{i}.ai" for i in range(n) if i % 50})


def _counts(line: str) -> tuple[str, str, str]:
    # "unfinished: 120 read so far: 118 scored, 2 rejected, 0 duplicates"
    words = line.replace(",", "").split()
    assert words[0] == "unfinished:" and words[-1] == "duplicates" and words[-2] == "0", line
    return words[1], words[5], words[7]


# --- item 20: what kill -9 leaves behind ---------------------------------------------------------------------


def test_temporary_files_and_scratch_folders_of_a_killed_run_are_removed_by_the_next(tmp_path):
    from screener.files import Staged

    scratch = Path(tempfile.gettempdir())
    before = set(scratch.glob("screener-batch-*"))
    deals = write_jsonl(tmp_path / "deals.jsonl", [profile(i) if i % 7 else "{broken" for i in range(3000)])
    out = tmp_path / "o.csv"
    process = start(str(deals), "--no-db", "--chunk-size", "10", "--out", str(out))

    def own() -> set[Path]:
        # Its own scratch folder: other batches may be running on this machine (theirs are locked, and stay).
        return {f for f in set(scratch.glob("screener-batch-*")) - before if _holds(process.pid, f)}

    wait_for(lambda: any(tmp_path.glob(".o.rejects.jsonl.*.tmp")) and own(), process)
    left = own()
    assert len(left) == 1
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(tmp_path.glob(".o.rejects.jsonl.*.tmp")) and all(p.exists() for p in left)
    live = Staged(tmp_path / "o.csv")  # another run writing the same output right now: left alone
    try:
        code, _, stderr = batch(str(deals), "--no-db", "--out", str(out))
        assert code == ExitCode.REJECTS, stderr
        assert sorted(p.name for p in tmp_path.glob(".*.tmp")) == [live.temp.name]
        assert not any(p.exists() for p in left)
    finally:
        live.discard()


def _holds(pid: int, folder: Path) -> bool:
    """Whether process ``pid`` has a file inside ``folder`` open (Linux)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                return True
        except OSError:
            continue
    return False
