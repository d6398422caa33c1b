import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import SegmentParams
from pipeline.ingest import expand_inputs, ingest
from pipeline.ingest.base import quote_spans
from pipeline.schemas import COMMENTS
from pipeline.segment import argues_something, load_nlp, own_regions, segment

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
    from pipeline.errors import StancemapError

    with pytest.raises(StancemapError, match="not installed"):
        load_nlp("no_such_spacy_model_xyz")
