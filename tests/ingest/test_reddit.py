"""The Reddit reader on real PRAW cassettes (listings and morechildren responses), on small
edits of them, and on random bytes and mutated documents (only StancemapError may escape)."""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancemap.errors import InputError, StancemapError
from stancemap.ingest.base import Context, Parsed
from stancemap.ingest.reddit import RedditReader
from tests.conftest import shared_path

READER = RedditReader()
LISTINGS = ["2gmzqe.json", "fo7p5b.json", "n49rw.json"]
MORECHILDREN = "n49rw_morechildren_responses.json"


def fixture(name: str) -> Path:
    return shared_path("fixtures", "reddit", name)


def read(path: Path, ctx: Context | None = None) -> Parsed:
    return READER.read(path, path.read_bytes(), ctx or Context())


def read_doc(tmp_path: Path, doc: object, ctx: Context | None = None, name: str = "t.json") -> Parsed:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return read(path, ctx)


def source_walk(doc: list) -> tuple[list[dict], int]:
    """Independently of the reader: every t1's data in depth-first order, and the sum of the
    `more` counts, found by walking the raw JSON."""
    t1s, held_back = [], 0

    def walk(things: list) -> None:
        nonlocal held_back
        for thing in things:
            if thing["kind"] == "more":
                held_back += thing["data"]["count"]
            elif thing["kind"] == "t1":
                t1s.append(thing["data"])
                if thing["data"]["replies"]:
                    walk(thing["data"]["replies"]["data"]["children"])

    walk(doc[1]["data"]["children"])
    return t1s, held_back


@cache
def load(name: str) -> list:
    return json.loads(fixture(name).read_text(encoding="utf-8"))


# --- listings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTINGS)
def test_listing_yields_every_t1_and_the_post(name):
    doc = load(name)
    t1s, held_back = source_walk(doc)
    post = doc[0]["data"]["children"][0]["data"]
    parsed = read(fixture(name))

    assert parsed.threads == [
        parsed.threads[0].__class__(
            thread_id=post["id"],
            source="reddit",
            title=post["title"],
            url="https://www.reddit.com" + post["permalink"],
            held_back=held_back,
        )
    ]
    assert post["selftext"]  # all three are self posts: the text opens the comments
    first, rest = parsed.comments[0], parsed.comments[1:]
    assert first.comment_id == f"reddit:t3_{post['id']}" and first.parent_id is None
    assert first.text == post["selftext"] and first.author == post["author"]
    # one comment per t1, in document order
    assert [c.comment_id for c in rest] == [f"reddit:{d['id']}" for d in t1s]
    assert {c.thread_id for c in parsed.comments} == {post["id"]}
    assert {c.source for c in parsed.comments} == {"reddit"}
    assert {c.source_file for c in parsed.comments} == {str(fixture(name))}


@pytest.mark.parametrize("name", LISTINGS)
def test_listing_parents_form_whole_trees(name):
    comments = read(fixture(name)).comments
    by_id = {c.comment_id: c for c in comments}
    assert len(by_id) == len(comments)
    for c in comments:
        seen = set()
        node = c
        while node.parent_id is not None:  # every parent exists, and the chain ends at the top
            assert node.comment_id not in seen
            seen.add(node.comment_id)
            node = by_id[node.parent_id]
    top = [c for c in comments if c.parent_id is None]
    t1s, _ = source_walk(load(name))
    assert len(top) == 1 + sum(d["parent_id"].startswith("t3_") for d in t1s)


def test_listing_fields_of_one_comment():
    comments = {c.comment_id: c for c in read(fixture("fo7p5b.json")).comments}
    c = comments["reddit:fldvw9o"]
    raw = load("fo7p5b.json")[1]["data"]["children"][0]["data"]
    assert c.parent_id is None and c.text == raw["body"] and c.author == raw["author"]
    assert c.created_at == datetime.fromtimestamp(raw["created_utc"], tz=UTC)
    assert c.score == raw["score"] and not c.is_deleted
    assert c.url == "https://www.reddit.com" + raw["permalink"]
    assert c.record == "[1].children[0]" and c.source_line is None
    reply = next(x for x in comments.values() if x.parent_id == "reddit:fldvw9o")
    assert reply.record.startswith("[1].children[0].replies.children[")


def test_url_is_built_when_the_permalink_is_absent():
    # the 2011 thread predates `permalink` on comments
    c = read(fixture("n49rw.json")).comments[1]
    assert c.url == f"https://www.reddit.com/r/announcements/comments/n49rw/_/{c.comment_id.removeprefix('reddit:')}/"


