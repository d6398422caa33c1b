"""One polars schema per artifact: the data contract between stages.

Every artifact is checked when it is written and when it is read (`stancemap.io`), so a stage
never works on a table of the wrong shape, and a hand-edited or stale file fails loudly.
"""

from __future__ import annotations

import polars as pl

from stancemap.errors import StancemapError

QUOTE = pl.Struct({"start": pl.Int32, "end": pl.Int32, "quoted_id": pl.Utf8})
VECTOR = pl.Array(pl.Float32, 1)  # placeholder: any width of float32 array is accepted

COMMENTS = {
    "comment_id": pl.Utf8,  # stable, prefixed by source: "hn:8863", "reddit:c36ac5z", "jsonl:<thread>:<id>"
    "thread_id": pl.Utf8,
    "parent_id": pl.Utf8,  # null for a top-level comment; otherwise a comment_id in this table
    "depth": pl.Int32,  # 0 for a top-level comment
    "author": pl.Utf8,  # null when the source has none (or the comment was deleted)
    "created_at": pl.Datetime("us", "UTC"),  # null when the source has none
    "text": pl.Utf8,  # plain text; "" for a deleted comment
    "quotes": pl.List(QUOTE),  # `>` quoted spans of `text`, linked to the quoted comment when found
    "url": pl.Utf8,  # permalink to the original comment, where the source has one
    "score": pl.Int64,  # points / votes, where the source has them
    "is_deleted": pl.Boolean,
    "duplicate_of": pl.Utf8,  # comment_id of the first occurrence of this text, for a repeat
    "repeats": pl.Int32,  # how many comments carry this text (1 = unique)
    "source": pl.Utf8,  # reader name: "hn", "reddit", "jsonl", "csv", "parquet", "text"
    "source_file": pl.Utf8,
    "source_line": pl.Int32,  # 1-based line in source_file, for line-based formats
}

THREADS = {
    "thread_id": pl.Utf8,
    "source": pl.Utf8,
    "title": pl.Utf8,
    "url": pl.Utf8,
    "n_comments": pl.Int32,  # comments in the comments table
    "held_back": pl.Int32,  # comments the source announced but did not include (Reddit "more" stubs)
}

SOURCES = {
    "source_file": pl.Utf8,  # as given to ingest (relative paths stay relative)
    "reader": pl.Utf8,  # the format it was read as
    "sha256": pl.Utf8,  # of the file's bytes as stored (before any gunzip)
    "bytes": pl.Int64,
    "n_comments": pl.Int32,  # comments it contributed to the comments table
}

CLAIMS = {
    "claim_id": pl.Utf8,  # "<comment_id>#<position>"
    "comment_id": pl.Utf8,
    "position": pl.Int32,  # 0-based order of the claim within its comment
    "start": pl.Int32,  # comment.text[start:end] == text
    "end": pl.Int32,
    "text": pl.Utf8,
    "kind": pl.Utf8,  # claim, premise (a reason given for the claim before it) or question
}

EMBEDDINGS = {
    "claim_id": pl.Utf8,
    "vector": VECTOR,
}

EMBED_CACHE = {
    "key": pl.Utf8,  # sha256 of model id + claim text
    "vector": VECTOR,
}

SEGMENT_CACHE = {
    "key": pl.Utf8,  # sha256 of the segmenter's fingerprint + one comment's text, quotes and skip flag
    "units": pl.List(pl.Struct({"start": pl.Int32, "end": pl.Int32, "kind": pl.Utf8})),
}

STANCES = {
    "claim_id": pl.Utf8,
    "proposition": pl.Int32,  # index into stance.propositions
    "p_pro": pl.Float32,  # model's probability that the claim argues for the proposition
    "stance": pl.Utf8,  # pro | con | neither
}

REPLIES = {  # one row per reply the reply detector scored (pipeline/stance/replies.py), from the stance stage
    "comment_id": pl.Utf8,  # the reply
    "parent_id": pl.Utf8,  # the comment it answers: its parent; for another top-level comment, the opening post;
    # in a flat dump, the comment it quotes; or the latest comment of a participant it names ("+1 to ann")
    "direct": pl.Boolean,  # parent_id is the reply's own parent_id in the comments table (a real reply link)
    "relation": pl.Utf8,  # rebut | agree | unknown (P(rebut) within 1e-9 of 0.5)
    "p_rebut": pl.Float32,  # sigmoid(logit(stance.reply_prior) + the weights of the evidence)
    "evidence": pl.List(pl.Utf8),  # names of the evidence that fired (keys of replies.WEIGHTS); [] = none
}

