"""Training and evaluation pairs (proposition, text, label) for the three-way stance model.

Sources, all read from ../shared/eval (nothing is copied into the repository):

- stance sets in `stance/*/` as CSV `proposition,text,stance` (NYT comments of VAST, tweets of
  SemEval-2016, multi-target 2017, P-Stance and COVID-19);
- NLI sets in `nli/*/` as CSV `premise,hypothesis,label`: the hypothesis plays the proposition and
  the premise the text (entailment ~ pro, contradiction ~ con, neutral ~ neither), which teaches
  negation and "neither";
- IBM Debater ArgQ-30k and ArgKP train: debate arguments toward motions (pro / con), half of them
  also with the motion negated ("We should X" -> "We should not X") and the label flipped;
- ArgKP train's key points read as claims (`read_key_points`): an argument that makes a key point is
  pro toward it (con toward its negation); one of the same side that makes another point is neither.

VAST has only a train split; `vast_split` cuts it by text into train / tune / dev so that no
comment and no topic of tune or dev is trained on (a topic of tune or dev is dropped from train).
Every topic named in `exclude` never reaches training.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

from stancemap.errors import InputError, StancemapError

LABELS = ("pro", "con", "neither")
LABEL_INDEX = {name: i for i, name in enumerate(LABELS)}
NLI_LABELS = {"entailment": 0, "contradiction": 1, "neutral": 2}

ARGQ = Path("argq30k") / "arg_quality_rank_30k.csv"
ARGKP_TRAIN = Path("argkp") / "arguments_train.csv"
ARGKP_KEY_POINTS = Path("argkp") / "key_points_train.csv"
ARGKP_LABELS = Path("argkp") / "labels_train.csv"
VAST = Path("stance") / "vast" / "train.csv"

# the train splits of the tweet sets; their dev / val / test splits are never trained on
TWEET_TRAIN = (
    Path("stance") / "semeval2016" / "train.csv",
    Path("stance") / "multitarget2017" / "train.csv",
    Path("stance") / "pstance" / "train.csv",
    Path("stance") / "covid19" / "train.csv",
)
# NLI splits trained on; mnli/dev_mismatched and the small sets' dev splits stay out for checks
NLI_TRAIN = (
    Path("nli") / "snli" / "dev.csv",
    Path("nli") / "snli" / "test.csv",
    Path("nli") / "mnli" / "dev_matched.csv",
    Path("nli") / "mpe" / "train.csv",
    Path("nli") / "joci" / "train.csv",
    Path("nli") / "commitment_bank" / "train.csv",
)


@dataclass(frozen=True)
class Pair:
    proposition: str
    text: str
    label: int  # 0 = pro, 1 = con, 2 = neither (LABELS)
    topic: str  # the original topic, for splitting by topic and for excluding
    source: str  # which set the pair came from


def negate(proposition: str) -> str | None:
    """'We should abandon X' -> 'We should not abandon X'; None when the form is unknown."""
    for modal in ("should", "must", "ought to"):
        marker = f" {modal} "
        if marker in proposition and f"{marker}not " not in proposition:
            return proposition.replace(marker, f"{marker}not ", 1)
    return None


# "X is Y" -> "X is not Y" and back: the first auxiliary of a claim, with its negated form
_AUX = re.compile(r"\b(is|are|was|were|should|can|will|would|could|must|does|do)( not)?\b")


def negate_claim(claim: str) -> str | None:
    """'Uniforms are expensive' -> 'Uniforms are not expensive'; 'X is not Y' -> 'X is Y'; None when
    the claim has no auxiliary to negate ('Uniforms reduce bullying')."""
    match = _AUX.search(claim)
    if match is None:
        return None
    aux, negated = match.group(1), match.group(2)
    replacement = aux if negated else ("cannot" if aux == "can" else f"{aux} not")
    return claim[: match.start()] + replacement + claim[match.end() :]


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        raise InputError(path, "missing (the evaluation data under ../shared/eval)")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(sorted(missing))}")
        return list(reader)


def read_stance_csv(path: str | Path, source: str | None = None) -> list[Pair]:
    """A `proposition,text,stance` CSV; a stance other than pro / con / neither is an error."""
    path = Path(path)
    pairs = []
    for number, row in enumerate(_rows(path, ("proposition", "text", "stance")), start=2):
        stance = (row["stance"] or "").strip().lower()
        if stance not in LABEL_INDEX:
            raise InputError(path, f"stance {row['stance']!r} is not pro, con or neither", number)
        proposition, text = (row["proposition"] or "").strip(), (row["text"] or "").strip()
        if not proposition or not text:
            raise InputError(path, "empty proposition or text", number)
        pairs.append(Pair(proposition, text, LABEL_INDEX[stance], proposition, source or path.parent.name))
    return pairs


def read_nli_csv(path: Path) -> list[Pair]:
    """Three-way NLI rows as pairs (hypothesis as proposition, premise as text)."""
    pairs = []
    for row in _rows(path, ("premise", "hypothesis", "label")):
        label = NLI_LABELS.get((row["label"] or "").strip())
        premise, hypothesis = (row["premise"] or "").strip(), (row["hypothesis"] or "").strip()
        if label is not None and premise and hypothesis:
            pairs.append(Pair(hypothesis, premise, label, hypothesis, f"nli/{path.parent.name}"))
    return pairs


def read_debate(data_dir: Path, exclude: set[str], rng: random.Random) -> list[Pair]:
    """ArgQ-30k and ArgKP train arguments toward their motion, with negated copies of half."""
    pairs, seen = [], set()
    for path, stance_col in ((data_dir / ARGQ, "stance_WA"), (data_dir / ARGKP_TRAIN, "stance")):
        for number, row in enumerate(_rows(path, ("topic", "argument", stance_col)), start=2):
            try:
                stance = int(float(row[stance_col]))
            except ValueError:
                raise InputError(path, f"stance {row[stance_col]!r} is not -1 or 1", number) from None
            topic, argument = row["topic"].strip(), row["argument"].strip()
            if stance not in (-1, 1) or not argument or topic in exclude or (topic, argument) in seen:
                continue
            seen.add((topic, argument))
            label = 0 if stance == 1 else 1
            pairs.append(Pair(topic, argument, label, topic, "argq+argkp"))
            negated = negate(topic)
            if negated and rng.random() < 0.5:
                pairs.append(Pair(negated, argument, 1 - label, topic, "argq+argkp"))
    return pairs


def read_key_points(data_dir: Path, exclude: set[str], rng: random.Random) -> list[Pair]:
    """ArgKP train arguments toward the key points of their own side, read as claims: an argument
    that makes the key point is pro, and con toward the key point negated (half of them); an argument
    of the same side that makes another point is neither. This is what a found proposition needs:
    a different point on the same subject is not an objection."""
    points = {r["key_point_id"]: r for r in _rows(data_dir / ARGKP_KEY_POINTS, ("key_point_id", "key_point", "topic"))}
    arguments = {r["arg_id"]: r for r in _rows(data_dir / ARGKP_TRAIN, ("arg_id", "argument", "topic"))}
    excluded = {t.lower() for t in exclude}
    pairs = []
    for number, row in enumerate(_rows(data_dir / ARGKP_LABELS, ("arg_id", "key_point_id", "label")), start=2):
        point, argument = points.get(row["key_point_id"]), arguments.get(row["arg_id"])
        if point is None or argument is None or row["label"].strip() not in ("0", "1"):
            raise InputError(data_dir / ARGKP_LABELS, "unknown argument or key point, or a label not 0 or 1", number)
        topic = point["topic"].strip()
        if topic.lower() in excluded:
            continue
        claim, text = point["key_point"].strip(), argument["argument"].strip()
        if row["label"].strip() == "0":
            if rng.random() < 0.3:  # one in three or so, so that neither does not swamp the mix
                pairs.append(Pair(claim, text, LABEL_INDEX["neither"], topic, "keypoints"))
            continue
        pairs.append(Pair(claim, text, LABEL_INDEX["pro"], topic, "keypoints"))
        negated = negate_claim(claim)
        if negated and rng.random() < 0.5:
            pairs.append(Pair(negated, text, LABEL_INDEX["con"], topic, "keypoints"))
    return pairs


def _bucket(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2**64


def vast_split(pairs: list[Pair], tune_share: float = 0.05, dev_share: float = 0.1) -> dict[str, list[Pair]]:
    """Cut VAST by comment text (a hash, so the cut is the same everywhere) into train, tune and dev;
    a topic of tune or dev is dropped from train, so both are topic- and text-disjoint from it."""
    split = {"train": [], "tune": [], "dev": []}
    for pair in pairs:
        b = _bucket(pair.text)
        split["dev" if b < dev_share else "tune" if b < dev_share + tune_share else "train"].append(pair)
    held = {p.topic.lower() for p in split["tune"] + split["dev"]}
    split["train"] = [p for p in split["train"] if p.topic.lower() not in held]
    # a topic in both tune and dev stays in dev only, so tuning never sees a dev topic
    dev_topics = {p.topic.lower() for p in split["dev"]}
    split["tune"] = [p for p in split["tune"] if p.topic.lower() not in dev_topics]
    return split


def _sample(pairs: list[Pair], n: int | None, rng: random.Random) -> list[Pair]:
    if n is None or len(pairs) <= n:
        return list(pairs)
    return rng.sample(pairs, n)


# how many pairs of each source one pass trains on (None = all): a mix that keeps forum-like text
# (VAST) the largest part, with enough NLI for negation and enough debate arguments for motions
MIX = {"vast": None, "tweets": 12_000, "nli": 16_000, "debate": 10_000, "offtopic": 0, "keypoints": 0, "extra": None}

_WORD = re.compile(r"[a-z]{4,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def parse_mix(items: list[str]) -> dict[str, int | None]:
    """`["offtopic=6000", "vast=all"]` -> {"offtopic": 6000, "vast": None}; a bad item is an error."""
    mix: dict[str, int | None] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in MIX or not (value == "all" or value.isdigit()):
            raise StancemapError(f"--mix {item!r}: expected NAME=COUNT or NAME=all, NAME one of {', '.join(MIX)}")
        mix[name] = None if value == "all" else int(value)
    return mix


def off_topic(families: dict[str, list[Pair]], n: int, rng: random.Random) -> list[Pair]:
    """`n` pairs labelled neither: a text of one family (VAST, tweets, NLI, debate) against the
    proposition of a pair from another family that shares no word of four letters or more with it,
    so that text about something else stops reading as pro or con."""
    names = sorted(name for name, pairs in families.items() if pairs)
    out: list[Pair] = []
    attempts = 0
    while len(out) < n and attempts < 20 * n and len(names) > 1:
        attempts += 1
        text_family, prop_family = rng.sample(names, 2)
        text = rng.choice(families[text_family])
        prop = rng.choice(families[prop_family])
        if _words(text.text) & _words(prop.proposition):
            continue
        out.append(Pair(prop.proposition, text.text, LABEL_INDEX["neither"], prop.topic, "offtopic"))
    return out


def read_extra(paths: list[Path] | tuple[Path, ...]) -> list[Pair]:
    """Labelled pairs of your own: `proposition,text,stance` CSV files, or folders of them (sorted)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise InputError(path, "no .csv files in this folder")
            files += found
        else:
            files.append(path)
    return [p for path in files for p in read_stance_csv(path, f"extra/{path.stem}")]


