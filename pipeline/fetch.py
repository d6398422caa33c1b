"""Download Hacker News and Reddit threads as raw JSON into data/raw, with a provenance note.

The only stage that uses the network. It asks each site once per thread, politely: a descriptive
User-Agent, timeouts, a few retries with exponential backoff (honouring Retry-After), and a pause
between threads. The reply body is saved exactly as received, beside `<name>.provenance.json`
saying where and when it came from.

The retry loop is written here rather than taken from tenacity: httpx's own transport retries
cover only failed connects, tenacity is not a dependency, and honouring Retry-After needs the
response anyway. It is one short function.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from stancemap import __version__
from stancemap.errors import StancemapError
from stancemap.io import atomic_path, write_json

USER_AGENT = f"stancemap/{__version__} (+offline argument mapping; contact via project README)"
PROVENANCE_SUFFIX = ".provenance.json"
ACCEPTED_FORMS = (
    "https://news.ycombinator.com/item?id=8863, hn:8863, "
    "https://www.reddit.com/r/<subreddit>/comments/n49rw/<title>/, https://redd.it/n49rw or reddit:n49rw"
)
SITE_NAMES = {"hn": "Hacker News item", "reddit": "Reddit thread"}
RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
HN_HOSTS = {"news.ycombinator.com"}
REDDIT_HOSTS = {"reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com", "m.reddit.com"}
REDDIT_ID = re.compile(r"[a-z0-9]{1,13}")


@dataclass(frozen=True)
class FetchConfig:
    """Where to fetch from and how politely. Tests point `hn_api` and `reddit_base` at a local server."""

    hn_api: str = "https://hn.algolia.com/api/v1"
    reddit_base: str = "https://www.reddit.com"
    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 30.0
    attempts: int = 4  # tries per URL, the first included
    backoff: float = 1.0  # wait before the second try; doubles for each further one
    max_wait: float = 60.0  # cap on any single wait, Retry-After included
    delay: float = 1.0  # pause between successive threads

    def __post_init__(self):
        if self.attempts < 1:
            raise StancemapError(f"fetch attempts must be at least 1, got {self.attempts}")


@dataclass(frozen=True)
class Target:
    """A thread to fetch: the site ("hn" or "reddit"), its id there, and the text the user gave."""

    site: str
    item_id: str
    given: str = field(compare=False)

    @property
    def name(self) -> str:
        """The file stem: `hn-8863`, `reddit-n49rw`."""
        return f"{self.site}-{self.item_id}"

    def url(self, config: FetchConfig) -> str:
        if self.site == "hn":
            return f"{config.hn_api.rstrip('/')}/items/{self.item_id}"
        return f"{config.reddit_base.rstrip('/')}/comments/{self.item_id}.json"


def parse_target(text: str) -> Target:
    """A URL or `hn:ID` / `reddit:ID` -> Target; anything else -> StancemapError listing the accepted forms."""
    given = text
    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() == "hn" and rest.strip().isdigit():
        return Target("hn", str(int(rest.strip())), given)
    if sep and prefix.lower() == "reddit" and REDDIT_ID.fullmatch(rest.strip().lower()):
        return Target("reddit", rest.strip().lower(), given)
    parts = urlsplit(text if "://" in text else f"https://{text}")
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and host in HN_HOSTS and parts.path.rstrip("/") == "/item":
        ids = parse_qs(parts.query).get("id", [])
        if len(ids) == 1 and ids[0].isdigit():
            return Target("hn", str(int(ids[0])), given)
    if parts.scheme in ("http", "https") and host in REDDIT_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        # /r/<sub>/comments/<id>/... or /comments/<id>/...
        if "comments" in segments[:3]:
            i = segments.index("comments")
            if i + 1 < len(segments) and REDDIT_ID.fullmatch(segments[i + 1].lower()):
                return Target("reddit", segments[i + 1].lower(), given)
    if parts.scheme in ("http", "https") and host == "redd.it":
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 1 and REDDIT_ID.fullmatch(segments[0].lower()):
            return Target("reddit", segments[0].lower(), given)
    raise StancemapError(f"cannot fetch {given!r}: not a thread I know how to fetch; give one of {ACCEPTED_FORMS}")


def check_body(target: Target, url: str, body: bytes) -> None:
    """Raise StancemapError naming `url` unless `body` is JSON of the shape the site's reader expects."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StancemapError(f"{url}: the reply is not valid JSON ({exc}); nothing was saved") from None
    if target.site == "hn":
        if not isinstance(data, dict) or "id" not in data or not isinstance(data.get("children"), list):
            problem = 'expected an object with "id" and a "children" list (the Algolia items API shape)'
        elif str(data["id"]) != target.item_id:
            problem = f"asked for item {target.item_id} but the reply is item {data['id']}"
        else:
            return
    else:
        listings = isinstance(data, list) and len(data) == 2
        listings = listings and all(
            isinstance(x, dict)
            and x.get("kind") == "Listing"
            and isinstance((x.get("data") or {}).get("children"), list)
            for x in data
        )
        if listings:
            return
        problem = "expected a list of two Listings (the post, then its comments)"
    raise StancemapError(f"{url}: unexpected reply: {problem}; nothing was saved")


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def describe(exc: httpx.HTTPError, config: FetchConfig) -> str:
    """A one-line reason for a failed request, without exception class soup."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {config.connect_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no reply within {config.read_timeout:g} s"
    return str(exc) or type(exc).__name__


def get(client: httpx.Client, target: Target, config: FetchConfig, sleep: Callable[[float], None]) -> httpx.Response:
    """GET the target's URL, retrying connection errors, timeouts, 429 and 5xx; a 200 response or StancemapError."""
    url = target.url(config)
    host = urlsplit(url).netloc
    what = f"{SITE_NAMES[target.site]} {target.item_id}"
    for attempt in range(1, config.attempts + 1):
        wait = min(config.backoff * 2 ** (attempt - 1), config.max_wait)
        try:
            response = client.get(url)
        except RETRY_ERRORS as exc:
            if attempt == config.attempts:
                raise StancemapError(
                    f"cannot reach {host} after {config.attempts} attempt{'s' * (config.attempts > 1)}: "
                    f"{describe(exc, config)}; "
                    "stancemap fetch needs a network connection (everything else runs offline)"
                ) from None
            sleep(wait)
            continue
        except httpx.HTTPError as exc:  # a bad base URL, a proxy refusing us: retrying will not help
            raise StancemapError(f"cannot fetch {url}: {describe(exc, config)}") from None
        status = response.status_code
        if status == 200:
            return response
        if status in (408, 429) or status >= 500:
            if attempt == config.attempts:
                raise StancemapError(
                    f"{host} still answered {status} after {config.attempts} attempts ({url}); try again later"
                )
            asked = retry_after(response)
            sleep(min(asked if asked is not None else wait, config.max_wait))
            continue
        if status == 404:
            raise StancemapError(f"no such {what} (404 from {response.url})")
        if status in (401, 403):
            raise StancemapError(
                f"{host} refused access to {what} ({status} from {response.url}): "
                "it may be private, quarantined or removed, or the request was blocked"
            )
        raise StancemapError(f"unexpected HTTP {status} from {response.url} while fetching {what}")
    raise AssertionError("unreachable")  # the loop always returns or raises


