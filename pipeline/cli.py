"""The `stancemap` command: one thin command per stage, and `run` for all of them.

Commands only parse options and call each stage's `run`; errors the user can fix are printed
as one line (file, record, problem) with exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from stancemap.errors import StancemapError
from stancemap.evaluate.cli import evaluate_app
from stancemap.options import (
    Engine,
    EngineOpt,
    FormatOpt,
    MapOpt,
    OutOpt,
    ParamsOpt,
    RayAddressOpt,
    SetOpt,
    SkipBadOpt,
)
from stancemap.options import read_params as _params
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

app.add_typer(evaluate_app, name="evaluate")


@app.callback()
def _global(quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or status lines.")] = False):
    set_quiet(quiet)


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
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Read threads (Hacker News, Reddit, JSONL, CSV, Parquet, plain-text dumps) into one comments table."""
    from stancemap import ingest as stage
    from stancemap.ingest.records import parse_map

    comments = stage.run(
        _params(params, overrides).ingest,
        inputs=inputs, out=out, threads=threads, sources=sources, fmt=fmt, skip_bad=skip_bad,
        field_map=parse_map(field_map),
    )
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

        claims = run_segment(p, comments=comments, out=out, cache=cache, address=ray_address)
    else:
        claims = stage.run(p, comments=comments, out=out, cache=cache)
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

        embeddings = run_embed(p, claims=claims, out=out, cache=cache, address=ray_address)
    else:
        embeddings = stage.run(p, claims=claims, out=out, cache=cache)
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

    stage.run(
        _params(params, overrides).stance, claims=claims, out=out, comments=comments, replies=replies,
        engine=engine.value, address=ray_address,
    )


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

    stage.run(
        _params(params, overrides).stance, claims=claims, embeddings=embeddings, clusters=clusters, out=out,
        sides=sides, replies=replies, engine=engine.value, address=ray_address,
    )


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
    init: Annotated[Path | None, typer.Option(help="Start from this stance model (default: the base MiniLM).")] = None,
    mix: Annotated[
        list[str] | None,
        typer.Option(help="Pairs per source, e.g. --mix offtopic=6000 (vast, tweets, nli, debate, keypoints, "
                     "extra: repeated when more than there are)."),
    ] = None,
    extra: Annotated[
        list[Path] | None,
        typer.Option(help="Labelled pairs of your own: proposition,text,stance CSV files or folders of them; "
                     "a fifth of their propositions are kept for tuning."),
    ] = None,
    attention: Annotated[
        str | None,
        typer.Option(help="joint, or split: the proposition never attends to the text, so scoring reuses it "
                     "(default: the --init model's, else joint)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Fine-tune the three-way stance cross-encoder (the bundled MiniLM) and write its model card."""
    from stancemap.stance.card import write_card
    from stancemap.stance.data import parse_mix, topics_of
    from stancemap.stance.train import train

    excluded = set().union(*(topics_of(path) for path in exclude or []))
    facts = train(data, out, excluded, seed=_params(params, overrides).seed, epochs=epochs, lr=lr,
                  max_pairs=max_pairs or None, threads=threads, log=log, stop_after=stop_after or None,
                  init=init, mix=parse_mix(mix or []), attention=attention, extra=tuple(extra or ()))
    write_card(out, facts)
    print(out)


@app.command(
    epilog="Example: stancemap cluster data/interim/embeddings.parquet --stances data/processed/stances.parquet "
    "--out data/processed/clusters.parquet --state data/processed/cluster_state.pickle"
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
    """Cluster claims into topics (HDBSCAN in a spectral embedding of their neighbour graph), split them by side
    toward the propositions, and place them on a 2-D map (seeded UMAP).

    With --state, a rerun places only new claims (spectral and map placement
    from their nearest fitted claims, HDBSCAN approximate prediction) until cluster.max_drift of the
    claims changed since the last full fit; then it refits."""
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

    labels = stage.run(
        _params(params, overrides).label, claims=claims, comments=comments, clusters=clusters,
        embeddings=embeddings, out=out,
    )
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
    summary: Annotated[Path | None, typer.Option(help="Also write the positions overview as Markdown here.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Write the self-contained interactive HTML stance map (run date: SOURCE_DATE_EPOCH when set, else now)."""
    from stancemap import report as stage

    p = _params(params, overrides)
    path = stage.run(
        p, claims=claims, comments=comments, clusters=clusters, labels=labels, out=out, metrics=metrics,
        threads=threads, sources=sources, replies=replies, positions=positions, sides=sides, summary=summary,
    )
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
    wait: Annotated[
        bool, typer.Option("--wait", help="If another run is writing to the workdir, wait for it instead of exiting.")
    ] = False,
):
    """Run every stage, ingest to report, and print the report's path last.

    A run is all or nothing: the stages write into WORKDIR/.stancemap/staging, and the new set of
    artifacts replaces the old one only when every stage has succeeded (a failed or killed run leaves
    the previous artifacts as they were). One run at a time writes to a workdir.

    The stages and the artifacts each reads and writes come from one table (stancemap.stages), the
    same one dvc.yaml is checked against."""
    from stancemap import workdir as txn
    from stancemap.ingest.records import parse_map
    from stancemap.stages import RUN_STAGES

    p = _params(params, overrides)  # every param is checked before anything is touched
    sources = list(inputs or [Layout(workdir).raw])
    txn.check_workdir(workdir, sources)
    ingest_options = {"inputs": sources, "fmt": fmt, "skip_bad": skip_bad, "field_map": parse_map(field_map)}
    with txn.locked(workdir, wait=wait, say=say), txn.transaction(workdir) as staged:
        for stage in RUN_STAGES:
            started = time.perf_counter()
            txn.checkpoint(f"stage:{stage.name}")
            stage.run(p, staged, **(ingest_options if stage.name == "ingest" else {}))
            say(f"{stage.name}: done in {time.perf_counter() - started:.1f} s")
    print(Layout(workdir).report)


def main() -> None:
    try:
        app()
    except StancemapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # read-only, disk full, not a folder, permission denied: one line, not a traceback
        from stancemap.workdir import describe_os_error

        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
