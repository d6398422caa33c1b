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

from pipeline.config import Layout, Params, load_params
from pipeline.errors import StancemapError
from pipeline.progress import say, set_quiet

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


@app.command(epilog="Example: stancemap ingest data/raw --out data/interim/comments.parquet")
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Thread files or folders of them.")],
    out: OutOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto, jsonl or text.")] = "auto",
):
    """Read thread files (JSONL, plain-text dumps) into one comments table."""
    from pipeline import ingest as stage

    comments = stage.run(inputs, out, fmt)
    say(f"ingest: {comments.height} comments in {comments['thread_id'].n_unique()} thread(s) -> {out}")


@app.command(epilog="Example: stancemap segment data/interim/comments.parquet --out data/interim/claims.parquet")
def segment(
    comments: Annotated[Path, typer.Argument(help="Comments table from `ingest`.")],
    out: OutOpt,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Split comments into claims with character offsets (quoted text excluded)."""
    from pipeline import segment as stage

    claims = stage.run(_params(params, overrides).segment, comments, out)
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
):
    """Embed claims with a sentence-transformer (offline), reusing cached vectors."""
    from pipeline import embed as stage

    embeddings = stage.run(_params(params, overrides).embed, claims, out, cache)
    say(f"embed: {embeddings.height} vectors -> {out}")


@app.command(epilog="Example: stancemap cluster data/interim/embeddings.parquet --out data/processed/clusters.parquet")
def cluster(
    embeddings: Annotated[Path, typer.Argument(help="Embeddings table from `embed`.")],
    out: OutOpt,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Cluster claims (seeded UMAP + HDBSCAN) and place them on a 2-D map."""
    from pipeline import cluster as stage

    p = _params(params, overrides)
    stage.run(p.cluster, p.seed, embeddings, out)


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
    from pipeline import label as stage

    labels = stage.run(_params(params, overrides).label, claims, comments, clusters, embeddings, out)
    say(f"label: {labels.height} cluster label(s) -> {out}")


@app.command(
    epilog="Example: stancemap report --claims data/interim/claims.parquet --comments "
    "data/interim/comments.parquet --clusters data/processed/clusters.parquet --labels "
    "data/processed/labels.parquet --out reports/stance_map.html --metrics reports/metrics.json"
)
def report(
    claims: Annotated[Path, typer.Option(help="Claims table.")],
    comments: Annotated[Path, typer.Option(help="Comments table.")],
    clusters: Annotated[Path, typer.Option(help="Clusters table.")],
    labels: Annotated[Path, typer.Option(help="Labels table.")],
    out: OutOpt,
    metrics: Annotated[Path | None, typer.Option(help="Also write run metrics (JSON) here.")] = None,
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Write the self-contained interactive HTML stance map."""
    from pipeline import report as stage

    path = stage.run(_params(params, overrides), claims, comments, clusters, labels, out, metrics)
    print(path)


@app.command(epilog="Example: stancemap run data/raw --workdir . --set cluster.min_cluster_size=10")
def run(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="Thread files or folders [default: WORKDIR/data/raw].")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where data/interim, data/processed and reports/ go.")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto, jsonl or text.")] = "auto",
    params: ParamsOpt = Path("params.yaml"),
    overrides: SetOpt = None,
):
    """Run every stage, ingest to report, and print the report's path last."""
    from pipeline import cluster as cluster_stage
    from pipeline import embed as embed_stage
    from pipeline import ingest as ingest_stage
    from pipeline import label as label_stage
    from pipeline import report as report_stage
    from pipeline import segment as segment_stage

    p = _params(params, overrides)
    at = Layout(workdir)
    steps = [
        ("ingest", lambda: ingest_stage.run(inputs or [at.raw], at.comments, fmt)),
        ("segment", lambda: segment_stage.run(p.segment, at.comments, at.claims)),
        ("embed", lambda: embed_stage.run(p.embed, at.claims, at.embeddings, at.embed_cache)),
        ("cluster", lambda: cluster_stage.run(p.cluster, p.seed, at.embeddings, at.clusters)),
        ("label", lambda: label_stage.run(p.label, at.claims, at.comments, at.clusters, at.embeddings, at.labels)),
        ("report", lambda: report_stage.run(p, at.claims, at.comments, at.clusters, at.labels, at.report, at.metrics)),
    ]
    for name, step in steps:
        started = time.perf_counter()
        step()
        say(f"{name}: done in {time.perf_counter() - started:.1f} s")
    print(at.report)


def main() -> None:
    try:
        app()
    except StancemapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
