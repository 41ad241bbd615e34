"""What every protocol shares: the interface, template lookup, scoring of listed pairs, template fusion.

The pair table a protocol returns has one row per comparison: ``enrol_image``, ``probe_image``,
``enrol_subject``, ``probe_subject``, ``genuine``, ``euclidean`` (distance), ``cosine`` (similarity),
``score`` (similarity: larger is more alike, the metrics' convention) and ``enrol_<attr>`` /
``probe_<attr>`` for every attribute sliced on; protocols may add columns (``fold``, ``listed_same``).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from harness.compare import build_pairs
from harness.errors import ConfigError, DatasetError


class Protocol:
    """Turns a data set into enrol/probe roles, then acquisitions into a pair table.

    Subclasses set ``kind`` and implement :meth:`roles` and :meth:`pairs`.
    """

    kind = ""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.p = cfg.protocol
        #: Warnings for the run (never a silent drop): extended into the run's warnings.
        self.notes: list[str] = []
        #: What the protocol did (recorded in provenance.protocol).
        self.info: dict[str, Any] = {"kind": self.kind, "fusion": self.p.fusion}

    # -- data set -> roles
    def per_image_columns(self) -> list[str]:
        """Columns that describe an image, exempt from the per-person consistency check."""
        return list(dict.fromkeys([self.p.split_column, *self.p.per_image_columns]))

    def roles(self, ds) -> pd.DataFrame:
        """Metadata rows with a ``role`` column (enrol / probe); one image may have one row per role."""
        raise NotImplementedError

    # -- acquisitions -> pairs
    def pairs(self, acq: pd.DataFrame, records: list[dict[str, Any]], slices) -> pd.DataFrame:
        raise NotImplementedError

    def check(self, pairs: pd.DataFrame) -> None:
        """Stop when the pairs cannot calibrate a threshold or measure an error rate."""
        if not pairs["genuine"].any() or pairs["genuine"].all():
            raise DatasetError(f"the {self.kind} protocol produced no genuine or no impostor pairs; check "
                               "subject_id and the protocol settings")

    def calibration_set(self, ds_name: str) -> str:
        return f"{ds_name} (clean photos): {self.kind} protocol impostor pairs"

    def outputs(self, pairs: pd.DataFrame, acq: pd.DataFrame, thresholds) -> dict[str, Any]:
        """Protocol-specific results (JSON-ready), e.g. LFW fold accuracies or watchlist alarms."""
        return {}

    def describe(self) -> dict[str, Any]:
        return dict(self.info)

    def warn_text_bins(self, frame: pd.DataFrame) -> None:
        """Warn where a column that metrics.bins bands numerically holds text (it would all be 'unknown')."""
        from harness.data.dataset import text_columns

        for col, examples in text_columns(frame, list(self.cfg.metrics.bins)).items():
            self.notes.append(
                f"metadata column {col!r} holds text ({', '.join(map(repr, examples))}), not numbers, so banding "
                f"it at metrics.bins.{col} puts those images in band 'unknown'; write numbers, or give the bands "
                f"their own column and slice on it (e.g. rename it {col}_group and set metrics.attributes)")

    # -- helpers
    def attributes(self, acq: pd.DataFrame, slices) -> list[str]:
        p = self.p
        attrs = sorted({a for s in slices for a in s} | set(p.match_on if p.impostors == "matched" else []))
        missing = [a for a in attrs if a not in acq.columns]
        if missing:
            raise ConfigError(f"protocol.match_on names column(s) not in metadata: {', '.join(missing)}")
        return attrs


def with_scores(pairs: pd.DataFrame, score: str) -> pd.DataFrame:
    """Add ``score``: the decision score as a similarity (distances negated)."""
    values = pairs[score].to_numpy(dtype=np.float64) if len(pairs) else np.zeros(0)
    pairs["score"] = -values if score == "euclidean" else values
    return pairs


def acquired(acq: pd.DataFrame, records: Sequence[dict[str, Any]], role: Optional[str] = None
             ) -> tuple[pd.DataFrame, np.ndarray]:
    """Acquired rows (of ``role``) and their templates, aligned."""
    ok = acq["ok"].to_numpy(dtype=bool)
    if role is not None:
        ok = ok & (acq["role"] == role).to_numpy()
    idx = np.flatnonzero(ok)
    rows = acq.iloc[idx].reset_index(drop=True)
    templates = np.array([records[i]["embedding"] for i in idx]) if len(idx) else np.zeros((0, 0))
    return rows, templates


def listed_pairs(left: pd.DataFrame, right: pd.DataFrame, lt: np.ndarray, rt: np.ndarray, li: np.ndarray,
                 ri: np.ndarray, attributes: Sequence[str]) -> pd.DataFrame:
    """Score rows ``li`` of ``left`` against rows ``ri`` of ``right`` (one pair per index), both scores.

    Distances are taken on the difference, row by row, as :func:`harness.compare.euclidean_distance`
    does, so a listed pair scores exactly as the same pair in a cross product.
    """
    li, ri = np.asarray(li, dtype=int), np.asarray(ri, dtype=int)
    if len(li):
        a, b = lt[li], rt[ri]
        dist = np.linalg.norm(a - b, axis=1)
        na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        cos = (a * b).sum(axis=1) / np.where((na * nb) == 0, 1, na * nb)
    else:
        dist = cos = np.zeros(0)
    e_sub = left["subject_id"].to_numpy()[li]
    p_sub = right["subject_id"].to_numpy()[ri]
    out = {"enrol_image": left["image"].to_numpy()[li], "probe_image": right["image"].to_numpy()[ri],
           "enrol_subject": e_sub, "probe_subject": p_sub, "genuine": e_sub == p_sub,
           "euclidean": dist, "cosine": cos}
    for a in attributes:
        out[f"enrol_{a}"] = left[a].to_numpy()[li]
        out[f"probe_{a}"] = right[a].to_numpy()[ri]
    return pd.DataFrame(out)


def mean_templates(rows: pd.DataFrame, templates: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """One template per person: the mean of their acquired embeddings (``image`` lists the images fused)."""
    if not len(rows):
        return rows, templates
    codes, uniq = pd.factorize(rows["subject_id"], sort=False)
    fused = np.zeros((len(uniq), templates.shape[1]))
    np.add.at(fused, codes, templates)
    fused /= np.bincount(codes)[:, None]
    first = rows.groupby(codes, sort=True).head(1).reset_index(drop=True)
    first["image"] = rows.groupby(codes, sort=True)["image"].agg(lambda s: "+".join(s)).to_numpy()
    return first, fused


def best_of(pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per (enrolled person, probe image): the best-scoring of that person's images."""
    if not len(pairs):
        return pairs
    order = pairs.sort_values("score", ascending=False, kind="mergesort")
    return order.drop_duplicates(["enrol_subject", "probe_image"]).sort_index().reset_index(drop=True)


def cross_pairs(proto: Protocol, enrol: pd.DataFrame, et: np.ndarray, probe: pd.DataFrame, pt: np.ndarray,
                attrs: Sequence[str]) -> pd.DataFrame:
    """Every enrolment template against every probe template, fused as ``protocol.fusion`` says."""
    p, score = proto.p, proto.cfg.metrics.score
    if p.fusion == "mean":
        enrol, et = mean_templates(enrol, et)
    pairs = build_pairs(enrol, probe, et, pt, list(attrs), impostors=p.impostors, match_on=p.match_on)
    pairs = with_scores(pairs, score)
    if p.fusion == "best":
        pairs = best_of(pairs)
    return pairs
