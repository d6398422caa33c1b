"""Reply structure as stance evidence: does a reply rebut its parent or agree with it, and so which
side of the thread's opening post does each comment take?

The detector is transparent on purpose: every piece of evidence has a name and a weight (a log
odds ratio) and the output lists what fired. Evidence for a rebuttal: a disagreement cue opening
the reply or the text right after a quote ("No,", "I disagree", "That's not", "Yes it does."), quoting
the parent (a quote of the parent followed by a disagreement cue counts more), and a negation
mirror (a sentence that repeats a sentence of the parent with the negation flipped). Evidence for
agreement: an agreement cue ("Agreed", "Exactly", "This.", "+1", "Good point", a CMV delta).
P(rebut) = sigmoid(logit(prior) + sum of weights); with the default prior 0.5 a reply with no
evidence is `unknown`.

Sides follow from the tree. The opening post is "with" itself; a reply's expected sign toward it
is its parent's times (1 - 2 P(rebut)), so P(with) = (1 + product along the path) / 2: an unknown
edge (P = 0.5) makes everything below it 0.5, that is `neither`. docs/stance.md has the numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import polars as pl

from stancemap.ingest.quotes import normalise, own_text

# evidence weights, in log odds of a rebuttal (positive) against agreement (negative)
WEIGHTS = {
    "disagree_cue": 2.0,  # "No,", "I disagree", "That's not ..." opening the reply
    "concede_but": 0.0,  # "Yes, but", "Fair point, but": the gold splits them (docs/stance.md), so no weight
    "contradiction": 2.0,  # "Yes it does." / "No they don't." answering a claim
    "contrast_cue": 0.7,  # "But", "However", "Actually": weaker, often a rebuttal
    "disagree_after_quote": 2.0,  # "> your words" then "No, ..."
    "quotes_parent": 0.4,  # people quote mostly to answer a point, usually against it
    "negation_mirror": 1.0,  # "It is theft." -> "It is not theft."
    "agree_cue": -2.0,  # "Agreed", "Exactly", "This.", "+1", "Good point"
    "view_changed": -3.0,  # a CMV delta or "you changed my view"
}

_DISAGREE = [
    r"no+\b(?!\s+(?:one|doubt|matter|wonder)\b)",
    r"nope",
    r"nah",
    r"not really",
    r"not necessarily",
    r"not quite",
    r"not exactly",
    r"not true",
    r"not at all",
    r"not so\b",
    r"wrong",
    r"incorrect",
    r"false\b",
    r"nonsense",
    r"bullshit",
    r"i (?:completely |strongly |totally |respectfully )?disagree",
    r"i (?:don't|do not|can't|cannot) (?:agree|buy|see how|accept)",
    r"i don't think so",
    r"i doubt",
    r"(?:i'm|i am) (?:strongly |firmly |very much |still )?(?:against|opposed)\b",
    r"i (?:strongly |firmly )?oppose\b",
    r"against (?:this|it|that)\b",
    r"(?:i'll|i will|i'd|i would|i'm|i am) (?:be )?vot(?:e|ing) (?:against|no)\b",
    r"i'm not (?:sure|convinced)",
    r"i am not (?:sure|convinced)",
    r"not sure (?:that|how|why|what|where)",
    r"(?:that|this|it)(?:'s| is) not\b",
    r"(?:that|this|it) (?:isn't|wasn't|doesn't|does not|did not|didn't)\b",
    r"(?:that's|that is) (?:a |an )?(?:false|wrong|stretch|straw ?man|oversimplification|non sequitur)",
    r"(?:you're|you are|you've been|you were) (?:wrong|mistaken|missing|forgetting|confusing|ignoring)",
    r"you (?:miss|forget|ignore|assume|seem to assume)",
    r"so what",
    r"how so\b",
    r"says who",
    r"on the contrary",
    r"the (?:problem|issue|flaw) (?:is|with)",
    r"i take issue",
    r"except\b",
    r"what about\b",
    r"did you (?:forget|miss|read)",
    r"(?:isn't|aren't|doesn't|don't|wasn't) (?:it|that|this|they|you|there)\b.*\?",
]
_CONTRADICTION = [
    r"(?:yes|yeah|no|nope),? (?:it|they|he|she|we|you|i|that|this|there) (?:do|does|did|is|are|was|were|can|could|will|"
    r"would|has|have|had|should)(?:n't| not)?\s*[.!,]",
]
_CONCEDE_BUT = [
    r"(?:yes|yeah|yep|sure|true|agreed|okay|ok|maybe|perhaps|right|fair|fair enough|fair point|good point|"
    r"i agree|i see your point|i get (?:your|the) point|that's true|that is true|this is true|that may be true|"
    r"that might be true|granted|i understand)\b[^.!?\n]{0,40}?\b(?:but|however|though|although|yet)\b",
]
_CONTRAST = [r"but\b", r"however\b", r"actually\b", r"well,", r"well\b(?=.*\?)", r"even if\b", r"still,", r"then again"]
_AGREE = [
    r"agreed",
    r"i (?:completely |totally |fully |certainly |absolutely |sort of |kind of )?agree\b",
    r"exactly",
    r"precisely",
    r"this[.!]",
    r"this\s*$",
    r"\+1",
    r"yes\b",
    r"yeah\b",
    r"yep\b",
    r"yup\b",
    r"indeed",
    r"absolutely",
    r"so true",
    r"very true",
    r"true[.!,]",
    r"right[.!]",
    r"(?:a |that's a |that is a |really )?"
    r"(?:really |very )?(?:good|great|fair|excellent|interesting|valid) point",
    r"fair enough",
    r"(?:that's|that is|this is|it's) (?:true|right|correct|fair)",
    r"(?:you're|you are) (?:absolutely |so )?right",
    r"well (?:said|put)",
    r"thanks?\b",
    r"thank you",
    r"makes sense",
    r"(?:that|it) makes sense",
    r"i see (?:your|the|what you)",
    r"i get (?:your|the|what you)",
    r"same here",
    r"seconded",
    r"i (?:strongly |fully |firmly |wholeheartedly |would )?(?:support|endorse|back)\b",
    r"(?:strongly |fully )?support(?:ed)?\b",
    r"(?:i'm|i am) (?:all |fully |firmly |still )?(?:for (?:this|it)|in favou?r)\b",
    r"in favou?r\b",
    r"(?:i'll|i will|i'd|i would|i'm|i am) (?:be )?vot(?:e|ing) (?:for|yes|in favou?r)\b",
    r"i stand corrected",
    r"good call",
    r"i hadn't (?:thought|considered)",
    r"i never thought",
    r"i probably would",
    r"interesting\b",
]
_VIEW_CHANGED = r"(?:∆|Δ|&#8710;|!delta\b|changed my (?:view|mind)|you(?:'ve| have) changed my)"

_START = r"^[\s>*_\"'(\[-]*(?:{})"
DISAGREE = re.compile(_START.format("|".join(_DISAGREE)))
CONTRADICTION = re.compile(_START.format("|".join(_CONTRADICTION)))
CONCEDE_BUT = re.compile(_START.format("|".join(_CONCEDE_BUT)))
CONTRAST = re.compile(_START.format("|".join(_CONTRAST)))
AGREE = re.compile(_START.format("|".join(_AGREE)))
VIEW_CHANGED = re.compile(_VIEW_CHANGED, re.IGNORECASE)
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*")  # links say nothing to mirror
NAME_WORD = re.compile(r"@?[\w.\-]+")
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
WORD = re.compile(r"[a-z0-9']+")
NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|none|neither|nor|cannot|without|\w+n't)\b")
ANSWER_WORD = re.compile(r"^\W*(?:no+|nope|nah|yes|yeah|yep)\b\W*")
STOP = frozenset(
    "a an the and or of to in on at for with by from as is are was were be been being it its it's this that "
    "these those i you he she we they me my your our their his her them us do does did have has had will would "
    "can could should may might must so if then than just very really also too not no never don't doesn't isn't "
    "aren't wasn't weren't can't won't didn't there here what which who whom when where why how all any some".split()
)


@dataclass(frozen=True)
class Edge:
    """What the detector says about one (parent, reply) pair."""

    relation: str  # rebut | agree | unknown
    p_rebut: float  # calibrated only as far as the weights are (docs/stance.md)
    evidence: tuple[str, ...]  # names of the evidence that fired, in WEIGHTS


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def _content(sentence: str) -> tuple[frozenset[str], bool]:
    """Content words, and whether the statement is negated (an answer word "No," does not count)."""
    sentence = ANSWER_WORD.sub("", sentence.lower())
    words = WORD.findall(sentence)
    negated = len(NEGATION.findall(sentence)) % 2 == 1
    return frozenset(w for w in words if w not in STOP and "n't" not in w and len(w) > 2), negated


def negation_mirror(parent: str, reply: str, min_shared: int = 2, min_overlap: float = 0.5) -> bool:
    """True when a reply sentence repeats most content words of a statement of the parent (not a
    question), or the other way round, with the opposite negation ("Distillation is theft." /
    "Distillation is not theft.")."""
    parent, reply = URL.sub(" ", parent), URL.sub(" ", reply)
    parent_sents = [_content(s) for s in _sentences(parent) if not s.endswith("?")]
    for sentence in _sentences(reply):
        words, negated = _content(sentence)
        if len(words) < min_shared:
            continue
        for p_words, p_negated in parent_sents:
            shared = len(words & p_words)
            if negated != p_negated and shared >= min_shared and shared / min(len(words), len(p_words)) >= min_overlap:
                return True
    return False


def _opening(text: str) -> str:
    """The first sentence of `text`, normalised (lower case, straight quotes, one space)."""
    first = next(iter(_sentences(text)), "")
    return normalise(first)


def _cues(opening: str) -> list[str]:
    """Evidence names for one opening sentence (already normalised); concession-then-but beats
    the agreement word it starts with."""
    if not opening:
        return []
    if CONTRADICTION.match(opening):
        return ["contradiction"]
    if CONCEDE_BUT.match(opening):
        return ["concede_but"]
    if DISAGREE.match(opening):
        return ["disagree_cue"]
    if AGREE.match(opening):
        return ["agree_cue"]
    if CONTRAST.match(opening):
        return ["contrast_cue"]
    return []


def evidence(
    parent: str, reply: str, quote_spans: list[tuple[int, int]] = (), quotes_parent: bool = False
) -> list[str]:
    """Names of the evidence (keys of WEIGHTS) for `reply` answering `parent`. `quote_spans` are
    the reply's quoted spans (start, end); `quotes_parent` says whether one quotes the parent."""
    spans = sorted(quote_spans)
    own_parts, after_quotes, pos = [], [], 0
    for start, end in spans:
        own_parts.append(reply[pos:start])
        pos = end
        after_quotes.append(reply[end:])
    own_parts.append(reply[pos:])
    own = "\n".join(own_parts)
    found = _cues(_opening(own))
    if quotes_parent:
        found.append("quotes_parent")
        if any(c in ("disagree_cue", "contradiction") for part in after_quotes for c in _cues(_opening(part))):
            found.append("disagree_after_quote")
    if VIEW_CHANGED.search(reply):
        found.append("view_changed")
    if parent and negation_mirror(parent, own):
        found.append("negation_mirror")
    return list(dict.fromkeys(found))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def rebuttal(
    parent: str, reply: str, quote_spans: list[tuple[int, int]] = (), quotes_parent: bool = False, prior: float = 0.5
) -> Edge:
    """Rebut, agree or unknown for one reply, with P(rebut) and the evidence that fired."""
    names = evidence(parent, reply, quote_spans, quotes_parent)
    score = logit(prior) + sum(WEIGHTS[n] for n in names)
    p = 1 / (1 + math.exp(-score))
    relation = "rebut" if p > 0.5 + 1e-9 else "agree" if p < 0.5 - 1e-9 else "unknown"
    return Edge(relation, round(p, 6), tuple(names))


