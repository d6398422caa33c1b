"""Score the product's clusters (and, once it exists, its stance) against ArgKP key points.

A data folder holds `arguments_SPLIT.csv` (arg_id, argument, topic, stance ±1),
`key_points_SPLIT.csv` (key_point_id, key_point, topic, stance) and `labels_SPLIT.csv`
(arg_id, key_point_id, label 0/1), as IBM's ArgKP-2021 ships them. IDs restart in each split.

Each topic is one thread and each argument one comment. The product's own stages run on it with
the project's params: segment (an argument may give several claims), embed, cluster. An argument
takes the cluster most of its clustered claims fall in (ties: the earlier claim); it is noise only
when all its claims are (or it gave none). Per topic (../shared/README.md):

- gold = the arguments that match exactly one key point (label 1); that key point is their cluster;
- ARI and NMI on the gold arguments, predicted noise (-1) counting as one cluster;
- coverage = share of all the topic's arguments not in noise;
- stance purity = over predicted clusters (noise excluded), the argument-weighted share of each
  cluster's majority gold stance;
- stance accuracy = share of all the topic's arguments whose predicted stance toward the topic
  matches the gold stance: null until a `predict_stance` hook is given (the product has none yet).

The summary is the mean over topics (of the topics where a score is defined).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from stancemap.config import Params
from stancemap.errors import InputError, StancemapError
from stancemap.schemas import COMMENTS

METRICS = ("ari", "nmi", "coverage", "stance_purity", "stance_accuracy")
FILES = {
    "arguments": ("arg_id", "argument", "topic", "stance"),
    "key_points": ("key_point_id", "key_point", "topic", "stance"),
    "labels": ("arg_id", "key_point_id", "label"),
}


@dataclass(frozen=True)
class Topic:
    name: str  # the topic as written, which is also the proposition stance is taken toward
    arg_ids: list[str]
    arguments: list[str]
    stances: list[int]  # gold: 1 pro, -1 con
    key_points: list[str | None]  # the one matching key point, None when an argument matches 0 or 2+


class StancePredictor(Protocol):
    def __call__(self, claims: pl.DataFrame, vectors: np.ndarray, proposition: str) -> np.ndarray:
        """Stance of each claim (schema CLAIMS rows, with their vectors) toward the proposition:
        1 pro, -1 con, 0 none."""
        ...


def _read(data_dir: Path, kind: str, split: str) -> pl.DataFrame:
    path = data_dir / f"{kind}_{split}.csv"
    if not path.is_file():
        raise InputError(path, f"missing: an ArgKP split needs {', '.join(f'{k}_{split}.csv' for k in FILES)}")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    missing = [c for c in FILES[kind] if c not in frame.columns]
    if missing:
        raise InputError(path, f"no column {', '.join(missing)} (found: {', '.join(frame.columns) or 'none'})")
    for column in FILES[kind]:
        empty = frame[column].is_null() | (frame[column].str.strip_chars() == "")
        if empty.any():
            row = int(empty.arg_max())
            raise InputError(path, f"empty {column}", line=row + 2)
    return frame.select(FILES[kind]).with_columns(pl.col(pl.Utf8).str.strip_chars())


def _whole(frame: pl.DataFrame, path: Path, column: str, allowed: set[int]) -> list[int]:
    values = []
    for row, text in enumerate(frame[column].to_list()):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value not in allowed:
            expected = " or ".join(str(a) for a in sorted(allowed))
            raise InputError(path, f"{column} must be {expected}, got {text!r}", line=row + 2)
        values.append(value)
    return values


def _unique(frame: pl.DataFrame, path: Path, column: str) -> None:
    seen = frame[column].is_duplicated()
    if seen.any():
        row = int(seen.arg_max())
        raise InputError(path, f"{column} {frame[column][row]!r} appears more than once", line=row + 2)


def load_split(data_dir: str | Path, split: str) -> list[Topic]:
    """The split's topics in order of first appearance, each argument with its gold key point."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise StancemapError(f"{data_dir}: no such folder")
    args, kps, labels = (_read(data_dir, kind, split) for kind in FILES)
    args_path, kps_path, labels_path = (data_dir / f"{kind}_{split}.csv" for kind in FILES)
    if args.height == 0:
        raise InputError(args_path, "no arguments")
    _unique(args, args_path, "arg_id")
    _unique(kps, kps_path, "key_point_id")
    stances = _whole(args, args_path, "stance", {-1, 1})
    _whole(kps, kps_path, "stance", {-1, 1})
    matches = _whole(labels, labels_path, "label", {0, 1})
    known_args, known_kps = set(args["arg_id"]), set(kps["key_point_id"])
    positive: dict[str, list[str]] = {}
    for row, (arg_id, kp_id) in enumerate(labels.select("arg_id", "key_point_id").iter_rows()):
        if arg_id not in known_args:
            raise InputError(labels_path, f"arg_id {arg_id!r} is not in {args_path.name}", line=row + 2)
        if kp_id not in known_kps:
            raise InputError(labels_path, f"key_point_id {kp_id!r} is not in {kps_path.name}", line=row + 2)
        if matches[row] == 1:
            positive.setdefault(arg_id, []).append(kp_id)
    topics: dict[str, Topic] = {}
    for arg_id, text, name, stance in zip(args["arg_id"], args["argument"], args["topic"], stances, strict=True):
        topic = topics.setdefault(name, Topic(name, [], [], [], []))
        kp = positive.get(arg_id, [])
        topic.arg_ids.append(arg_id)
        topic.arguments.append(text)
        topic.stances.append(stance)
        topic.key_points.append(kp[0] if len(kp) == 1 else None)
    return list(topics.values())


