"""Issue 11, items 16–18: nothing hangs on a silent server, a lock, a FIFO, /dev/zero or a pathological document."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner, Result

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import ON, REPO


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--on", ON.isoformat()])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text("name: Acme\n", encoding="utf-8")
    return path


# --- item 16: PostgreSQL that never answers, or a table another session has locked ----------------------


def test_a_postgresql_server_that_never_answers_times_out(acme):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accepts, then says nothing
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = run(str(acme), "--no-memo", "--db", f"postgresql://postgres@127.0.0.1:{port}/x?connect_timeout=1")
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
    assert result.exit_code == ExitCode.STORE_ERROR
    assert result.stderr.startswith(f"error: --db: cannot open database postgresql://postgres@127.0.0.1:{port}/x")
    assert "timeout expired" in result.stderr


def test_connections_get_the_default_timeouts(pg_url):
    from screener import store
    from screener.store import database

    engine = store.connect(pg_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == database.PG_LOCK_TIMEOUT == "30s"
            parameters = connection.connection.driver_connection.info.get_parameters()
            assert parameters["connect_timeout"] == str(database.PG_CONNECT_TIMEOUT) == "10"
    finally:
        engine.dispose()


def test_a_table_locked_by_another_session_is_a_store_error_after_the_lock_timeout(pg_url, acme):
    from screener import store

    store.connect(pg_url).dispose()
    holder = sqlalchemy.create_engine(pg_url)
    try:
        with holder.connect() as connection:
            transaction = connection.begin()
            connection.exec_driver_sql("LOCK TABLE screening IN ACCESS EXCLUSIVE MODE")
            url = pg_url + "%20-clock_timeout%3D1s"  # the URL's own options set the timeout: here, 1 s
            result = run(str(acme), "--no-memo", "--db", url)
            transaction.rollback()
    finally:
        holder.dispose()
    assert result.exit_code == ExitCode.STORE_ERROR
    assert result.stderr.splitlines()[-1].endswith("cannot save screenings: canceling statement due to lock timeout")


# --- item 17: a FIFO, or a link to /dev/zero -------------------------------------------------------------


def test_a_fifo_or_a_link_to_dev_zero_is_refused_not_read(tmp_path, acme):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    result = run(str(fifo), str(zero), str(acme), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == (
        f"error: {fifo}: is not a regular file (a FIFO, device or socket); Screener reads only files\n"
        f"error: {zero}: is not a regular file (a FIFO, device or socket); Screener reads only files\n"
    )
    lines = tmp_path / "deals.jsonl"
    os.mkfifo(lines)
    result = run("batch", str(lines), "--no-db", "--rejects", str(tmp_path / "r.jsonl"))
    assert (result.exit_code, result.stderr) == (
        ExitCode.INVALID_INPUT,
        f"error: {lines}: is not a regular file (a FIFO, device or socket); Screener reads only files\n",
    )


def test_a_fifo_in_a_batch_folder_is_not_read(tmp_path, acme):
    folder = tmp_path / "deals"
    folder.mkdir()
    os.mkfifo(folder / "a.yaml")
    (folder / "b.yaml").write_text("name: B\n", encoding="utf-8")
    result = run("batch", str(folder), "--no-db", "--rejects", str(tmp_path / "r.jsonl"))
    assert result.exit_code == ExitCode.OK
    assert result.stdout.startswith("1 read: 1 scored, 0 rejected, 0 duplicates")


def test_a_file_that_grows_past_the_bound_is_refused_by_the_read_itself(tmp_path):
    from screener.errors import InputError
    from screener.profile.sources import read_text

    path = tmp_path / "grows.yaml"
    path.write_text("name: A\n" + "#" * 2_000_100, encoding="utf-8")
    with pytest.raises(InputError, match=r"file is larger than the 2,000,000 accepted \(bytes\)"):
        read_text(path)
    with pytest.raises(InputError, match=r"file is larger than the 100 accepted \(bytes\)"):
        read_text(Path("/proc/self/status"), max_bytes=100)  # stat says 0 bytes; the read finds more


# --- item 18: pathological documents under the size cap ------------------------------------------------------


def test_a_document_with_thousands_of_unknown_keys_reports_a_hundred_and_counts_the_rest(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"name": "A", **{f"k{i}": 1 for i in range(5000)}}), encoding="utf-8")
    result = run(str(path), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    lines = result.stderr.splitlines()
    assert len(lines) == 101
    assert lines[0].startswith(f"error: {path}:1:15: k0: unknown field 'k0'")
    assert lines[-1] == f"error: {path}: and 4,900 more problem(s) not listed (only the first 100 are)"


def test_a_large_document_without_aliases_is_not_called_an_alias_bomb(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text("name: A\nbenchmarks:\n" + "  - [1, 2, 3]\n" * 60_000, encoding="utf-8")
    result = run(str(path), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "the document holds more than 50,000 values, more than Screener reads" in result.stderr
    bomb = tmp_path / "bomb.yaml"
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)
    ]
    bomb.write_text("name: A\n" + "\n".join(levels) + "\n", encoding="utf-8")
    result = run(str(bomb), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "the document expands to more than 50,000 values through its aliases (an alias bomb?)" in result.stderr


def test_a_fifo_named_as_a_rule_pack_is_refused(tmp_path, acme):
    pack = tmp_path / "pack.yaml"
    os.mkfifo(pack)
    result = run(str(acme), "--rules", str(pack), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.RULE_ERROR
    assert (
        result.stderr == f"error: {pack}: is not a regular file (a FIFO, device or socket); Screener reads only files\n"
    )


def test_a_fifo_beside_a_pack_as_its_lock_file_is_refused(tmp_path, acme):
    pack = tmp_path / "pack.yaml"
    pack.write_text((REPO / "rules" / "small-team-open-model.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    os.mkfifo(tmp_path / "pack.lock")
    result = run(str(acme), "--rules", str(pack), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stderr == (
        f"error: {tmp_path / 'pack.lock'}: the lock file cannot be read: is not a regular file (a FIFO, device or "
        "socket); Screener reads only files\n"
    )


def test_a_fifo_named_as_the_configuration_is_refused(tmp_path, acme, monkeypatch):
    fifo = tmp_path / "screener.toml"
    os.mkfifo(fifo)
    result = run(str(acme), "--config", str(fifo), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert (
        result.stderr == f"error: {fifo}: is not a regular file (a FIFO, device or socket); Screener reads only files\n"
    )
    # Also the screener.toml found in the current folder, which nobody named.
    monkeypatch.chdir(tmp_path)
    result = run(str(acme), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert "screener.toml: is not a regular file" in result.stderr


def test_a_configuration_past_the_bound_is_refused_by_the_read(tmp_path, acme):
    from screener.config import MAX_CONFIG_BYTES

    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    result = run(str(acme), "--config", str(big), "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.stderr == f"error: {big}: file is larger than the {MAX_CONFIG_BYTES:,} accepted (bytes)\n"
