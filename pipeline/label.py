"""Label: each cluster gets keywords (class-based TF-IDF), its most central claims and a short
label, with counts of claims, comments and distinct authors (one loud author is not a crowd)."""

from __future__ import annotations

import functools
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


_TOKEN = re.compile(r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b")  # words of two or more characters, no digits


@functools.cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words and CONTRACTIONS. The list is read from its module file
    alone: importing scikit-learn costs most of a second a run, and nothing else here needs it."""
    import importlib.util

    sklearn = importlib.util.find_spec("sklearn")
    words = None
    for folder in (sklearn.submodule_search_locations or []) if sklearn else []:
        path = Path(folder) / "feature_extraction" / "_stop_words.py"
        spec = importlib.util.spec_from_file_location("_stancemap_stop_words", path)
        if path.exists() and spec and spec.loader:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            words = getattr(module, "ENGLISH_STOP_WORDS", None)
            break
    if words is None:  # a scikit-learn laid out otherwise
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as words
    return frozenset(words) | frozenset(CONTRACTIONS)


def terms_of(text: str) -> list[str]:
    """A claim's terms: its words (normalised, stop words out), then each pair of neighbours."""
    stop = stop_words()
    words = [w for w in _TOKEN.findall(_normalise(text)) if w not in stop]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def term_counts(texts: list[str]):
    """(claim x term sparse counts, the terms in alphabetical order). Each distinct text is read
    once, and a bigram never spans two claims. None when no claim has a term."""
    from scipy import sparse

    distinct, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    vocabulary: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    for text in distinct.tolist():
        indices.extend(vocabulary.setdefault(t, len(vocabulary)) for t in terms_of(text))
        indptr.append(len(indices))
    if not vocabulary:
        return None
    terms = np.asarray(sorted(vocabulary), dtype=object)
    rank = np.empty(len(vocabulary), np.int64)  # first-seen index -> alphabetical index
    rank[[vocabulary[t] for t in terms]] = np.arange(len(terms))
    counts = sparse.csr_matrix(
        (np.ones(len(indices)), rank[np.asarray(indices, np.int64)], np.asarray(indptr, np.int64)),
        shape=(len(distinct), len(terms)),
    )
    counts.sum_duplicates()
    return counts[inverse.ravel()], terms


def group_counts(counts, group_of: np.ndarray, ids: list[int]):
    """Sum the claims' term counts per group: (len(ids) x term) sparse, rows in the order of `ids`."""
    from scipy import sparse

    row = {g: r for r, g in enumerate(ids)}
    rows = np.fromiter((row[g] for g in group_of.tolist()), np.int64, len(group_of))
    indicator = sparse.csr_matrix(
        (np.ones(len(group_of)), (rows, np.arange(len(group_of)))), shape=(len(ids), len(group_of))
    )
    return (indicator @ counts).tocsr()


def ctfidf_keywords(counts, terms, ids: list[int], n_keywords: int) -> dict[int, list[str]]:
    """c-TF-IDF over groups (rows of `counts`, in the order of `ids`): a term scores high in a
    group when it is frequent there and rare elsewhere."""
    counts.sort_indices()
    row_totals = np.asarray(counts.sum(axis=1)).ravel()
    avg_words = row_totals.sum() / max(len(ids), 1)
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


def keywords_per_cluster(docs: dict[int, list[str]], n_keywords: int) -> dict[int, list[str]]:
    """c-TF-IDF keywords of each group of texts (`docs`: group -> its claims' texts)."""
    ids = sorted(docs)
    texts = [t for c in ids for t in docs[c]]
    found = term_counts(texts)
    if found is None:
        return {c: [] for c in ids}
    group_of = np.asarray([c for c in ids for _ in docs[c]], np.int64)
    return ctfidf_keywords(group_counts(found[0], group_of, ids), found[1], ids, n_keywords)


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
    table = table.with_row_index("_t")  # a claim's row in the term counts
    # one pass over the table, not one filter per cluster (thousands of clusters at a million claims)
    groups = {key[0]: g for key, g in sorted(table.partition_by("cluster", as_dict=True, maintain_order=True).items())}
    # every claim's words are counted once; clusters, topics and themes sum their claims' counts
    found = term_counts(table["text"].to_list())
    keywords = level_keywords(found, table["cluster"].to_numpy(), params.n_keywords)
    topic_keywords = level_keywords(found, table["topic"].to_numpy(), params.n_keywords)
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
    theme_of, theme_label, theme_claim = themes(table, matrix, params, found)
    rows["theme"] = [theme_of.get(t, -1) for t in rows["topic"]]
    rows["theme_label"] = [theme_label.get(theme_of.get(t, -1), UNCLUSTERED) for t in rows["topic"]]
    rows["theme_claim"] = [theme_claim.get(theme_of.get(t, -1)) for t in rows["topic"]]
    return pl.DataFrame(rows, schema=LABELS)


def level_keywords(found, group_of: np.ndarray, n_keywords: int, rows: np.ndarray | None = None) -> dict:
    """c-TF-IDF keywords of each group at one level (cluster, topic or theme): `group_of` is each
    claim's group, `rows` those claims' rows in the term counts `found` (default: all, in order)."""
    ids = sorted(set(group_of.tolist()))
    if found is None:
        return {g: [] for g in ids}
    counts = found[0] if rows is None else found[0][rows]
    return ctfidf_keywords(group_counts(counts, group_of, ids), found[1], ids, n_keywords)


def themes(
    table: pl.DataFrame, matrix: np.ndarray, params: LabelParams, found
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
    keywords = level_keywords(found, with_theme["_theme"].to_numpy(), params.n_keywords, with_theme["_t"].to_numpy())
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
