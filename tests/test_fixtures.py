"""Every bundled fixture behaves as documented: valid ones screen, invalid ones fail cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.errors import ScreenerError
from screener.profile.model import load_profile
from tests.conftest import FIXTURES, ON

RATES = {"EUR": 1.08}
VALID = sorted(p for p in FIXTURES.glob("*.*") if p.suffix in {".yaml", ".json"})
INVALID = sorted(p for p in (FIXTURES / "invalid").glob("*.*") if p.suffix in {".yaml", ".json"})


def test_there_are_enough_varied_fixtures() -> None:
    assert len(VALID) >= 12
    assert any(p.suffix == ".json" for p in VALID)
    assert any(p.name.startswith("eur-") for p in VALID)
    assert len(INVALID) >= 5


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixtures_screen(screener, path: Path) -> None:
    result = screener.screen(load_profile(path, RATES), ON)
    assert result.company.name


def test_fixtures_span_every_verdict(screener) -> None:
    verdicts = {screener.screen(load_profile(p, RATES), ON).verdict.value for p in VALID}
    assert verdicts == {"strong-fit", "review", "pass"}


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_fixtures_fail_with_a_located_error(path: Path) -> None:
    with pytest.raises(ScreenerError) as caught:
        load_profile(path)
    assert all(str(problem).startswith(str(path)) for problem in caught.value.problems)


def test_invalid_fixtures_are_documented() -> None:
    readme = (FIXTURES / "invalid" / "README.md").read_text(encoding="utf-8")
    for path in INVALID:
        assert f"`{path.name}`" in readme
