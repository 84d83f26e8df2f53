"""The command line in pipelines: standard input and output, unknown commands, --version, JSON errors, pipes."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import FIXTURES

TINY = FIXTURES / "tinyllama-legal.yaml"
SCREEN = str(Path(sys.executable).parent / "screen")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENER_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def _run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return _run


def test_a_yaml_profile_from_standard_input_screens_as_the_file_does(run) -> None:
    args = ("--format", "json", "--no-db", "--no-memo", "--on", "2026-11-27")
    from_file = run(str(TINY), *args)
    from_stdin = run("-", *args, input=TINY.read_text())
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout == from_file.stdout


def test_a_json_profile_from_standard_input_is_told_from_yaml(run) -> None:
    result = run("-", "--no-db", "--no-memo", input='{"name": "Piped AI", "team": {"size": 4}}')
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Piped AI  ")
    bad = run("-", "--no-db", "--no-memo", input='{"name": "Piped AI", "stage": "Series D"}')
    assert bad.exit_code == ExitCode.INVALID_INPUT
    assert bad.stderr == (
        "error: <stdin>:1:22: stage: 'Series D' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', "
        "'series-c' or 'growth'; did you mean 'growth' (every round after series-c)?\n"
    )
    broken = '{"name": "Piped AI",}'
    syntax = run("-", "--no-db", "--no-memo", input=broken)
    assert syntax.exit_code == ExitCode.INVALID_INPUT
    # CPython words (and places) this mistake differently across versions (3.13: "Illegal trailing comma"),
    # so the expectation is this interpreter's own reading, located in <stdin>.
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(broken)
    where = f"{caught.value.lineno}:{caught.value.colno}"
    assert syntax.stderr == f"error: <stdin>:{where}: invalid JSON: {caught.value.msg}\n"


def test_standard_input_is_read_once(run) -> None:
    result = run("-", "-", "--no-db", "--no-memo", input="name: X\n")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr == "error: <stdin>: standard input can be read once; give '-' once\n"


def test_explain_reads_standard_input_too(run) -> None:
    result = run("explain", "-", "--rule", "team-lean", "--format", "json", input="name: X\nteam: {size: 8}\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["company"] == "X"


def test_a_memo_goes_to_standard_output_and_nothing_is_written(run, tmp_path: Path) -> None:
    result = run("memo", "-", "--out", "-", "--no-db", "--on", "2026-11-27", input=TINY.read_text())
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Tinyllama Legal: investment committee memo (draft)\n")
    assert "screener-memo sha256" not in result.stdout  # the stamp protects files Screener wrote, not a stream
    assert result.stderr == "(standard output)  Tinyllama Legal: strong-fit, 92.2/100\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    two = run("memo", str(TINY), str(FIXTURES / "titanforge-ai.yaml"), "--out", "-", "--no-db", "--template", "summary")
    assert [line for line in two.stdout.splitlines() if line.startswith("# ")] == [
        "# Tinyllama Legal: screening summary",
        "# Titanforge AI: screening summary",
    ]
    html = run("memo", str(TINY), str(FIXTURES / "titanforge-ai.yaml"), "--out", "-", "--no-db", "--format", "html")
    assert html.exit_code == ExitCode.USAGE
    assert "--out - prints one HTML page: give one profile, or write the memos to a folder" in html.stderr


def test_a_mistyped_command_is_not_taken_for_a_profile(run) -> None:
    result = run("histroy", "Tinyllama Legal")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.endswith("Error: no such command 'histroy'; did you mean 'history'?\n")
    unknown = run("frobnicate")
    assert unknown.exit_code == ExitCode.USAGE
    assert unknown.stderr.endswith(
        "Error: no such command 'frobnicate' (nor a profile file of that name); the commands are backtest, batch, "
        "diff, explain, history, list, memo, rules, score, templates, verify\n"
    )


def test_a_profile_still_needs_no_command(run, tmp_path: Path) -> None:
    (tmp_path / "acme").write_text("name: Acme\n")  # an existing file without a suffix is a profile too
    for first in (str(TINY), "acme"):
        result = run(first, "--no-db", "--no-memo")
        assert result.exit_code in {ExitCode.OK, ExitCode.INVALID_INPUT}, result.output
        assert "no such command" not in result.output
    assert run("--on", "2026-11-27", str(TINY), "--no-db", "--no-memo").exit_code == 0


def test_minus_v_is_not_the_usage_of_score(run) -> None:
    result = run("-v")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "Usage: screen [OPTIONS] COMMAND [ARGS]...\nTry 'screen --help' for help.\n\n"
        "Error: no such option '-v'; did you mean '--version'?\n"
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_names_the_pack_and_the_engine(run, flag: str) -> None:
    from importlib.metadata import version

    from screener.rules.rulebook import load_rulebook

    pack = load_rulebook(None)
    result = run(flag)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"screen {version('screener')}"
    assert lines[1] == f"pack {pack.name} {pack.version} ({pack.hash[:12]}), the default: {pack.path}"
    assert lines[2] == "engine durable-rules 2.0.28"
    assert lines[3].startswith("python 3.")


def test_json_errors_are_json_on_standard_output(run, write) -> None:
    bad = write("bad.yaml", "name: Bad\nstage: Series D\nteam: {sise: 3}\n")
    result = run(str(bad), "--format", "json", "--no-db", "--no-memo")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert json.loads(result.stdout) == {
        "error": {
            "exit_code": 3,
            "kind": "invalid-input",
            "problems": [
                {"level": "error", "file": str(bad), "line": 2, "column": 1, "field": "stage",
                 "message": "'Series D' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', 'series-c' or "
                 "'growth'; did you mean 'growth' (every round after series-c)?"},
                {"level": "error", "file": str(bad), "line": 3, "column": 8, "field": "team.sise",
                 "message": "unknown field 'sise'; did you mean 'size'?"},
            ],
        }
    }  # fmt: skip
    assert result.stderr.count("error: ") == 2  # and as text, for people and logs


@pytest.mark.parametrize(
    ("args", "code", "kind", "field"),
    [
        (("list", "--since", "yesterday"), ExitCode.USAGE, "usage", "--since"),
        (("list", "--db", "nowhere.db"), ExitCode.NOT_FOUND, "not-found", None),
        (("batch", "x.jsonl", "--out", "ranked.xlsx"), ExitCode.CONFIG_ERROR, "config-error", None),
        (("explain", "missing.yaml"), ExitCode.INVALID_INPUT, "invalid-input", None),
        (("score", "--format", "json"), ExitCode.USAGE, "usage", "PROFILES"),
    ],
    ids=["usage", "not-found", "config", "input", "missing-argument"],
)
def test_every_error_is_json_with_format_json(run, args, code, kind, field) -> None:
    result = run(*args, "--format", "json") if "--format" not in args else run(*args)
    assert result.exit_code == code, result.output
    error = json.loads(result.stdout)["error"]
    assert (error["exit_code"], error["kind"]) == (code, kind)
    assert error["problems"] and error["problems"][0]["field"] == field
    assert set(error["problems"][0]) == {"level", "file", "line", "column", "field", "message"}


@pytest.mark.parametrize(
    "args",
    [
        (str(TINY), "--no-db", "--no-memo"),
        ("explain", str(TINY), "--format", "json"),
        ("templates", "list"),
    ],
    ids=["table", "json", "templates"],
)
def test_a_closed_pipe_ends_quietly_with_141(args, tmp_path: Path) -> None:
    process = subprocess.Popen([SCREEN, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line, as 'head -0' would be
    errors = process.stderr.read().decode()
    assert (process.wait(timeout=120), errors) == (141, "")


def test_configuration_errors_are_located_with_did_you_mean(run, write) -> None:
    config = write(
        "screener.toml",
        """
        [fx]
        EUR = 1.08
        EURO = 1.1
        GBP = -1

        [defaults]
        databse = "sqlite:///x.db"

        [check]
        strict = true
        """,
    )
    result = run("list", "--config", str(config))
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.stderr.splitlines() == [
        f"error: {config}:3:1: fx.EURO: 'EURO' is not an ISO currency code such as EUR",
        f"error: {config}:4:1: fx.GBP: the rate must be a positive number of US dollars per unit, not -1.0",
        f"error: {config}:7:1: defaults.databse: unknown field 'databse'; did you mean 'database'?",
        f"error: {config}:9:1: check: unknown field 'check'; did you mean 'checks'?",
    ]
    broken = write("broken.toml", "[fx\nEUR = 1\n")
    result = run("list", "--config", str(broken), "--format", "json")
    assert json.loads(result.stdout)["error"]["problems"][0] | {"file": None} == {
        "level": "error", "file": None, "line": 1, "column": 4, "field": None,
        "message": "invalid TOML: Expected ']' at the end of a table declaration",
    }  # fmt: skip


def test_a_missing_driver_or_library_names_the_extra_to_install(run, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as after 'pip install .' without the postgres extra
    result = run(str(TINY), "--db", "postgresql://screener@127.0.0.1:1/deals", "--no-memo")
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.stderr == (
        "error: --db: PostgreSQL needs the driver psycopg, which is not installed: pip install 'screener[postgres]'\n"
    )
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    deals = FIXTURES.parent / "examples" / "deals.jsonl"
    parquet = run("batch", str(deals), "--out", str(tmp_path / "ranked.parquet"), "--no-db")
    assert parquet.exit_code == ExitCode.CONFIG_ERROR
    assert "writing .parquet needs pyarrow, which is not installed: pip install 'screener[parquet]'" in parquet.stderr


def test_shell_completion_offers_commands_files_and_choices(tmp_path: Path) -> None:
    import os

    (tmp_path / "fixture.yaml").write_text("name: X\n")

    def complete(words: str, index: int, shell: str = "bash") -> list[str]:
        env = {**os.environ, "_SCREEN_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(index)}
        done = subprocess.run([SCREEN], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert complete("screen his", 1) == ["plain,history", "file,his"]
    assert complete("screen list --verdict ", 3) == ["plain,strong-fit", "plain,review", "plain,pass"]
    assert "plain,--progress-every" in complete("screen batch --pro", 2)
    for shell, start in (
        ("bash", "_screen_completion() {"),
        ("zsh", "#compdef screen"),
        ("fish", "function _screen_completion"),
    ):
        env = {**os.environ, "_SCREEN_COMPLETE": f"{shell}_source"}
        script = subprocess.run([SCREEN], env=env, capture_output=True, text=True, timeout=60).stdout
        assert script.startswith(start), shell


def test_batch_reads_json_lines_from_standard_input_and_prints_ranked_rows(run, tmp_path: Path) -> None:
    deals = (FIXTURES.parent / "examples" / "deals.jsonl").read_text()
    bad = '{"name": "Bad Stage", "stage": "Series D"}\n'
    result = run("batch", "-", "--out", "-", "--no-db", "--on", "2026-11-27", input=deals + bad)
    assert result.exit_code == ExitCode.REJECTS
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # the rows alone: the summary is on stderr
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5] and {r["source"] for r in rows} == {"<stdin>"}
    assert "results: standard output" in result.stderr
    (reject,) = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert (reject["source"], reject["errors"][0]["location"]) == ("<stdin>", "<stdin>:6")
    assert not (tmp_path / "-").exists()
    twice = run("batch", "-", "--out", "-", "--out-format", "csv", "--no-db", "--format", "json", input=deals + deals)
    assert twice.exit_code == 0, twice.output
    assert twice.stdout.splitlines()[0].startswith("rank,name,key,")  # duplicates settled: stdin was read twice
    assert len(twice.stdout.splitlines()) == 6
    assert json.loads(twice.stderr[twice.stderr.index("{") :])["duplicates"] == 5


def test_batch_prints_nothing_on_standard_output_when_it_fails(run) -> None:
    result = run("batch", "-", "--out", "-", "--no-db", "--rules", "nope.yaml", input='{"name": "X"}\n')
    assert result.exit_code == ExitCode.RULE_ERROR
    assert result.stdout == ""


def test_the_copy_of_standard_input_a_killed_batch_left_is_removed_by_the_next(run, tmp_path) -> None:
    # What kill -9 leaves: the streams folder with the copy of the deal data, its lock no longer held.
    left = Path(tempfile.mkdtemp(prefix="screener-streams-"))
    (left / "lock").touch()
    (left / "stdin.jsonl").write_text('{"name": "Secret Deal"}\n', encoding="utf-8")
    result = run("batch", "-", "--out", "-", "--no-db", "--on", "2026-11-27", input='{"name": "X"}\n')
    assert result.exit_code == 0, result.output
    assert not left.exists()
