"""Watchlist (open-set 1:N) figures from a probe × gallery pair table: who raises false alarms.

A *search* is one acquired probe image against the whole gallery. Its *non-mated* part is every gallery
entry of another person: a false alarm (false positive identification) at threshold ``t`` when the best
of those scores is ``>= t``. Its *mated* part, where the probe's person is enrolled, is a miss (false
negative identification) when the mate's best score is ``< t``. This is NIST's FPIR / FNIR at a
threshold (candidate rank is not limited), computed per probe group, with the people behind the alarms:
how many distinct probe subjects were falsely flagged, their share of the group's people, and the list
of falsely flagged probes with the stranger they were matched to (the ACLU-style reading).

Inputs are similarity scores (larger = more alike) in a pair table with ``probe_image``,
``probe_subject``, ``enrol_subject``, ``genuine``, ``score`` and ``probe_<attr>`` columns.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd


def searches(pairs: pd.DataFrame, attributes: Sequence[str] = ()) -> pd.DataFrame:
    """One row per probe image: its best non-mate score and candidate, and its best mate score (NaN: none)."""
    cols = ["probe_image", "probe_subject", *[f"probe_{a}" for a in attributes]]
    base = pairs.drop_duplicates("probe_image")[cols].set_index("probe_image")
    imp = pairs[~pairs["genuine"].to_numpy(dtype=bool)]
    if len(imp):
        best = imp.loc[imp.groupby("probe_image")["score"].idxmax()].set_index("probe_image")
        base["top_nonmate_score"] = best["score"]
        base["top_nonmate_subject"] = best["enrol_subject"]
        base["top_nonmate_image"] = best["enrol_image"] if "enrol_image" in best else None
    else:
        base["top_nonmate_score"], base["top_nonmate_subject"], base["top_nonmate_image"] = -np.inf, None, None
    gen = pairs[pairs["genuine"].to_numpy(dtype=bool)]
    base["mate_score"] = gen.groupby("probe_image")["score"].max() if len(gen) else np.nan
    return base.reset_index()


def fpir_threshold(top_nonmate: Sequence[float], target: float) -> tuple[float, float]:
    """The lowest threshold at which at most ``target`` of the non-mated searches raise an alarm.

    Returns (threshold, achieved FPIR).
    """
    s = np.sort(np.asarray(top_nonmate, dtype=np.float64))[::-1]
    s = s[np.isfinite(s)]
    if not len(s):
        return -math.inf, math.nan
    allowed = int(math.floor(target * len(s) + 1e-9))
    t = math.nextafter(float(s[allowed]), math.inf) if allowed < len(s) else -math.inf
    return t, float((s >= t).sum() / len(s))


def _rate(k: int, n: int) -> float:
    return k / n if n else math.nan


def watchlist_rates(table: pd.DataFrame, threshold: float, slices: Sequence[Sequence[str]],
                    max_listed: int = 200, confidence: float = 0.95) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """FPIR / FNIR and the falsely flagged people, overall and per probe group, at one threshold.

    ``table``: :func:`searches`. Returns (per-group rows, falsely flagged probes best-first).
    Intervals are on people, the unit of uncertainty: Clopper-Pearson on the share of a group's people
    falsely flagged (with the rule-of-3 upper bound where none was), and on FPIR only where each person
    made one search (otherwise searches are not independent and ``fpir_lo/hi`` are null).
    """
    from harness.metrics.rates import clopper_pearson, rule_of_three

    alarm = table["top_nonmate_score"].to_numpy(dtype=np.float64) >= threshold
    mated = table["mate_score"].notna().to_numpy()
    miss = mated & ~(table["mate_score"].fillna(-np.inf).to_numpy() >= threshold)
    t = table.assign(_alarm=alarm, _mated=mated, _miss=miss)
    flagged_all = set(t.loc[alarm, "probe_subject"])
    rows = []
    for attrs in [[]] + [list(s) for s in slices]:
        cols = [f"probe_{a}" for a in attrs]
        if any(c not in t.columns for c in cols):
            continue
        groups = [("all", t)] if not attrs else \
            [(" × ".join(map(str, k if isinstance(k, tuple) else (k,))), g)
             for k, g in t.groupby([t[c].astype(str) for c in cols], sort=True)]
        for name, g in groups:
            people = g["probe_subject"].nunique()
            flagged = g.loc[g["_alarm"], "probe_subject"].nunique()
            s_lo, s_hi = clopper_pearson(int(flagged), int(people), confidence)
            one_each = len(g) == people
            f_lo, f_hi = clopper_pearson(int(g["_alarm"].sum()), len(g), confidence) if one_each else (None, None)
            rows.append({
                "slice": " × ".join(attrs) or "all", "group": name, "n_searches": len(g), "n_people": int(people),
                "n_false_alarms": int(g["_alarm"].sum()), "fpir": _rate(int(g["_alarm"].sum()), len(g)),
                "fpir_lo": f_lo, "fpir_hi": f_hi,
                "n_people_flagged": int(flagged), "share_people_flagged": _rate(flagged, people),
                "share_people_flagged_lo": s_lo, "share_people_flagged_hi": s_hi,
                "share_people_flagged_rule_of_3": rule_of_three(int(flagged), int(people)),
                "share_of_all_flagged": _rate(flagged, len(flagged_all)),
                "share_of_probe_people": _rate(people, t["probe_subject"].nunique()),
                "n_mated_searches": int(g["_mated"].sum()), "n_misses": int(g["_miss"].sum()),
                "fnir": _rate(int(g["_miss"].sum()), int(g["_mated"].sum())),
            })
    hits = t[alarm].sort_values("top_nonmate_score", ascending=False)
    listed = [{"probe_image": r.probe_image, "probe_subject": str(r.probe_subject),
               "matched_gallery_subject": str(r.top_nonmate_subject),
               "matched_gallery_image": None if r.top_nonmate_image is None else str(r.top_nonmate_image),
               "score": float(r.top_nonmate_score)} for r in hits.head(max_listed).itertuples()]
    return pd.DataFrame(rows), listed


def gallery_sweep(pairs: pd.DataFrame, thresholds: Sequence[tuple[str, float]], sizes: Sequence[int],
                  seed: int = 0) -> pd.DataFrame:
    """FPIR overall as the gallery grows: nested seeded subsets of the gallery's non-mated people.

    Each size keeps the first ``n`` people of one seeded permutation of the gallery's people, so larger
    galleries contain the smaller ones (the curve is monotone by construction, not by luck).
    """
    imp = pairs[~pairs["genuine"].to_numpy(dtype=bool)]
    people = np.array(sorted(imp["enrol_subject"].astype(str).unique()))
    order = np.random.default_rng(seed).permutation(len(people))
    rank = pd.Series(np.empty(len(people), dtype=int), index=people)
    rank.iloc[order] = np.arange(len(people))
    r = rank.reindex(imp["enrol_subject"].astype(str)).to_numpy()
    n_search = pairs["probe_image"].nunique()
    rows = []
    for n in sorted({min(int(s), len(people)) for s in sizes if s > 0}):
        sub = imp[r < n]
        top = sub.groupby("probe_image")["score"].max()
        for tid, t in thresholds:
            k = int((top >= t).sum())
            rows.append({"gallery_people": n, "threshold_id": tid, "n_searches": n_search, "n_false_alarms": k,
                         "fpir": _rate(k, n_search), "seed": seed})
    return pd.DataFrame(rows)


def default_sizes(n_people: int) -> list[int]:
    """10, 100, 1000, ... below the gallery's size, then the whole gallery."""
    out, s = [], 10
    while s < n_people:
        out.append(s)
        s *= 10
    return out + [n_people]