@pytest.mark.parametrize("name", ["fo7p5b.json", "n49rw.json"])
def test_deleted_comments_stay_in_the_tree(name):
    t1s, _ = source_walk(load(name))
    gone = {f"reddit:{d['id']}" for d in t1s if d["body"] in ("[deleted]", "[removed]")}
    assert gone
    comments = read(fixture(name)).comments
    deleted = [c for c in comments if c.is_deleted]
    assert {c.comment_id for c in deleted} == gone
    assert all(c.text == "" and c.author is None for c in deleted)
    # someone replied to at least one of them, and the reply still points at it
    assert {c.parent_id for c in comments} & gone


def test_quote_lines_and_markdown_stay_as_written():
    comments = read(fixture("n49rw.json")).comments
    quoting = [c for c in comments if c.text.startswith(">")]
    assert quoting and "> sudo Please work now." in {c.text.splitlines()[0] for c in quoting}
    assert any("&#3232;" in c.text for c in comments)  # typed by the user: not ours to decode


def test_reddit_escapes_are_undone_once(tmp_path):
    doc = copy.deepcopy(load("2gmzqe.json"))
    doc[1]["data"]["children"][0]["data"]["body"] = "&gt; a &amp;lt; b &amp; c &lt;3 &#3232;"
    c = read_doc(tmp_path, doc).comments[1]
    assert c.text == "> a &lt; b & c <3 &#3232;"


def test_link_post_and_removed_post(tmp_path):
    doc = copy.deepcopy(load("2gmzqe.json"))
    doc[0]["data"]["children"][0]["data"]["selftext"] = ""
    parsed = read_doc(tmp_path, doc)
    assert len(parsed.comments) == 2 and all(c.comment_id != "reddit:t3_2gmzqe" for c in parsed.comments)
    assert parsed.threads[0].thread_id == "2gmzqe"
    doc[0]["data"]["children"][0]["data"]["selftext"] = "[removed]"
    post = read_doc(tmp_path, doc).comments[0]
    assert post.comment_id == "reddit:t3_2gmzqe" and post.is_deleted and post.text == ""


def test_reading_is_deterministic():
    a, b = read(fixture("fo7p5b.json")), read(fixture("fo7p5b.json"))
    assert a == b


def test_deep_reply_chains_do_not_recurse(tmp_path):
    doc = copy.deepcopy(load("2gmzqe.json"))
    template = doc[1]["data"]["children"][0]
    node = doc[1]["data"]["children"] = [copy.deepcopy(template)]
    for depth in range(120):  # json's own nesting limit stops far deeper files, as an InputError
        data = node[0]["data"]
        data["id"] = f"d{depth}"
        data["replies"] = {"kind": "Listing", "data": {"children": [copy.deepcopy(template)]}}
        node = data["replies"]["data"]["children"]
        node[0]["data"]["parent_id"] = f"t1_d{depth}"
    node[0]["data"]["replies"] = ""
    comments = read_doc(tmp_path, doc).comments
    assert len(comments) == 1 + 121
    assert comments[-1].parent_id == "reddit:d119"
    with pytest.raises(InputError, match="nested too deeply"):
        READER.read(Path("deep.json"), b"[" * 100_000, Context())


# --- morechildren -----------------------------------------------------------------------------


def test_morechildren_comments_attach_to_the_listing():
    responses = load(MORECHILDREN)
    raw = [t["data"] for r in responses for t in r["json"]["data"]["things"] if t["kind"] == "t1"]
    listing = read(fixture("n49rw.json"))
    more = read(fixture(MORECHILDREN))
    assert more.threads == []
    assert [c.comment_id for c in more.comments] == [f"reddit:{d['id']}" for d in raw]
    assert len(more.comments) == 940
    assert {c.thread_id for c in more.comments} == {"n49rw"}
    assert sum(c.is_deleted for c in more.comments) == 15
    # these responses hold new comments only, and every parent is in one file or the other
    listing_ids = {c.comment_id for c in listing.comments}
    more_ids = {c.comment_id for c in more.comments}
    assert not listing_ids & more_ids
    union = listing_ids | more_ids
    assert all(c.parent_id is None or c.parent_id in union for c in more.comments)
    assert sum(c.parent_id is None for c in more.comments) == 413
    assert sum(c.parent_id in listing_ids for c in more.comments) > 0
    assert sum(c.parent_id in more_ids for c in more.comments) > 0
    assert more.comments[0].record == "[0].things[0]"


def test_morechildren_repeats_are_kept_once(tmp_path):
    responses = copy.deepcopy(load(MORECHILDREN)[:2])
    first = responses[0]["json"]["data"]["things"][0]
    changed = copy.deepcopy(first)
    changed["data"]["body"] = "a later copy"
    responses[1]["json"]["data"]["things"].insert(0, changed)
    t1s = sum(t["kind"] == "t1" for r in load(MORECHILDREN)[:2] for t in r["json"]["data"]["things"])
    comments = read_doc(tmp_path, responses).comments
    ids = [c.comment_id for c in comments]
    assert len(ids) == len(set(ids)) == t1s
    assert comments[0].text == first["data"]["body"]


