"""The docs stay honest: every command has help with an example and appears in the README."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from screener.cli import main
from tests.conftest import REPO


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path


@pytest.mark.parametrize("path", list(commands(main)), ids=" ".join)
def test_every_command_has_an_example_and_is_in_the_readme(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"screen {' '.join(path)}" in readme


def test_readme_quick_start_fixture_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "fixtures/tinyllama-legal.yaml" in readme
    assert (REPO / "fixtures" / "tinyllama-legal.yaml").exists()
