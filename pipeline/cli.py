"""The `stancemap` command: one thin command per stage, and `run` for all of them.

Commands only parse options and call each stage's `run`; errors the user can fix are printed
as one line (file, record, problem) with exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from stancemap.config import Params, load_params
from stancemap.errors import StancemapError
from stancemap.progress import say, set_quiet
from stancemap.stages import Layout

app = typer.Typer(
    name="stancemap",
    help="Map the arguments inside online discussions: threads -> claims -> clusters -> an HTML stance map.",
    epilog="Example: stancemap run data/raw   (writes reports/stance_map.html)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOpt = Annotated[
    Path, typer.Option("--params", "-p", help="params.yaml to read (defaults apply when it is absent).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", metavar="SECTION.KEY=VALUE", help="Override a param, e.g. cluster.min_cluster_size=20."
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="File to write (atomically).")]


def _params(path: Path, overrides: list[str] | None) -> Params:
    explicit = path != Path("params.yaml")
    return load_params(path if (explicit or path.exists()) else None, overrides or [])


@app.callback()
def _global(quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or status lines.")] = False):
    set_quiet(quiet)


FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="auto, or one of: hn, reddit, jsonl, csv, parquet, text.")
]
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", help="Skip bad records (logged to OUT.skipped.jsonl) instead of stopping.")
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map", metavar="FIELD=COLUMN,...", help="Column names for CSV/JSONL/Parquet, e.g. text=body,author=user."
    ),
]


@app.command(
    epilog="Example: stancemap ingest data/raw --out data/interim/comments.parquet "
    "--threads data/interim/threads.parquet"
)
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Thread files or folders of them (.gz is fine).")],
    out: OutOpt,
    threads: Annotated[Path | None, typer.Option(help="Also write the threads table here.")] = None,
    sources: Annotated[Path | None, typer.Option(help="Also write the input files' provenance here.")] = None,
    fmt: FormatOpt = "auto",
    skip_bad: SkipBadOpt = False,
    field_map: MapOpt = None,
):
    """Read threads (Hacker News, Reddit, JSONL, CSV, Parquet, plain-text dumps) into one comments table."""
    from stancemap import ingest as stage
    from stancemap.ingest.records import parse_map

    comments = stage.run(inputs, out, fmt, threads, skip_bad, parse_map(field_map), sources)
    say(f"ingest: {comments.height} comments in {comments['thread_id'].n_unique()} thread(s) -> {out}")
    if skip_bad:
        say(f"ingest: skipped records are listed in {stage.skip_log_path(out)}")


@app.command(epilog="Example: stancemap fetch https://news.ycombinator.com/item?id=8863 reddit:n49rw --out data/raw")
def fetch(
    targets: Annotated[list[str], typer.Argument(help="Thread URLs, or hn:ID / reddit:ID.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to save the threads in.")] = Path("data/raw"),
):
    """Download Hacker News or Reddit threads (with provenance) for `dvc repro` to pick up.

    The one command that uses the network: a polite User-Agent, timeouts and retries with backoff.
    """
    from stancemap.fetch import fetch as download

    for path in download(targets, out):
        print(path)


class Engine(StrEnum):
    local = "local"
    ray = "ray"


EngineOpt = Annotated[
    Engine, typer.Option(help="Where the work runs: this process, or Ray workers (the optional ray extra).")
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster for --engine ray: auto, HOST:6379 or ray://HOST:10001 (default: RAY_ADDRESS, else a new "
        "local Ray). See docs/ray.md."
    ),
]


@app.command(
    epilog="Example: stancemap segment data/interim/comments.parquet --out data/interim/claims.parquet "
    "--cache data/interim/segment_cache.parquet"
)
def segment(
    comments: Annotated[Path, typer.Argument(help="Comments table from `ingest`.")],
    out: OutOpt,
    cache: Annotated[
        Path | None, typer.Option(help="Per-comment cache: a rerun segments only comments it has not seen.")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
):
    """Split comments into claims with character offsets (quoted text excluded)."""
    from stancemap import segment as stage

    p = _params(params, overrides).segment
    if engine is Engine.ray:
        from stancemap.engine import run_segment

        claims = run_segment(p, comments, out, cache, ray_address)
    else:
        claims = stage.run(p, comments, out, cache)
    say(f"segment: {claims.height} claims -> {out}")


@app.command(
    epilog="Example: stancemap embed data/interim/claims.parquet --out data/interim/embeddings.parquet "
    "--cache data/interim/embed_cache.parquet"
)
def embed(
    claims: Annotated[Path, typer.Argument(help="Claims table from `segment`.")],
    out: OutOpt,
    cache: Annotated[Path | None, typer.Option(help="Embedding cache (Parquet); reruns embed only new text.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
):
    """Embed claims with a sentence-transformer (offline), reusing cached vectors."""
    from stancemap import embed as stage

    p = _params(params, overrides).embed
    if engine is Engine.ray:
        from stancemap.engine import run_embed

        embeddings = run_embed(p, claims, out, cache, ray_address)
    else:
        embeddings = stage.run(p, claims, out, cache)
    say(f"embed: {embeddings.height} vectors -> {out}")


@app.command(
    epilog="Example: stancemap stance data/interim/claims.parquet --comments data/interim/comments.parquet "
    "--out data/processed/stances.parquet --replies data/processed/replies.parquet"
)
def stance(
    claims: Annotated[Path, typer.Argument(help="Claims table from `segment`.")],
    out: OutOpt,
    comments: Annotated[
        Path | None,
        typer.Option(help="Comments table from `ingest`: without propositions, sides come from reply structure."),
    ] = None,
    replies: Annotated[Path | None, typer.Option(help="Also write every scored reply (needs --comments).")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
):
    """Pro, con or neither for each claim: toward each proposition, else toward its thread's opening post."""
    from stancemap.stance import stage

    stage.run(_params(params, overrides).stance, claims, out, comments_path=comments, replies_out=replies,
              engine=engine.value, address=ray_address)


