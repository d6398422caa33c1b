"""The report's data: pure functions from the pipeline's tables to what the page shows.

Claims are sent as columns (one list per field) and comments as a list the claims point into,
which keeps a 20k-claim page small. Authors are replaced by what `report.authors` allows before
anything leaves this module, so a hidden name is in no part of the page.
"""

from __future__ import annotations

import hashlib

import polars as pl

from stancemap.report.maplayers import map_colours

UNCLUSTERED = "Unclustered"


def _side(claims: pl.DataFrame, clusters: pl.DataFrame) -> pl.Expr:
    """A claim's side: the clusters table's `side` (stance toward the propositions), else a claims
    `stance` column, else null (stance not computed)."""
    if "side" in clusters.columns:
        return pl.col("side").cast(pl.Utf8)
    if "stance" in claims.columns:
        return pl.col("stance").cast(pl.Utf8)
    return pl.lit(None, pl.Utf8)


def points_table(
    claims: pl.DataFrame, comments: pl.DataFrame, clusters: pl.DataFrame, names: dict[str, str | None]
) -> pl.DataFrame:
    """One row per clustered claim, in claims order, with its map position, cluster, topic, thread, shown
    author (`names` maps real names to what the page may show), `side` (null when no propositions are set),
    `new` (not in the previous run) and `index` (its position in the page data)."""
    extra = [c for c in ("side", "stance") if c in clusters.columns or c in claims.columns]
    table = (
        claims.select("claim_id", "comment_id", "start", "end", "text", *[c for c in extra if c in claims.columns])
        .join(
            clusters.select(
                "claim_id",
                "cluster",
                pl.col("topic") if "topic" in clusters.columns else pl.col("cluster").alias("topic"),
                "x",
                "y",
                *[c for c in extra if c in clusters.columns],
                pl.col("new") if "new" in clusters.columns else pl.lit(False).alias("new"),
            ),
            on="claim_id",
            how="inner",
            maintain_order="left",
        )
        .join(comments.select("comment_id", "author", "thread_id"), on="comment_id", how="left", maintain_order="left")
    )
    shown = pl.col("author").replace_strict(names, default=None, return_dtype=pl.Utf8)
    return (
        table.with_columns(_side(claims, clusters).alias("side"), shown.alias("shown_author"))
        .select(
            "claim_id",
            "comment_id",
            "start",
            "end",
            "text",
            "cluster",
            "topic",
            "x",
            "y",
            "thread_id",
            "side",
            "new",
            pl.col("author").alias("real_author"),
            pl.col("shown_author").alias("author"),
        )
        .with_row_index("index")
    )


def label_names(labels: pl.DataFrame) -> dict[int, str]:
    names = dict(zip(labels["cluster"].to_list(), labels["label"].to_list(), strict=True))
    names.setdefault(-1, UNCLUSTERED)
    return names


def _counts(values: list) -> list[list]:
    """[[value, count], ...], most common first, ties in first-seen order."""
    seen: dict = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    return [[k, n] for k, n in sorted(seen.items(), key=lambda kv: -kv[1])]


def sides_split(sides: list[str | None]) -> dict[str, int] | None:
    """Claims per side, or None when no claim has a side yet (stance is not computed)."""
    known = [s for s in sides if s is not None]
    return dict(_counts(known)) if known else None


def shown_sample(points: pl.DataFrame, labels: pl.DataFrame, max_points: int) -> pl.DataFrame:
    """The claims the page carries (re-indexed from 0, in points order): all of them up to
    `max_points`; beyond, every cluster's key claims, then the rest in proportion to cluster size
    (at least one per cluster), picked by a fixed hash of the claim id, so the same claims stay
    shown across runs and processes."""
    if points.height <= max_points:
        return points
    keys = sorted({k for ks in labels["key_claims"].to_list() for k in ks or []})
    digest = [
        int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest(), "big") for c in points["claim_id"].to_list()
    ]
    share = max_points / points.height
    ranked = (
        points.with_columns(pl.col("claim_id").is_in(keys).alias("_key"), pl.Series("_hash", digest, dtype=pl.UInt64))
        .sort(["cluster", "_key", "_hash", "claim_id"], descending=[False, True, False, False])
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("cluster").alias("_rank"), pl.len().over("cluster").alias("_size")
        )
    )
    quota = pl.max_horizontal((pl.col("_size") * share).floor().cast(pl.Int64), pl.lit(1))
    kept = ranked.filter((pl.col("_rank") <= quota) | pl.col("_key")).sort("index")
    return kept.drop("_key", "_hash", "_rank", "_size", "index").with_row_index("index")