def fetch(
    targets: Iterable[str],
    out: str | Path,
    config: FetchConfig | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> list[Path]:
    """Fetch each target (URL or `hn:ID` / `reddit:ID`) into `out` as `<site>-<id>.json` plus
    `<site>-<id>.provenance.json`; returns the paths written, in order. Every target is parsed
    before anything is fetched; any failure raises StancemapError and leaves that thread unwritten."""
    config = config or FetchConfig()
    parsed = list(dict.fromkeys(parse_target(t) for t in targets))  # drop repeats, keep order
    if not parsed:
        raise StancemapError(f"nothing to fetch: give one or more of {ACCEPTED_FORMS}")
    out = Path(out)
    own_client = client is None
    if client is None:
        client = httpx.Client(
            headers={"User-Agent": config.user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            follow_redirects=True,
        )
    written: list[Path] = []
    try:
        for i, target in enumerate(parsed):
            if i:
                sleep(config.delay)
            try:
                written += save(target, get(client, target, config, sleep), out, config)
            except StancemapError as exc:
                if written:
                    saved = ", ".join(str(p) for p in written)
                    raise StancemapError(f"{exc} (saved before this error: {saved})") from None
                raise
    finally:
        if own_client:
            client.close()
    return written


def save(target: Target, response: httpx.Response, out: Path, config: FetchConfig) -> list[Path]:
    """Check the body, then write it as received and its provenance note; returns both paths."""
    url = str(response.url)
    body = response.content
    check_body(target, url, body)
    path = out / f"{target.name}.json"
    note = out / f"{target.name}{PROVENANCE_SUFFIX}"
    with atomic_path(path) as tmp:
        tmp.write_bytes(body)
    write_json(
        {
            "url": url,
            "target": target.given,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "status": response.status_code,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
            "user_agent": response.request.headers.get("User-Agent", config.user_agent),
        },
        note,
    )
    return [path, note]
