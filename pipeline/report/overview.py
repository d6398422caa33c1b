"""The positions overview: one row per topic (grouped into themes when labels.parquet has them),
each with its sides, who holds them, whether the topic is contested, and the best quote per side.

Counts are over every clustered claim (`points`); quotes are picked among the claims the page
carries (`shown`), so each links to its source panel. Everything here is plain data, shared by the
page (page.html) and `reports/summary.md` (summary.py), so the two always agree.

Contested or one-sided is decided by authors, not claims, and smoothed as Polis smooths agreement:
with `a` distinct authors on the pro side and `b` on the con side, the pro share is (a + 1) / (a + b + 2).
A topic is called only when at least `consensus_min_authors` distinct authors take a side in it;
it is contested when the smaller smoothed share is at least `contested_share`.
"""

from __future__ import annotations

import polars as pl

SIDE_ORDER = {"pro": 0, "con": 1, "neither": 2}
NO_SIDE = "none"  # the side of claims whose stance was not computed
REPLY_SIDE_NAMES = {"pro": "with the opening post", "con": "against the opening post", "neither": "neither"}


def side_names(mode: str) -> dict[str, str]:
    """How sides read on the page: toward propositions (`propositions`, `found`), or toward each
    thread's opening post (`replies`)."""
    return REPLY_SIDE_NAMES if mode == "replies" else {"pro": "pro", "con": "con", "neither": "neither"}


def side_choices(points: pl.DataFrame, mode: str) -> list[tuple[str, str]]:
    """The sides the page can filter by: (value, what it reads as), in the overview's order."""
    names = side_names(mode)
    present = points["side"].drop_nulls().unique().to_list()
    return [(s, names.get(s, s)) for s in sorted(present, key=lambda s: (SIDE_ORDER.get(s, 3), s))]


def call(authors_pro: int, authors_con: int, sided_authors: int, min_authors: int, contested_share: float) -> dict:
    """{"kind": contested | one-sided | few | none, "text": ..., "pro_share": smoothed or None}."""
    if authors_pro + authors_con == 0:
        return {"kind": "none", "text": "no sides", "pro_share": None}
    share = (authors_pro + 1) / (authors_pro + authors_con + 2)
    if sided_authors < min_authors:
        return {"kind": "few", "text": f"too few authors take a side ({sided_authors})", "pro_share": round(share, 3)}
    smaller = min(share, 1 - share)
    if smaller >= contested_share:
        return {"kind": "contested", "text": "contested", "pro_share": round(share, 3)}
    lean = "pro" if share > 0.5 else "con"
    return {"kind": "one-sided", "text": f"one-sided ({lean})", "lean": lean, "pro_share": round(share, 3)}


def _words(text: str) -> int:
    return len(text.split())


def best_quote(part: pl.DataFrame, key_ids: list[str], min_words: int) -> dict | None:
    """The claim that best speaks for one side of a topic, among the page's claims: the first of
    the topic's key claims on that side, else the claim nearest the side's centre on the map,
    preferring claims of at least `min_words` words (ties: the smaller claim id)."""
    if part.height == 0:
        return None
    ids = part["claim_id"].to_list()
    on_side = set(ids)
    for key in key_ids:
        if key in on_side:
            row = part.row(ids.index(key), named=True)
            break
    else:
        full = part.filter(pl.col("text").map_elements(_words, return_dtype=pl.Int64) >= min_words)
        pool = full if full.height else part
        cx, cy = pool["x"].median(), pool["y"].median()
        row = (
            pool.with_columns(((pl.col("x") - cx) ** 2 + (pl.col("y") - cy) ** 2).alias("_d"))
            .sort(["_d", "claim_id"])
            .row(0, named=True)
        )
    return {"index": row["index"], "claim_id": row["claim_id"], "text": row["text"], "author": row["author"],
            "thread": row["thread_id"]}


