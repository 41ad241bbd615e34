"""Disparity summaries over per-group error rates, with one documented convention at zero.

All take a 1-D array of group rates (one per group, NaN-free) and return a float.

**The 0/0 convention (used by every file and page of facerisk):**

- a *rate* with no trials (0 errors in 0 trials) is **undefined**: NaN in CSV, ``null`` in JSON,
  "n/a (no trials)" on the page;
- a *ratio* (or index) of zero errors over zero errors is **undefined** too — never 1: two groups
  with no observed errors are not shown to be equal, only unmeasured. NaN / ``null`` / "undefined";
- a ratio x/0 with x > 0 is **unbounded**: ``+inf`` in CSV, ``null`` with the key listed in the
  record's ``unbounded`` array in JSON, "unbounded" on the page — never a finite number.

| summary | parity | a group rate of 0 |
| --- | --- | --- |
| max/min ratio | 1 | +inf when the minimum is 0 and the maximum is not; undefined (NaN) when all are 0 |
| max/geometric mean (NIST FRTE) | 1 | +inf when any rate is 0 and the maximum is not; undefined when all are 0 |
| Gini of FMR / of FNMR (n/(n−1) corrected) | 0 | defined; undefined (NaN) when all rates are 0 (0/0) |
| GARBE (Howard et al.) = α·Gini(FMR) + (1−α)·Gini(FNMR) | 0 | undefined when either Gini is (it never silently becomes half a Gini) |
| Fairness Discrepancy Rate (Pereira & Marcel) | 1 | defined; uses absolute differences |
| Inequity Rate (ISO/IEC 19795-10 style) | 1 | undefined when either max/min ratio is; +inf when one is unbounded |
"""

from __future__ import annotations

import math

import numpy as np

PARITY = {"max_min_ratio": 1.0, "max_geomean_ratio": 1.0, "fdr": 1.0, "garbe": 0.0, "inequity_rate": 1.0,
          "gini": 0.0}


def _arr(rates) -> np.ndarray:
    a = np.asarray(rates, dtype=np.float64)
    if a.ndim != 1 or len(a) < 2:
        raise ValueError("a disparity summary needs the rates of at least two groups")
    if np.isnan(a).any():
        raise ValueError("group rates contain NaN: drop groups without trials first")
    return a


def max_min_ratio(rates) -> float:
    """Highest over lowest group rate."""
    a = _arr(rates)
    hi, lo = a.max(), a.min()
    if hi == 0:
        return math.nan  # 0/0: undefined
    return float(hi / lo) if lo > 0 else math.inf


def max_geomean_ratio(rates) -> float:
    """Highest group rate over the geometric mean of all groups (NIST FRTE demographic summaries)."""
    a = _arr(rates)
    if (a == 0).all():
        return math.nan  # 0/0: undefined
    if (a == 0).any():
        return math.inf  # the geometric mean is 0
    return float(a.max() / math.exp(np.log(a).mean()))


def gini(rates) -> float:
    """Gini coefficient with the small-sample correction n/(n−1) (so maximal inequality gives 1); NaN if all are 0."""
    a = _arr(rates)
    n, mean = len(a), a.mean()
    if mean == 0:
        return math.nan  # 0/0: no errors anywhere, inequality unmeasured
    return float(n / (n - 1) * np.abs(a[:, None] - a[None, :]).sum() / (2 * n * n * mean))


def garbe(fmr_rates, fnmr_rates, alpha: float = 0.5) -> float:
    """Gini Aggregation Rate for Biometric Equitability: α·Gini(FMR) + (1−α)·Gini(FNMR)."""
    return float(alpha * gini(fmr_rates) + (1 - alpha) * gini(fnmr_rates))


def fdr(fmr_rates, fnmr_rates, alpha: float = 0.5) -> float:
    """Fairness Discrepancy Rate: 1 − (α·max|ΔFMR| + (1−α)·max|ΔFNMR|); 1 is perfectly fair."""
    a, b = _arr(fmr_rates), _arr(fnmr_rates)
    return float(1 - (alpha * (a.max() - a.min()) + (1 - alpha) * (b.max() - b.min())))


