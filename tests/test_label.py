import numpy as np
import polars as pl

from stancemap.config import LabelParams, SegmentParams
from stancemap.ingest import expand_inputs, ingest
from stancemap.label import (
    CONTRACTIONS,
    UNCLUSTERED,
    _normalise,
    key_claims,
    keywords_per_cluster,
    label,
    short_label,
    stop_words,
    term_counts,
)
from stancemap.schemas import CLUSTERS
from stancemap.segment import load_nlp, segment
from stancemap.themes import topic_themes
from tests.conftest import TOPICS, FakeEmbedder


def test_keywords_come_from_what_is_distinctive():
    docs = {0: TOPICS["theft"], 1: TOPICS["security"], 2: TOPICS["hypocrisy"]}
    kw = keywords_per_cluster(docs, 5)
    assert "theft" in kw[0] and "stealing" in kw[0] + [w for k in kw[0] for w in k.split()]
    assert any("security" in k for k in kw[1])
    assert any("scraped" in k or "hypocrisy" in k for k in kw[2])
    assert keywords_per_cluster(docs, 5) == kw  # ties broken the same way every time


def test_term_counts_are_scikit_learns_per_claim():
    """The label stage counts words itself (scikit-learn's import costs most of a second a run):
    the counts must be CountVectorizer's, claim by claim, with its English stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    texts = [t for docs in TOPICS.values() for t in docs] + ["Don't steal-it, it's O'Neil's 2nd café!", "the of and"]
    texts += texts[:3]  # repeated texts are read once and counted for each claim
    counts, terms = term_counts(texts)
    reference = CountVectorizer(
        preprocessor=_normalise,
        stop_words=sorted(ENGLISH_STOP_WORDS | CONTRACTIONS),
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b",
    )
    expected = reference.fit_transform(texts)
    assert list(terms) == list(reference.get_feature_names_out())
    assert (counts != expected).nnz == 0
    assert stop_words() == frozenset(ENGLISH_STOP_WORDS) | frozenset(CONTRACTIONS)
    assert term_counts(["the of and", "a"]) is None


def test_bigrams_never_span_two_claims():
    kw = keywords_per_cluster({0: ["cats purr", "dogs bark"], 1: ["fish swim"]}, 10)
    assert "purr dogs" not in kw[0] and {"cats purr", "dogs bark"} <= set(kw[0])


def test_short_label_skips_keywords_that_add_no_word():
    assert short_label(["national security", "security", "export", "chips"], 3) == "national security · export · chips"
    assert short_label([], 3) == "(no keywords)"


def test_key_claims_are_central_and_distinct():
    vectors = np.array([[1, 0], [0.9, 0.1], [0.9, 0.1], [0, 1]], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert key_claims(["a", "b", "c", "d"], ["x", "y", "y", "z"], vectors, 2) == ["b", "a"]


def test_label_table_counts_comments_and_authors(small_corpus):
    comments, _ = ingest(expand_inputs([small_corpus]))
    claims = segment(comments, load_nlp("blank"), SegmentParams())
    vectors = FakeEmbedder().encode(claims["text"].to_list())
    embeddings = pl.DataFrame({"claim_id": claims["claim_id"], "vector": vectors})
    topic = claims["comment_id"].str.extract(r"jsonl:demo:([a-z]+)\d", 1)
    mapping = {"theft": 0, "security": 1, "hypocrisy": 2}
    cluster_of = [mapping.get(t, -1) for t in topic.to_list()]
    clusters = pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "cluster": cluster_of,
            "topic": [0 if c in (0, 1) else c for c in cluster_of],  # clusters 0 and 1: two sides of topic 0
            "side": ["pro" if c == 0 else "con" if c == 1 else None for c in cluster_of],
            "probability": [1.0] * claims.height,
            "x": [0.0] * claims.height,
            "y": [0.0] * claims.height,
            "new": [False] * claims.height,
        },
        schema=CLUSTERS,
    )
    labels = label(claims, comments, clusters, embeddings, LabelParams())
    rows = {r["cluster"]: r for r in labels.iter_rows(named=True)}
    assert set(rows) == {-1, 0, 1, 2}
    assert rows[-1]["label"] == UNCLUSTERED and rows[-1]["side"] is None
    assert (rows[0]["topic"], rows[0]["side"]) == (0, "pro") and (rows[1]["topic"], rows[1]["side"]) == (0, "con")
    assert rows[0]["topic_label"] == rows[1]["topic_label"] != rows[0]["label"]
    assert rows[0]["n_claims"] == 6 and rows[0]["n_comments"] == 6
    # authors user1..user6 and user0 rotate: six comments, six distinct authors at most
    assert 1 <= rows[0]["n_authors"] <= 6
    assert rows[1]["n_claims"] == 6 and len(rows[1]["key_claims"]) == 3
    assert all(k.startswith("jsonl:demo:security") for k in rows[1]["key_claims"])
    assert label(claims, comments, clusters, embeddings, LabelParams()).equals(labels)
    # two topics, at most 12 themes: each topic is its own theme, named by its own claims
    assert rows[-1]["theme"] == -1 and rows[-1]["theme_label"] == UNCLUSTERED and rows[-1]["theme_claim"] is None
    assert rows[0]["theme"] == rows[1]["theme"] != rows[2]["theme"]
    assert rows[0]["theme_claim"].startswith(("jsonl:demo:theft", "jsonl:demo:security"))
    assert rows[2]["theme_claim"].startswith("jsonl:demo:hypocrisy")
    # one theme at most: every topic joins it, and its label is the keywords of all their claims
    one = label(claims, comments, clusters, embeddings, LabelParams(max_themes=1))
    assert one.filter(pl.col("topic") >= 0)["theme"].unique().to_list() == [0]
    assert one.filter(pl.col("topic") >= 0)["theme_label"].n_unique() == 1


def test_topic_themes_join_near_topics_and_number_by_size():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8), rng.normal(size=8)
    centres = np.stack([a, b, a + 0.01 * rng.normal(size=8), b + 0.01 * rng.normal(size=8), a + 0.02])
    ids = np.array([3, 4, 7, 9, 11])
    themes = topic_themes(ids, centres, np.array([5, 50, 5, 50, 5]), 2)
    assert themes[3] == themes[7] == themes[11] and themes[4] == themes[9] != themes[3]
    assert themes[4] == 0  # 100 claims before 15
    assert topic_themes(ids, None, np.ones(5), 12) == {3: 0, 4: 1, 7: 2, 9: 3, 11: 4}  # few topics: one each
    assert topic_themes(ids, centres, np.array([5, 50, 5, 50, 5]), 2) == themes
