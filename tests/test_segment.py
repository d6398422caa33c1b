import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stancemap.config import SegmentParams
from stancemap.ingest import expand_inputs, ingest
from stancemap.ingest.base import quote_spans
from stancemap.schemas import COMMENTS
from stancemap.segment import argues_something, load_nlp, own_regions, segment

PARAMS = SegmentParams()


@pytest.fixture(scope="module")
def nlp():
    return load_nlp("blank")


def comments_of(*texts: str) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "comment_id": [f"t:x:{i}" for i in range(n)],
            "thread_id": ["x"] * n,
            "parent_id": [None] * n,
            "depth": [0] * n,
            "author": ["a"] * n,
            "created_at": [None] * n,
            "text": list(texts),
            "quotes": [[{**q, "quoted_id": None} for q in quote_spans(t)] for t in texts],
            "url": [None] * n,
            "score": [None] * n,
            "is_deleted": [False] * n,
            "duplicate_of": [None] * n,
            "repeats": [1] * n,
            "source": ["text"] * n,
            "source_file": ["x.txt"] * n,
            "source_line": list(range(1, n + 1)),
        },
        schema=COMMENTS,
    )


def check_offsets(comments: pl.DataFrame, claims: pl.DataFrame) -> None:
    texts = dict(zip(comments["comment_id"], comments["text"], strict=True))
    quotes = dict(zip(comments["comment_id"], comments["quotes"], strict=True))
    last_end: dict[str, int] = {}
    for row in claims.iter_rows(named=True):
        text = texts[row["comment_id"]]
        assert 0 <= row["start"] < row["end"] <= len(text)
        assert text[row["start"] : row["end"]] == row["text"]
        assert row["start"] >= last_end.get(row["comment_id"], 0), "claims overlap or are out of order"
        last_end[row["comment_id"]] = row["end"]
        for q in quotes[row["comment_id"]]:
            assert row["end"] <= q["start"] or row["start"] >= q["end"], "a quote became a claim"
        assert row["claim_id"] == f"{row['comment_id']}#{row['position']}"


def test_sentences_offsets_and_quotes(nlp):
    comments = comments_of(
        "> Distillation is theft, says the lab.\nThat is wrong. They paid for every single token they used.",
        "1 reply →",
        "https://example.org/a/very/long/link",
        "Great point!\nPaying for access does not give you a licence to clone the product.",
    )
    claims = segment(comments, nlp, PARAMS)
    assert claims["text"].to_list() == [
        "That is wrong.",
        "They paid for every single token they used.",
        "Paying for access does not give you a licence to clone the product.",
    ]
    check_offsets(comments, claims)


@pytest.mark.parametrize(
    ("unit", "keep"),
    [
        ("This.", False),
        ("+1", False),
        ("3 replies →", False),
        ("Share", False),
        ("[deleted]", False),
        ("See https://example.com/x/y/z/w", False),
        ("Distillation is not theft at all.", True),
        ("Это не кража, это обучение.", True),
    ],
)
def test_units_that_argue_nothing_are_dropped(unit, keep):
    assert argues_something(unit, PARAMS) is keep


def test_repeats_and_deleted_comments_give_no_claims(nlp):
    comments = comments_of("Distillation is theft of years of work.", "Distillation is theft of years of work.", "")
    comments = comments.with_columns(
        duplicate_of=pl.Series([None, "t:x:0", None], dtype=pl.Utf8), is_deleted=pl.Series([False, False, True])
    )
    claims = segment(comments, nlp, PARAMS)
    assert claims["comment_id"].to_list() == ["t:x:0"]


def test_own_regions_skip_quotes_and_split_lines():
    text = "> q\nabc\n\ndef"
    assert [text[s:e] for s, e in own_regions(text, quote_spans(text))] == ["abc", "def"]


line = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.builds(lambda s: "> " + s, st.text(max_size=30)),
    st.sampled_from(
        ["Distillation is theft. It is not!", "They paid, so it is fair use; really?", "\u202eevil\u200b name"]
    ),
)