CLUSTERS = {
    "claim_id": pl.Utf8,
    "cluster": pl.Int32,  # one (topic, side); -1 = unclustered (HDBSCAN noise), never dropped
    "topic": pl.Int32,  # the topic HDBSCAN found; -1 = unclustered
    "side": pl.Utf8,  # stance toward the propositions ("pro", "con", "neither", "1:pro 2:con"); null without

    "probability": pl.Float32,
    "x": pl.Float32,  # 2-D map coordinates
    "y": pl.Float32,
    "new": pl.Boolean,  # not in the previous run (always false on a first run)
}

LABELS = {
    "cluster": pl.Int32,
    "topic": pl.Int32,  # the topic this cluster is one side of (-1 for unclustered)
    "side": pl.Utf8,  # null when stances were not computed
    "topic_label": pl.Utf8,  # the label of the whole topic, all sides together
    "label": pl.Utf8,
    "keywords": pl.List(pl.Utf8),
    "key_claims": pl.List(pl.Utf8),  # claim ids, most central first
    "n_claims": pl.Int32,
    "n_comments": pl.Int32,
    "n_authors": pl.Int32,
    # the hierarchy: topics grouped into at most label.max_themes themes (pipeline/themes.py); -1 and
    # "Unclustered" for unclustered claims
    "theme": pl.Int32,
    "theme_label": pl.Utf8,  # keywords of the whole theme
    "theme_claim": pl.Utf8,  # the theme's most central claim id (its statement in the report)
}

POSITIONS = {  # found without being told: one row per topic (pipeline/stance/positions.py)
    "topic": pl.Int32,
    "proposition": pl.Utf8,  # the topic's position in words: its most central claim that can state one
    "claim_id": pl.Utf8,  # the claim the proposition is
    "n_claims": pl.Int32,
    "n_pro": pl.Int32,  # claims on each side toward the proposition
    "n_con": pl.Int32,
    "n_neither": pl.Int32,
    "opposes": pl.Int32,  # a topic whose proposition and this one's each read as con toward the other
    "opposition": pl.Float32,  # the smaller of the two P(con); null when no topic opposes
}

SIDES = {  # each claim's side toward its topic's found proposition
    "claim_id": pl.Utf8,
    "topic": pl.Int32,  # null for unclustered claims
    "p_pro": pl.Float32,  # the model's P(pro) and P(con) toward the topic's proposition (NaN unclustered)
    "p_con": pl.Float32,
    "side": pl.Utf8,  # pro | con | neither; null when unclustered
    "evidence": pl.Utf8,  # model | replies | proposition (the proposition itself); null for neither
}

ARTIFACTS: dict[str, dict[str, pl.DataType]] = {
    "comments": COMMENTS,
    "threads": THREADS,
    "sources": SOURCES,
    "claims": CLAIMS,
    "embeddings": EMBEDDINGS,
    "embed_cache": EMBED_CACHE,
    "segment_cache": SEGMENT_CACHE,
    "stances": STANCES,
    "replies": REPLIES,
    "clusters": CLUSTERS,
    "labels": LABELS,
    "positions": POSITIONS,
    "sides": SIDES,
}


class SchemaError(StancemapError):
    pass


def _same_type(actual: pl.DataType, expected: pl.DataType) -> bool:
    if isinstance(expected, pl.Array):
        return isinstance(actual, pl.Array) and actual.inner == expected.inner
    return actual == expected


def conform(df: pl.DataFrame, name: str, where: str) -> pl.DataFrame:
    """Check `df` against the schema of artifact `name`; return it with columns in schema order."""
    schema = ARTIFACTS[name]
    missing = [c for c in schema if c not in df.columns]
    extra = [c for c in df.columns if c not in schema]
    wrong = [
        f"{c} is {df.schema[c]}, expected {t}"
        for c, t in schema.items()
        if c in df.columns and not _same_type(df.schema[c], t)
    ]
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if extra:
        problems.append("unexpected column(s) " + ", ".join(extra))
    problems.extend(wrong)
    if problems:
        raise SchemaError(f"{where}: not a valid {name} table: " + "; ".join(problems))
    return df.select(list(schema))
