"""Cross-group false match rates (NIST FRVT heatmaps) and the per-group-threshold study."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from harness.metrics.groups import group_labels
from harness.metrics.rates import clopper_pearson, fmr, fnmr, threshold_at_fmr


def cross_group_fmr(pairs: pd.DataFrame, attrs: Sequence[str], threshold: float,
                    confidence: float = 0.95) -> pd.DataFrame:
    """FMR for every (enrolled group, probe group) cell at one global threshold.

    Returns a long frame: enrol_group, probe_group, n_impostor, n_false_match, fmr, fmr_lo, fmr_hi.
    :func:`as_matrix` pivots it into the heatmap.
    """
    imp = pairs[~pairs["genuine"].to_numpy(dtype=bool)]
    eg = group_labels(imp, [f"enrol_{a}" for a in attrs]).to_numpy()
    pg = group_labels(imp, [f"probe_{a}" for a in attrs]).to_numpy()
    hit = imp["score"].to_numpy() >= threshold
    enrol_names, e_code = np.unique(eg.astype(str), return_inverse=True)
    probe_names, p_code = np.unique(pg.astype(str), return_inverse=True)
    cell = e_code.reshape(-1) * len(probe_names) + p_code.reshape(-1)  # one count per cell, not a mask per cell
    size = len(enrol_names) * len(probe_names)
    n_cell = np.bincount(cell, minlength=size)
    k_cell = np.bincount(cell, weights=hit, minlength=size).astype(int)
    rows = []
    for i, e in enumerate(enrol_names):
        for j, p in enumerate(probe_names):
            n, k = int(n_cell[i * len(probe_names) + j]), int(k_cell[i * len(probe_names) + j])
            lo, hi = clopper_pearson(k, n, confidence)
            rows.append({"enrol_group": str(e), "probe_group": str(p), "n_impostor": n, "n_false_match": k,
                         "fmr": k / n if n else np.nan, "fmr_lo": lo, "fmr_hi": hi})
    return pd.DataFrame(rows)


def as_matrix(long: pd.DataFrame, value: str = "fmr") -> pd.DataFrame:
    """Enrolled groups as rows, probe groups as columns."""
    return long.pivot(index="enrol_group", columns="probe_group", values=value)


def per_group_thresholds(pairs: pd.DataFrame, attrs: Sequence[str], target_fmr: float,
                         side: str = "probe") -> pd.DataFrame:
    """What if each group had its own threshold calibrated to the same target FMR?

    For each group: its own threshold, the FMR/FNMR it gives, and for contrast the FMR/FNMR at the
    global threshold calibrated on all impostors. A study, not the headline: deployments use one threshold.
    """
    s = pairs["score"].to_numpy()
    gen = pairs["genuine"].to_numpy(dtype=bool)
    if not (~gen).any():  # no impostor pair (e.g. every probe of a sweep step an FTA): nothing to calibrate on
        return pd.DataFrame()
    labels = group_labels(pairs, [f"{side}_{a}" for a in attrs]).to_numpy()
    t_global, _, _ = threshold_at_fmr(s[~gen], target_fmr)
    rows = []
    for g in sorted(set(labels)):
        sel = labels == g
        imp, gsc = s[sel & ~gen], s[sel & gen]
        if len(imp) == 0:
            continue
        t_own, achieved, flags = threshold_at_fmr(imp, target_fmr)
        rows.append({"group": g, "target_fmr": target_fmr, "n_impostor": len(imp), "n_genuine": len(gsc),
                     "own_threshold": t_own, "own_fmr": achieved, "own_fnmr": fnmr(gsc, t_own) if len(gsc) else np.nan,
                     "global_threshold": t_global, "global_fmr": fmr(imp, t_global),
                     "global_fnmr": fnmr(gsc, t_global) if len(gsc) else np.nan, "flags": ",".join(flags)})
    return pd.DataFrame(rows)
