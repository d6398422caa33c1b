"""The Hacker News reader on the real fixtures in ../shared and on small hand-made items."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancemap.errors import InputError, StancemapError
from stancemap.ingest.base import Context, Parsed
from stancemap.ingest.hn import HackerNewsReader, html_to_text
from tests.conftest import shared_path

READER = HackerNewsReader()
FIXTURES = ("fixtures", "hn")


def read(path: Path, ctx: Context | None = None) -> Parsed:
    return READER.read(path, path.read_bytes(), ctx or Context())


def write(tmp_path: Path, value: object, name: str = "thread.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def recorded(url_end: str) -> dict:
    """The reply recorded for the first Algolia URL ending in `url_end`."""
    entries = json.loads(shared_path(*FIXTURES, "algolia-v1-fixtures-2014.json").read_text(encoding="utf-8"))
    return next(e["reply"] for e in entries if e["url"].endswith(url_end))


def assert_whole_trees(parsed: Parsed) -> None:
    """Ids are unique, every parent is a comment of the same thread, every chain ends at a root."""
    by_id = {c.comment_id: c for c in parsed.comments}
    assert len(by_id) == len(parsed.comments)
    assert {c.thread_id for c in parsed.comments} <= {t.thread_id for t in parsed.threads}
    for c in parsed.comments:
        seen = set()
        node = c
        while node.parent_id is not None:
            assert node.parent_id in by_id, f"{node.comment_id} replies to missing {node.parent_id}"
            assert node.comment_id not in seen
            seen.add(node.comment_id)
            node = by_id[node.parent_id]
            assert node.thread_id == c.thread_id


def count_algolia(node: dict) -> int:
    """Comments an Algolia item tree holds: every comment, plus a story only when it has text."""
    own = 1 if node["type"] == "comment" or (node["type"] == "story" and node.get("text")) else 0
    return own + sum(count_algolia(child) for child in node.get("children") or [])


# --- real fixtures -------------------------------------------------------------------------------


def test_firebase_sample_reads_every_line():
    path = shared_path(*FIXTURES, "hn-comments-1000-sample.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = read(path)
    assert len(parsed.comments) == len(lines) == 1000
    assert [c.comment_id for c in parsed.comments] == [f"hn:{r['id']}" for r in lines]
    assert [c.source_line for c in parsed.comments] == list(range(1, 1001))
    assert_whole_trees(parsed)
    ids = {r["id"] for r in lines}
    for c, r in zip(parsed.comments, lines, strict=True):
        assert c.author == r["by"]
        assert c.created_at == datetime.fromtimestamp(int(r["time"]), tz=UTC)
        assert c.url == f"https://news.ycombinator.com/item?id={r['id']}"
        assert c.source == "hn" and c.record is None
        # the parent is kept only when it is in the file; else it names the thread
        assert c.parent_id == (f"hn:{r['parent']}" if r["parent"] in ids else None)
        if r["parent"] not in ids:
            assert c.thread_id == r["parent"]
        assert "<p>" not in c.text and "&#x27;" not in c.text
    assert sum(c.parent_id is not None for c in parsed.comments) == sum(r["parent"] in ids for r in lines)


def test_firebase_sample_quotes_start_their_own_line():
    parsed = read(shared_path(*FIXTURES, "hn-comments-1000-sample.jsonl"))
    quoting = next(c for c in parsed.comments if c.comment_id == "hn:33103581")
    assert quoting.text.splitlines()[0] == "> No one is quite sure why."
    assert quoting.text.splitlines()[1].startswith("On the contrary")


def test_flat_dump_from_gzip(tmp_path):
    path = shared_path(*FIXTURES, "hn-thread-48849066-flat.json.gz")
    data = gzip.decompress(path.read_bytes())
    records = json.loads(data)
    parsed = READER.read(path, data, Context())
    assert len(parsed.comments) == len(records) == 1079
    assert [c.comment_id for c in parsed.comments] == [f"hn:{r['id']}" for r in records]
    # no parents and no story ids: one thread named after the file, every comment top level
    assert [t.thread_id for t in parsed.threads] == ["hn-thread-48849066-flat"]
    assert all(c.parent_id is None and c.thread_id == "hn-thread-48849066-flat" for c in parsed.comments)
    assert all(c.source_line is None and c.record == f"[{i}]" for i, c in enumerate(parsed.comments))
    assert not any("<p>" in c.text or "&quot;" in c.text or "&#x27;" in c.text for c in parsed.comments)
    reply = next(c for c in parsed.comments if c.comment_id == "hn:48863179")
    assert reply.text.startswith("> Even worse, it's not a fair comparison")
    assert reply.text.splitlines()[1].startswith("We agree models")
    coded = next(c for c in parsed.comments if "Main session agent" in c.text)
    assert "\n  * Main session agent: gpt-5.6-sol (high) via OpenAI subscription\n" in coded.text
    assert "\n  * Using `obra/superpowers` for subagent driven workflows\n" in coded.text


def test_algolia_item_17_is_a_comment_root(tmp_path):
    reply = recorded("/api/v1/items/17")
    parsed = read(write(tmp_path, reply))
    assert len(parsed.comments) == count_algolia(reply) == 3
    root, first, second = parsed.comments
    assert (root.comment_id, root.parent_id, root.thread_id) == ("hn:17", None, "1")
    assert root.text == "Is there anywhere to eat on Sandhill Road?"
    assert root.author == "pg" and root.score == 5
    assert root.created_at == datetime(2006, 10, 9, 19, 52, 45, tzinfo=UTC)
    assert [(c.comment_id, c.parent_id, c.record) for c in (first, second)] == [
        ("hn:1079", "hn:17", "children[0]"),
        ("hn:454426", "hn:17", "children[1]"),
    ]
    assert second.text == "This is why we can't have nice things."
    assert [t.thread_id for t in parsed.threads] == ["1"]
    assert_whole_trees(parsed)


@pytest.mark.parametrize("name", ["algolia-v1-fixtures.json", "algolia-v1-fixtures-2014.json"])
def test_algolia_search_responses(tmp_path, name):
    entries = json.loads(shared_path(*FIXTURES, name).read_text(encoding="utf-8"))
    searches = [e["reply"] for e in entries if "hits" in e["reply"]]
    assert searches
    for n, reply in enumerate(searches):
        parsed = read(write(tmp_path, reply, f"search{n}.json"))
        comments = [h for h in reply["hits"] if "comment" in h["_tags"]]
        stories = [h for h in reply["hits"] if "comment" not in h["_tags"]]
        with_text = [h for h in stories if h.get("story_text")]
        assert len(parsed.comments) == len(comments) + len(with_text)
        ids = {h["objectID"] for h in comments}
        by_id = {c.comment_id: c for c in parsed.comments}
        for i, hit in enumerate(reply["hits"]):
            if hit in stories:
                assert any(t.thread_id == hit["objectID"] and t.title == hit["title"] for t in parsed.threads)
                continue
            c = by_id[f"hn:{hit['objectID']}"]
            assert c.record == f"hits[{i}]" and c.source_line is None
            assert c.thread_id == str(hit["story_id"])
            assert c.parent_id == (f"hn:{hit['parent_id']}" if str(hit["parent_id"]) in ids else None)
            assert c.score == hit["points"]
        assert_whole_trees(parsed)


def test_search_hit_names_its_story(tmp_path):
    parsed = read(write(tmp_path, recorded("/api/v1/search?tags=comment")))
    thread = next(t for t in parsed.threads if t.thread_id == "6805699")
    assert thread.title == "Started a stupid company. Failed. "
    assert thread.url == "https://news.ycombinator.com/item?id=6805699"  # story_url "" (an Ask HN)


# --- hand-made shapes ----------------------------------------------------------------------------


def algolia_story() -> dict:
    def comment(ident, parent, text, children=(), **extra):
        node = {
            "id": ident,
            "type": "comment",
            "author": f"u{ident}",
            "created_at_i": 1700000000 + ident,
            "text": text,
            "points": None,
            "parent_id": parent,
            "story_id": 100,
            "children": list(children),
        }
        return node | extra

    return {
        "id": 100,
        "type": "story",
        "author": "asker",
        "created_at_i": 1700000000,
        "title": "Ask HN: Why?",
        "url": None,
        "text": "<p>Why is the sky blue?</p>",
        "points": 42,
        "parent_id": None,
        "story_id": 100,
        "children": [
            comment(101, 100, "Rayleigh scattering.", [comment(103, 101, "<p>&gt; Rayleigh<p>Yes.</p>")]),
            comment(102, 100, None, [comment(104, 102, "Reply to a deleted one")], author=None),
            {"id": 105, "type": "pollopt", "text": "option", "children": []},
        ],
    }


def test_algolia_story_tree(tmp_path):
    story = algolia_story()
    parsed = read(write(tmp_path, story))
    assert [c.comment_id for c in parsed.comments] == ["hn:100", "hn:101", "hn:103", "hn:102", "hn:104"]
    assert len(parsed.comments) == count_algolia(story)
    text, a, a_reply, gone, gone_reply = parsed.comments
    # the story's own text is a top-level comment beside the replies, not above them
    assert (text.text, text.parent_id, text.author, text.score) == ("Why is the sky blue?", None, "asker", 42)
    assert a.parent_id is None and a_reply.parent_id == "hn:101"
    assert a_reply.text == "> Rayleigh\nYes."
    assert a_reply.record == "children[0].children[0]"
    assert (gone.text, gone.is_deleted, gone.author) == ("", True, None)
    assert gone_reply.parent_id == "hn:102" and not gone_reply.is_deleted
    assert {c.thread_id for c in parsed.comments} == {"100"}
    assert [(t.thread_id, t.title, t.url) for t in parsed.threads] == [
        ("100", "Ask HN: Why?", "https://news.ycombinator.com/item?id=100")
    ]
    assert_whole_trees(parsed)


def test_link_story_without_text_is_only_a_thread(tmp_path):
    story = algolia_story() | {"text": None, "url": "https://example.com/post"}
    parsed = read(write(tmp_path, story))
    assert "hn:100" not in {c.comment_id for c in parsed.comments}
    assert parsed.threads[0].url == "https://example.com/post"


def test_firebase_list_follows_parents_to_the_story(tmp_path):
    items = [
        {"id": 3, "by": "c", "time": "1700000300", "text": "deep", "parent": 2, "type": "comment"},
        {
            "id": 1,
            "by": "op",
            "time": 1700000000,
            "title": "A story",
            "url": "https://x.org",
            "type": "story",
            "kids": [2],
            "score": 7,
        },
        {"id": 2, "by": "b", "time": 1700000100, "text": "top", "parent": 1, "type": "comment", "kids": [3, 4]},
        {"id": 4, "deleted": True, "time": 1700000200, "parent": 2, "type": "comment"},
        {"id": 5, "by": "d", "time": 1700000400, "text": "[dead]", "parent": 4, "dead": True},
        {"id": 9, "by": "e", "time": 1700000500, "text": "orphan", "parent": 8},
        {"id": 10, "by": "f", "time": 1700000600, "text": "alone"},
    ]
    parsed = read(write(tmp_path, items, "items.json"))
    got = {c.comment_id: c for c in parsed.comments}
    assert list(got) == ["hn:3", "hn:2", "hn:4", "hn:5", "hn:9", "hn:10"]  # document order
    assert got["hn:3"].parent_id == "hn:2" and got["hn:3"].thread_id == "1"
    assert got["hn:2"].parent_id is None and got["hn:2"].thread_id == "1"
    assert got["hn:3"].created_at == datetime.fromtimestamp(1700000300, tz=UTC)
    assert (got["hn:4"].is_deleted, got["hn:4"].text, got["hn:4"].author) == (True, "", None)
    assert (got["hn:5"].is_deleted, got["hn:5"].text, got["hn:5"].parent_id) == (True, "", "hn:4")
    assert (got["hn:9"].thread_id, got["hn:9"].parent_id) == ("8", None)  # the absent parent names the thread
    assert got["hn:10"].thread_id == "items"  # no parent at all: the file's name
    assert [(t.thread_id, t.title, t.url) for t in parsed.threads] == [
        ("1", "A story", "https://x.org"),
        ("8", None, None),
        ("items", None, None),
    ]
    assert got["hn:2"].record == "[2]"
    assert_whole_trees(parsed)


def test_json_file_holding_json_lines(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text('{"id": 1, "by": "a", "time": 1, "text": "x", "parent": 9}\n{"id": 2, "by": "b", "text": "y"}\n')
    parsed = read(path)
    assert [(c.comment_id, c.source_line) for c in parsed.comments] == [("hn:1", 1), ("hn:2", 2)]


def test_reading_twice_gives_the_same_output(tmp_path):
    path = write(tmp_path, algolia_story())
    assert read(path) == read(path)


# --- html_to_text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("It&#x27;s &quot;fine&quot; &amp; 1 &gt; 0", 'It\'s "fine" & 1 > 0'),
        ("one<p>two<p>three", "one\ntwo\nthree"),
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("&gt; quoted line<p>my answer", "> quoted line\nmy answer"),
        ("first<p> &gt; indented quote", "first\n> indented quote"),
        (
            'see <a href="https:&#x2F;&#x2F;example.com&#x2F;a&#x2F;very&#x2F;long?x=1&amp;y=2" rel="nofollow">'
            "https:&#x2F;&#x2F;example.com&#x2F;a&#x2F;ve...</a> here",
            "see https://example.com/a/very/long?x=1&y=2 here",
        ),
        ("<a>label only</a>", "label only"),
        ("<i>really</i> <b>so</b>", "really so"),
        ("code:<p><pre><code>  if x &gt; 1:\n      y()\n</code></pre>\nafter", "code:\n  if x > 1:\n      y()\nafter"),
        ("typed\nline  break", "typed\nline break"),
        ("", ""),
        ("<p><p>  </p>", ""),
        ("a < b and c<d", "a < b and c<d"),
        ("<![x[ odd", "<![x[ odd"),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_html_to_text_never_fails(html):
    out = html_to_text(html)
    assert "\n\n" not in out and out == out.strip()


# --- sniff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b'{"id":"1","by":"a","time":"1","text":"x","parent":"2"}\n',
        b'[{"id": 8, "by": "a", "kids": [9], "type": "story"}]',
        b'{"id": 17, "created_at": "2006", "created_at_i": 1160423565, "type": "comment", "children": []}',
        b'{"hits": [{"created_at": "x", "comment_text": "hi", "story_id": 1, "objectID": "5"}]}',
        b'\xef\xbb\xbf[{"id":48849103,"author":"system2","text":"At this point',
    ],
)
def test_sniff_accepts_hn(head):
    assert READER.sniff(Path("t.json"), head)


@pytest.mark.parametrize(
    "head",
    [
        b'{"id": "a1", "author": "x", "time": 1700000000, "text": "hello", "parent": null}\n',
        b'{"id": 1, "author": "x", "time": "2024-01-01", "text": "hello", "thread": "t"}\n',
        b'[{"id": "a1", "author": "x", "text": "hello"}]',
        b'[{"id": 1, "author": "x", "text": "hello", "thread": "demo"}]',
        b'[{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {"created_at_i": 1}}]}}]',
        b"plain text\n> quote\n",
        b"",
        b"\xff\xfe garbage",
    ],
)
def test_sniff_rejects_others(head):
    assert not READER.sniff(Path("t.json"), head)


def test_sniff_on_fixture_heads():
    for name in ("hn-comments-1000-sample.jsonl", "algolia-v1-fixtures.json"):
        data = shared_path(*FIXTURES, name).read_bytes()
        if name.startswith("algolia"):  # the wrapper is not HN; the replies it holds are
            entries = json.loads(data)
            for reply in (e["reply"] for e in entries if "hits" in e["reply"] or "children" in e["reply"]):
                assert READER.sniff(Path("r.json"), json.dumps(reply).encode()[:4096])
        else:
            assert READER.sniff(Path(name), data[:4096])
    flat = gzip.decompress(shared_path(*FIXTURES, "hn-thread-48849066-flat.json.gz").read_bytes())
    assert READER.sniff(Path("flat.json"), flat[:4096])
    for reddit in sorted(shared_path("fixtures", "reddit").glob("*.json")):
        assert not READER.sniff(reddit, reddit.read_bytes()[:4096]), reddit.name


# --- bad input -----------------------------------------------------------------------------------


def test_truncated_document_names_file_and_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(algolia_story(), indent=1)[:300], encoding="utf-8")
    with pytest.raises(InputError) as info:
        read(path, Context(skip_bad=True))
    assert info.value.path == str(path) and info.value.line is not None
    assert "not valid JSON" in str(info.value) and str(info.value).startswith(f"{path}:")


def test_bad_json_lines_are_reported_per_line(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"id": 1, "by": "a", "text": "ok"}\n{"id": 2, "by": \n[1, 2]\n{"id": 4, "by": "d", "text": "ok"}\n'
    )
    ctx = Context(skip_bad=True)
    parsed = read(path, ctx)
    assert [c.comment_id for c in parsed.comments] == ["hn:1", "hn:4"]
    assert [e.line for e in ctx.skipped] == [2, 3]
    assert ctx.skipped[0].problem.startswith("not valid JSON: Expecting value")
    assert ctx.skipped[1].problem == "expected an HN item (a JSON object), got a list"
    with pytest.raises(InputError, match=r"items\.jsonl:2: not valid JSON"):
        read(path)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": None}, "`id` must be an integer or a string"),
        ({"id": 1.5}, "`id` must be an integer or a string"),
        ({"created_at_i": "yesterday"}, "bad `created_at_i`"),
        ({"created_at_i": True}, "bad `created_at_i`"),
        ({"text": ["x"]}, "`text` must be a string or null"),
        ({"author": 7}, "`author` must be a string or null"),
        ({"children": "none"}, "`children` must be a list"),
    ],
)
def test_bad_record_is_reported_with_its_locator(tmp_path, change, problem):
    story = algolia_story()
    story["children"][0] = story["children"][0] | change
    path = write(tmp_path, story)
    with pytest.raises(InputError) as info:
        read(path)
    assert info.value.record == "children[0]" and info.value.line is None
    assert problem in info.value.problem and str(info.value).startswith(f"{path} [children[0]]: ")
    ctx = Context(skip_bad=True)
    parsed = read(path, ctx)
    ids = [c.comment_id for c in parsed.comments]
    assert "hn:101" not in ids and "hn:103" not in ids  # the reply goes with it
    assert ids == ["hn:100", "hn:102", "hn:104"]
    assert ctx.skipped[0].record == "children[0]"
    assert_whole_trees(parsed)


def test_missing_id_in_a_search_hit(tmp_path):
    reply = recorded("/api/v1/search?tags=comment")
    del reply["hits"][5]["objectID"]
    with pytest.raises(InputError, match=r"\[hits\[5\]\]: missing `id`"):
        read(write(tmp_path, reply))
    ctx = Context(skip_bad=True)
    assert len(read(write(tmp_path, reply), ctx).comments) == len(reply["hits"]) - 1
    assert [e.record for e in ctx.skipped] == ["hits[5]"]


def test_repeated_item_is_reported(tmp_path):
    items = [{"id": 1, "by": "a", "text": "x"}, {"id": 2, "by": "b", "text": "y"}, {"id": 1, "by": "c", "text": "z"}]
    ctx = Context(skip_bad=True)
    parsed = read(write(tmp_path, items), ctx)
    assert [c.text for c in parsed.comments] == ["x", "y"]
    assert [(e.record, e.problem) for e in ctx.skipped] == [("[2]", "item 1 repeats the one at [0]")]


@pytest.mark.parametrize("value", ["5", '"text"', "null", "true"])
def test_document_that_is_no_item(tmp_path, value):
    path = tmp_path / "odd.json"
    path.write_text(value)
    with pytest.raises(InputError, match="expected an HN item"):
        read(path, Context(skip_bad=True))


def test_non_utf8_is_an_input_error(tmp_path):
    path = tmp_path / "bin.json"
    path.write_bytes(b'[{"id": 1, "text": "\xff"}]')
    with pytest.raises(InputError, match="not UTF-8"):
        read(path)


# --- nothing but StancemapError escapes ----------------------------------------------------------


def survives(path: Path, data: bytes) -> None:
    for ctx in (Context(skip_bad=False), Context(skip_bad=True)):
        try:
            parsed = READER.read(path, data, ctx)
        except StancemapError:
            continue
        assert isinstance(parsed, Parsed)
        if ctx.skip_bad:
            assert all(isinstance(e, InputError) for e in ctx.skipped)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".json", ".jsonl"]))
def test_random_bytes(tmp_path, data, suffix):
    survives(tmp_path / f"x{suffix}", data)


@FUZZ
@given(cut=st.floats(0, 1), name=st.sampled_from(["sample", "flat", "item17"]))
def test_truncated_fixtures(tmp_path, cut, name):
    if name == "sample":
        data, suffix = shared_path(*FIXTURES, "hn-comments-1000-sample.jsonl").read_bytes()[:20000], ".jsonl"
    elif name == "flat":
        data = gzip.decompress(shared_path(*FIXTURES, "hn-thread-48849066-flat.json.gz").read_bytes())[:20000]
        suffix = ".json"
    else:
        data, suffix = json.dumps(recorded("/api/v1/items/17")).encode(), ".json"
    survives(tmp_path / f"t{suffix}", data[: int(len(data) * cut)])


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["1700000000", "2024-01-01T00:00:00Z", "[deleted]", "<p>&gt; q", "story", "comment", "pollopt"]),
)
KEYS = [
    "id",
    "by",
    "author",
    "time",
    "text",
    "parent",
    "parent_id",
    "story_id",
    "type",
    "deleted",
    "dead",
    "children",
    "hits",
    "objectID",
    "comment_text",
    "story_text",
    "created_at_i",
    "created_at",
    "title",
    "url",
    "points",
    "score",
    "kids",
    "_tags",
    "story_title",
    "story_url",
]
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=8),
    max_leaves=30,
)


@FUZZ
@given(value=values, suffix=st.sampled_from([".json", ".jsonl"]))
def test_random_structures(tmp_path, value, suffix):
    text = json.dumps(value)
    survives(tmp_path / f"s{suffix}", text.encode())
    if isinstance(value, list):  # the same records as JSON Lines
        survives(tmp_path / "l.jsonl", "\n".join(json.dumps(v) for v in value).encode())


@FUZZ
@given(st.data())
def test_mutated_fixtures(tmp_path, data):
    doc = data.draw(st.sampled_from([algolia_story(), recorded("/api/v1/items/17"), recorded("search?tags=comment")]))

    def mutate(node):
        if isinstance(node, dict):
            out = {}
            for key, val in node.items():
                choice = data.draw(st.integers(0, 9))
                if choice == 0:
                    continue  # drop the key
                out[key] = data.draw(values) if choice == 1 else mutate(val)
            return out
        if isinstance(node, list):
            return [mutate(v) for v in node if data.draw(st.integers(0, 9))]
        return node

    survives(tmp_path / "m.json", json.dumps(mutate(doc)).encode())