def topic_rows(
    points: pl.DataFrame,
    shown: pl.DataFrame,
    labels: pl.DataFrame,
    positions: pl.DataFrame | None,
    report_params,
    min_words: int = 8,
    mode: str = "propositions",
) -> list[dict]:
    """One row per topic (unclustered left out), in order of distinct authors, then claims."""
    names = side_names(mode)
    if "topic" not in labels.columns:  # a labels table from before topics: each cluster is one
        labels = labels.with_columns(pl.col("cluster").alias("topic"))
    if "topic_label" not in labels.columns:
        labels = labels.with_columns(pl.col("label").alias("topic_label"))
    clustered = points.filter(pl.col("topic") >= 0).with_columns(pl.col("side").fill_null(NO_SIDE))
    if clustered.height == 0:
        return []
    shown_clustered = shown.filter(pl.col("topic") >= 0).with_columns(pl.col("side").fill_null(NO_SIDE))
    text_of = dict(zip(shown["claim_id"].to_list(), shown["text"].to_list(), strict=True))
    index_of = dict(zip(shown["claim_id"].to_list(), shown["index"].to_list(), strict=True))
    by_topic = labels.filter(pl.col("topic") >= 0).sort("n_claims", "cluster", descending=[True, False])
    topic_label, key_ids, theme_of, statement = {}, {}, {}, {}
    for r in by_topic.iter_rows(named=True):
        t = r["topic"]
        topic_label.setdefault(t, r["topic_label"])
        theme_of.setdefault(t, r.get("theme", t))
        key_ids.setdefault(t, []).extend(r["key_claims"] or [])
    found = {} if positions is None else dict(positions.select("topic", "proposition").iter_rows())
    for t, keys in key_ids.items():
        central = next((k for k in keys if k in text_of), None)
        statement[t] = (found.get(t) or (text_of[central] if central else topic_label.get(t, "")),
                        index_of.get(central) if central and not found.get(t) else None)
    sides = (
        clustered.group_by("topic", "side")
        .agg(
            pl.len().alias("claims"),
            pl.col("comment_id").n_unique().alias("comments"),
            pl.col("real_author").drop_nulls().n_unique().alias("authors"),
            pl.col("new").sum().alias("new"),
        )
        .sort("topic", "side")
    )
    totals = clustered.group_by("topic").agg(
        pl.len().alias("claims"),
        pl.col("comment_id").n_unique().alias("comments"),
        pl.col("real_author").drop_nulls().n_unique().alias("authors"),
        pl.col("new").sum().alias("new"),
        pl.col("real_author").filter(pl.col("side").is_in(["pro", "con"])).drop_nulls().n_unique().alias("sided"),
    )
    side_parts = {key: part for key, part in shown_clustered.partition_by("topic", "side", as_dict=True).items()}
    per_topic: dict[int, list[dict]] = {}
    for r in sides.iter_rows(named=True):
        part = side_parts.get((r["topic"], r["side"]), shown_clustered.clear())
        per_topic.setdefault(r["topic"], []).append({
            "side": r["side"],
            "name": names.get(r["side"], "not computed" if r["side"] == NO_SIDE else r["side"]),
            "claims": r["claims"], "comments": r["comments"], "authors": r["authors"], "new": int(r["new"]),
            "quote": best_quote(part, key_ids.get(r["topic"], []), min_words) if r["side"] != NO_SIDE else None,
        })
    if clustered.filter(pl.col("side") != NO_SIDE).height:  # sides were computed: every topic shows all three
        for t in totals["topic"].to_list():
            entries = per_topic.setdefault(t, [])
            for side in SIDE_ORDER:
                if all(e["side"] != side for e in entries):
                    entries.append({"side": side, "name": names[side], "claims": 0, "comments": 0, "authors": 0,
                                    "new": 0, "quote": None})
    for entries in per_topic.values():  # "neither" speaks for no side: quoted only when no side is taken
        if any(e["side"] in ("pro", "con") for e in entries):
            for e in entries:
                if e["side"] == "neither":
                    e["quote"] = None
    rows = []
    for r in totals.iter_rows(named=True):
        t = r["topic"]
        entries = sorted(per_topic.get(t, []), key=lambda s: (SIDE_ORDER.get(s["side"], 3), s["side"]))
        authors = {s["side"]: s["authors"] for s in entries}
        text, index = statement.get(t, (topic_label.get(t, ""), None))
        rows.append({
            "topic": t,
            "theme": theme_of.get(t, t),
            "label": topic_label.get(t, ""),
            "statement": text,
            "statement_index": index,
            "found": t in found,
            "claims": r["claims"], "comments": r["comments"], "authors": r["authors"], "new": int(r["new"]),
            "sides": entries,
            "call": call(authors.get("pro", 0), authors.get("con", 0), r["sided"],
                         report_params.consensus_min_authors, report_params.contested_share),
        })
    rows.sort(key=lambda r: (-r["authors"], -r["claims"], r["topic"]))
    return rows


