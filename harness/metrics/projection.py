"""Operational projection: expected false alerts of a doorbell network searched against a watchlist.

This is **arithmetic on measured rates, not a measurement**. It answers: if every visitor's face
were searched against a watchlist of ``N`` people, none of whom is the visitor, how many false
alerts would 1,000 visitors of group G raise, and how many per day at ``V`` visitors a day?

It starts from each *person's* own false match record (people differ a lot: a pooled rate would
hide that a few people attract most false matches), not from a pooled FMR:

- the visitor's group is the probe side's (the person at the door), whatever ``metrics.group_side``;
- for each probe image, ``k`` of its ``M`` impostor comparisons reached the threshold; a person's
  alert probability is the mean over their probe images;
- for a watchlist no larger than ``M`` the alert probability is the exact expectation over every
  watchlist of that size drawn from the gallery seen here (hypergeometric, ``method = measured``);
- for a larger watchlist it is ``1 − (1 − k/M)^N`` (``method = extrapolated``): watchlist entries are
  assumed to fail independently and to resemble this gallery's people (its group mix included);
  ``upper_*`` columns use each person's 95% Clopper–Pearson upper bound for ``k/M`` instead, the
  worst case the data cannot exclude (a person never falsely matched here is not proved never to be);
- a group's figure is the mean over its people (each visitor counts once); intervals resample
  people within the group (subject bootstrap), like every other interval of the run;
- per-day figures assume all ``V`` visitors are from the group (scale by the group's share of your
  visitors), one search per visit, and the same capture conditions as the measured probes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from harness.metrics.groups import group_labels, slice_name
from harness.metrics.identification import no_hit_probability

#: Columns of the projection table (projection.csv).
PROJECTION_COLUMNS = [
    "threshold_id", "slice", "group", "watchlist_size", "visitors_per_day", "method", "n_people", "n_searches",
    "gallery_measured", "alert_prob", "alert_prob_lo", "alert_prob_hi", "alerts_per_1000", "alerts_per_1000_lo",
    "alerts_per_1000_hi", "alerts_per_day", "alerts_per_day_lo", "alerts_per_day_hi", "upper_alerts_per_1000",
    "upper_alerts_per_day",
]

ASSUMPTIONS = (
    "arithmetic on measured rates, not a measurement",
    "every visitor is searched once against a watchlist that does not contain them",
    "watchlist entries resemble this data set's enrolled people, group mix included",
    "beyond the gallery measured here, watchlist entries fail independently (extrapolated)",
    "per-day figures: all visitors from the group; capture conditions as in this run's probes",
)


def person_alert_probability(k: np.ndarray, m: np.ndarray, n: int, upper: bool = False,
                             confidence: float = 0.95) -> np.ndarray:
    """Chance that one search with ``k`` false hits among ``m`` gallery entries alerts on a watchlist of ``n``.

    Exact (hypergeometric) when ``n <= m``; ``1 − (1 − p)^n`` beyond, with ``p = k/m`` or, with
    ``upper``, its one-sided Clopper–Pearson upper bound.
    """
    from harness.metrics.rates import beta_ppf

    k, m = np.asarray(k, dtype=np.float64), np.asarray(m, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(m > 0, k / m, np.nan)
    if upper:
        p = np.where(k < m, beta_ppf(confidence, k + 1, np.maximum(m - k, 1)), 1.0)
        return 1 - (1 - p) ** n
    measured = n <= m
    exact = 1 - no_hit_probability(k, np.maximum(m, 0), np.minimum(n, m))
    return np.where(measured, exact, 1 - (1 - p) ** n)


def project(pairs: pd.DataFrame, thresholds, slices: Sequence[Sequence[str]], watchlist_sizes: Sequence[int],
            visitors_per_day: float, replicates: int = 1000, seed: int = 0,
            confidence: float = 0.95) -> pd.DataFrame:
    """Expected false alerts per 1,000 visitors and per day, per group, threshold and watchlist size.

    ``pairs`` needs ``probe_image``, ``probe_subject``, ``genuine``, ``score`` and the ``probe_<attr>``
    columns of ``slices``. Returns :data:`PROJECTION_COLUMNS` (one row per threshold × slice × group ×
    watchlist size, plus slice ``all``).
    """
    imp = pairs[~pairs["genuine"].to_numpy(dtype=bool)]
    if not len(imp):
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    per_image = imp.groupby("probe_image", sort=True)
    first = per_image.first()
    m = per_image.size().to_numpy(dtype=np.float64)
    subject = first["probe_subject"].astype(str).to_numpy()
    codes, people = pd.factorize(subject)
    rng = np.random.default_rng(seed)
    a = (1 - confidence) / 2
    rows = []
    for t in thresholds:
        k = imp.assign(hit=imp["score"].to_numpy() >= t.value).groupby("probe_image", sort=True)["hit"].sum() \
            .to_numpy(dtype=np.float64)
        for n in watchlist_sizes:
            # Per person: the mean over their searches (probe images).
            img_p = person_alert_probability(k, m, int(n))
            img_u = person_alert_probability(k, m, int(n), upper=True, confidence=confidence)
            cnt = np.bincount(codes, minlength=len(people))
            pp = np.bincount(codes, weights=img_p, minlength=len(people)) / cnt
            pu = np.bincount(codes, weights=img_u, minlength=len(people)) / cnt
            measured = bool(n <= m.min())
            for attrs in [[]] + [list(s) for s in slices]:
                labels = (group_labels(first, [f"probe_{x}" for x in attrs]).to_numpy() if attrs
                          else np.full(len(first), "all", dtype=object))
                person_group = pd.Series(labels).groupby(codes).first().reindex(range(len(people))).to_numpy()
                for g in sorted(set(person_group)):
                    idx = np.flatnonzero(person_group == g)
                    vals = pp[idx]
                    point = float(vals.mean())
                    if replicates and len(idx) > 1:
                        draws = vals[rng.integers(0, len(idx), size=(replicates, len(idx)))].mean(axis=1)
                        lo, hi = float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))
                    else:
                        lo, hi = np.nan, np.nan
                    up = float(pu[idx].mean())
                    v = float(visitors_per_day)
                    rows.append({
                        "threshold_id": t.id, "slice": slice_name(attrs) or "all", "group": g,
                        "watchlist_size": int(n), "visitors_per_day": v,
                        "method": "measured" if measured else "extrapolated", "n_people": len(idx),
                        "n_searches": int(cnt[idx].sum()), "gallery_measured": int(m.min()),
                        "alert_prob": point, "alert_prob_lo": lo, "alert_prob_hi": hi,
                        "alerts_per_1000": 1000 * point, "alerts_per_1000_lo": 1000 * lo,
                        "alerts_per_1000_hi": 1000 * hi, "alerts_per_day": v * point, "alerts_per_day_lo": v * lo,
                        "alerts_per_day_hi": v * hi, "upper_alerts_per_1000": 1000 * up, "upper_alerts_per_day": v * up,
                    })
    return pd.DataFrame(rows, columns=PROJECTION_COLUMNS)
