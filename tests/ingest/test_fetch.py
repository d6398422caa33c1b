"""`stancemap fetch` against a local HTTP server replaying recorded Algolia and Reddit replies.
Nothing here touches the internet; sleeps go through an injected recorder, so nothing waits."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from stancemap import __version__
from stancemap.errors import StancemapError
from stancemap.fetch import FetchConfig, Target, fetch, parse_target, retry_after
from tests.conftest import shared_path

Reply = tuple[int, bytes, dict[str, str]]


class RecordedServer:
    """Serves canned replies per path; a path given several replies plays them in turn, then repeats
    the last. Records every request's path and headers."""

    def __init__(self):
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                replies = server.routes.get(self.path) or [(404, b'{"error": "not found"}', {})]
                status, body, headers = replies.pop(0) if len(replies) > 1 else replies[0]
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)


@pytest.fixture
def server(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    srv = RecordedServer()
    thread = threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def hn_body() -> bytes:
    recorded = json.loads(shared_path("fixtures", "hn", "algolia-v1-fixtures.json").read_text(encoding="utf-8"))
    (reply,) = [r["reply"] for r in recorded if r["url"] == "/api/v1/items/17"]
    return json.dumps(reply).encode()


@pytest.fixture(scope="module")
def reddit_body() -> bytes:
    return shared_path("fixtures", "reddit", "2gmzqe.json").read_bytes()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def config_for(server: RecordedServer, **overrides) -> FetchConfig:
    return FetchConfig(hn_api=f"{server.url}/api/v1", reddit_base=server.url, **overrides)


def ok(body: bytes, headers: dict[str, str] | None = None) -> Reply:
    return (200, body, headers or {})


def assert_nothing_written(out: Path) -> None:
    assert not out.exists() or list(out.iterdir()) == []


def check_saved(paths: list[Path], stem: str, body: bytes, url: str, given: str) -> None:
    data, note = paths
    assert data.name == f"{stem}.json" and note.name == f"{stem}.provenance.json"
    assert data.read_bytes() == body  # as received, not re-serialised
    prov = json.loads(note.read_text(encoding="utf-8"))
    assert prov["url"] == url
    assert prov["target"] == given
    assert prov["status"] == 200
    assert prov["sha256"] == hashlib.sha256(body).hexdigest()
    assert prov["bytes"] == len(body)
    assert prov["user_agent"] == f"stancemap/{__version__} (+offline argument mapping; contact via project README)"
    fetched = datetime.fromisoformat(prov["fetched_at"])
    assert fetched.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - fetched) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("given", "site", "item_id"),
    [
        ("hn:8863", "hn", "8863"),
        (" HN:8863 ", "hn", "8863"),
        ("https://news.ycombinator.com/item?id=8863", "hn", "8863"),
        ("news.ycombinator.com/item?id=8863&p=2", "hn", "8863"),
        ("reddit:n49rw", "reddit", "n49rw"),
        ("https://www.reddit.com/r/announcements/comments/n49rw/some_title/", "reddit", "n49rw"),
        ("https://old.reddit.com/r/announcements/comments/n49rw/", "reddit", "n49rw"),
        ("https://reddit.com/comments/n49rw", "reddit", "n49rw"),
        ("https://redd.it/n49rw", "reddit", "n49rw"),
    ],
)
def test_target_forms(given, site, item_id):
    target = parse_target(given)
    assert (target.site, target.item_id, target.given) == (site, item_id, given)


@pytest.mark.parametrize(
    "given",
    [
        "8863",
        "hn:abc",
        "reddit:",
        "https://example.com/item?id=8863",
        "https://news.ycombinator.com/user?id=pg",
        "https://www.reddit.com/r/announcements/",
        "ftp://news.ycombinator.com/item?id=1",
        "",
    ],
)
def test_unrecognised_target_is_a_clear_error_before_any_request(server, tmp_path, sleeps, given):
    with pytest.raises(StancemapError, match="give one of .*hn:8863.*reddit:n49rw") as err:
        fetch(["hn:17", given], tmp_path / "raw", config_for(server), sleep=sleeps.append)
    assert repr(given) in str(err.value)
    assert server.requests == []  # every target is checked before anything is fetched
    assert_nothing_written(tmp_path / "raw")


