"""Pair-list benchmark figures as the source benchmarks report them (LFW "View 2" and its successors).

Pure functions on similarity scores (larger = more alike) and the pair list's own labels.

LFW's protocol (Huang et al. 2007, README of the LFW release): ten folds of pairs; for each fold, the
decision threshold is chosen on the other nine folds (the one maximising their accuracy), then applied
to the held-out fold; the reported figure is the mean of the ten fold accuracies and the standard
error of that mean, ``S_E = sigma / sqrt(10)`` with ``sigma`` the sample standard deviation (n - 1).

Pairs lost to a failure to acquire are never dropped silently. Papers differ, so the policy is an
argument and is recorded: ``reject`` scores a lost pair as "different" (wrong for a same-person pair,
right for a different-person pair, as a deployed system that finds no face would decide); ``exclude``
leaves it out of the accuracy (the figure is then on fewer pairs, and the count says how many fewer).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np


def best_threshold(scores: np.ndarray, same: np.ndarray, fixed_correct: int = 0) -> tuple[float, float]:
    """The threshold maximising accuracy on (``scores``, ``same``): a match iff score >= threshold.

    Candidates are midpoints between adjacent distinct scores (and beyond both ends); of equally good
    ones the lowest is taken. ``fixed_correct``: pairs counted correct whatever the threshold (lost
    different-person pairs under ``reject``), included in the returned accuracy's numerator only.
    Returns (threshold, number of correct decisions among ``scores`` plus ``fixed_correct``).
    """
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if not len(scores):
        return math.inf, float(fixed_correct)
    u = np.unique(scores)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    order = np.sort(scores[same])
    diff = np.sort(scores[~same])
    # correct = same pairs at or above t + different pairs below t
    tp = len(order) - np.searchsorted(order, cands, side="left")
    tn = np.searchsorted(diff, cands, side="left")
    correct = tp + tn
    k = int(np.argmax(correct))
    return float(cands[k]), float(correct[k] + fixed_correct)


def fold_accuracies(scores: Sequence[float], same: Sequence[bool], folds: Sequence[Any],
                    lost: Optional[Sequence[bool]] = None, lost_policy: str = "reject") -> dict[str, Any]:
    """LFW-style accuracy: per fold, the threshold chosen on the other folds; mean and standard error.

    Parameters
    ----------
    scores : similarities (ignored where ``lost``)
    same : the pair list's label (same person or not)
    folds : fold label of each pair (at least two distinct)
    lost : pairs lost to a failure to acquire; scored per ``lost_policy`` ("reject" or "exclude")

    Returns
    -------
    dict with ``folds`` (label, n_pairs, n_lost, threshold, accuracy per fold), ``mean``, ``std``,
    ``standard_error``, ``lost_policy``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    folds = np.asarray(folds).astype(str)
    lost = np.zeros(len(scores), dtype=bool) if lost is None else np.asarray(lost, dtype=bool)
    if lost_policy not in ("reject", "exclude"):
        raise ValueError(f"lost_policy must be reject or exclude, not {lost_policy!r}")
    labels = list(dict.fromkeys(folds.tolist()))
    if len(labels) < 2:
        raise ValueError("LFW-style accuracy needs at least two folds (the threshold is chosen on the others)")
    rows = []
    for f in labels:
        test, train = folds == f, folds != f
        tr = train & ~lost
        fixed = int((train & lost & ~same).sum()) if lost_policy == "reject" else 0
        t, _ = best_threshold(scores[tr], same[tr], fixed)
        te = test & ~lost
        correct = int(((scores[te] >= t) == same[te]).sum())
        n = int(te.sum())
        if lost_policy == "reject":
            correct += int((test & lost & ~same).sum())
            n += int((test & lost).sum())
        rows.append({"fold": f, "n_pairs": int(test.sum()), "n_lost": int((test & lost).sum()),
                     "threshold": t, "n_scored": n, "accuracy": correct / n if n else math.nan})
    acc = np.array([r["accuracy"] for r in rows], dtype=np.float64)
    ok = acc[np.isfinite(acc)]
    std = float(np.std(ok, ddof=1)) if len(ok) > 1 else math.nan
    return {"folds": rows, "mean": float(ok.mean()) if len(ok) else math.nan, "std": std,
            "standard_error": std / math.sqrt(len(ok)) if len(ok) > 1 else math.nan,
            "n_folds": len(rows), "lost_policy": lost_policy,
            "threshold_rule": "per fold: the midpoint between adjacent scores that maximises accuracy on the "
                              "other folds (the lowest of equals); match iff similarity >= threshold"}


def tar_at_far(scores: Sequence[float], same: Sequence[bool], targets: Sequence[float],
               lost: Optional[Sequence[bool]] = None, lost_policy: str = "reject") -> list[dict[str, Any]]:
    """True accept rate at the lowest threshold whose false accept rate is <= each target.

    Lost pairs under ``reject`` stay in both denominators as non-accepted; under ``exclude`` they are
    removed. A target below 3 / (different-person pairs) is flagged: too few pairs to pin it.
    """
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    lost = np.zeros(len(scores), dtype=bool) if lost is None else np.asarray(lost, dtype=bool)
    keep = ~lost if lost_policy == "exclude" else np.ones(len(scores), dtype=bool)
    s_imp = np.sort(scores[keep & ~same & ~lost])[::-1]
    n_imp, n_gen = int((keep & ~same).sum()), int((keep & same).sum())
    gen = scores[keep & same & ~lost]
    out = []
    for target in targets:
        allowed = int(math.floor(target * n_imp + 1e-9))  # false accepts allowed
        # the threshold just above the (allowed+1)-th highest impostor score accepts at most `allowed`
        t = math.nextafter(float(s_imp[allowed]), math.inf) if allowed < len(s_imp) else -math.inf
        far = int((s_imp >= t).sum()) / n_imp if n_imp else math.nan
        tar = int((gen >= t).sum()) / n_gen if n_gen else math.nan
        out.append({"target_far": float(target), "threshold": t, "far": far, "tar": tar,
                    "n_same": n_gen, "n_different": n_imp,
                    "flag": "target below 3/N different-person pairs" if target * n_imp < 3 else ""})
    return out