@settings(max_examples=120, deadline=None)
@given(texts=st.lists(st.lists(line, min_size=1, max_size=5).map("\n".join), min_size=1, max_size=4))
def test_offsets_are_exact_ordered_and_stable(texts):
    nlp = load_nlp("blank")
    comments = comments_of(*texts)
    first = segment(comments, nlp, PARAMS)
    check_offsets(comments, first)
    assert segment(comments, nlp, PARAMS).equals(first)


def test_seed_dumps_segment(seeds_dir, nlp):
    comments, _ = ingest(expand_inputs([seeds_dir]))
    claims = segment(comments, nlp, PARAMS)
    check_offsets(comments, claims)
    assert claims.height > comments.height  # comments hold several claims each
    assert not claims["text"].str.contains("reply →").any()


def test_missing_spacy_package_is_a_clear_error():
    from stancemap.errors import StancemapError

    with pytest.raises(StancemapError, match="not installed"):
        load_nlp("no_such_spacy_model_xyz")


# --- the per-comment cache


class CountingNlp:
    """The real blank pipeline, counting the texts it is given."""

    def __init__(self, nlp):
        self.nlp, self.seen = nlp, 0

    def pipe(self, texts, batch_size):
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            self.seen += 1
            yield doc


TEXTS = (
    "Distillation copies the teacher's behaviour. It is not theft, though the terms forbid it.",
    "> It is not theft\nIt is theft when the terms of service forbid training on the outputs.",
    "Open weights change the argument entirely; anyone can distil a published model.",
)


def test_cache_gives_the_same_claims_and_segments_only_new_comments(nlp, tmp_path):
    from stancemap.segment import read_cache, segment_cached, write_cache

    first = comments_of(*TEXTS[:2])
    cache: dict = {}
    counting = CountingNlp(nlp)
    claims, segmented = segment_cached(first, PARAMS, cache, counting)
    assert segmented == 2 and claims.equals(segment(first, nlp, PARAMS))
    write_cache(cache, tmp_path / "cache.parquet")

    # a rerun with one comment more segments only that comment, and gives what a cold run gives
    again = read_cache(tmp_path / "cache.parquet")
    assert again == cache
    grown = comments_of(*TEXTS)
    counting = CountingNlp(nlp)
    claims, segmented = segment_cached(grown, PARAMS, again, counting)
    assert segmented == 1 and counting.seen == 1  # the new comment is one line
    assert claims.equals(segment(grown, nlp, PARAMS))


def test_cache_key_follows_text_quotes_skip_and_params():

    from stancemap.segment import comment_keys

    base = comments_of(TEXTS[0], TEXTS[0])
    keys = comment_keys(base, PARAMS)
    assert keys[0] == keys[1]  # same text, same claims: one entry
    assert comment_keys(comments_of(TEXTS[0] + " "), PARAMS)[0] != keys[0]
    quoted = base.with_columns(pl.Series("quotes", [[{"start": 0, "end": 5, "quoted_id": None}], []]))
    assert comment_keys(quoted, PARAMS)[0] != keys[0]
    deleted = base.with_columns(pl.Series("is_deleted", [True, False]))
    assert comment_keys(deleted, PARAMS)[0] != keys[0]
    assert comment_keys(base, PARAMS.model_copy(update={"min_words": 4}))[0] != keys[0]
    assert comment_keys(base, PARAMS.model_copy(update={"batch_size": 8}))[0] == keys[0]  # batching changes nothing


def test_run_writes_and_reuses_the_cache(tmp_path):
    from stancemap.io import write_table
    from stancemap.segment import run

    comments = tmp_path / "comments.parquet"
    write_table(comments_of(*TEXTS), comments, "comments")
    cache = tmp_path / "segment_cache.parquet"
    first = run(PARAMS, comments=comments, out=tmp_path / "a.parquet", cache=cache)
    stamp = cache.stat().st_mtime_ns
    second = run(PARAMS, comments=comments, out=tmp_path / "b.parquet", cache=cache)
    assert first.equals(second)
    assert cache.stat().st_mtime_ns == stamp  # nothing new: the cache is not rewritten
