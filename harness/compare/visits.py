"""Matching a visit (several frames of one passer-by) against a gallery, under a decision policy.

Many frames give many chances to match falsely, so the policy changes the false match rate:

- ``best``: only the highest-quality frame is searched;
- ``mean``: the frames' templates are averaged into one;
- ``any``: every frame is searched and the visit matches if any frame does (the score is the max).
"""

from __future__ import annotations

import numpy as np

from harness.compare.pairs import cosine_similarity, euclidean_distance

POLICIES = ("best", "mean", "any")


def similarity(a: np.ndarray, b: np.ndarray, score: str) -> np.ndarray:
    """All-pairs similarity (higher = more alike): negated distance or cosine."""
    return -euclidean_distance(a, b) if score == "euclidean" else cosine_similarity(a, b)


def visit_scores(templates: np.ndarray, qualities: np.ndarray, gallery: np.ndarray, score: str,
                 policy: str) -> np.ndarray:
    """Similarity of one visit to every gallery entry under ``policy``; shape (gallery,)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    t = np.atleast_2d(templates)
    if policy == "best":
        return similarity(t[[int(np.argmax(qualities))]], gallery, score)[0]
    if policy == "mean":
        return similarity(t.mean(axis=0, keepdims=True), gallery, score)[0]
    return similarity(t, gallery, score).max(axis=0)
