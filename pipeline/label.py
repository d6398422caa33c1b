"""Label: each cluster gets keywords (class-based TF-IDF), its most central claims and a short
label, with counts of claims, comments and distinct authors (one loud author is not a crowd)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.cluster.topics import topic_centres
from stancemap.config import LabelParams
from stancemap.io import read_table, write_table
from stancemap.schemas import LABELS
from stancemap.themes import topic_themes

UNCLUSTERED = "Unclustered"
CONTRACTIONS = {
    "aren't",
    "can't",
    "couldn't",
    "didn't",
    "doesn't",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "he'd",
    "he'll",
    "he's",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "isn't",
    "it'd",
    "it'll",
    "it's",
    "let",
    "shouldn't",
    "that'd",
    "that'll",
    "that's",
    "there's",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "wasn't",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "weren't",
    "what's",
    "won't",
    "wouldn't",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "just",
    "like",
    "really",
    "yeah",
    "actually",
    "thing",
    "things",
    "lot",
}


def _normalise(text: str) -> str:
    """Lower case, straight apostrophes, possessive 's dropped (halcyon's -> halcyon)."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"(?<=\w)'s\b", "", text)


def keywords_per_cluster(docs: dict[int, list[str]], n_keywords: int) -> dict[int, list[str]]:
    """c-TF-IDF: a term scores high in a cluster when it is frequent there and rare elsewhere."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    ids = sorted(docs)
    joined = [" ".join(docs[c]) for c in ids]
    vectorizer = CountVectorizer(
        preprocessor=_normalise,
        stop_words=sorted(ENGLISH_STOP_WORDS | CONTRACTIONS),
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b",
    )
    try:
        counts = vectorizer.fit_transform(joined).astype(np.float64).tocsr()  # cluster x term, sparse
    except ValueError:  # every word was a stop word
        return {c: [] for c in ids}
    terms = vectorizer.get_feature_names_out()  # alphabetical, so a column index orders ties
    row_totals = np.asarray(counts.sum(axis=1)).ravel()
    avg_words = row_totals.sum() / len(ids)
    idf = np.log(1 + avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    # tf x idf on the stored entries only: a million claims' vocabulary never becomes a dense array
    rows = np.repeat(np.arange(len(ids)), np.diff(counts.indptr))
    scores = counts.data / np.maximum(row_totals[rows], 1) * idf[counts.indices]
    result = {}
    for row, c in enumerate(ids):
        lo, hi = counts.indptr[row], counts.indptr[row + 1]
        cols, vals = counts.indices[lo:hi], scores[lo:hi]
        order = np.lexsort((cols, -vals))[:n_keywords]  # best first, ties alphabetically
        result[c] = [str(terms[cols[i]]) for i in order if vals[i] > 0]
    return result


def short_label(keywords: list[str], n_words: int) -> str:
    """The first keywords that add a new word, joined: 'theft · stealing · paid tokens'."""
    chosen: list[str] = []
    seen: set[str] = set()
    for kw in keywords:
        words = set(kw.split())
        if words <= seen:
            continue
        chosen.append(kw)
        seen |= words
        if len(chosen) == n_words:
            break
    return " · ".join(chosen) if chosen else "(no keywords)"


def key_claims(ids: list[str], texts: list[str], vectors: np.ndarray, n: int, min_words: int = 1) -> list[str]:
    """Claims closest to the cluster's centroid, most central first, one per distinct text.

    Claims of at least `min_words` words come first, so a bare "That's theft." does not
    stand for a cluster that has fuller statements of the same point.
    """
    centroid = vectors.mean(axis=0)
    sims = vectors @ centroid
    short = [len(t.split()) < min_words for t in texts]
    order = sorted(range(len(ids)), key=lambda i: (short[i], -round(float(sims[i]), 6), ids[i]))
    chosen, seen = [], set()
    for i in order:
        if texts[i] in seen:
            continue
        seen.add(texts[i])
        chosen.append(ids[i])
        if len(chosen) == n:
            break
    return chosen


def label(
    claims: pl.DataFrame,
    comments: pl.DataFrame,
    clusters: pl.DataFrame,
    embeddings: pl.DataFrame,
    params: LabelParams,
) -> pl.DataFrame:
    """One row per cluster (schema LABELS), unclustered (-1) included when present."""
    table = (
        claims.select("claim_id", "comment_id", "text")
        .join(
            clusters.select("claim_id", "cluster", "topic", "side"), on="claim_id", how="inner", maintain_order="left"
        )
        .join(comments.select("comment_id", "author"), on="comment_id", how="left", maintain_order="left")
        # a row number into one vector matrix, not the vectors themselves: at a million claims the
        # grouped copies of a vector column cost gigabytes
        .join(embeddings.select("claim_id").with_row_index("_row"), on="claim_id", how="left", maintain_order="left")
    )
    matrix = embeddings["vector"].to_numpy()
    # one pass over the table, not one filter per cluster (thousands of clusters at a million claims)
    groups = {key[0]: g for key, g in sorted(table.partition_by("cluster", as_dict=True, maintain_order=True).items())}
    keywords = keywords_per_cluster({c: g["text"].to_list() for c, g in groups.items()}, params.n_keywords)
    topic_docs = {t: g["text"].to_list() for (t,), g in table.group_by(["topic"], maintain_order=True)}
    topic_keywords = keywords_per_cluster(topic_docs, params.n_keywords)
    clusters_in_topic: dict[int, int] = {}
    for g in groups.values():
        clusters_in_topic[g["topic"][0]] = clusters_in_topic.get(g["topic"][0], 0) + 1
    rows: dict[str, list] = {name: [] for name in LABELS}
    for c, g in groups.items():
        vectors = matrix[g["_row"].to_numpy()].astype(np.float32, copy=False)
        topic = g["topic"][0]
        rows["cluster"].append(c)
        rows["topic"].append(topic)
        distinct = g["side"].drop_nulls().unique().to_list()
        side = distinct[0] if c != -1 and len(distinct) == 1 and g["side"].null_count() == 0 else None
        rows["side"].append(side)  # a cluster's side when all its claims share one (clusters split by side)
        rows["topic_label"].append(
            UNCLUSTERED if topic == -1 else short_label(topic_keywords[topic], params.label_words)
        )
        # a side cluster says which side it is, so two sides of one topic never read alike; an
        # all-"neither" cluster says so only beside other sides of its topic
        suffix = f" ({side})" if side and (side != "neither" or clusters_in_topic[topic] > 1) else ""
        rows["label"].append(UNCLUSTERED if c == -1 else short_label(keywords[c], params.label_words) + suffix)
        rows["keywords"].append(keywords[c])
        rows["key_claims"].append(
            key_claims(
                g["claim_id"].to_list(),
                g["text"].to_list(),
                vectors,
                params.n_key_claims,
                params.key_claim_min_words,
            )
        )
        rows["n_claims"].append(g.height)
        rows["n_comments"].append(g["comment_id"].n_unique())
        rows["n_authors"].append(g["author"].drop_nulls().n_unique())
    theme_of, theme_label, theme_claim = themes(table, matrix, params)
    rows["theme"] = [theme_of.get(t, -1) for t in rows["topic"]]
    rows["theme_label"] = [theme_label.get(theme_of.get(t, -1), UNCLUSTERED) for t in rows["topic"]]
    rows["theme_claim"] = [theme_claim.get(theme_of.get(t, -1)) for t in rows["topic"]]
    return pl.DataFrame(rows, schema=LABELS)


def themes(
    table: pl.DataFrame, matrix: np.ndarray, params: LabelParams
) -> tuple[dict[int, int], dict[int, str], dict[int, str]]:
    """Topic -> theme, and each theme's keyword label and most central claim.

    With no more topics than `max_themes` each topic is its own theme (named like the topic);
    otherwise topic centres are agglomerated (pipeline/themes.py). Unclustered claims (-1) get no
    theme."""
    clustered = table.filter(pl.col("topic") >= 0).sort("topic", "claim_id")
    if clustered.is_empty():
        return {}, {}, {}
    topics = clustered["topic"].to_numpy()
    ids, counts = np.unique(topics, return_counts=True)
    centres = None
    if len(ids) > params.max_themes:
        per_row = np.full(len(matrix), -1, np.int64)  # each embedding row's topic (-1: not clustered)
        per_row[clustered["_row"].to_numpy()] = topics
        centres, _ = topic_centres(per_row, matrix)
    theme_of = topic_themes(ids, centres, counts, params.max_themes)
    with_theme = clustered.with_columns(pl.col("topic").replace_strict(theme_of, return_dtype=pl.Int32).alias("_theme"))
    groups = {key[0]: g for key, g in sorted(with_theme.partition_by("_theme", as_dict=True).items())}
    keywords = keywords_per_cluster({k: g["text"].to_list() for k, g in groups.items()}, params.n_keywords)
    label_of, claim_of = {}, {}
    for k, g in groups.items():
        label_of[k] = short_label(keywords[k], params.label_words)
        vectors = matrix[g["_row"].to_numpy()].astype(np.float32, copy=False)
        chosen = key_claims(g["claim_id"].to_list(), g["text"].to_list(), vectors, 1, params.key_claim_min_words)
        claim_of[k] = chosen[0] if chosen else None
    return theme_of, label_of, claim_of


def run(
    params: LabelParams,
    *,
    claims: str | Path,
    comments: str | Path,
    clusters: str | Path,
    embeddings: str | Path,
    out: str | Path,
) -> pl.DataFrame:
    """Label every cluster of `clusters` (keywords, key claims) into the labels table `out`."""
    labels = label(
        read_table(claims, "claims"),
        read_table(comments, "comments"),
        read_table(clusters, "clusters"),
        read_table(embeddings, "embeddings"),
        params,
    )
    write_table(labels, out, "labels")
    return labels
