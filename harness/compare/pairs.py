"""Genuine and impostor pairs between enrolment and probe templates, with both sides' attributes.

Scores are returned, never decisions: thresholds belong to the metrics stage.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd


def euclidean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All-pairs Euclidean distance between rows of ``a`` (m, d) and ``b`` (n, d), shape (m, n).

    Computed as ||a-b|| directly on the difference (not the ||a||²+||b||²-2ab expansion)
    so that it equals ``face_recognition.face_distance`` bit for bit at this scale.
    """
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All-pairs cosine similarity, shape (m, n); zero vectors give 0."""
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na == 0, 1, na)) @ (b / np.where(nb == 0, 1, nb)).T


def build_pairs(
    enrol: pd.DataFrame,
    probe: pd.DataFrame,
    enrol_templates: np.ndarray,
    probe_templates: np.ndarray,
    attributes: list[str],
    impostors: str = "all",
    match_on: Optional[list[str]] = None,
) -> pd.DataFrame:
    """Score every enrolment template against every probe template.

    Parameters
    ----------
    enrol, probe : DataFrame
        One row per acquired image (``image``, ``subject_id`` and attribute columns), aligned
        with the rows of the template arrays.
    attributes : list of str
        Columns copied to the pair table as ``enrol_<attr>`` and ``probe_<attr>``.
    impostors : {"all", "matched"}
        ``matched`` keeps only impostor pairs whose two sides agree on ``match_on``.

    Returns
    -------
    DataFrame
        One row per pair: enrol_image, probe_image, enrol_subject, probe_subject, genuine,
        euclidean (distance), cosine (similarity), and the attributes of both sides.
    """
    m, n = len(enrol), len(probe)
    dist = euclidean_distance(enrol_templates, probe_templates) if m and n else np.zeros((m, n))
    cos = cosine_similarity(enrol_templates, probe_templates) if m and n else np.zeros((m, n))
    ei, pi = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    ei, pi = ei.ravel(), pi.ravel()
    e_sub = enrol["subject_id"].to_numpy()[ei]
    p_sub = probe["subject_id"].to_numpy()[pi]
    out = {
        "enrol_image": enrol["image"].to_numpy()[ei],
        "probe_image": probe["image"].to_numpy()[pi],
        "enrol_subject": e_sub,
        "probe_subject": p_sub,
        "genuine": e_sub == p_sub,
        "euclidean": dist.ravel(),
        "cosine": cos.ravel(),
    }
    for a in attributes:
        out[f"enrol_{a}"] = enrol[a].to_numpy()[ei]
        out[f"probe_{a}"] = probe[a].to_numpy()[pi]
    pairs = pd.DataFrame(out)
    if impostors == "matched":
        keep = pairs["genuine"].to_numpy().copy()
        same = np.ones(len(pairs), dtype=bool)
        for a in match_on or []:
            same &= (pairs[f"enrol_{a}"].astype(str) == pairs[f"probe_{a}"].astype(str)).to_numpy()
        pairs = pairs[keep | same].reset_index(drop=True)
    return pairs
