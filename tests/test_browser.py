"""The report in a real browser (Debian's Chromium driven by Playwright): it renders offline,
sends no request, logs no error, and keeps hostile comment text inert."""

import pytest

from pipeline.config import Params
from pipeline.report.render import build_report
from tests.conftest import chromium_path
from tests.test_report import HOSTILE, tables

pytestmark = pytest.mark.slow
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        yield b
        b.close()


def open_report(browser, path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:")) else requests.append(r.url)
    )
    page.on("dialog", lambda d: problems.append("dialog: " + d.message))
    page.goto(path.as_uri())
    page.wait_for_selector("#map .main-svg")
    return page, problems, requests


def test_demo_report_renders_and_leads_to_sources(browser, demo_run):
    page, problems, requests = open_report(browser, demo_run / "reports" / "stance_map.html")
    assert page.locator(".cluster").count() >= 6
    # clicking a cluster highlights it; clicking a key claim opens its comment with the claim marked
    page.click(".cluster-head >> nth=0")
    assert page.locator(".cluster.active").count() == 1
    claim = page.locator(".claim-link").first
    claim_text = claim.inner_text()
    claim.click()
    assert page.locator("#source").is_visible()
    assert page.locator("#source-text mark").inner_text() == claim_text
    # hovering and clicking a point on the map works too
    page.locator("#map .scatterlayer .point").first.click(force=True)
    assert page.locator("#source-meta").inner_text()
    assert problems == [] and requests == []


def test_hostile_text_shows_literally_and_runs_nothing(browser, tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    page_html, _ = build_report(claims, comments, clusters, labels, Params())
    path = tmp_path / "hostile.html"
    path.write_text(page_html, encoding="utf-8")
    page, problems, requests = open_report(browser, path)
    for i in range(claims.height):
        page.evaluate("i => document.querySelectorAll('.claim-link')[0].dataset.index = i", i)
        page.click(".claim-link >> nth=0")
        shown = page.locator("#source-text").inner_text()
        assert page.locator("#source-text *").count() == 1  # only our <mark>; no element came from the text
        assert shown.strip()
    page.evaluate("i => document.querySelectorAll('.claim-link')[0].dataset.index = i", 0)
    page.click(".claim-link >> nth=0")
    assert "<script>window.__pwned = 1</script>" in page.locator("#source-text").inner_text()
    assert page.locator("#source-meta a").count() == 0  # javascript: URL never became a link
    assert page.evaluate("window.__pwned") is None
    assert page.locator("body").is_visible()
    assert problems == [] and requests == []