def opening_posts(comments: pl.DataFrame) -> dict[str, str]:
    """Thread -> the comment taken as its opening post: the thread's first top-level comment in
    table order (ingest keeps document order, and puts a post's own text first)."""
    first: dict[str, str] = {}
    for cid, thread, parent in comments.select("comment_id", "thread_id", "parent_id").iter_rows():
        if parent is None and thread not in first:
            first[thread] = cid
    return first


def addressed(opening: str, names: dict[str, str]) -> list[str]:
    """The participants an opening names ("+1 to trade_counsel", "@ada"): `names` maps a lower-case
    user name (no spaces) to the name as written; one look-up per word, so long threads stay cheap."""
    words = (w.lstrip("@").rstrip(".-") for w in NAME_WORD.findall(opening.lower()))
    return list(dict.fromkeys(names[w] for w in words if w in names))


def reply_parents(comments: pl.DataFrame) -> dict[str, str | None]:
    """Comment -> the comment it answers, for the reply evidence: its parent; for other top-level
    comments of a threaded discussion, the opening post; in a flat dump (no reply links at all in
    the thread), the comment it quotes, else None (nothing known). A reply whose first sentence
    names one other participant near its start ("+1 to trade_counsel") answers that person's latest
    earlier comment."""
    roots = opening_posts(comments)
    threaded = set(comments.filter(pl.col("parent_id").is_not_null())["thread_id"].unique().to_list())
    author = dict(comments.select("comment_id", "author").iter_rows())
    latest: dict[tuple[str, str], str] = {}  # (thread, author) -> their latest comment so far
    names: dict[str, dict[str, str]] = {}  # thread -> participants so far (long enough to be unambiguous)
    out: dict[str, str | None] = {}
    rows = comments.select("comment_id", "thread_id", "parent_id", "quotes", "text").iter_rows()
    for cid, thread, parent, quotes, text in rows:
        if parent is not None or cid == roots[thread]:
            out[cid] = parent
        elif thread in threaded:
            out[cid] = roots[thread]
        else:
            quoted = [q["quoted_id"] for q in quotes or [] if q["quoted_id"] and q["quoted_id"] != cid]
            out[cid] = quoted[0] if quoted else None
        if cid != roots[thread] and names.get(thread):
            named = [
                n for n in addressed(normalise(own_text(text, quotes or []))[:160], names[thread]) if n != author[cid]
            ]
            if len(named) == 1 and (out[cid] is None or author.get(out[cid]) != named[0]):
                out[cid] = latest[(thread, named[0])]
        who = author[cid]
        if who is not None and len(who) >= 4 and not any(ch.isspace() for ch in who):
            latest[(thread, who)] = cid
            names.setdefault(thread, {})[who.lower()] = who
    return out