def _group(proposition: str) -> str:
    """A proposition's words, in any order: "A is better than B" and "B is better than A" share one."""
    return " ".join(sorted(_words(proposition)))


def extra_split(pairs: list[Pair], tune_share: float = 0.2) -> dict[str, list[Pair]]:
    """Cut the extra pairs by proposition (a hash of its words, so a comparative and its reversal
    fall together) into train and tune: a tuning proposition is never trained on."""
    split: dict[str, list[Pair]] = {"train": [], "tune": []}
    for pair in pairs:
        split["tune" if _bucket(_group(pair.proposition)) < tune_share else "train"].append(pair)
    return split


def _repeat(pairs: list[Pair], n: int | None, rng: random.Random) -> list[Pair]:
    """`n` pairs: whole copies of a small set, then a sample of the rest (a few hundred hand-written
    pairs would drown among tens of thousands otherwise)."""
    if n is None or not pairs:
        return list(pairs)
    copies, rest = divmod(n, len(pairs))
    return list(pairs) * copies + rng.sample(pairs, rest)


def training_pairs(
    data_dir: str | Path, exclude: set[str], seed: int = 42, mix: dict | None = None, extra: tuple[Path, ...] = ()
) -> list[Pair]:
    """The training mix, shuffled with `seed`; no pair's topic is in `exclude`. `extra` names CSV
    files or folders of labelled pairs of your own (their train split, `extra_split`)."""
    data_dir = Path(data_dir)
    mix = {**MIX, **(mix or {})}
    rng = random.Random(seed)
    excluded = {t.lower() for t in exclude}
    vast = vast_split(read_stance_csv(data_dir / VAST, "vast"))["train"]
    tweets = [p for path in TWEET_TRAIN for p in read_stance_csv(data_dir / path)]
    nli = [p for path in NLI_TRAIN for p in read_nli_csv(data_dir / path)]
    debate = read_debate(data_dir, exclude, rng)
    pairs = (
        _sample(vast, mix["vast"], rng)
        + _sample(tweets, mix["tweets"], rng)
        + _sample(nli, mix["nli"], rng)
        + _sample(debate, mix["debate"], rng)
    )
    if mix["offtopic"]:  # drawn last, so a mix without them is the same as before they existed
        families = {"vast": vast, "tweets": tweets, "nli": nli, "debate": debate}
        pairs += off_topic(families, mix["offtopic"], rng)
    if mix["keypoints"] != 0:  # after the off-topic pairs, for the same reason
        pairs += _sample(read_key_points(data_dir, exclude, rng), mix["keypoints"], rng)
    if extra and mix["extra"] != 0:  # last again, so a run without extra pairs is unchanged
        pairs += _repeat(extra_split(read_extra(extra))["train"], mix["extra"], rng)
    pairs = [p for p in pairs if p.topic.lower() not in excluded]
    rng.shuffle(pairs)
    return pairs


def topics_of(csv_path: str | Path) -> set[str]:
    """The topics an evaluation file covers, to exclude from training: the `topic` column of an
    IBM Debater arguments file, or the `proposition` column of a stance CSV."""
    path = Path(csv_path)
    with path.open(encoding="utf-8", newline="") as fh:
        fields = csv.DictReader(fh).fieldnames or []
    if "topic" in fields:
        return {row["topic"].strip() for row in _rows(path, ("topic",))}
    return {p.proposition for p in read_stance_csv(path)}
