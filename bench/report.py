"""How soon a large stance map is usable in Chromium.

Builds a synthetic report (default 20,000 claims from 7,000 comments in 20 threads, 40 clusters
plus unclustered claims), opens it in headless Debian Chromium and reports time to interactive:
from navigation start to the map drawn with its click handlers and the cluster panel in place
(the page records this moment as `data-interactive-ms` on <html>). Run by hand, never as a test:

    .venv/bin/python bench/report.py                 # 20k claims, 3 runs
    .venv/bin/python bench/report.py --claims 5000
    .venv/bin/python bench/report.py --screenshot reports/stance_map.html docs/stance_map.png
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from stancemap.config import Params
from stancemap.report.render import build_report

WORDS = (
    "theft distillation outputs model lab scraped web fair use contract breach terms service export controls "
    "security military chips api imitation logits soft labels training data authors artists hypocrisy copyright "
    "court law competitor product research weights open source license tokens price access accounts"
).split()
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def synthetic(n_claims: int, n_clusters: int = 40, n_threads: int = 20, seed: int = 7):
    """Claims, comments, clusters and labels tables shaped like the pipeline's."""
    rng = random.Random(seed)
    n_comments = max(1, n_claims * 7 // 20)
    comment_rows, texts, starts = [], [], []
    for i in range(n_comments):
        thread = f"thread-{i % n_threads}"
        earlier = [j for j in range(max(0, i - 200), i) if j % n_threads == i % n_threads]
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 25))).capitalize() + "."
            for _ in range(rng.randint(1, 5))
        ]
        text = " ".join(sentences)
        comment_rows.append(
            {
                "comment_id": f"jsonl:{thread}:c{i}",
                "thread_id": thread,
                "parent_id": f"jsonl:{thread}:c{rng.choice(earlier)}" if earlier and rng.random() < 0.8 else None,
                "author": f"user{rng.randint(1, n_comments // 3 + 1)}",
                "created_at": datetime(2026, 2, 24, tzinfo=UTC),
                "text": text,
                "url": f"https://example.org/{thread}/c{i}",
                "score": rng.randint(-5, 100),
                "is_deleted": False,
                "source_file": f"data/raw/{thread}.jsonl",
                "source_line": i + 1,
            }
        )
        texts.append(sentences)
        starts.append(0)
    claim_rows, cluster_rows = [], []
    centres = [(rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(n_clusters)]
    i = 0
    while len(claim_rows) < n_claims:
        c = comment_rows[i % n_comments]
        sentences = texts[i % n_comments]
        k = (i // n_comments) % len(sentences)
        start = sum(len(s) + 1 for s in sentences[:k])
        cluster = rng.randrange(n_clusters) if rng.random() > 0.15 else -1
        cx, cy = centres[cluster] if cluster >= 0 else (0.0, 0.0)
        spread = 2.0 if cluster >= 0 else 15.0
        claim_id = f"{c['comment_id']}#{k}#{i // n_comments}"
        claim_rows.append(
            {
                "claim_id": claim_id,
                "comment_id": c["comment_id"],
                "position": k,
                "start": start,
                "end": start + len(sentences[k]),
                "text": sentences[k],
                "kind": "claim",
            }
        )
        cluster_rows.append(
            {
                "claim_id": claim_id,
                "cluster": cluster,
                "probability": 1.0,
                "x": rng.gauss(cx, spread),
                "y": rng.gauss(cy, spread),
            }
        )
        i += 1
    claims, comments, clusters = pl.DataFrame(claim_rows), pl.DataFrame(comment_rows), pl.DataFrame(cluster_rows)
    # clusters 2k and 2k+1 are the pro and con sides of topic k; topics 4j..4j+3 make theme j
    topic = pl.when(pl.col("cluster") >= 0).then(pl.col("cluster") // 2).otherwise(-1)
    side = pl.when(pl.col("cluster") < 0).then(None).when(pl.col("cluster") % 2 == 0).then(pl.lit("pro"))
    clusters = clusters.with_columns(
        topic.cast(pl.Int32).alias("topic"), side.otherwise(pl.lit("con")).alias("side"), pl.lit(False).alias("new")
    )
    words = {t: " · ".join(rng.sample(WORDS, 3)) for t in range(-1, n_clusters)}
    joined = claims.join(clusters, on="claim_id").join(comments.select("comment_id", "author"), on="comment_id")
    labels = (
        joined.group_by("cluster")
        .agg(
            pl.col("topic").first(),
            pl.col("side").first(),
            pl.col("claim_id").sort().head(3).alias("key_claims"),
            pl.len().cast(pl.Int32).alias("n_claims"),
            pl.col("comment_id").n_unique().cast(pl.Int32).alias("n_comments"),
            pl.col("author").n_unique().cast(pl.Int32).alias("n_authors"),
        )
        .sort("cluster")
    )
    theme = [t // 4 if t >= 0 else -1 for t in labels["topic"].to_list()]

    def name(ids: list[int]) -> list[str]:
        return ["Unclustered" if i < 0 else words[i] for i in ids]

    labels = labels.with_columns(
        pl.Series("topic_label", name(labels["topic"].to_list())),
        pl.Series("label", name(labels["cluster"].to_list())),
        pl.Series("keywords", [rng.sample(WORDS, 6) for _ in range(labels.height)]),
        pl.Series("theme", theme, dtype=pl.Int32),
        pl.Series("theme_label", name(theme)),
        pl.col("key_claims").list.first().alias("theme_claim"),
    )
    return claims, comments, clusters, labels


def time_to_interactive(path: Path, runs: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            page.goto(path.as_uri(), timeout=120_000)
            page.wait_for_selector("html[data-ready]", state="attached", timeout=120_000)
            ready = (time.perf_counter() - started) * 1000
            page.wait_for_selector("html[data-ready=all]", timeout=120_000)
            page.fill("#search", "theft")
            t0 = time.perf_counter()
            page.wait_for_function("document.getElementById('search-count').textContent.includes('match')")
            search_ms = (time.perf_counter() - t0) * 1000 - 120  # less the input debounce
            out.append(
                {
                    "interactive_ms": int(page.evaluate("document.documentElement.dataset.interactiveMs")),
                    "script_ms": int(page.evaluate("document.documentElement.dataset.scriptMs")),
                    "wall_ms": round(ready),
                    "search_ms": round(search_ms),
                }
            )
            page.close()
        browser.close()
    return out


def screenshot(html: Path, png: Path) -> None:
    """The README's picture: the report at 1400x900 with the first cluster selected."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(html.resolve().as_uri())
        page.wait_for_selector("html[data-ready=all]")
        page.click(".cluster-head >> nth=0")  # highlighted on the map, its claims listed
        page.click(".cluster.active .all-claims .claim-link >> nth=0")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(png))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="also save the synthetic report here")
    parser.add_argument("--screenshot", nargs=2, type=Path, metavar=("HTML", "PNG"))
    args = parser.parse_args()
    if args.screenshot:
        screenshot(*args.screenshot)
        return
    started = time.perf_counter()
    tables = synthetic(args.claims)
    page, metrics = build_report(*tables, Params(), run_date="2026-01-01T00:00:00Z")
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "stance_map.html"
        path.write_text(page, encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        results = time_to_interactive(path, args.runs)
    print(
        f"{metrics['claims']} claims, {metrics['comments']} comments, {metrics['clusters']} clusters: "
        f"page {size_mb:.1f} MB built in {build_s:.1f} s"
    )
    for r in results:
        print(
            f"  interactive {r['interactive_ms']} ms after navigation start (page script {r['script_ms']} ms, "
            f"wall {r['wall_ms']} ms); search over every claim {r['search_ms']} ms"
        )
    print(f"median time to interactive: {statistics.median(r['interactive_ms'] for r in results):.0f} ms")


if __name__ == "__main__":
    main()
