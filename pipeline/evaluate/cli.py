"""`stancemap evaluate ...`: score the product's own stages against gold data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stancemap.options import ParamsOpt, SetOpt
from stancemap.options import read_params as _params

evaluate_app = typer.Typer(
    help="Score the product's own stages against gold data.",
    epilog="Example: stancemap evaluate segments ../shared/eval/cmv_modes/threads",
    no_args_is_help=True,
)


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