def summary(pairs: pd.DataFrame, thresholds: Sequence[tuple[str, float]], slices: Sequence[Sequence[str]],
            target_fpirs: Sequence[float], sizes: Optional[Sequence[int]] = None, seed: int = 0,
            confidence: float = 0.95) -> dict[str, Any]:
    """Everything the watchlist protocol reports, JSON-ready: per threshold (the run's, then FPIR-calibrated)
    the per-group table and the falsely flagged probes; then the gallery-size sweep."""
    attrs = sorted({a for s in slices for a in s})
    table = searches(pairs, attrs)
    ths = list(thresholds)
    calibrated = {}
    for target in target_fpirs:
        t, achieved = fpir_threshold(table["top_nonmate_score"], target)
        ths.append((f"fpir={target:g}", t))
        calibrated[f"fpir={target:g}"] = {
            "target_fpir": float(target), "achieved_fpir": achieved,
            "flag": "target below 3/N non-mated searches: threshold unstable" if target * len(table) < 3 else ""}
    out: dict[str, Any] = {"n_searches": int(len(table)), "n_probe_people": int(table["probe_subject"].nunique()),
                           "n_gallery_people": int(pairs["enrol_subject"].nunique()), "thresholds": []}
    for tid, t in ths:
        rows, flagged = watchlist_rates(table, t, slices, confidence=confidence)
        out["thresholds"].append({"threshold_id": tid, "value": t, **calibrated.get(tid, {}),
                                  "groups": rows.to_dict(orient="records"), "falsely_flagged": flagged})
    n_gal = int(pairs.loc[~pairs["genuine"].to_numpy(dtype=bool), "enrol_subject"].nunique())
    sweep = gallery_sweep(pairs, ths, sizes or default_sizes(n_gal), seed)
    out["gallery_sweep"] = sweep.to_dict(orient="records")
    return out