def comments_table(topic: Topic, split: str) -> pl.DataFrame:
    """The topic's arguments as top-level comments of one thread, in the pipeline's comments schema."""
    n = len(topic.arg_ids)
    rows = {name: [None] * n for name in COMMENTS}
    rows.update(
        comment_id=[f"argkp:{split}:{a}" for a in topic.arg_ids],
        thread_id=[topic.name] * n,
        depth=[0] * n,
        text=topic.arguments,
        quotes=[[] for _ in range(n)],
        is_deleted=[False] * n,
        repeats=[1] * n,
        source=["argkp"] * n,
        source_file=[f"arguments_{split}.csv"] * n,
        source_line=list(range(2, n + 2)),  # header is line 1; within a topic, only the order is exact
    )
    return pl.DataFrame(rows, schema=COMMENTS)


def by_argument(comment_ids: list[str], claim_comment_ids: list[str], values: Sequence[int], none: int) -> np.ndarray:
    """One value per comment: the most common value of its claims other than `none` (ties: the
    earlier claim), or `none` when it has no such claim."""
    votes: dict[str, Counter] = {}
    for cid, value in zip(claim_comment_ids, values, strict=True):
        if value != none:
            votes.setdefault(cid, Counter())[int(value)] += 1  # Counter keeps first-seen order on ties
    return np.array([votes[c].most_common(1)[0][0] if c in votes else none for c in comment_ids], dtype=np.int64)