def theme_groups(rows: list[dict], labels: pl.DataFrame, shown: pl.DataFrame, points: pl.DataFrame) -> list[dict]:
    """Topic rows grouped by theme (labels.parquet's `theme`), themes in order of distinct authors,
    each with its claims, authors, new claims and claims per side summed over its topics. Without a
    theme column, each topic is its own theme."""
    text_of = dict(zip(shown["claim_id"].to_list(), shown["text"].to_list(), strict=True))
    meta: dict[int, tuple[str, str | None]] = {}
    if "theme" in labels.columns:
        for r in labels.filter(pl.col("theme") >= 0).sort("theme").iter_rows(named=True):
            meta.setdefault(r["theme"], (r["theme_label"], text_of.get(r.get("theme_claim"))))
    groups: dict[int, dict] = {}
    for r in rows:
        label, claim = meta.get(r["theme"], (r["label"], None))
        group = groups.setdefault(r["theme"], {"theme": r["theme"], "label": label, "statement": claim, "topics": []})
        group["topics"].append(r)
    theme_of = {r["topic"]: r["theme"] for r in rows}
    authors = dict(
        points.filter(pl.col("topic") >= 0)
        .with_columns(pl.col("topic").replace_strict(theme_of, default=-1).alias("_theme"))
        .group_by("_theme")
        .agg(pl.col("real_author").drop_nulls().n_unique())
        .iter_rows()
    )
    for g in groups.values():
        g["claims"] = sum(t["claims"] for t in g["topics"])
        g["new"] = sum(t["new"] for t in g["topics"])
        g["authors"] = authors.get(g["theme"], 0)
        per_side: dict[str, int] = {}
        for t in g["topics"]:
            for side in t["sides"]:
                per_side[side["name"]] = per_side.get(side["name"], 0) + side["claims"]
        g["sides"] = per_side
        if g["statement"] is None or len(g["topics"]) == 1:
            g["statement"] = g["topics"][0]["statement"]
    return sorted(groups.values(), key=lambda g: (-g["authors"], -g["claims"], g["theme"]))


def positions_note(mode: str, propositions: tuple[str, ...] = ()) -> str:
    """What the sides of the overview are toward, in a sentence."""
    if mode == "propositions":
        named = "; ".join(f"“{p}”" for p in propositions)
        return (f"Sides are toward the proposition(s) {named}. Each topic is stated by its most central claim; "
                "pro argues for the proposition, con against it, neither takes no clear side.")
    if mode == "found":
        return ("No propositions were given, so each topic's position is stated by its most central claim, and every "
                "claim of the topic is read against it by the stance model: pro argues for it, con against it, "
                "neither takes no clear side.")
    return ("No propositions were given: sides come from reply structure, toward each thread's opening post (with "
            "it, against it, or neither where replies give no evidence). Each topic is stated by its most central "
            "claim.")