@app.command(
    epilog="Example: stancemap positions --claims data/interim/claims.parquet --embeddings "
    "data/interim/embeddings.parquet --clusters data/processed/clusters.parquet --replies "
    "data/processed/replies.parquet --out data/processed/positions.parquet --sides data/processed/sides.parquet"
)
def positions(
    claims: Annotated[Path, typer.Option(help="Claims table from `segment`.")],
    embeddings: Annotated[Path, typer.Option(help="Embeddings table from `embed`.")],
    clusters: Annotated[Path, typer.Option(help="Clusters table from `cluster` (its topics).")],
    out: OutOpt,
    sides: Annotated[Path, typer.Option(help="Where each claim's side toward its topic's proposition goes.")],
    replies: Annotated[Path | None, typer.Option(help="Replies table from `stance` (one more signal).")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddressOpt = None,
):
    """Find each topic's proposition and every claim's side toward it (when no propositions are given)."""
    from stancemap.stance import positions as stage

    stage.run(_params(params, overrides).stance, claims=claims, embeddings=embeddings, clusters=clusters,
              out=out, sides_out=sides, replies=replies, engine=engine.value, address=ray_address)


@app.command(
    name="train-stance",
    epilog="Example: stancemap train-stance ../shared/eval --exclude ../shared/eval/argkp/arguments_dev.csv "
    "--out pipeline/models/stance-minilm --log train.log",
)
def train_stance(
    data: Annotated[Path, typer.Argument(help="The data folder (../shared/eval: stance/, nli/, argq30k/, argkp/).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write (replaced atomically).")],
    exclude: Annotated[
        list[Path] | None, typer.Option(help="CSV files whose topics are never trained on (every evaluation split).")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training mix (about 18 min each on 2 idle cores).")] = 3,
    lr: Annotated[float, typer.Option(help="Peak learning rate (warm-up, then linear decay).")] = 8e-5,
    threads: Annotated[int, typer.Option(help="CPU threads; the result depends on it, so keep it fixed.")] = 2,
    stop_after: Annotated[int, typer.Option(help="Stop after this many passes of the schedule (0 = all).")] = 0,
    max_pairs: Annotated[int, typer.Option(help="Use only this many training pairs (0 = the whole mix).")] = 0,
    log: Annotated[Path | None, typer.Option(help="Append progress here, one JSON line per report.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Fine-tune the three-way stance cross-encoder (the bundled MiniLM) and write its model card."""
    from stancemap.stance.card import write_card
    from stancemap.stance.data import topics_of
    from stancemap.stance.train import train

    excluded = set().union(*(topics_of(path) for path in exclude or []))
    facts = train(data, out, excluded, seed=_params(params, overrides).seed, epochs=epochs, lr=lr,
                  max_pairs=max_pairs or None, threads=threads, log=log, stop_after=stop_after or None)
    write_card(out, facts)
    print(out)


@app.command(
    epilog="Example: stancemap cluster data/interim/embeddings.parquet --stances data/processed/stances.parquet "
    "--out data/processed/clusters.parquet --state data/processed/cluster_state.joblib"
)
def cluster(
    embeddings: Annotated[Path, typer.Argument(help="Embeddings table from `embed`.")],
    out: OutOpt,
    stances: Annotated[
        Path | None,
        typer.Option(
            help="Stances table: claims carry their side, and with stance.propositions set, clusters are split "
            "by side (sides toward each thread's opening post differ per thread, so they only mark claims)."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="Models and ids of the last run: new claims join its clusters, and ids stay stable."),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Refit everything (ids still match the last run).")] = False,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Cluster claims into topics (seeded UMAP + HDBSCAN), split them by side toward the propositions, and place
    them on a 2-D map.

    With --state, a rerun places only new claims (UMAP transform + HDBSCAN approximate prediction) until
    cluster.max_drift of the claims changed since the last full fit; then it refits."""
    from stancemap import cluster as stage

    p = _params(params, overrides)
    stage.run(
        p.cluster, seed=p.seed, embeddings=embeddings, out=out, stances=stances, state=state, full=full,
        split_sides=bool(p.stance.propositions),
    )


@app.command(
    epilog="Example: stancemap label --claims data/interim/claims.parquet --comments "
    "data/interim/comments.parquet --clusters data/processed/clusters.parquet --embeddings "
    "data/interim/embeddings.parquet --out data/processed/labels.parquet"
)
def label(
    claims: Annotated[Path, typer.Option(help="Claims table.")],
    comments: Annotated[Path, typer.Option(help="Comments table.")],
    clusters: Annotated[Path, typer.Option(help="Clusters table.")],
    embeddings: Annotated[Path, typer.Option(help="Embeddings table.")],
    out: OutOpt,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Label each cluster with keywords, key claims and counts of claims, comments and authors."""
    from stancemap import label as stage

    labels = stage.run(_params(params, overrides).label, claims, comments, clusters, embeddings, out)
    say(f"label: {labels.height} cluster label(s) -> {out}")


@app.command(
    epilog="Example: stancemap report --claims data/interim/claims.parquet --comments "
    "data/interim/comments.parquet --clusters data/processed/clusters.parquet --labels "
    "data/processed/labels.parquet --threads data/interim/threads.parquet --sources data/interim/sources.parquet "
    "--out reports/stance_map.html --metrics reports/metrics.json"
)
def report(
    claims: Annotated[Path, typer.Option(help="Claims table.")],
    comments: Annotated[Path, typer.Option(help="Comments table.")],
    clusters: Annotated[Path, typer.Option(help="Clusters table.")],
    labels: Annotated[Path, typer.Option(help="Labels table.")],
    out: OutOpt,
    metrics: Annotated[Path | None, typer.Option(help="Also write run metrics (JSON) here.")] = None,
    threads: Annotated[Path | None, typer.Option(help="Threads table from `ingest` (titles, links).")] = None,
    sources: Annotated[Path | None, typer.Option(help="Input files table from `ingest` (hashes, counts).")] = None,
    replies: Annotated[Path | None, typer.Option(help="Replies table from `stance` (rebuttals).")] = None,
    positions: Annotated[Path | None, typer.Option(help="Positions table from `positions`.")] = None,
    sides: Annotated[Path | None, typer.Option(help="Sides table from `positions` (found sides).")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Write the self-contained interactive HTML stance map (run date: SOURCE_DATE_EPOCH when set, else now)."""
    from stancemap import report as stage

    p = _params(params, overrides)
    path = stage.run(p, claims, comments, clusters, labels, out, metrics, threads, sources, replies, positions, sides)
    print(path)


@app.command(epilog="Example: stancemap run data/raw --workdir . --set cluster.min_cluster_size=10")
def run(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="Thread files or folders [default: WORKDIR/data/raw].")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where data/interim, data/processed and reports/ go.")] = Path("."),
    fmt: FormatOpt = "auto",
    skip_bad: SkipBadOpt = False,
    field_map: MapOpt = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Run every stage, ingest to report, and print the report's path last."""
    from stancemap import cluster as cluster_stage
    from stancemap import embed as embed_stage
    from stancemap import ingest as ingest_stage
    from stancemap import label as label_stage
    from stancemap import report as report_stage
    from stancemap import segment as segment_stage
    from stancemap.ingest.records import parse_map
    from stancemap.stance import positions as positions_stage
    from stancemap.stance import stage as stance_stage

    p = _params(params, overrides)
    at = Layout(workdir)
    mapping = parse_map(field_map)
    steps = [
        (
            "ingest",
            lambda: ingest_stage.run(inputs or [at.raw], at.comments, fmt, at.threads, skip_bad, mapping, at.sources),
        ),
        ("segment", lambda: segment_stage.run(p.segment, at.comments, at.claims, at.segment_cache)),
        ("embed", lambda: embed_stage.run(p.embed, at.claims, at.embeddings, at.embed_cache)),
        ("stance", lambda: stance_stage.run(p.stance, at.claims, at.stances, None, at.comments, at.replies)),
        (
            "cluster",
            lambda: cluster_stage.run(
                p.cluster,
                seed=p.seed,
                embeddings=at.embeddings,
                out=at.clusters,
                stances=at.stances,
                state=at.cluster_state,
                split_sides=bool(p.stance.propositions),
            ),
        ),
        (
            "positions",
            lambda: positions_stage.run(
                p.stance, claims=at.claims, embeddings=at.embeddings, clusters=at.clusters, out=at.positions,
                sides_out=at.sides, replies=at.replies,
            ),
        ),
        ("label", lambda: label_stage.run(p.label, at.claims, at.comments, at.clusters, at.embeddings, at.labels)),
        (
            "report",
            lambda: report_stage.run(
                p, at.claims, at.comments, at.clusters, at.labels, at.report, at.metrics, at.threads, at.sources,
                at.replies, at.positions, at.sides,
            ),
        ),
    ]
    for name, step in steps:
        started = time.perf_counter()
        step()
        say(f"{name}: done in {time.perf_counter() - started:.1f} s")
    print(at.report)


evaluate_app = typer.Typer(
    help="Score the product's own stages against gold data.",
    epilog="Example: stancemap evaluate segments ../shared/eval/cmv_modes/threads",
    no_args_is_help=True,
)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command(
    "segments", epilog="Example: stancemap evaluate segments ../shared/eval/cmv_modes/threads --out segments.json"
)
def evaluate_segments(
    folder: Annotated[Path, typer.Argument(help="Threads in the ChangeMyView modes format (.txt, .ann, .metadata).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write every score as JSON here.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Precision, recall and F1 of claim segmentation against gold claim/premise spans, beside
    plain sentence splitting; the last line is `MEAN segments: ...`."""
    from stancemap.evaluate import segments as evaluation

    result = evaluation.run(folder, _params(params, overrides).segment, out)
    print(evaluation.table(result))


@evaluate_app.command(
    "replies", epilog="Example: stancemap evaluate replies ../shared/eval/cmv_modes/threads --out replies.json"
)
def evaluate_replies(
    folder: Annotated[Path, typer.Argument(help="Threads in the ChangeMyView modes format (.xml with relations).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write every score as JSON here.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Score rebuttal detection and the side toward the opening post (the stance fallback without
    propositions) against gold relations, beside trivial baselines; the last line is `MEAN ...`."""
    from stancemap.evaluate import replies as evaluation

    result = evaluation.run(folder, _params(params, overrides).stance, out)
    print(evaluation.table(result))


@evaluate_app.command(
    "argkp", epilog="Example: stancemap evaluate argkp ../shared/eval/argkp --split dev --out argkp_dev.json"
)
def evaluate_argkp(
    data_dir: Annotated[
        Path, typer.Argument(help="Folder with arguments_SPLIT.csv, key_points_SPLIT.csv, labels_SPLIT.csv.")
    ],
    split: Annotated[str, typer.Option(help="Which split: dev, train, ...")] = "dev",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write every score as JSON here.")] = None,
    stance: Annotated[bool, typer.Option(help="Predict stance toward each topic (the stance stage).")] = True,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Cluster each topic's arguments with the product's own stages and score them against the gold
    key points (ARI, NMI, coverage, stance purity, stance accuracy); the last line is `MEAN ...`."""
    from stancemap.evaluate import argkp

    result = argkp.run(data_dir, split, _params(params, overrides), out, with_stance=stance)
    print(argkp.table(result))


@evaluate_app.command(
    "stance", epilog="Example: stancemap evaluate stance ../shared/eval/stance/semeval2016/test.csv --out semeval.json"
)
def evaluate_stance(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files with columns proposition,text,stance (pro, con or neither).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write every score and the params used as JSON here.")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Score the stance model (stance.adapter, stance.min_confidence) on each file and each of its
    propositions: accuracy, macro-F1 over the gold's classes, side precision and side recall. The
    last line is `MEAN stance: ...`, scored on all rows of all files pooled together."""
    from stancemap.evaluate import stance as evaluation

    result = evaluation.run(files, _params(params, overrides).stance, out)
    print(evaluation.table(result))


def main() -> None:
    try:
        app()
    except StancemapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
