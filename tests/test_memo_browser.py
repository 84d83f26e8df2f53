"""The HTML memos in a real headless browser: no console errors, no requests, the charts drawn, a PDF.

Uses the system's Chromium ($SCREENER_BROWSER, else `chromium` on the PATH) through Playwright.
Skips when there is none, unless $SCREENER_REQUIRE_BROWSER is set (CI sets it, and installs
Chromium). Screenshots and PDFs are kept in $SCREENER_TEST_ARTIFACTS (default: test-artifacts/).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from screener import store
from screener.memo import MemoContext, MemoRenderer, comparables
from screener.profile.derived import derive
from screener.profile.model import load_profile
from tests.conftest import FIXTURES, ON, REPO

CASES = ["tinyllama-legal", "titanforge-ai", "ondine-labs", "promptpilot"]


def browser_path() -> str:
    found = os.environ.get("SCREENER_BROWSER") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("SCREENER_REQUIRE_BROWSER"):
            pytest.fail("no Chromium found, and SCREENER_REQUIRE_BROWSER is set (install Debian's chromium)")
        pytest.skip("no Chromium on this machine (set SCREENER_BROWSER, or install chromium)")
    return found


@pytest.fixture(scope="module")
def browser():
    path = browser_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("SCREENER_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def database(tmp_path_factory, screener) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'screener.db'}"
    engine = store.connect(url)
    items = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        profile = load_profile(path, {"EUR": 1.08})
        items.append((screener.screen(profile, ON), profile.model_dump(mode="json")))
    store.save(engine, screener.rulebook, items)
    engine.dispose()
    return url


@pytest.mark.parametrize("template", ["memo", "summary", "pass-note"])
@pytest.mark.parametrize("fixture", CASES)
def test_html_memo_renders_cleanly_in_chromium(
    browser, artifacts: Path, database: str, screener, tmp_path: Path, fixture: str, template: str
) -> None:
    profile = load_profile(FIXTURES / f"{fixture}.yaml", {})
    result = screener.screen(profile, ON)
    engine = store.connect(database)
    found = comparables.find(engine, profile, result.company.key, result.pack.name)
    engine.dispose()
    context = MemoContext.build(result, profile, derive(profile, ON).model_dump(mode="json"), comparables=found)
    page_file = tmp_path / f"{fixture}.{template}.html"
    page_file.write_text(MemoRenderer(None, template, "html").render(context), encoding="utf-8")

    page = browser.new_page(viewport={"width": 1000, "height": 1300})
    messages: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts / f"{fixture}.{template}.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / f"{fixture}.{template}.pdf").write_bytes(pdf)

    assert messages == []
    assert requests == [page_file.as_uri()], "the memo must not fetch anything"
    assert pdf.startswith(b"%PDF")
    if template in {"memo", "summary"}:
        gauge = page.locator("svg.gauge")
        assert gauge.count() == 1 and gauge.bounding_box()["width"] > 50
        assert gauge.locator("text").first.text_content() == f"{result.coverage * 100:.0f}%"
    if template == "memo":
        chart = page.locator("svg.chart")
        assert chart.count() == 1 and chart.bounding_box()["height"] > 100
        bars = [t for t in context.themes if t.gained] + [t for t in context.themes if t.lost]
        assert chart.locator("rect").count() == len(bars)
        assert chart.locator("text.label").all_text_contents() == [t.title for t in context.themes]
        assert page.locator("h1").text_content() == result.company.name
    page.close()
