"""Failure to acquire compared across detectors along a capture sweep (pure functions on tables).

Input: for each detector, the per-group sweep table a sweep run produces (one row per sweep
value, slice, group and threshold, with ``n_probe_images``, ``n_fta`` and ``n_people_fta``).
FTA does not depend on the match threshold, so one threshold's rows are used.

Intervals are on people. When every person contributes one probe image (frl-london), the image
count is the people count and the exact Clopper-Pearson interval is subject-level. Otherwise
the rate is read on the people count (``k = round(rate * people)`` of ``people``), which widens
the interval to roughly what clustering by person would give, and the row says so.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from harness.metrics.rates import clopper_pearson

COLUMNS = ["detector", "slice", "group", "axis", "value", "n_people", "n_probe_images", "n_fta", "fta",
           "fta_lo", "fta_hi", "interval", "status"]


def fta_by_detector(sweeps: Mapping[str, pd.DataFrame], confidence: float = 0.95) -> pd.DataFrame:
    """One table of FTA per detector, slice, group and sweep value, with subject-level intervals.

    Parameters
    ----------
    sweeps : mapping detector name -> sweep table
        Each as produced by a sweep run (``harness.pipeline.run_sweep``): columns ``axis``,
        ``value``, ``threshold_id``, ``slice``, ``group``, ``n_probe_images``, ``n_fta``,
        ``n_people_fta`` and ``status``.
    confidence : float
        Interval level.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``interval`` names how the interval was computed.
    """
    rows = []
    axes = {str(s["axis"].iloc[0]) for s in sweeps.values() if len(s)}
    if len(axes) > 1:
        raise ValueError(f"sweeps are along different axes: {sorted(axes)}")
    for det, sweep in sweeps.items():
        if not len(sweep):
            continue
        tid = sweep["threshold_id"].iloc[0]
        sub = sweep[sweep["threshold_id"] == tid]
        for r in sub.itertuples(index=False):
            n_img, k, people = int(r.n_probe_images), int(r.n_fta), int(r.n_people_fta)
            if n_img == 0:
                rate, lo, hi, how = math.nan, math.nan, math.nan, "no probe images"
            elif n_img == people:
                rate = k / n_img
                lo, hi = clopper_pearson(k, n_img, confidence)
                how = "Clopper-Pearson, one probe per person"
            else:
                rate = k / n_img
                lo, hi = clopper_pearson(int(round(rate * people)), people, confidence)
                how = "Clopper-Pearson on the people count (several probes per person)"
            rows.append({"detector": det, "slice": r.slice, "group": r.group, "axis": r.axis, "value": float(r.value),
                         "n_people": people, "n_probe_images": n_img, "n_fta": k, "fta": rate, "fta_lo": lo,
                         "fta_hi": hi, "interval": how, "status": r.status})
    return pd.DataFrame(rows, columns=COLUMNS)


def _first_at_or_above(values: np.ndarray, rates: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(np.nan_to_num(rates, nan=-1.0) >= level)
    return float(values[hit[0]]) if len(hit) else math.nan


def _interpolated(values: np.ndarray, rates: np.ndarray, level: float) -> float:
    """Where the piecewise-linear FTA curve first reaches ``level`` (NaN when it never does)."""
    r = np.nan_to_num(rates, nan=-1.0)
    hit = np.flatnonzero(r >= level)
    if not len(hit):
        return math.nan
    i = hit[0]
    if i == 0 or r[i - 1] < 0:
        return float(values[i])
    x0, x1, y0, y1 = values[i - 1], values[i], r[i - 1], r[i]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0)) if y1 != y0 else float(x1)


def crossings(table: pd.DataFrame, levels: Sequence[float] = (0.10, 0.50)) -> pd.DataFrame:
    """For each detector and group, the sweep value at which FTA first reaches each level.

    Returns one row per (detector, slice, group, level): ``first_value`` (the first sweep step at
    or above the level), ``interpolated`` (linear between that step and the one before),
    ``earliest`` / ``latest`` (first steps where the interval's upper / lower bound reaches the
    level: the range of crossings the data cannot tell apart; NaN: not within the sweep, whose last
    value is ``last_value``), ``fta_at_first`` with its interval,
    and ``note``: "not reached by V" (the last step), "already at the first step", or, for a
    table of a single step (a capture run without a sweep), that step's FTA and interval.
    """
    rows = []
    for (det, sl, grp), part in table.groupby(["detector", "slice", "group"], sort=False):
        part = part.sort_values("value")
        v = part["value"].to_numpy(dtype=float)
        rate = part["fta"].to_numpy(dtype=float)
        lo = part["fta_lo"].to_numpy(dtype=float)
        hi = part["fta_hi"].to_numpy(dtype=float)
        for level in levels:
            first = _first_at_or_above(v, rate, level)
            note = ""
            if len(v) == 1:
                note = f"one step only: FTA {rate[0]:.1%} [{lo[0]:.1%}, {hi[0]:.1%}]"
            elif math.isnan(first):
                note = f"not reached by {v[-1]:g}"
            elif first == v[0]:
                note = "already at the first step"
            at = np.flatnonzero(v == first)
            j = at[0] if len(at) else None
            rows.append({
                "detector": det, "slice": sl, "group": grp, "axis": part["axis"].iloc[0], "level": level,
                "first_value": first, "interpolated": _interpolated(v, rate, level),
                "earliest": _first_at_or_above(v, hi, level), "latest": _first_at_or_above(v, lo, level),
                "fta_at_first": rate[j] if j is not None else math.nan,
                "fta_lo_at_first": lo[j] if j is not None else math.nan,
                "fta_hi_at_first": hi[j] if j is not None else math.nan,
                "last_value": float(v[-1]), "n_people": int(part["n_people"].max()),
                "status": part["status"].iloc[0], "note": note,
            })
    return pd.DataFrame(rows)
