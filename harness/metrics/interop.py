"""Interoperability: fairlearn's MetricFrame and plain score files.

Which metrics go through fairlearn: only the point rates. With ``y_true`` = genuine and
``y_pred`` = score >= threshold, FMR is fairlearn's ``false_positive_rate`` and FNMR its
``false_negative_rate``. Intervals, FTA/FAR/FRR, the subject bootstrap and the disparity summaries
are facerisk's own: fairlearn's bootstrap resamples rows (pairs), which understates uncertainty
when pairs share people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

SCORE_COLUMNS = ("euclidean", "cosine", "score")
REQUIRED = ("enrol_subject", "probe_subject", "genuine")


def metric_frame(pairs: pd.DataFrame, threshold: float, attrs: Sequence[str], side: str = "probe"):
    """A fairlearn ``MetricFrame`` of FMR, FNMR and pair counts per group at one similarity threshold."""
    try:
        from fairlearn.metrics import MetricFrame, count, false_negative_rate, false_positive_rate
    except ImportError:
        raise ImportError("fairlearn is not installed: pip install fairlearn") from None
    y_true = pairs["genuine"].astype(int).to_numpy()
    y_pred = (pairs["score"].to_numpy() >= threshold).astype(int)
    sensitive = pairs[[f"{side}_{a}" for a in attrs]].rename(columns=lambda c: c[len(side) + 1:])
    sensitive = sensitive.astype(object).where(sensitive.notna(), "unknown")
    return MetricFrame(
        metrics={"fmr": false_positive_rate, "fnmr": false_negative_rate, "n_pairs": count},
        y_true=y_true, y_pred=y_pred, sensitive_features=sensitive,
    )


def read_scores(path: str | Path, score: str) -> pd.DataFrame:
    """Read a score file (CSV, e.g. a run's pairs.csv) into a pair table with a similarity ``score``.

    Required columns: enrol_subject, probe_subject, genuine, and the score column (``euclidean``
    distance, ``cosine`` similarity, or ``score`` already a similarity). Attributes as
    ``enrol_<attr>`` / ``probe_<attr>``. Without ``enrol_image`` / ``probe_image`` each person is taken
    to have one template on each side (the subject id stands for the image).
    """
    from harness.errors import DatasetError
    from harness.metrics.rates import to_similarity

    from harness.data.tables import read_csv

    p = Path(path)
    frame = read_csv(p, "a run's pairs.csv (enrol_subject, probe_subject, genuine, the score column)",
                     required=(*REQUIRED, score), what="score file",
                     dtype={"enrol_subject": str, "probe_subject": str}, keep_default_na=False, na_values=["", "NA"])
    g = frame["genuine"]
    if g.dtype != bool:
        mapped = g.astype(str).str.lower().map({"true": True, "1": True, "false": False, "0": False})
        if mapped.isna().any():
            bad = int(np.flatnonzero(mapped.isna().to_numpy())[0]) + 2
            raise DatasetError(f"{p}: row {bad}: genuine must be true/false or 1/0")
        frame["genuine"] = mapped.astype(bool)
    values = pd.to_numeric(frame[score], errors="coerce")
    if values.isna().any():
        bad = int(np.flatnonzero(values.isna().to_numpy())[0]) + 2
        raise DatasetError(f"{p}: row {bad}: {score} is not a number")
    _check_pairs(frame, values.to_numpy(dtype=float), score, p)
    for side in ("enrol", "probe"):
        if f"{side}_image" not in frame.columns:  # score files from elsewhere: one template per person
            frame[f"{side}_image"] = frame[f"{side}_subject"].astype(str)
    frame["score"] = to_similarity(values.to_numpy(), "euclidean" if score == "euclidean" else "cosine")
    return frame


def _check_pairs(frame: pd.DataFrame, values: np.ndarray, score: str, p: Path) -> None:
    """Refuse what would silently give wrong rates: impossible scores, mislabelled pairs, one-sided files."""
    from harness.errors import DatasetError

    def row(mask) -> int:
        return int(np.flatnonzero(np.asarray(mask))[0]) + 2  # CSV line number (header is line 1)

    if len(frame) == 0:
        raise DatasetError(f"{p}: no pairs (the file has a header only)")
    for col in ("enrol_subject", "probe_subject"):
        empty = frame[col].isna() | (frame[col].astype(str).str.strip() == "")
        if empty.any():
            raise DatasetError(f"{p}: row {row(empty)}: empty {col}; every pair must name both people (fill it in "
                               "or remove the row)")
    if not np.isfinite(values).all():
        raise DatasetError(f"{p}: row {row(~np.isfinite(values))}: {score} is not finite "
                           f"({values[~np.isfinite(values)][0]}); every pair needs a finite score: fix or remove the row")
    if score == "euclidean" and (values < 0).any():
        raise DatasetError(f"{p}: row {row(values < 0)}: a euclidean distance cannot be negative "
                           f"({values[values < 0][0]}); is the column a similarity? use --score score")
    if score == "cosine" and (np.abs(values) > 1 + 1e-6).any():
        raise DatasetError(f"{p}: row {row(np.abs(values) > 1 + 1e-6)}: a cosine similarity must lie in [-1, 1]; "
                           "use --score score for other similarities")
    same = (frame["enrol_subject"].astype(str) == frame["probe_subject"].astype(str)).to_numpy()
    gen = frame["genuine"].to_numpy(dtype=bool)
    if (gen != same).any():
        i = row(gen != same)
        raise DatasetError(f"{p}: row {i}: genuine is {bool(gen[i - 2])} but the subjects "
                           f"{'differ' if gen[i - 2] else 'are the same'}; genuine must mean the same person")
    keys = [c for c in ("enrol_image", "probe_image") if c in frame.columns] or ["enrol_subject", "probe_subject"]
    dup = frame.duplicated(keys, keep="first").to_numpy()
    if dup.any():  # a repeated pair would be counted twice
        raise DatasetError(f"{p}: row {row(dup)}: the pair {' / '.join(str(frame[k].iloc[row(dup) - 2]) for k in keys)} "
                           "is listed more than once; keep one row per pair")
    if gen.all() or not gen.any():
        need = "impostor" if gen.all() else "genuine"
        raise DatasetError(f"{p}: only {'genuine' if gen.all() else 'impostor'} pairs; false match and false "
                           f"non-match rates need both: add the {need} pairs (genuine={str(need == 'genuine').lower()})")


def acquisitions_from_pairs(pairs: pd.DataFrame, attrs: Sequence[str]) -> pd.DataFrame:
    """Per-subject rows (one enrol, one probe, all acquired) for score files that carry no FTA record."""
    rows = []
    for role in ("enrol", "probe"):
        cols = [f"{role}_subject"] + [f"{role}_{a}" for a in attrs if f"{role}_{a}" in pairs.columns]
        part = pairs[cols].drop_duplicates(f"{role}_subject")
        part.columns = ["subject_id"] + [c[len(role) + 1:] for c in cols[1:]]
        rows.append(part.assign(role=role, ok=True))
    return pd.concat(rows, ignore_index=True)
