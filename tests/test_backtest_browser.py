"""The HTML backtest report in a real headless browser: no console errors, no requests, the charts drawn
beside the score distribution, every interval shown, a PDF. Skips without Chromium, as the memo test does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli.main import main
from tests.conftest import REPO
from tests.test_memo_browser import artifacts, browser, browser_path  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("backtest")
    page = folder / "backtest.html"
    args = ["backtest", "generic-seed", str(REPO / "examples" / "startups.csv"), "--map",
            str(REPO / "examples" / "startups-map.yaml"), "--label-column", "status", "--positive", "acquired",
            "--on", "2013-12-31", "--holdout", "0.3", "--resamples", "300", "--report", str(page), "--rejects",
            str(folder / "rejects.jsonl"), "--format", "json"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 7, result.output  # three rows rejected
    return page, json.loads(result.stdout)


def test_the_backtest_report_renders_cleanly_in_chromium(browser, artifacts: Path, report) -> None:  # noqa: F811
    page_file, data = report
    page = browser.new_page(viewport={"width": 1300, "height": 1200})
    messages: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts / "backtest.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / "backtest.pdf").write_bytes(pdf)
    assert messages == []
    assert requests == [page_file.as_uri()], "the report must not fetch anything"
    assert pdf.startswith(b"%PDF")

    charts = page.locator("#charts svg")
    assert charts.count() == 3
    distribution, roc, sweep = (charts.nth(i).bounding_box() for i in range(3))
    # The ROC curve and the sweep sit beside the score distribution, on its row.
    assert roc["x"] > distribution["x"] + distribution["width"] - 1 and abs(roc["y"] - distribution["y"]) < 40
    assert sweep["x"] > roc["x"] + roc["width"] - 1 and abs(sweep["y"] - distribution["y"]) < 40
    curve = page.locator("#roc polyline")
    assert curve.count() == 1 and len(curve.get_attribute("points").split()) == len(data["roc"])
    assert page.locator("#sweep polyline").count() == 3
    assert curve.bounding_box()["width"] > 100
    text = page.locator("body").inner_text()
    auc = data["auc"]
    assert f"AUC {auc['value']:.2f} [{auc['low']:.2f}–{auc['high']:.2f}]" in text
    held = data["heldout"]
    assert f"{held['precision']['value']:.0%} [{held['precision']['low']:.0%}–{held['precision']['high']:.0%}]" in text
    for row in data["cutoffs"] + [data["best_cut"]]:
        p = row["precision"]
        assert f"{p['value']:.0%} [{p['low']:.0%}–{p['high']:.0%}]" in text
    for rule in data["rules"]:
        lift = rule["lift"]
        assert f"{lift['value']:.2f}× [{lift['low']:.2f}–{lift['high']:.2f}]" in text
    for band in data["calibration"]:
        share = band["share"]
        if share["value"] is not None:
            assert f"{share['value']:.0%} [{share['low']:.0%}–{share['high']:.0%}]" in text
    assert "Every figure but the held-out estimate is in-sample" in text
    page.close()
