"""Score the reply-structure stance (stancemap.stance.replies) against ChangeMyView "modes" threads.

Each `<name>.xml` holds a `<title>`, the `<OP>` post and `<reply>` posts in order; every argument
unit (`<claim>`, `<premise>`) may carry `rel` (agreement, rebuttal, undercutter, support, ...) and
`ref`, the unit it relates to ("title", or ids joined by "_", possibly in an earlier post). The
relations live only in the XML (the .ann files have spans without them), so this module reads the
XML, and leaves `.txt/.ann/.metadata` to `stancemap.evaluate.segments`.

The threads are dialogues: each reply answers the post before it. They become a comments table as
the Reddit reader would give it: the OP's text first (top level), the first reply top level too,
and each later reply the child of the one before.

(a) Rebuttal detection, per reply whose units relate to units of the post it answers (for the
first reply, the OP or the title): gold is `rebut` when more of those relations are attacks
(rebuttal, undercutter, attack, disagreement and their partial/_attack forms) than agreements
(agreement, partial_agreement), `agree` when fewer; ties and replies without such relations are
left out. Scored: precision, recall and F1 of `rebut`, the same for `agree`, accuracy (`unknown`
counts as wrong), coverage, and the accuracy of always answering the majority gold class.

(b) Side toward the opening post, per unit of a reply whose gold sign toward the title follows
from chaining its relations (support and agreement keep the sign of what they point at, attacks
flip it; the title is +1): the prediction is the side of the unit's post (claims inherit their
comment's side). Scored: accuracy (`neither` counts as wrong), coverage (share not `neither`) and
accuracy on the covered units, beside three trivial answers: every reply against the opening
post, every reply with it, and every reply rebuts its parent (in these dialogues that is "the
OP's author is with the OP, the other person against").

Scores are pooled over all threads (a thread has about three replies, too few to average).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from stancemap.config import StanceParams
from stancemap.errors import InputError, StancemapError
from stancemap.ingest.base import Comment, depths
from stancemap.ingest.quotes import link_quotes
from stancemap.schemas import COMMENTS
from stancemap.stance.replies import reply_edges, sides_toward_opening_post

ATTACKS = frozenset(
    {
        "rebuttal",
        "rebuttal_attack",
        "undercutter",
        "undercutter_attack",
        "attack",
        "partial_attack",
        "disagreement",
        "partial_disagreement",
    }
)
AGREEMENTS = frozenset({"agreement", "partial_agreement"})
KEEPS_SIGN = AGREEMENTS | {"support"}
UNITS = ("claim", "premise")
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")


@dataclass(frozen=True)
class Unit:
    unit_id: str | None
    rel: str | None
    refs: tuple[str, ...]  # "title" or unit ids


@dataclass
class Post:
    post_id: str
    author: str | None
    text: str
    units: list[Unit] = field(default_factory=list)


@dataclass
class XmlThread:
    name: str
    posts: list[Post]  # the OP first, then the replies in order (the title is not a post)


def load_xml_thread(path: Path) -> XmlThread:
    raw = path.read_text(encoding="utf-8")
    try:
        root = ET.fromstring(_BARE_AMPERSAND.sub("&amp;", raw))  # a few files have a bare "&"
    except ET.ParseError as exc:
        raise InputError(path, f"not well-formed XML: {exc}") from None
    posts = []
    for element in root:
        if element.tag not in ("OP", "reply"):
            continue
        units = [
            Unit(u.get("id"), u.get("rel"), tuple(r for r in (u.get("ref") or "").split("_") if r))
            for u in element.iter()
            if u.tag in UNITS
        ]
        post_id = "op" if element.tag == "OP" else element.get("id") or f"reply{len(posts)}"
        posts.append(Post(post_id, element.get("author"), "".join(element.itertext()).strip(), units))
    if not posts or root.find("OP") is None:
        raise InputError(path, "expected a <thread> with an <OP> and <reply> posts (ChangeMyView modes XML)")
    return XmlThread(path.stem, posts)


def load_xml_folder(folder: str | Path) -> list[XmlThread]:
    folder = Path(folder)
    if not folder.is_dir():
        raise StancemapError(f"{folder}: no such folder")
    paths = sorted(folder.glob("*.xml"), key=lambda p: (len(p.stem), p.stem))
    if not paths:
        raise StancemapError(f"{folder}: no .xml files (expected ChangeMyView modes threads)")
    return [load_xml_thread(p) for p in paths]


def comments_table(thread: XmlThread) -> pl.DataFrame:
    """The dialogue as the comments table (schema COMMENTS) that ingest would give for it."""
    ids = [f"cmv:{thread.name}:{post.post_id}" for post in thread.posts]
    comments = [
        Comment(
            comment_id=ids[i],
            thread_id=thread.name,
            text=post.text,
            source="cmv",
            source_file=f"{thread.name}.xml",
            parent_id=ids[i - 1] if i >= 2 else None,
            author=post.author,
        )
        for i, post in enumerate(thread.posts)
    ]
    depth = depths(comments)
    quotes = link_quotes(comments)
    return pl.DataFrame(
        {
            "comment_id": ids,
            "thread_id": [thread.name] * len(ids),
            "parent_id": [c.parent_id for c in comments],
            "depth": [depth[c.comment_id] for c in comments],
            "author": [c.author for c in comments],
            "created_at": [None] * len(ids),
            "text": [c.text for c in comments],
            "quotes": quotes,
            "url": [None] * len(ids),
            "score": [None] * len(ids),
            "is_deleted": [c.text in ("[deleted]", "[removed]") for c in comments],
            "duplicate_of": [None] * len(ids),
            "repeats": [1] * len(ids),
            "source": ["cmv"] * len(ids),
            "source_file": [c.source_file for c in comments],
            "source_line": [None] * len(ids),
        },
        schema=COMMENTS,
    )


def _home(thread: XmlThread) -> dict[str, int]:
    """Unit id -> index of the post it is in (the title is -1)."""
    home = {"title": -1}
    for i, post in enumerate(thread.posts):
        for unit in post.units:
            if unit.unit_id is not None:
                home.setdefault(unit.unit_id, i)
    return home


def gold_relations(thread: XmlThread) -> list[str | None]:
    """Per post: `rebut`, `agree` or None (OP, tie, or no relation into the post it answers)."""
    home = _home(thread)
    out: list[str | None] = [None]
    for i in range(1, len(thread.posts)):
        answered = {i - 1, -1} if i == 1 else {i - 1}
        attacks = agrees = 0
        for unit in thread.posts[i].units:
            target = next((home[r] for r in unit.refs if r in home), None)
            if target in answered:
                attacks += unit.rel in ATTACKS
                agrees += unit.rel in AGREEMENTS
        out.append("rebut" if attacks > agrees else "agree" if agrees > attacks else None)
    return out


def gold_signs(thread: XmlThread) -> list[list[int]]:
    """Per post, the gold sign toward the title (+1 with, -1 against) of each unit where the
    chain of relations reaches the title; units where it does not are left out."""
    units = {u.unit_id: u for post in thread.posts for u in post.units if u.unit_id is not None}
    memo: dict[str, int | None] = {}

    def sign(ref: str, seen: frozenset[str]) -> int | None:
        if ref == "title":
            return 1
        if ref in memo:
            return memo[ref]
        unit = units.get(ref)
        if unit is None or ref in seen:
            return None
        result = _chain(unit, seen | {ref})
        memo[ref] = result
        return result

    def _chain(unit: Unit, seen: frozenset[str]) -> int | None:
        if unit.rel not in ATTACKS and unit.rel not in KEEPS_SIGN:
            return None
        target = next((s for s in (sign(r, seen) for r in unit.refs) if s is not None), None)
        if target is None:
            return None
        return target if unit.rel in KEEPS_SIGN else -target

    return [
        [s for s in (_chain(u, frozenset({u.unit_id} - {None})) for u in post.units) if s is not None]
        for post in thread.posts
    ]


def _prf(tp: int, predicted: int, actual: int) -> dict[str, float]:
    p = tp / predicted if predicted else 0.0
    r = tp / actual if actual else 0.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0}


def _side(p_with: float, band: float) -> int:
    return 1 if p_with - 0.5 >= band else -1 if 0.5 - p_with >= band else 0


def evaluate(folder: str | Path, params: StanceParams) -> dict:
    """Per-thread counts and pooled scores for (a) rebuttal detection and (b) side toward the OP."""
    rows = []
    pairs: list[tuple[str, str]] = []  # (gold, predicted) relation per scored reply
    posts: list[tuple[list[int], int, int]] = []  # (gold unit signs, predicted side, every-reply-rebuts side)
    for thread in load_xml_folder(folder):
        comments = comments_table(thread)
        edges = reply_edges(comments, params.reply_prior)
        p_with = sides_toward_opening_post(edges)
        relations = edges["relation"].to_list()
        ids = comments["comment_id"].to_list()
        row = {"thread": thread.name, "replies": 0, "relations_right": 0, "units": 0, "sides_right": 0, "covered": 0}
        for i, (gold, signs) in enumerate(zip(gold_relations(thread), gold_signs(thread), strict=True)):
            if gold is not None:
                pairs.append((gold, relations[i]))
                row["replies"] += 1
                row["relations_right"] += relations[i] == gold
            if i == 0 or not signs:
                continue  # the OP: its side is "with" by definition, not a prediction
            predicted = _side(p_with[ids[i]], params.neutral_band)
            posts.append((signs, predicted, 1 if i % 2 == 0 else -1))  # the first reply (i = 1) rebuts the OP
            row["units"] += len(signs)
            row["sides_right"] += signs.count(predicted)
            row["covered"] += len(signs) if predicted else 0
        rows.append(row)
    return {
        "threads": rows,
        "mean": summary(pairs, posts),
        "reply_prior": params.reply_prior,
        "neutral_band": params.neutral_band,
    }


def summary(pairs: list[tuple[str, str]], posts: list[tuple[list[int], int, int]]) -> dict:
    """Pooled scores; side scores count units, and `*_covered` restrict every answer (trivial ones
    too) to the units the product gives a side, so they compare on the same claims. The ceiling is
    the best any per-comment side can do: a post's units do not all share one sign."""
    n = len(pairs)
    gold_rebut = sum(g == "rebut" for g, _ in pairs)
    out: dict[str, float | int | None] = {"replies": n, "gold_rebut": gold_rebut, "gold_agree": n - gold_rebut}
    for label in ("rebut", "agree"):
        tp = sum(g == label and p == label for g, p in pairs)
        scores = _prf(tp, sum(p == label for _, p in pairs), sum(g == label for g, _ in pairs))
        out.update({f"{label}_{k}": v for k, v in scores.items()})
    out["relation_accuracy"] = sum(g == p for g, p in pairs) / n if n else None
    out["relation_coverage"] = sum(p != "unknown" for _, p in pairs) / n if n else None
    out["majority_accuracy"] = max(gold_rebut, n - gold_rebut) / n if n else None

    def share(selected: list[tuple[list[int], int, int]], answer) -> float | None:
        total = sum(len(signs) for signs, _, _ in selected)
        return sum(signs.count(answer(p, a, signs)) for signs, p, a in selected) / total if total else None

    covered = [post for post in posts if post[1] != 0]
    units = sum(len(signs) for signs, _, _ in posts)
    out["units"] = units
    out["side_coverage"] = sum(len(signs) for signs, _, _ in covered) / units if units else None
    answers = {
        "side_accuracy": lambda p, a, signs: p,
        "all_against": lambda p, a, signs: -1,
        "all_with": lambda p, a, signs: 1,
        "every_reply_rebuts": lambda p, a, signs: a,
        "ceiling": lambda p, a, signs: max((1, -1), key=signs.count),
    }
    for name, answer in answers.items():
        out[name] = share(posts, answer)
        out[f"{name}_covered"] = share(covered, answer)
    return out


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(result: dict) -> str:
    lines = [f"{'thread':>8} {'replies':>7} {'rel_ok':>6} {'units':>5} {'side_ok':>7} {'covered':>7}"]
    for r in result["threads"]:
        lines.append(
            f"{r['thread']:>8} {r['replies']:>7} {r['relations_right']:>6} {r['units']:>5} {r['sides_right']:>7} "
            f"{r['covered']:>7}"
        )
    m = result["mean"]
    lines.append(
        f"MEAN (pooled over {m['replies']} replies, {m['units']} units) rebut_P={_f(m['rebut_P'])} "
        f"rebut_R={_f(m['rebut_R'])} rebut_F1={_f(m['rebut_F1'])} agree_P={_f(m['agree_P'])} "
        f"agree_R={_f(m['agree_R'])} relation_accuracy={_f(m['relation_accuracy'])} "
        f"relation_coverage={_f(m['relation_coverage'])} majority_accuracy={_f(m['majority_accuracy'])} "
        f"side_accuracy={_f(m['side_accuracy'])} side_coverage={_f(m['side_coverage'])} "
        f"side_accuracy_covered={_f(m['side_accuracy_covered'])} all_against={_f(m['all_against'])} "
        f"all_with={_f(m['all_with'])} every_reply_rebuts={_f(m['every_reply_rebuts'])} "
        f"all_against_covered={_f(m['all_against_covered'])} "
        f"every_reply_rebuts_covered={_f(m['every_reply_rebuts_covered'])} ceiling={_f(m['ceiling'])}"
    )
    return "\n".join(lines)


def run(folder: str | Path, params: StanceParams, out: str | Path | None = None) -> dict:
    result = evaluate(folder, params)
    if out is not None:
        from stancemap.io import write_json

        write_json(result, out)
    return result
