"""Per-group error rates at shared global thresholds, as one DataFrame type (like fairlearn's MetricFrame).

Pure functions on a pair table (scores + labels) and an acquisition table (one row per
image with its failure-to-acquire flag). Nothing here imports a model or a dataset.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from harness.metrics.rates import Threshold, clopper_pearson, iso_far_frr, rule_of_three

UNKNOWN = "unknown"
SEP = " × "

#: Columns of a group frame, in order. Documented in reports/SCHEMA.md.
GROUP_COLUMNS = [
    "threshold_id", "slice", "group", "status", "n_subjects",
    "n_probe_images", "n_fta", "fta", "fta_lo", "fta_hi",
    "n_enrol_images", "n_fte", "fte",
    "n_genuine", "n_false_non_match", "fnmr", "fnmr_lo", "fnmr_hi", "fnmr_rule3",
    "n_impostor", "n_false_match", "fmr", "fmr_lo", "fmr_hi", "fmr_rule3",
    "far", "frr",
]


def band(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Cut a numeric column into left-closed bands labelled like ``18-29``; non-numbers become ``unknown``."""
    num = pd.to_numeric(values, errors="coerce")
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        labels.append(f"{lo:g}+" if hi >= 120 else f"{lo:g}-{hi - 1:g}")
    cut = pd.cut(num, bins=list(edges), right=False, labels=labels)
    return cut.astype(object).where(cut.notna(), UNKNOWN).astype(str)