def inequity_rate(fmr_rates, fnmr_rates, alpha: float = 0.5) -> float:
    """(max FMR / min FMR)^α · (max FNMR / min FNMR)^(1−α)."""
    r1, r2 = max_min_ratio(fmr_rates), max_min_ratio(fnmr_rates)
    if math.isnan(r1) or math.isnan(r2):
        return math.nan
    return float(r1**alpha * r2 ** (1 - alpha))


def summaries(fmr_rates, fnmr_rates, alpha: float = 0.5) -> dict[str, float]:
    """Every summary for one set of groups at one threshold."""
    return {
        "fmr_max_min_ratio": max_min_ratio(fmr_rates),
        "fnmr_max_min_ratio": max_min_ratio(fnmr_rates),
        "fmr_max_geomean_ratio": max_geomean_ratio(fmr_rates),
        "fnmr_max_geomean_ratio": max_geomean_ratio(fnmr_rates),
        "fmr_gini": gini(fmr_rates),
        "fnmr_gini": gini(fnmr_rates),
        "fdr": fdr(fmr_rates, fnmr_rates, alpha),
        "garbe": garbe(fmr_rates, fnmr_rates, alpha),
        "inequity_rate": inequity_rate(fmr_rates, fnmr_rates, alpha),
    }


def _max_min_many(a: np.ndarray) -> np.ndarray:
    hi, lo = a.max(axis=1), a.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), math.inf)
    return np.where(hi == 0, math.nan, out)


def _gini_many(a: np.ndarray) -> np.ndarray:
    n = a.shape[1]
    mean = a.mean(axis=1)
    # Row by row the same reduction as gini(): the n*n absolute differences summed in one pass.
    diff = np.abs(a[:, :, None] - a[:, None, :]).reshape(len(a), n * n).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = n / (n - 1) * diff / (2 * n * n * mean)
    return np.where(mean == 0, math.nan, out)


def summaries_many(fmr_rates: np.ndarray, fnmr_rates: np.ndarray, alpha: float = 0.5) -> dict[str, np.ndarray]:
    """:func:`summaries` for many sets of group rates at once: rows of ``(B, G)`` arrays (no NaN), bit-identical
    to calling :func:`summaries` on each row (the bootstrap's replicates)."""
    f = np.ascontiguousarray(fmr_rates, dtype=np.float64)
    g = np.ascontiguousarray(fnmr_rates, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] < 2 or f.shape != g.shape:
        raise ValueError("a disparity summary needs the rates of at least two groups")
    if np.isnan(f).any() or np.isnan(g).any():
        raise ValueError("group rates contain NaN: drop groups without trials first")
    r1, r2 = _max_min_many(f), _max_min_many(g)
    g1, g2 = _gini_many(f), _gini_many(g)
    # Powers and exponentials one by one in Python, exactly as the scalar functions take them (numpy's
    # vector exp/pow may differ from libm's in the last bit).
    ineq = np.array([math.nan if math.isnan(x) or math.isnan(y) else float(x**alpha * y ** (1 - alpha))
                     for x, y in zip(r1.tolist(), r2.tolist())])
    return {
        "fmr_max_min_ratio": r1, "fnmr_max_min_ratio": r2,
        "fmr_max_geomean_ratio": _geomean_ratio_many(f), "fnmr_max_geomean_ratio": _geomean_ratio_many(g),
        "fmr_gini": g1, "fnmr_gini": g2,
        "fdr": 1 - (alpha * (f.max(axis=1) - f.min(axis=1)) + (1 - alpha) * (g.max(axis=1) - g.min(axis=1))),
        "garbe": alpha * g1 + (1 - alpha) * g2,
        "inequity_rate": ineq.reshape(len(f)),
    }


def _geomean_ratio_many(a: np.ndarray) -> np.ndarray:
    zero = a == 0
    with np.errstate(divide="ignore"):
        logmean = np.log(a).mean(axis=1)
    hi = a.max(axis=1)
    out = np.array([h / math.exp(x) if math.isfinite(x) else math.nan for h, x in zip(hi.tolist(), logmean.tolist())])
    out = np.where(zero.any(axis=1), math.inf, out.reshape(len(a)))
    return np.where(zero.all(axis=1), math.nan, out)


def parity_of(name: str) -> float:
    """The value a summary takes when all groups are equal."""
    for key, value in PARITY.items():
        if name.endswith(key):
            return value
    raise KeyError(name)
