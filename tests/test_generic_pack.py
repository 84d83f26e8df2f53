"""The second packaged pack, generic-seed: a thesis that is not about AI, written with declared fields only."""

from __future__ import annotations

from click.testing import CliRunner

from screener.cli.main import main
from screener.rules.rulebook import load_rulebook
from tests.conftest import REPO

PACK = REPO / "rules" / "generic-seed.yaml"


def test_it_passes_rules_check_without_a_warning() -> None:
    result = CliRunner().invoke(main, ["rules", "check", str(PACK)])
    assert result.exit_code == 0, result.output
    assert result.output == "1 pack(s) checked: 0 error(s), 0 warning(s)\n"


def test_its_rule_tests_pass_and_cover_every_rule() -> None:
    result = CliRunner().invoke(main, ["rules", "test", str(PACK)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert result.output.endswith("rule coverage: 17/17 rules exercised (100%)\n")


def test_it_declares_what_it_reads_and_reads_no_ai_field() -> None:
    book = load_rulebook("generic-seed")  # a packaged pack is found by its name
    assert book.path.name == "generic-seed.yaml"
    declared = {f.path for f in book.schema.declared}
    assert declared == {
        "funding.rounds", "funding.first_round_on", "investors.kinds", "traction.milestones",
        "network.relationships", "signals.top500",
    }  # fmt: skip
    read = {p for r in book.rules for p in r.reads}
    assert not any(p.startswith(("model.", "compute.", "benchmarks")) for p in read)
    assert {"funding.rounds", "network.relationships", "traction.milestones", "signals.top500"} <= read
