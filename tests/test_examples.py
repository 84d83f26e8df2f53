"""Every shell example in the README and in every ``--help`` runs, and exits as it says.

Each example runs as a user would type it: in ``bash``, with the ``screen`` of this environment
first on the ``PATH``, in a scratch folder holding copies of ``fixtures/``, ``rules/`` and
``examples/`` (the sample inputs the examples name), with its own home folder so the default
database is a fresh one. The examples of one source run in order in one folder, so a later one
may use what an earlier one wrote (``screen history`` after ``screen PROFILE``).

An example exits 0 unless its line says otherwise with a comment ``# exits N``. A README line
that is not a ``screen`` command must be in :data:`NOT_RUN` with the reason; a new example whose
files are missing belongs with its sample input in ``examples/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from screener.cli import main
from tests.conftest import REPO

#: Steps of README commands that this test does not run, by how they start, with the reason.
NOT_RUN = {
    "python3 -m venv": "creates the environment this test runs in (CI runs the README's install itself)",
    "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject .venv/bin/pip install": "installs the package this test uses",
    ".venv/bin/python -m pytest": "the test suite this test is part of",
    "python benchmarks/": "benchmarks of minutes; benchmarks are measured, not tested",
    "rm -rf mutants": "clears mutation testing's working copy before a mutmut run",
    ".venv/bin/mutmut": "mutation testing runs the tests over a thousand times (about 70 minutes); its scores are in the README",
}

#: Folders of the repository an example may name, copied into its scratch folder.
COPIED = ("fixtures", "rules", "examples")

_EXITS = re.compile(r"#\s*exits\s+(\d+)")


@dataclass(frozen=True)
class Example:
    command: str
    exits: int
    where: str  #: where it is documented, for the failure message


def _steps(line: str) -> Iterator[str]:
    """The steps of a README line that are run: ``a && b`` less the steps in NOT_RUN."""
    for step in line.split(" && "):
        step = step.strip()
        if not any(step.startswith(prefix) for prefix in NOT_RUN):
            yield step.replace(".venv/bin/screen", "screen")


def readme_examples() -> list[Example]:
    examples, block, start = [], None, 0
    for number, line in enumerate((REPO / "README.md").read_text(encoding="utf-8").splitlines(), start=1):
        if block is None:
            if line.strip() == "```sh":
                block, start = [], number
            continue
        if line.strip() == "```":
            examples += _commands(block, f"README.md:{start}")
            block = None
        else:
            block.append(line)
    return examples


def _commands(lines: list[str], where: str) -> list[Example]:
    """The commands of a block of shell lines (a line ending in a backslash continues)."""
    found, pending = [], ""
    for line in lines:
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        text, pending = pending.strip(), ""
        if not text or text.startswith("#"):
            continue
        exits = _EXITS.search(text)
        steps = list(_steps(text))
        if steps:
            found.append(Example(" && ".join(steps), int(exits.group(1)) if exits else 0, where))
    return found


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def help_examples(path: tuple[str, ...]) -> list[Example]:
    text = CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output
    lines = text.split("Examples:", 1)[1].splitlines() if "Examples:" in text else []
    block = []
    for line in lines[1:]:
        if not line.strip():
            break
        block.append(line)
    return _commands(block, f"screen {' '.join(path)} --help".replace("  ", " "))


def test_every_readme_line_is_run_or_has_a_reason() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    lines = [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert lines
    for line in lines:
        steps = list(_steps(line))
        # Anything else would be run as a shell command the test knows nothing about.
        assert all(re.search(r"(^|\|\s*)screen\b", step) for step in steps), f"add {line!r} to NOT_RUN, with why"


def _environment(home: Path) -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "screen").exists(), f"no 'screen' installed beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENER_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
    )
    return env


def _prepare(folder: Path) -> dict[str, str]:
    for name in COPIED:
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "home").mkdir()
    return _environment(folder / "home")


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return tmp_path, _prepare(tmp_path)


@pytest.fixture(scope="module")
def screened_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder whose default database holds what the first example of 'screen --help' screens."""
    folder = tmp_path_factory.mktemp("seed")
    failures = run_all(help_examples(())[:1], folder, _prepare(folder))
    assert not failures, failures
    return folder / "home"


def run_all(examples: list[Example], folder: Path, env: dict[str, str]) -> list[str]:
    failures = []
    for example in examples:
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {example.command}"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != example.exits:
            failures.append(
                f"{example.where}: {example.command!r} exited {done.returncode}, expected {example.exits}:\n"
                f"{done.stderr[-1500:]}{done.stdout[-500:]}"
            )
    return failures


def test_readme_examples_run(sandbox: tuple[Path, dict[str, str]]) -> None:
    examples = readme_examples()
    assert any(e.command.startswith("screen batch") for e in examples)
    failures = run_all(examples, *sandbox)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("path", list(commands(main)), ids=lambda p: " ".join(p) or "screen")
def test_help_examples_run(path: tuple[str, ...], tmp_path: Path, screened_home: Path) -> None:
    examples = help_examples(path)
    assert examples, f"screen {' '.join(path)} --help shows no examples"
    env = _prepare(tmp_path)
    if path:
        # The commands that read past screenings need one, as after the first example of 'screen --help'.
        shutil.rmtree(tmp_path / "home")
        shutil.copytree(screened_home, tmp_path / "home")
    failures = run_all(examples, tmp_path, env)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    ("opening", "sample"),
    [("name: my-export\n", "examples/my-mapping.yaml"), ("{#- Fund X memo", "examples/my-templates/memo.md.j2")],
)
def test_readme_shows_the_sample_files_as_they_are(opening: str, sample: str) -> None:
    """The README's mapping and template are the files its examples run with."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\w*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    shown = [b for b in blocks if b.startswith(opening)]
    assert len(shown) == 1
    assert shown[0] == (REPO / sample).read_text(encoding="utf-8")
