"""The positions overview in Chromium, on the demo report: every topic with its sides and counts
equal to the pipeline's tables, citations on the clipboard, #claim=<id> links and filters."""

import json

import polars as pl
import pytest

from stancemap.stages import Layout
from tests.report.helpers import hostile_run

pytestmark = pytest.mark.slow


def open_page(browser, path, hash_=""):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.as_uri() + hash_)
    page.wait_for_selector("html[data-ready=all]")
    return page, problems


def side_counts(page):
    """{(topic, side): (claims, authors)} as the overview shows them."""
    return {
        (int(r["topic"]), r["side"]): (int(r["claims"]), r["authors"])
        for r in page.evaluate(
            """() => Array.from(document.querySelectorAll('#positions .position .side')).map(li => ({
                topic: li.closest('.position').dataset.topic, side: li.dataset.side,
                claims: li.querySelector('.n-claims').textContent,
                authors: li.dataset.shownAuthors || li.dataset.authors}))"""
        )
    }


def test_positions_list_every_topic_with_counts_from_the_tables(browser, demo_run):
    at = Layout(demo_run)
    page, problems = open_page(browser, at.report)
    labels = pl.read_parquet(at.labels).filter(pl.col("topic") >= 0)
    clusters = pl.read_parquet(at.clusters).filter(pl.col("topic") >= 0)
    topics = sorted(labels["topic"].unique().to_list())
    rows = page.eval_on_selector_all("#positions .position", "els => els.map(e => e.dataset.topic)")
    shown = sorted(int(t) for t in rows)
    assert shown == topics
    # the overview is the first thing on the page: its top is on the first screen
    assert page.locator("#positions").bounding_box()["y"] < 300
    counts = side_counts(page)
    for topic in topics:
        in_topic = clusters.filter(pl.col("topic") == topic)
        assert sum(n for (t, _), (n, _) in counts.items() if t == topic) == labels.filter(
            pl.col("topic") == topic
        )["n_claims"].sum()
        for side, n in in_topic.group_by("side").len().iter_rows():
            assert counts[(topic, side or "none")][0] == n
    # each row reads as a sentence (a claim of the topic), with its keywords as secondary text
    first = page.locator("#positions .position").first
    statement = first.locator(".statement").inner_text()
    assert len(statement.split()) >= 4 and " · " in first.locator(":scope > .meta").inner_text()
    # themes from labels.parquet: at most label.max_themes on the first screen, each topic in its
    # theme, the first theme open and the others opening into their topics on a click
    theme_of = dict(labels.select("topic", "theme").unique().iter_rows())
    shown_themes = page.eval_on_selector_all(
        "#positions .theme",
        "els => els.map(e => [e.dataset.theme, [...e.querySelectorAll('.position')].map(p => p.dataset.topic)])",
    )
    assert 1 < len(shown_themes) <= 12 and len(shown_themes) == len(set(theme_of.values()))
    for theme, members in shown_themes:
        assert {theme_of[int(t)] for t in members} == {int(theme)}
    theme = page.locator("#positions .theme:has(details:not([open]))").first.get_attribute("data-theme")
    closed = page.locator(f'#positions .theme[data-theme="{theme}"] details')
    inside = closed.locator(".position").first
    assert not inside.is_visible()
    closed.locator("summary").click()
    assert inside.is_visible()
    assert problems == []


def test_copy_citation_and_claim_links(browser, demo_run):
    at = Layout(demo_run)
    page, problems = open_page(browser, at.report)
    data = json.loads(page.locator("#stancemap-data").text_content())
    claims = data["claims"]
    # a quote's citation: the quote, its author, the thread, the date and the claim id
    button = page.locator("#positions .cite").first
    index = int(button.get_attribute("data-index"))
    button.click()
    page.wait_for_function("document.querySelector('#positions .cite').dataset.copied === '1'")
    text = page.evaluate("navigator.clipboard.readText()")
    comment = data["comments"][claims["comment"][index]]
    assert text.startswith("\u201c" + claims["text"][index] + "\u201d \u2014 " + comment["author"])
    assert comment["time"][:10] in text and claims["id"][index] in text and comment["thread"] in text
    # the source panel cites the claim it shows, and its address names the claim
    page.locator("#positions .claim-link").nth(1).click()
    shown = page.locator("#source").get_attribute("data-claim")
    assert page.evaluate("location.hash") == "#claim=" + __import__("urllib.parse").parse.quote(shown, safe="")
    page.click("#source-cite")
    page.wait_for_function("document.getElementById('source-cite').dataset.copied === '1'")
    assert shown in page.evaluate("navigator.clipboard.readText()")
    # a link to the page with #claim=<id> opens that claim
    target = claims["id"][len(claims["id"]) // 2]
    linked, more = open_page(browser, at.report, "#claim=" + target)
    assert linked.locator("#source").is_visible() and linked.locator("#source").get_attribute("data-claim") == target
    assert claims["text"][claims["id"].index(target)].startswith(linked.locator("#source-text mark").inner_text()[:40])
    assert problems == [] and more == []


def test_filters_change_the_counts_the_map_and_the_lists(browser, demo_run):
    at = Layout(demo_run)
    page, problems = open_page(browser, at.report)
    data = json.loads(page.locator("#stancemap-data").text_content())
    before = side_counts(page)
    thread = data["threads"][0]["thread"]
    in_thread = [
        i for i, c in enumerate(data["claims"]["comment"])
        if data["comments"][c]["thread"] == thread and data["claims"]["cluster"][i] >= 0
    ]
    page.select_option("#filter-thread", thread)
    page.wait_for_function("document.getElementById('filter-count').textContent.includes('pass')")
    after = side_counts(page)
    assert after != before and sum(n for n, _ in after.values()) == len(in_thread)
    selected = page.evaluate("document.getElementById('map').data.map(t => (t.selectedpoints || []).length)")
    assert sum(selected) == sum(1 for c in data["claims"]["comment"] if data["comments"][c]["thread"] == thread)
    # a side filter on top: only that side keeps claims
    page.select_option("#filter-side", "neither")
    page.wait_for_timeout(200)
    assert all(n == 0 for (_, side), (n, _) in side_counts(page).items() if side != "neither")
    # an author filter narrows to that author's claims; clearing restores the first counts
    page.click("#filter-reset")
    author = data["comments"][data["claims"]["comment"][0]]["author"]
    page.fill("#filter-author", author)
    page.wait_for_timeout(300)
    assert 0 < sum(n for n, _ in side_counts(page).values()) < sum(n for n, _ in before.values())
    page.click("#filter-reset")
    assert side_counts(page) == before
    assert problems == []


def test_hostile_text_in_positions_quotes_and_citations_stays_inert(browser, tmp_path):
    at = hostile_run(tmp_path)
    page, problems = open_page(browser, at.report)
    assert page.locator("#positions .position").count() >= 1
    for button in page.locator("#positions .cite").all()[:6]:
        button.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#positions script, #positions img, #positions iframe, #positions svg").count() == 0
    assert problems == []
    summary = at.summary.read_text(encoding="utf-8")  # the Markdown summary is inert too
    assert summary.startswith("# Stance map: positions") and "<" not in summary
