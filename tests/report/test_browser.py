"""The report in a real browser (Debian's Chromium driven by Playwright): it renders offline,
sends no request, logs no error, and keeps hostile comment text inert."""

import csv
import io
import json

import polars as pl
import pytest

from stancemap.stages import Layout
from tests.report.helpers import BIG, hostile_run, open_report

pytestmark = pytest.mark.slow
def show(page, index):
    """Open claim `index`'s source through a claim link, as a click in any list does."""
    page.evaluate("i => document.querySelectorAll('.claim-link')[0].dataset.index = i", index)
    page.click(".claim-link >> nth=0")


def download(page, what, fmt):
    with page.expect_download() as info:
        page.click(f".download[data-what={what}][data-format={fmt}]")
    return info.value.path().read_text(encoding="utf-8")


def test_demo_report_clusters_search_and_sources(browser, demo_run, tmp_path):
    at = Layout(demo_run)
    page, problems, requests = open_report(browser, at.report)
    labels = pl.read_parquet(at.labels)
    assert page.locator(".cluster").count() == labels.height  # unclustered has its own entry
    assert page.locator(".cluster .sides").first.inner_text().startswith("sides: ")  # "not computed" until stance
    # clicking a cluster highlights it on the map and lists all its claims
    page.click(".cluster-head >> nth=0")
    assert page.locator(".cluster.active").count() == 1
    n_first = labels.filter(pl.col("cluster") == 0)["n_claims"][0]
    assert page.locator(".cluster.active .all-claims > li:not(.more)").count() == min(n_first, 200)
    opacity = page.evaluate("document.getElementById('map').data.map(t => t.marker.opacity)")
    assert opacity[0] == 1 and max(opacity[1:]) < 0.1
    page.click(".cluster-head >> nth=0")  # a second click lets go
    assert page.locator(".cluster.active").count() == 0
    # a key claim opens its comment with the claim marked, and the comment it replies to
    claim = page.locator(".key-claims .claim-link").first
    claim_text = claim.inner_text()
    claim.click()
    assert page.locator("#source").is_visible()
    assert page.locator("#source-text mark").inner_text() == claim_text.rstrip("…")
    # search filters the map, the results and the clusters, and marks the matches
    page.fill("#search", "theft")
    page.wait_for_function("document.getElementById('search-count').textContent.includes('match')")
    n_results = page.locator("#results .claim-link").count()
    assert n_results > 5
    assert all("theft" in m.lower() for m in page.locator("#results mark").all_inner_texts())
    selected = page.evaluate("document.getElementById('map').data.map(t => (t.selectedpoints || []).length)")
    assert sum(selected) >= n_results and page.locator(".cluster[hidden]").count() > 0
    page.locator("#results .claim-link").nth(2).click()
    assert "theft" in page.locator("#source-text mark").inner_text().lower()
    with_parent = page.evaluate("document.getElementById('parent').hidden") is False
    page.fill("#search", "")
    page.wait_for_function("document.getElementById('results').hidden")
    assert page.locator(".cluster[hidden]").count() == 0
    # a point on the map leads to its source too; a reply shows its parent somewhere in the demo
    page.locator("#map .scatterlayer .point").first.click(force=True)
    assert page.locator("#source-meta").inner_text()
    assert with_parent or page.evaluate("document.getElementById('parent').hidden") is False
    # the other views and the method section
    assert page.locator("#graph .scatterlayer .point").count() >= 6
    assert page.locator("#threads-chart .bars .point").count() >= 3
    for sha in pl.read_parquet(at.sources)["sha256"]:
        assert sha in page.locator("#method").inner_text()
    rows = list(csv.DictReader(io.StringIO(download(page, "claims", "csv"))))
    assert len(rows) == pl.read_parquet(at.claims).height and rows[0]["claim_id"] and "cluster_label" in rows[0]
    clusters = json.loads(download(page, "clusters", "json"))
    assert len(clusters["clusters"]) == labels.height and clusters["provenance"]["sources"]
    page.screenshot(path=tmp_path / "stance_map.png")
    assert problems == [] and requests == []


def test_hostile_corpus_shows_literally_and_runs_nothing(browser, tmp_path):
    at = hostile_run(tmp_path)
    page, problems, requests = open_report(browser, at.report)
    n = page.evaluate("JSON.parse(document.getElementById('stancemap-data').textContent).claims.id.length")
    assert n == pl.read_parquet(at.claims).height
    texts = pl.read_parquet(at.claims)["text"].to_list()
    for i in range(n):
        show(page, i)
        assert page.locator("#source-text *").count() == 1  # only our <mark>; no element came from the text
        if len(texts[i]) < 1000:
            assert page.locator("#source-text mark").text_content() == texts[i]
    assert page.evaluate("window.__pwned") is None
    # scripts, markup and template syntax show as text
    first = texts.index(next(t for t in texts if t.startswith("<script>")))
    show(page, first)
    assert "<script>window.__pwned = 1</script>" in page.locator("#source-text").inner_text()
    assert page.locator("#source-meta a").count() == 0  # javascript: URL never became a link
    assert "<b>mallory</b>" in page.locator("#source-meta").inner_text()
    links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    assert all(h.startswith(("#", "https://example.org/")) for h in links)
    # the 1 MB comment opens as a window around the claim, and whole on request
    ids = pl.read_parquet(at.claims)["claim_id"].to_list()
    big = ids.index(next(c for c in ids if c.endswith(":big#0")))
    show(page, big)
    assert page.locator("#source-all").is_visible()
    assert page.evaluate("document.getElementById('source-text').textContent.length") < 30_000
    page.click("#source-all")
    assert page.evaluate("document.getElementById('source-text').textContent.length") == BIG
    assert all(len(t) <= 301 for t in page.locator(".claim-link").all_text_contents())
    # search for markup: matches are marked, nothing else becomes an element
    page.fill("#search", "<script>")
    page.wait_for_function("document.getElementById('search-count').textContent.includes('match')")
    assert page.locator("#results .claim-link").count() >= 2
    assert set(page.locator("#results .claim-link *").evaluate_all("els => els.map(e => e.tagName)")) == {"MARK"}
    assert page.locator("#results mark").first.inner_text().lower() == "<script>"
    # formulas in the CSV download are defused; RTL and zero-width characters survive as data
    rows = list(csv.DictReader(io.StringIO(download(page, "claims", "csv"))))
    assert any(r["text"].startswith("'=HYPERLINK") for r in rows)
    assert any("\u202e" in r["author"] for r in rows) and any("\u200b" in r["author"] for r in rows)
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed, link').length") == 0
    assert page.evaluate("window.__pwned") is None
    assert page.locator("body").is_visible()
    assert problems == [] and requests == []


def test_hidden_authors_leave_no_name_in_the_page(browser, tmp_path):
    at = hostile_run(tmp_path, ("report.authors=hide",))
    page, problems, requests = open_report(browser, at.report)
    show(page, 0)
    assert "author hidden" in page.locator("#source-meta").inner_text()
    assert "mallory" not in page.content()
    assert problems == [] and requests == []
