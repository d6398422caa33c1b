"""Topic numbers and centres: numbering by size, each topic's unit centre, the nearest topic of a
claim, and noise joining its nearest topic."""

from __future__ import annotations

import numpy as np

SIMILARITY_BLOCK = 4096  # claims compared with every topic centre at a time


def renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0.. by descending size, ties by first appearance; -1 stays -1."""
    ids = [c for c in dict.fromkeys(labels.tolist()) if c != -1]
    sizes = {c: int((labels == c).sum()) for c in ids}
    order = sorted(ids, key=lambda c: -sizes[c])  # stable sort keeps first appearance on ties
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(c, -1) for c in labels.tolist()], dtype=np.int32)


def topic_centres(topics: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Unit centre of each topic (-1 aside) and the topic ids, in id order; one sparse product, so
    thousands of topics over a million claims cost one pass."""
    from scipy import sparse

    ids = sorted(set(topics.tolist()) - {-1})
    if not ids:
        return np.zeros((0, vectors.shape[1]), np.float32), []
    members = np.flatnonzero(topics >= 0)
    rows = np.searchsorted(np.array(ids), topics[members])
    membership = sparse.csr_matrix((np.ones(len(members), np.float32), (rows, members)), shape=(len(ids), len(vectors)))
    centres = np.asarray(membership @ vectors, dtype=np.float32)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return centres, ids


def nearest_topic(
    vectors: np.ndarray,
    rows: np.ndarray,
    centres: np.ndarray,
    centre_topics: list[int],
    min_similarity: float,
    *,
    block: int = SIMILARITY_BLOCK,
) -> np.ndarray:
    """For `vectors[rows]`: the topic of the most similar centre when at least `min_similarity`,
    else -1. Works through the rows `block` at a time, so memory stays at one block x topics."""
    out = np.full(len(rows), -1, np.int32)
    if not centre_topics or min_similarity >= 1.0 or not len(rows):
        return out
    ids = np.array(centre_topics, dtype=np.int32)
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        sims = vectors[part] @ centres.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(part)), best] >= min_similarity
        out[start : start + len(part)] = np.where(ok, ids[best], -1)
    return out


def reassign_noise(labels: np.ndarray, vectors: np.ndarray, min_similarity: float) -> np.ndarray:
    """Unclustered claims join the topic whose centre (mean unit vector) is most similar, when that
    cosine similarity reaches `min_similarity`; 1.0 or more turns reassignment off."""
    noise = np.flatnonzero(labels == -1)
    if not len(noise) or min_similarity >= 1.0:
        return labels
    out = labels.copy()
    out[noise] = nearest_topic(vectors, noise, *topic_centres(labels, vectors), min_similarity)
    return out