def score_topic(
    clusters: Sequence[int],
    key_points: Sequence[str | None],
    stances: Sequence[int],
    predicted_stances: Sequence[int] | None = None,
) -> dict:
    """ARI, NMI, coverage, stance purity and stance accuracy of one topic, from one predicted
    cluster (-1 = noise), gold key point (None = not gold) and gold stance per argument."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    clusters = np.asarray(clusters)
    stances = np.asarray(stances)
    gold = np.array([kp is not None for kp in key_points], dtype=bool)
    gold_kps = [kp for kp in key_points if kp is not None]
    n = len(clusters)
    result = {
        "n_arguments": n,
        "n_gold": int(gold.sum()),
        "n_key_points": len(set(gold_kps)),
        "n_clusters": len(set(clusters.tolist()) - {-1}),
        "ari": None,
        "nmi": None,
        "coverage": float((clusters != -1).mean()) if n else None,
        "stance_purity": None,
        "stance_accuracy": None,
    }
    if gold.any():
        result["ari"] = float(adjusted_rand_score(gold_kps, clusters[gold]))
        result["nmi"] = float(normalized_mutual_info_score(gold_kps, clusters[gold]))
    clustered = clusters != -1
    if clustered.any():
        found = set(clusters[clustered].tolist())
        majority = sum(max(Counter(stances[clusters == c].tolist()).values()) for c in found)
        result["stance_purity"] = majority / int(clustered.sum())
    if predicted_stances is not None and n:
        result["stance_accuracy"] = float((np.asarray(predicted_stances) == stances).mean())
    return result


def mean(rows: list[dict]) -> dict:
    """Mean of each metric over the topics where it is defined (None where it is nowhere)."""
    out = {}
    for key in METRICS:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def evaluate(
    data_dir: str | Path,
    split: str,
    params: Params,
    embedder=None,
    predict_stance: StancePredictor | None = None,
    topics: Sequence[str] | None = None,
    cache: dict[str, np.ndarray] | None = None,
) -> dict:
    """Per-topic scores of segment -> embed -> cluster with `params`, and their mean.
    `topics` keeps only those topics (all when None); `predict_stance` fills stance_accuracy;
    `cache` (an embed cache, filled as it goes) lets repeated runs embed each text once."""
    from stancemap.cluster import assign
    from stancemap.embed import SentenceTransformerEmbedder, embed
    from stancemap.segment import load_nlp, segment

    chosen = load_split(data_dir, split)
    if topics is not None:
        unknown = sorted(set(topics) - {t.name for t in chosen})
        if unknown:
            raise StancemapError(f"arguments_{split}.csv has no topic {', '.join(map(repr, unknown))}")
        chosen = [t for t in chosen if t.name in set(topics)]
    comments = [comments_table(t, split) for t in chosen]
    nlp = load_nlp(params.segment.spacy_model)
    claims = [segment(c, nlp, params.segment) for c in comments]
    everything = pl.concat(claims)
    cache = {} if cache is None else cache
    if embedder is None:
        embedder = SentenceTransformerEmbedder(params.embed.model, params.embed.batch_size)
    vectors = embed(everything, embedder, cache)["vector"].to_numpy().astype(np.float32)  # one call for all topics
    rows, offset = [], 0
    for topic, topic_comments, topic_claims in zip(chosen, comments, claims, strict=True):
        topic_vectors = vectors[offset : offset + topic_claims.height]
        offset += topic_claims.height
        ids, claim_ids = topic_comments["comment_id"].to_list(), topic_claims["comment_id"].to_list()
        claim_stances = None
        if predict_stance is not None and topic_claims.height:
            claim_stances = predict_stance(topic_claims, topic_vectors, topic.name)
        labels = []
        if topic_claims.height:
            # the cluster stage itself: topics, noise reassignment and, with stances, sides
            labels = assign(
                topic_vectors,
                topic_claims["claim_id"].to_list(),
                params.cluster,
                params.seed,
                _stance_table(topic_claims, claim_stances),
            )[0]
        predicted = None
        if claim_stances is not None:
            predicted = by_argument(ids, claim_ids, claim_stances, 0)
        elif predict_stance is not None:
            predicted = np.zeros(len(ids), np.int64)
        scores = score_topic(by_argument(ids, claim_ids, labels, -1), topic.key_points, topic.stances, predicted)
        rows.append({"topic": topic.name, "n_claims": topic_claims.height, **scores})
    return {
        "topics": rows,
        "mean": mean(rows),
        "split": split,
        "model": embedder.model_id,
        "seed": params.seed,
        "cluster": params.to_dict()["cluster"],
    }


def _stance_table(claims: pl.DataFrame, stances) -> pl.DataFrame | None:
    """Per-claim stances (1 / -1 / 0) as the stances table the cluster stage reads."""
    if stances is None:
        return None
    from stancemap.schemas import STANCES

    names = {1: "pro", -1: "con", 0: "neither"}
    return pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "proposition": [0] * claims.height,
            "p_pro": [None] * claims.height,
            "stance": [names[int(s)] for s in stances],
        },
        schema=STANCES,
    )


def product_stance(params: Params):
    """The product's stance stage as a predictor: the topic is the proposition."""
    from stancemap.stance.stage import load_model, sides

    model = load_model(params.stance)

    def predict(claims: pl.DataFrame, vectors, proposition: str) -> np.ndarray:
        texts = claims["text"].to_list()
        probs = model.predict([proposition] * len(texts), texts, params.stance.batch_size)
        return np.array([{"pro": 1, "con": -1}.get(s, 0) for s in sides(probs, params.stance.min_confidence)])

    return predict


def _fmt(value: float | None, width: int = 6) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.3f}"


def table(result: dict) -> str:
    lines = [
        f"{'topic':<44} {'args':>5} {'gold':>5} {'kps':>4} {'clus':>4} {'ARI':>6} {'NMI':>6} "
        f"{'cover':>6} {'purity':>6} {'st_acc':>6}"
    ]
    for r in result["topics"]:
        name = r["topic"] if len(r["topic"]) <= 44 else r["topic"][:43] + "…"
        lines.append(
            f"{name:<44} {r['n_arguments']:>5} {r['n_gold']:>5} {r['n_key_points']:>4} {r['n_clusters']:>4} "
            + " ".join(_fmt(r[k]) for k in METRICS)
        )
    m = result["mean"]
    lines.append(
        "MEAN "
        + " ".join(f"{label}={_fmt(m[k], 0)}" for label, k in zip(("ARI", "NMI"), METRICS[:2], strict=True))
        + " "
        + " ".join(f"{k}={_fmt(m[k], 0)}" for k in METRICS[2:])
    )
    return "\n".join(lines)


def run(
    data_dir: str | Path,
    split: str,
    params: Params,
    out: str | Path | None = None,
    embedder=None,
    with_stance: bool = True,
) -> dict:
    result = evaluate(data_dir, split, params, embedder, product_stance(params) if with_stance else None)
    if out is not None:
        from stancemap.io import write_json

        write_json(result, out)
    return result