def reply_edges(comments: pl.DataFrame, prior: float = 0.5) -> pl.DataFrame:
    """One row per comment: the comment it answers (`parent`, null for an opening post or when
    unknown), relation (rebut | agree | unknown | root | none), p_rebut and the evidence."""
    parents = reply_parents(comments)
    text = dict(comments.select("comment_id", "text").iter_rows())
    roots = set(opening_posts(comments).values())
    rows = {"comment_id": [], "parent": [], "relation": [], "p_rebut": [], "evidence": []}
    for cid, body, quotes, deleted in comments.select("comment_id", "text", "quotes", "is_deleted").iter_rows():
        parent = parents[cid]
        if cid in roots:
            edge = Edge("root", 0.0, ())
        elif parent is None or deleted or not body.strip():
            edge = Edge("none", 0.5, ())
        else:
            spans = [(q["start"], q["end"]) for q in quotes or []]
            quotes_parent = any(q["quoted_id"] == parent for q in quotes or [])
            edge = rebuttal(text[parent], body, spans, quotes_parent, prior)
        rows["comment_id"].append(cid)
        rows["parent"].append(parent)
        rows["relation"].append(edge.relation)
        rows["p_rebut"].append(edge.p_rebut)
        rows["evidence"].append(list(edge.evidence))
    return pl.DataFrame(
        rows,
        schema={
            "comment_id": pl.Utf8,
            "parent": pl.Utf8,
            "relation": pl.Utf8,
            "p_rebut": pl.Float64,
            "evidence": pl.List(pl.Utf8),
        },
    )


def sides_toward_opening_post(edges: pl.DataFrame) -> dict[str, float]:
    """Comment -> P(it is with its thread's opening post) = (1 + prod(1 - 2 P(rebut)) along the
    path) / 2; 0.5 below an unknown edge or where the path is broken."""
    parent = dict(edges.select("comment_id", "parent").iter_rows())
    step = {
        cid: 1.0 if rel == "root" else 0.0 if rel == "none" else 1.0 - 2.0 * p
        for cid, rel, p in edges.select("comment_id", "relation", "p_rebut").iter_rows()
    }
    sign: dict[str, float] = {}
    for cid in parent:
        path, node = [], cid
        while node is not None and node in step and node not in sign and node not in path:
            path.append(node)
            node = parent[node]
        # above a root: 1; a known ancestor: its sign; a cycle or a parent outside the table: nothing known
        value = 1.0 if node is None else sign.get(node, 0.0)
        for member in reversed(path):
            value *= step[member]
            sign[member] = value
    return {cid: (1.0 + s) / 2.0 for cid, s in sign.items()}