def test_morechildren_orphans_are_kept(tmp_path):
    comments = read_doc(tmp_path, load(MORECHILDREN)[100:102]).comments
    assert comments and all(c.parent_id is not None for c in comments)


def test_single_morechildren_response_object(tmp_path):
    response = load(MORECHILDREN)[0]
    comments = read_doc(tmp_path, response).comments
    assert len(comments) == sum(t["kind"] == "t1" for t in response["json"]["data"]["things"])


# --- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*LISTINGS, MORECHILDREN])
def test_sniff_recognises_the_fixtures(name):
    path = fixture(name)
    assert READER.sniff(path, path.read_bytes()[:4096])


def test_sniff_recognises_bom_and_pretty_printing():
    doc = load("2gmzqe.json")
    assert READER.sniff(Path("t.json"), b"\xef\xbb\xbf" + json.dumps(doc, indent=2).encode()[:4096])
    assert READER.sniff(Path("t.json"), json.dumps(load(MORECHILDREN)[:1], indent=1).encode()[:4096])


@pytest.mark.parametrize(
    "name", ["algolia-v1-fixtures.json", "algolia-v1-fixtures-2014.json", "hn-comments-1000-sample.jsonl"]
)
def test_sniff_rejects_hacker_news(name):
    path = shared_path("fixtures", "hn", name)
    assert not READER.sniff(path, path.read_bytes()[:4096])


def test_sniff_rejects_other_json():
    flat = gzip.decompress(shared_path("fixtures", "hn", "hn-thread-48849066-flat.json.gz").read_bytes())
    heads = [
        flat[:4096],
        b'{"id": "a1", "author": "x", "time": 1771941791, "text": "hello"}\n',
        b'[{"id": "a1", "author": "x", "time": 1771941791, "text": "hello", "kind": "Listing"}]',
        b'{"kind": "Listing", "data": {"children": []}}',
        b"> a quote\nA reply.\n",
        b"",
    ]
    assert not any(READER.sniff(Path("t.json"), head) for head in heads)


# --- bad input --------------------------------------------------------------------------------


def test_truncated_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "cut.json"
    data = fixture("2gmzqe.json").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}:1: not valid JSON: ")
    assert "(line 1, column" in str(info.value)


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"hits": []}, "neither a Reddit comment listing"),
        ([], "neither a Reddit comment listing"),
        ([{"kind": "Listing", "data": {"children": []}}], "list of two Listings"),
        ([{"kind": "Listing", "data": {"children": []}}, {"kind": "Listing"}], " [1]: expected a Listing"),
    ],
)
def test_unreadable_documents(tmp_path, doc, problem):
    with pytest.raises(InputError) as info:
        read_doc(tmp_path, doc, Context(skip_bad=True))
    assert str(info.value).startswith(str(tmp_path / "t.json")) and problem in str(info.value)


def test_a_bad_comment_is_named_then_skipped(tmp_path):
    doc = copy.deepcopy(load("fo7p5b.json"))
    bad = doc[1]["data"]["children"][0]["data"]
    bad["created_utc"] = "yesterday"
    with pytest.raises(InputError) as info:
        read_doc(tmp_path, doc)
    assert str(info.value) == (
        f"{tmp_path / 't.json'} [1].children[0]: `created_utc` must be epoch seconds, got a string"
    )
    assert info.value.record == "[1].children[0]" and info.value.line is None

    ctx = Context(skip_bad=True)
    comments = read_doc(tmp_path, doc, ctx).comments
    assert [e.record for e in ctx.skipped] == ["[1].children[0]"]
    assert len(comments) == len(read(fixture("fo7p5b.json")).comments) - 1
    # its replies are still read; the caller's tree check drops them as orphans, by name
    assert "reddit:fldvw9o" not in {c.comment_id for c in comments}
    assert any(c.parent_id == "reddit:fldvw9o" for c in comments)


