"""Verification error rates as pure functions of score arrays (bob.measure style).

Convention: scores are *similarities* (higher means more alike) and a comparison is a
match when ``score >= threshold``. Distances are negated by the caller
(:func:`to_similarity`) so one convention serves every score kind.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np


def to_similarity(values: np.ndarray, kind: str) -> np.ndarray:
    """Turn raw scores into similarities: distances are negated, similarities kept."""
    values = np.asarray(values, dtype=np.float64)
    return -values if kind == "euclidean" else values


def from_similarity(threshold: float, kind: str) -> float:
    """A similarity threshold back in the score's own units."""
    return -threshold if kind == "euclidean" else threshold


def false_matches(impostor: np.ndarray, threshold: float) -> int:
    """Impostor comparisons at or above the threshold."""
    return int(np.count_nonzero(np.asarray(impostor) >= threshold))


def false_non_matches(genuine: np.ndarray, threshold: float) -> int:
    """Genuine comparisons below the threshold."""
    return int(np.count_nonzero(np.asarray(genuine) < threshold))


def fmr(impostor: np.ndarray, threshold: float) -> float:
    """False match rate; NaN for no impostor comparisons."""
    n = len(impostor)
    return false_matches(impostor, threshold) / n if n else math.nan


def fnmr(genuine: np.ndarray, threshold: float) -> float:
    """False non-match rate; NaN for no genuine comparisons."""
    n = len(genuine)
    return false_non_matches(genuine, threshold) / n if n else math.nan


def beta_ppf(q, a, b):
    """Quantile ``q`` of the Beta(a, b) distribution (``scipy.stats.beta.ppf(q, a, b)``).

    ``scipy.special.betaincinv``: the same Boost routine that ``scipy.stats.beta`` calls, bit-identical for
    a, b > 0 (tests/metrics/test_rates_beta_ppf.py), without importing scipy.stats (0.5 s per process).
    """
    from scipy.special import betaincinv

    return betaincinv(a, b, q)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval for k errors in n trials; (NaN, NaN) for n=0."""
    if n == 0:
        return (math.nan, math.nan)
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta_ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_ppf(1 - alpha / 2, k + 1, n - k))
    return (lo, hi)


def rule_of_three(k: int, n: int) -> Optional[float]:
    """The 95% upper bound 3/n when zero errors were seen in n trials, else None."""
    if k != 0 or n == 0:
        return None
    return min(1.0, 3.0 / n)


def iso_far_frr(fmr_value: float, fnmr_value: float, fta: float) -> tuple[float, float]:
    """ISO/IEC 19795-1 transaction rates with failure to acquire folded in.

    FAR = FMR·(1−FTA);  FRR = FTA + FNMR·(1−FTA).
    """
    return (fmr_value * (1 - fta), fta + fnmr_value * (1 - fta))


@dataclass
class Threshold:
    """A decision threshold with its provenance.

    ``value`` is in similarity units (match iff score >= value); ``native`` is the same
    threshold in the score's own units (for Euclidean distance: match iff distance <= native).
    """

    id: str
    kind: str  # "calibrated" or "fixed"
    value: float
    native: float
    score: str
    target_fmr: Optional[float] = None
    calibration_set: Optional[str] = None
    n_impostor: Optional[int] = None
    achieved_fmr: Optional[float] = None
    source: str = ""
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def threshold_at_fmr(impostor: np.ndarray, target: float) -> tuple[float, float, list[str]]:
    """The lowest threshold whose FMR on ``impostor`` does not exceed ``target``.

    Returns
    -------
    value : float
        Similarity threshold (match iff score >= value).
    achieved : float
        FMR at that threshold on the calibration scores (<= target).
    flags : list of str
        ``below-3/N`` when the target is under 3/N: fewer than three false matches can be
        observed, so the threshold rests on the few highest impostor scores and is unstable.
    """
    s = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]
    n = len(s)
    if n == 0:
        raise ValueError("no impostor scores to calibrate a threshold on")
    flags = []
    if target < 3.0 / n:
        flags.append("below-3/N")
    k = int(math.floor(target * n + 1e-9))  # false matches allowed
    if k >= n:
        value = float(s[-1])
    else:
        # Just above the (k+1)-th highest impostor score: at most k scores reach it (fewer on ties).
        value = float(np.nextafter(s[k], np.inf))
    achieved = fmr(s, value)
    return value, achieved, flags


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FMR and FNMR at every distinct score used as a threshold.

    Returns ``(thresholds, fmr, fnmr)`` with thresholds ascending (FMR falling, FNMR rising).
    """
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    t = np.unique(np.concatenate([g, i]))
    fm = (len(i) - np.searchsorted(i, t, side="left")) / max(len(i), 1)
    fnm = np.searchsorted(g, t, side="left") / max(len(g), 1)
    return t, fm, fnm


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Equal error rate: the mean of FMR and FNMR where they cross."""
    _, fm, fnm = det_curve(genuine, impostor)
    j = int(np.argmin(np.abs(fm - fnm)))
    return float((fm[j] + fnm[j]) / 2)


def make_thresholds(impostor: np.ndarray, target_fmrs, fixed, score: str, calibration_set: str,
                    warnings: Optional[list] = None) -> list[Threshold]:
    """Thresholds calibrated on ``impostor`` similarities to each target FMR, then the fixed ones.

    ``fixed`` are in the score's own units; face_recognition's default distance 0.6 is named as such.
    Targets below 3/N are kept but flagged (and a warning is appended to ``warnings``).
    """
    imp = np.asarray(impostor, dtype=np.float64)
    out = []
    for target in target_fmrs:
        value, achieved, flags = threshold_at_fmr(imp, target)
        if flags and warnings is not None:
            warnings.append(f"target FMR {target:g} is below 3/N for N={len(imp)} impostor pairs: threshold unstable")
        out.append(Threshold(
            id=f"fmr={target:g}", kind="calibrated", value=value, native=from_similarity(value, score), score=score,
            target_fmr=target, calibration_set=calibration_set, n_impostor=int(len(imp)), achieved_fmr=achieved,
            source=f"lowest threshold with FMR <= {target:g} on the calibration set", flags=flags,
        ))
    for f in fixed:
        value = float(to_similarity(np.array([f]), score)[0])
        src = ("face_recognition.compare_faces default tolerance (distance <= 0.6)"
               if score == "euclidean" and f == 0.6 else "fixed by configuration")
        out.append(Threshold(id=f"{score}={f:g}", kind="fixed", value=value, native=float(f), score=score,
                             n_impostor=int(len(imp)), achieved_fmr=fmr(imp, value), source=src))
    return out


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, targets) -> list[dict]:
    """FNMR at thresholds calibrated on ``impostor`` to each target FMR (NIST's headline accuracy figure)."""
    out = []
    for target in targets:
        value, achieved, flags = threshold_at_fmr(impostor, target)
        out.append({"target_fmr": target, "threshold": value, "fmr": achieved, "fnmr": fnmr(genuine, value),
                    "flags": flags})
    return out


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, targets) -> list[dict]:
    """True accept rate (1 − FNMR) at each target false accept rate, without FTA (i.e. at FMR)."""
    return [{**r, "tar": 1 - r["fnmr"]} for r in fnmr_at_fmr(genuine, impostor, targets)]


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FMR, TAR) at every distinct score, thresholds ascending."""
    t, fm, fnm = det_curve(genuine, impostor)
    return t, fm, 1 - fnm
