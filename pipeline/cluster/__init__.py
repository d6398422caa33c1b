"""Cluster: claim vectors -> topics (HDBSCAN in a spectral embedding of the neighbour graph), sides
within each topic, and 2-D map positions (a seeded UMAP).

A topic is what HDBSCAN finds. When claims have stances (the stance stage), each topic is split by
side, so a cluster never mixes the pro and con claims of one proposition: a cluster is one
(topic, side). HDBSCAN's noise joins the nearest topic when its similarity to that topic's centre
is at least `reassign_min_similarity`; the rest stays unclustered (-1), never dropped. Numbers are
ordered by size (largest first, ties by first claim), so the same input gives the same numbers.

Modules: `exact` (exact neighbour index), `spectral` (the embedding HDBSCAN clusters in), `model`
(spectral + HDBSCAN and the map's UMAP: fit, predict), `topics`
(numbering, centres, noise), `sides` (clusters by side), `state` (what reruns keep), `reruns`
(refit or place), `stage` (the stage on files).
"""

from stancemap.cluster.exact import ExactIndex
from stancemap.cluster.model import Fitted, cluster, fit, smallest_topic
from stancemap.cluster.reruns import Assignment, assign_incremental, full_fit, place_new, refit_reason
from stancemap.cluster.sides import side_keys, split_by_side
from stancemap.cluster.stage import assign, run
from stancemap.cluster.state import State, load_state, match_ids, save_state
from stancemap.cluster.topics import reassign_noise, renumber

__all__ = [
    "Assignment",
    "ExactIndex",
    "Fitted",
    "State",
    "assign",
    "assign_incremental",
    "cluster",
    "fit",
    "full_fit",
    "load_state",
    "match_ids",
    "place_new",
    "reassign_noise",
    "refit_reason",
    "renumber",
    "run",
    "save_state",
    "side_keys",
    "smallest_topic",
    "split_by_side",
]