@pytest.mark.parametrize("given", ["hn:17", "https://news.ycombinator.com/item?id=17"])
def test_fetch_hacker_news(server, hn_body, tmp_path, sleeps, given):
    server.route("/api/v1/items/17", ok(hn_body))
    paths = fetch([given], tmp_path / "raw", config_for(server), sleep=sleeps.append)
    check_saved(paths, "hn-17", hn_body, f"{server.url}/api/v1/items/17", given)
    ((path, headers),) = server.requests
    assert path == "/api/v1/items/17"
    assert headers["User-Agent"].startswith(f"stancemap/{__version__} (+")
    assert sleeps == []


@pytest.mark.parametrize("given", ["reddit:2gmzqe", "https://www.reddit.com/r/redditdev/comments/2gmzqe/praw_https/"])
def test_fetch_reddit(server, reddit_body, tmp_path, sleeps, given):
    server.route("/comments/2gmzqe.json", ok(reddit_body))
    paths = fetch([given], tmp_path / "raw", config_for(server), sleep=sleeps.append)
    check_saved(paths, "reddit-2gmzqe", reddit_body, f"{server.url}/comments/2gmzqe.json", given)
    ((path, headers),) = server.requests
    assert path == "/comments/2gmzqe.json"
    assert headers["User-Agent"] == FetchConfig().user_agent


def test_several_targets_pause_between_and_repeats_fetch_once(server, hn_body, reddit_body, tmp_path, sleeps):
    server.route("/api/v1/items/17", ok(hn_body))
    server.route("/comments/2gmzqe.json", ok(reddit_body))
    out = tmp_path / "raw"
    paths = fetch(
        ["hn:17", "reddit:2gmzqe", "https://news.ycombinator.com/item?id=17"],
        out,
        config_for(server, delay=0.25),
        sleep=sleeps.append,
    )
    assert [p.name for p in paths] == [
        "hn-17.json",
        "hn-17.provenance.json",
        "reddit-2gmzqe.json",
        "reddit-2gmzqe.provenance.json",
    ]
    assert sorted(out.iterdir()) == sorted(paths)  # no temporary files left behind
    assert len(server.requests) == 2
    assert sleeps == [0.25]


def test_retries_503_with_exponential_backoff(server, hn_body, tmp_path, sleeps):
    server.route("/api/v1/items/17", (503, b"busy", {}), (503, b"busy", {}), ok(hn_body))
    paths = fetch(["hn:17"], tmp_path, config_for(server, backoff=0.5), sleep=sleeps.append)
    assert paths[0].read_bytes() == hn_body
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_429_honours_retry_after_capped(server, reddit_body, tmp_path, sleeps):
    server.route(
        "/comments/2gmzqe.json",
        (429, b"slow down", {"Retry-After": "7"}),
        (429, b"slow down", {"Retry-After": "3600"}),
        ok(reddit_body),
    )
    fetch(["reddit:2gmzqe"], tmp_path, config_for(server, max_wait=20), sleep=sleeps.append)
    assert sleeps == [7.0, 20.0]


def test_retry_after_as_http_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    response = httpx.Response(429, headers={"Retry-After": later})
    assert retry_after(response, now) == 90
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"}), now) is None
    assert retry_after(httpx.Response(429), now) is None


def test_persistent_5xx_gives_up_after_the_attempts(server, tmp_path, sleeps):
    server.route("/api/v1/items/17", (502, b"bad gateway", {}))
    with pytest.raises(StancemapError, match=r"still answered 502 after 3 attempts .*try again later"):
        fetch(["hn:17"], tmp_path / "raw", config_for(server, attempts=3), sleep=sleeps.append)
    assert len(server.requests) == 3
    assert sleeps == [1.0, 2.0]
    assert_nothing_written(tmp_path / "raw")