@pytest.mark.parametrize(
    ("where", "field", "value", "problem"),
    [
        ("reply", "id", 7, "`id` must be a non-empty string, got a number"),
        ("reply", "body", None, "`body` must be a string, got null"),
        ("reply", "parent_id", "t1_elsewhere", "disagrees with its place (a reply to t1_fldvw9o)"),
        ("reply", "link_id", "n49rw", "`link_id` must look like t3_id"),
        ("reply", "created_utc", 1e300, "out of range"),
        ("more", "count", -1, "`count` of a more stub must be a non-negative integer"),
        ("post", "selftext", 5, "`selftext` must be a string"),
    ],
)
def test_bad_fields_are_located(tmp_path, where, field, value, problem):
    doc = copy.deepcopy(load("fo7p5b.json"))
    if where == "reply":
        thing = doc[1]["data"]["children"][0]["data"]["replies"]["data"]["children"][0]
        record = "[1].children[0].replies.children[0]"
    elif where == "more":
        thing, record = doc[1]["data"]["children"][-1], f"[1].children[{len(doc[1]['data']['children']) - 1}]"
    else:
        thing, record = doc[0]["data"]["children"][0], "[0].children[0]"
    thing["data"][field] = value
    with pytest.raises(InputError) as info:
        read_doc(tmp_path, doc)
    assert info.value.record == record and problem in info.value.problem
    ctx = Context(skip_bad=True)
    parsed = read_doc(tmp_path, doc, ctx)
    assert [e.record for e in ctx.skipped] == [record]
    assert (parsed.threads == []) == (where == "post")


def test_bad_things_in_morechildren(tmp_path):
    responses = copy.deepcopy(load(MORECHILDREN)[:3])
    responses[0]["json"]["data"]["things"][2] = {"kind": "t1"}
    responses[1] = {"json": {"errors": [["RATELIMIT", "you are doing that too much", "ratelimit"]]}}
    responses[2]["json"]["data"]["things"][0]["kind"] = "t5"
    ctx = Context(skip_bad=True)
    comments = read_doc(tmp_path, responses, ctx).comments
    assert [(e.record, e.problem) for e in ctx.skipped] == [
        ("[0].things[2]", "`data` of a t1 thing must be an object, got null"),
        ("[1]", 'Reddit answered with errors: [["RATELIMIT", "you are doing that too much", "ratelimit"]]'),
        ("[2].things[0]", 'expected a t1 comment or a more stub, got kind "t5"'),
    ]
    kept = [
        t
        for r in (responses[0], responses[2])
        for t in r["json"]["data"]["things"]
        if t["kind"] == "t1" and "data" in t
    ]
    assert [c.comment_id for c in comments] == [f"reddit:{t['data']['id']}" for t in kept]


# --- nothing but StancemapError escapes -------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["t1", "t3", "more", "Listing", "t1_fldvw9o", "t3_fo7p5b", "[deleted]", "", "&amp;"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
KEYS = {"kind", "data", "children", "replies", "id", "body", "created_utc", "parent_id", "link_id", "count"}
KEYS |= {"author", "score", "permalink", "subreddit", "selftext", "title", "json", "things", "errors"}


def small_docs() -> list[object]:
    """Short versions of the fixtures, so that a mutation often hits a field the reader uses."""
    fo = copy.deepcopy(load("fo7p5b.json"))
    fo[1]["data"]["children"] = fo[1]["data"]["children"][:2] + fo[1]["data"]["children"][-1:]
    more = copy.deepcopy(load(MORECHILDREN)[:2])
    for r in more:
        r["json"]["data"]["things"] = r["json"]["data"]["things"][:4]
    return [load("2gmzqe.json"), fo, more]


def paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in KEYS:
                found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths(inner, (*prefix, i))
    return found


@cache
def mutation_targets() -> list[tuple[object, list[tuple]]]:
    return [(doc, paths(doc)) for doc in small_docs()]


def read_any(data: bytes) -> None:
    """Read `data` strictly and leniently; only StancemapError may escape, and a file read
    strictly without complaint reads the same leniently."""
    strict = lenient = None
    for skip_bad in (False, True):
        ctx = Context(skip_bad=skip_bad)
        try:
            parsed = READER.read(Path("fuzz.json"), data, ctx)
        except StancemapError:
            continue
        assert isinstance(parsed, Parsed)
        assert all(isinstance(c.comment_id, str) and isinstance(c.text, str) for c in parsed.comments)
        if skip_bad:
            lenient = (parsed, ctx.skipped)
        else:
            strict = parsed
    if strict is not None:
        assert lenient == (strict, [])


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data):
    read_any(data)


@FUZZ
@given(st.sampled_from(LISTINGS[:1] + [MORECHILDREN]), st.floats(0, 1))
def test_truncated_fixtures(name, share):
    data = fixture(name).read_bytes()
    data = data[: int(len(data) * share) if name != MORECHILDREN else int(60_000 * share)]
    read_any(data)


@FUZZ
@given(st.data())
def test_mutated_documents(data):
    doc, targets = data.draw(st.sampled_from(mutation_targets()))
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(targets))
        if not path:
            doc = data.draw(JSON_VALUES)
            continue
        holder = doc
        try:
            for step in path[:-1]:
                holder = holder[step]
            if data.draw(st.booleans()) and isinstance(holder, dict):
                holder.pop(path[-1], None)
            else:
                holder[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    read_any(json.dumps(doc).encode())