def group_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One label per row joining ``columns`` with ' × '; missing values read ``unknown``."""
    parts = [frame[c].astype(object).where(frame[c].notna(), UNKNOWN).astype(str) for c in columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + SEP + p
    return out


def slice_name(attrs: Sequence[str]) -> str:
    return SEP.join(attrs)


def group_status(n_subjects: int, min_subjects: int, small_subjects: int) -> str:
    """``insufficient`` (too few people to say anything), ``small`` (wide intervals) or ``ok``."""
    if n_subjects < min_subjects:
        return "insufficient"
    if n_subjects < small_subjects:
        return "small"
    return "ok"


def _rate(k: int, n: int) -> float:
    return k / n if n else math.nan


def group_frame(
    pairs: pd.DataFrame,
    acquisitions: pd.DataFrame,
    thresholds: Iterable[Threshold],
    slices: Sequence[Sequence[str]],
    side: str = "probe",
    confidence: float = 0.95,
    min_subjects: int = 5,
    small_subjects: int = 30,
) -> pd.DataFrame:
    """Error rates for every group of every slice at every threshold.

    Parameters
    ----------
    pairs : DataFrame
        ``score`` (similarity), ``genuine`` (bool), ``<side>_<attr>`` for every attribute used.
    acquisitions : DataFrame
        One row per image: ``subject_id``, ``role`` (enrol/probe), ``ok`` (bool), attributes.
    thresholds : iterable of Threshold
        Global thresholds; every group is read at the same ones.
    slices : sequence of attribute lists
        ``[["gender"], ["gender", "ethnicity"]]``; an overall row (slice ``all``) is always added.
    side : {"probe", "enrol"}
        Which side of a pair decides its group.

    Returns
    -------
    DataFrame
        Columns :data:`GROUP_COLUMNS`, one row per (threshold, slice, group).
    """
    scores = pairs["score"].to_numpy(dtype=np.float64)
    genuine = pairs["genuine"].to_numpy(dtype=bool)
    rows = []
    slices = [[]] + [list(s) for s in slices]
    for attrs in slices:
        if attrs:
            pair_groups = group_labels(pairs, [f"{side}_{a}" for a in attrs]).to_numpy()
            acq_groups = group_labels(acquisitions, attrs).to_numpy()
        else:
            pair_groups = np.full(len(pairs), "all", dtype=object)
            acq_groups = np.full(len(acquisitions), "all", dtype=object)
        names = sorted(set(acq_groups) | set(pair_groups))
        for g in names:
            in_acq = acq_groups == g
            acq = acquisitions[in_acq]
            n_subjects = int(acq["subject_id"].nunique())
            probe = acq[acq["role"] == "probe"]
            enrol = acq[acq["role"] == "enrol"]
            n_probe, n_fta = len(probe), int((~probe["ok"].astype(bool)).sum())
            n_enrol, n_fte = len(enrol), int((~enrol["ok"].astype(bool)).sum())
            fta = _rate(n_fta, n_probe)
            fta_lo, fta_hi = clopper_pearson(n_fta, n_probe, confidence)
            sel = pair_groups == g
            gen = scores[sel & genuine]
            imp = scores[sel & ~genuine]
            for t in thresholds:
                fnm = int(np.count_nonzero(gen < t.value))
                fm = int(np.count_nonzero(imp >= t.value))
                fnmr_v, fmr_v = _rate(fnm, len(gen)), _rate(fm, len(imp))
                far, frr = iso_far_frr(fmr_v, fnmr_v, 0.0 if math.isnan(fta) else fta)
                rows.append({
                    "threshold_id": t.id,
                    "slice": slice_name(attrs) or "all",
                    "group": g,
                    "status": group_status(n_subjects, min_subjects, small_subjects) if attrs else "ok",
                    "n_subjects": n_subjects,
                    "n_probe_images": n_probe, "n_fta": n_fta, "fta": fta, "fta_lo": fta_lo, "fta_hi": fta_hi,
                    "n_enrol_images": n_enrol, "n_fte": n_fte, "fte": _rate(n_fte, n_enrol),
                    "n_genuine": len(gen), "n_false_non_match": fnm, "fnmr": fnmr_v,
                    "fnmr_lo": clopper_pearson(fnm, len(gen), confidence)[0],
                    "fnmr_hi": clopper_pearson(fnm, len(gen), confidence)[1],
                    "fnmr_rule3": rule_of_three(fnm, len(gen)),
                    "n_impostor": len(imp), "n_false_match": fm, "fmr": fmr_v,
                    "fmr_lo": clopper_pearson(fm, len(imp), confidence)[0],
                    "fmr_hi": clopper_pearson(fm, len(imp), confidence)[1],
                    "fmr_rule3": rule_of_three(fm, len(imp)),
                    "far": far, "frr": frr,
                })
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def max_min_ratio(frame: pd.DataFrame, rate: str = "fmr") -> pd.DataFrame:
    """Highest over lowest group rate per (threshold, slice), over groups not marked insufficient.

    When the lowest observed rate is zero the ratio is undefined (``inf`` is not evidence of
    anything): ``ratio`` is NaN and ``note`` says so; ``ratio_rule3`` then divides by that
    group's rule-of-3 bound instead, a conservative (smallest plausible) ratio.
    """
    out = []
    usable = frame[(frame["slice"] != "all") & (frame["status"] != "insufficient")]
    for (tid, sl), sub in usable.groupby(["threshold_id", "slice"], sort=False):
        sub = sub[sub[rate].notna()]
        if len(sub) < 2:
            continue
        hi = sub.loc[sub[rate].idxmax()]
        lo = sub.loc[sub[rate].idxmin()]
        note = ""
        ratio = math.nan
        ratio3 = math.nan
        if lo[rate] > 0:
            ratio = float(hi[rate] / lo[rate])
        elif hi[rate] == 0:
            note = "no errors observed in any group"
        else:
            note = f"{lo['group']} had zero observed errors: ratio undefined"
            bound = lo[f"{rate}_rule3"]
            if bound:
                ratio3 = float(hi[rate] / bound)
        out.append({
            "threshold_id": tid, "slice": sl, "metric": f"{rate}_max_min_ratio",
            "max_group": hi["group"], "max_rate": float(hi[rate]),
            "min_group": lo["group"], "min_rate": float(lo[rate]),
            "ratio": ratio, "ratio_rule3": ratio3, "note": note,
        })
    return pd.DataFrame(out, columns=["threshold_id", "slice", "metric", "max_group", "max_rate", "min_group",
                                      "min_rate", "ratio", "ratio_rule3", "note"])