def cluster_panel(
    points: pl.DataFrame, labels: pl.DataFrame, shown: pl.DataFrame | None = None, colours: dict[int, str] | None = None
) -> list[dict]:
    """Every cluster (unclustered last) with its label, key claims, size, distinct authors, its split
    between sides and the threads it appears in. Counts are over `points`; key claims point into
    `shown`, the claims the page carries (all of `points` by default)."""
    names = label_names(labels)
    by_cluster = {r["cluster"]: r for r in labels.iter_rows(named=True)}
    if colours is None:  # the map's colours (theme hue, topic shade), unless the caller has them
        colours, _ = map_colours(points, labels)
    shown = points if shown is None else shown
    index_of = dict(zip(shown["claim_id"].to_list(), shown["index"].to_list(), strict=True))
    parts = {key[0]: part for key, part in points.partition_by("cluster", as_dict=True).items()}  # one pass
    out = []
    for c in sorted(parts, key=lambda c: (c < 0, c)):
        part = parts[c]
        row = by_cluster.get(c, {})
        out.append(
            {
                "cluster": c,
                "topic": int(part["topic"][0]),
                "label": names.get(c, f"cluster {c}"),
                "colour": colours[c],
                "keywords": row.get("keywords") or [],
                "key_claims": [index_of[k] for k in row.get("key_claims") or [] if k in index_of],
                "n_claims": part.height,
                "n_comments": part["comment_id"].n_unique(),
                "n_authors": part["real_author"].drop_nulls().n_unique(),
                "n_new": int(part["new"].sum()),
                "sides": sides_split(part["side"].to_list()),
                "threads": _counts(part["thread_id"].to_list()),
            }
        )
    return out


def threads_compared(points: pl.DataFrame, threads: pl.DataFrame | None, comments: pl.DataFrame) -> list[dict]:
    """Per thread: where it comes from, and how its claims split across clusters and sides."""
    meta = {} if threads is None else {r["thread_id"]: r for r in threads.iter_rows(named=True)}
    n_comments = dict(comments.group_by("thread_id").len().iter_rows())
    out = []
    for thread in sorted(n_comments):
        part = points.filter(pl.col("thread_id") == thread)
        m = meta.get(thread, {})
        out.append(
            {
                "thread": thread,
                "source": m.get("source"),
                "title": m.get("title"),
                "url": m.get("url"),
                "n_comments": n_comments[thread],
                "held_back": m.get("held_back"),
                "n_claims": part.height,
                "clusters": dict(sorted(_counts(part["cluster"].to_list()))),
                "sides": sides_split(part["side"].to_list()),
            }
        )
    return out


def _where(row: dict) -> str:
    line = row["source_line"]
    return f"{row['source_file']}:{line}" if line is not None else (row["source_file"] or "")


def page_data(
    points: pl.DataFrame, comments: pl.DataFrame, names: dict[str, str | None], author_keys: bool = True
) -> dict:
    """Claims (as columns) and the comments they come from, with the parents those answer.
    `author_keys` gives each comment a number per distinct author (`who`), so the page can count
    authors under its filters; off when authors are hidden, since it would link their comments."""
    used = comments.filter(pl.col("comment_id").is_in(points["comment_id"].implode()))
    parents = comments.filter(pl.col("comment_id").is_in(used["parent_id"].drop_nulls().implode()))
    shown = pl.concat([used, parents]).unique("comment_id", keep="first", maintain_order=True)
    position = {cid: i for i, cid in enumerate(shown["comment_id"].to_list())}
    # a number per distinct author (first comment first), so the page counts authors under filters
    # even when names are hidden; it says nothing a count would not
    distinct = comments["author"].drop_nulls().unique(maintain_order=True).to_list() if author_keys else []
    who = {a: i for i, a in enumerate(distinct)}
    rows = []
    for row in shown.iter_rows(named=True):
        rows.append(
            {
                "id": row["comment_id"],
                "author": names.get(row["author"]) if row["author"] is not None else None,
                "who": who.get(row["author"]),
                "thread": row["thread_id"],
                "parent": position.get(row["parent_id"]) if row["parent_id"] is not None else None,
                "parent_id": row["parent_id"],
                "time": row["created_at"].isoformat().replace("+00:00", "Z") if row["created_at"] else None,
                "url": row["url"],
                "score": row["score"],
                "deleted": row["is_deleted"],
                "source": _where(row),
                "text": row["text"],
            }
        )
    return {
        "claims": {
            "id": points["claim_id"].to_list(),
            "comment": [position[c] for c in points["comment_id"].to_list()],
            "start": points["start"].to_list(),
            "end": points["end"].to_list(),
            "cluster": points["cluster"].to_list(),
            "side": points["side"].to_list(),
            "new": [int(v) for v in points["new"].to_list()],
            "x": [round(v, 4) for v in points["x"].to_list()],
            "y": [round(v, 4) for v in points["y"].to_list()],
            "text": points["text"].to_list(),
        },
        "comments": rows,
    }