@pytest.mark.parametrize(
    ("given", "path", "message"),
    [
        ("hn:123", "/api/v1/items/123", "no such Hacker News item 123 (404 from {url})"),
        ("reddit:zzz9", "/comments/zzz9.json", "no such Reddit thread zzz9 (404 from {url})"),
    ],
)
def test_404_is_a_clear_error_and_not_retried(server, tmp_path, sleeps, given, path, message):
    with pytest.raises(StancemapError) as err:
        fetch([given], tmp_path / "raw", config_for(server), sleep=sleeps.append)
    assert str(err.value) == message.format(url=server.url + path)
    assert len(server.requests) == 1 and sleeps == []
    assert_nothing_written(tmp_path / "raw")


@pytest.mark.parametrize(
    ("given", "path", "body", "problem"),
    [
        ("hn:17", "/api/v1/items/17", b"<html>Service unavailable</html>", "not valid JSON"),
        ("hn:17", "/api/v1/items/17", b'{"id": 17, "text": "no children"}', 'object with "id" and a "children" list'),
        ("hn:17", "/api/v1/items/17", b'{"id": 18, "children": []}', "asked for item 17 but the reply is item 18"),
        ("reddit:2gmzqe", "/comments/2gmzqe.json", b'{"kind": "Listing"}', "a list of two Listings"),
        ("reddit:2gmzqe", "/comments/2gmzqe.json", b"", "not valid JSON"),
    ],
)
def test_bad_body_is_a_clear_error_and_nothing_written(server, tmp_path, sleeps, given, path, body, problem):
    server.route(path, ok(body))
    out = tmp_path / "raw"
    with pytest.raises(StancemapError) as err:
        fetch([given], out, config_for(server), sleep=sleeps.append)
    assert str(err.value).startswith(f"{server.url}{path}: ")
    assert problem in str(err.value) and "nothing was saved" in str(err.value)
    assert_nothing_written(out)


def test_failed_refetch_keeps_the_previous_file(server, hn_body, tmp_path, sleeps):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "hn-17.json").write_bytes(hn_body)
    server.route("/api/v1/items/17", ok(b"not json"))
    with pytest.raises(StancemapError, match="not valid JSON"):
        fetch(["hn:17"], out, config_for(server), sleep=sleeps.append)
    assert [p.name for p in out.iterdir()] == ["hn-17.json"]
    assert (out / "hn-17.json").read_bytes() == hn_body


def test_error_after_a_saved_thread_names_what_was_saved(server, hn_body, tmp_path, sleeps):
    server.route("/api/v1/items/17", ok(hn_body))
    with pytest.raises(StancemapError, match=r"no such Hacker News item 5 .*saved before this error: .*hn-17\.json"):
        fetch(["hn:17", "hn:5"], tmp_path, config_for(server), sleep=sleeps.append)
    assert (tmp_path / "hn-17.provenance.json").exists()


def test_offline_is_a_clear_error_after_bounded_attempts(tmp_path, sleeps):
    with socket.socket() as sock:  # find a port, then close it so nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = FetchConfig(hn_api=f"http://127.0.0.1:{port}/api/v1", reddit_base=f"http://127.0.0.1:{port}", attempts=3)
    with pytest.raises(StancemapError) as err:
        fetch(["hn:17"], tmp_path / "raw", config, sleep=sleeps.append)
    message = str(err.value)
    assert message.startswith(f"cannot reach 127.0.0.1:{port} after 3 attempts: ")
    assert message.endswith("; stancemap fetch needs a network connection (everything else runs offline)")
    assert "Traceback" not in message and "\n" not in message
    assert err.value.__cause__ is None
    assert sleeps == [1.0, 2.0]
    assert_nothing_written(tmp_path / "raw")


def test_target_equality_ignores_the_spelling():
    assert parse_target("hn:17") == parse_target("https://news.ycombinator.com/item?id=17") == Target("hn", "17", "")
