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


#: What each valid fixture is for, and the verdict the default pack gives it on ON. A fixture added
#: without an entry here fails, and so does a pack change that moves a fixture's verdict.
EXPECTED = {
    "corvid-clinical.yaml": "strong-fit",
    "eur-brisant-ai.yaml": "strong-fit",
    "ferrule-code.yaml": "strong-fit",
    "helixfold-bio.yaml": "review",
    "kestrel-robotics.yaml": "review",
    "larkspur-translate-2023.yaml": "strong-fit",
    "mossgate.yaml": "review",
    "ondine-labs.yaml": "review",
    "promptpilot.yaml": "pass",
    "quillfeather-insurance.yaml": "strong-fit",
    "quorum-merge.yaml": "strong-fit",
    "saltmarsh-voice.yaml": "review",
    "tessellate-tax.json": "strong-fit",
    "tinyllama-legal.yaml": "strong-fit",
    "titanforge-ai.yaml": "pass",
    "verbatim-research.yaml": "pass",
}


def test_every_valid_fixture_has_an_expected_verdict() -> None:
    assert sorted(EXPECTED) == [p.name for p in VALID]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixtures_screen(screener, rulebook, path: Path) -> None:
    result = screener.screen(load_profile(path, RATES), ON)
    assert result.verdict.value == EXPECTED[path.name]
    # and for the reason its header comment gives
    header = path.read_text(encoding="utf-8").splitlines()[0] if path.suffix == ".yaml" else ""
    matched = {r.id for r in result.rules if r.outcome.value == "matched"}
    if header.startswith("# Incomplete"):
        assert result.coverage < rulebook.spec.min_coverage
        assert result.notes[0].startswith("only ")
    elif header.startswith("# Stale data"):
        assert "stale-profile" in matched
    elif header.startswith(("# A clear fit", "# A clear miss")):
        assert result.coverage >= rulebook.spec.min_coverage
    elif header.startswith("# Borderline"):
        assert result.verdict.value == "review"
    elif header.startswith("# An early fit"):
        # strong-fit without revenue: no traction rule scored it (there is no ARR, margin or pricing)
        assert result.verdict.value == "strong-fit"
        assert not matched & {"usage-pricing", "healthy-margin", "compute-tracks-revenue", "revenue-per-head"}


def test_a_euro_fixture_needs_its_rate() -> None:
    with pytest.raises(ScreenerError) as caught:
        load_profile(FIXTURES / "eur-brisant-ai.yaml")
    assert "no exchange rate for EUR" in str(caught.value)


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
