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
    "threshold_id", "slice", "group", "status", "n_subjects", "n_people",
    "n_people_fta", "n_people_fnmr", "n_people_fmr",
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
    """One label per row joining ``columns`` with ' × '; missing values read ``unknown``.

    Labels are built once per distinct combination and spread back by code: joining strings row by row
    (pandas' Arrow-backed strings) was a tenth of a cached re-run's metrics time.
    """
    if not len(columns):
        raise ValueError("group_labels needs at least one column")
    codes, names = [], []
    for c in columns:
        col = frame[c]
        if col.dtype == object or col.dtype.kind == "f":  # 0 and 0.0 (or -0.0) are one key but two labels
            values = col.to_numpy(dtype=object)
            col = np.where(pd.isna(values), UNKNOWN, values.astype(str))
        code, uniques = pd.factorize(col, use_na_sentinel=True)
        vocab = [str(u) for u in uniques] + [UNKNOWN]  # the code -1 (missing) picks the last entry
        codes.append(np.where(code < 0, len(vocab) - 1, code))
        names.append(vocab)
    if not len(frame):
        return pd.Series([], index=frame.index, dtype=object)
    combo = codes[0]
    for code, vocab in zip(codes[1:], names[1:]):  # re-coded at each step: no overflow however many columns
        combo = pd.factorize(combo * len(vocab) + code)[0]
    _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    text = np.array([SEP.join(v[c[r]] for c, v in zip(codes, names)) for r in first], dtype=object)
    return pd.Series(text[inverse.reshape(-1)], index=frame.index)


def slice_name(attrs: Sequence[str]) -> str:
    return SEP.join(attrs)


def group_status(n_subjects: int, min_subjects: int, small_subjects: int) -> str:
    """``insufficient`` (too few people to say anything), ``small`` (wide intervals) or ``ok``.

    ``n_subjects`` must be the people who *produced trials* (``n_people``), not the people listed:
    a listed person whose every probe failed to acquire contributes nothing to FMR or FNMR.
    """
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
        Columns :data:`GROUP_COLUMNS`, one row per (threshold, slice, group). ``n_subjects`` counts
        the people listed (with any image); ``n_people_fta`` those with a probe image,
        ``n_people_fnmr`` those with a genuine pair, ``n_people_fmr`` the people on the group side of
        the group's impostor pairs, and ``n_people`` those who produced any pair: the status is
        decided by ``n_people``. Rates with no trials are NaN (the 0/0 convention, :mod:`disparity`).
    """
    scores = pairs["score"].to_numpy(dtype=np.float64)
    genuine = pairs["genuine"].to_numpy(dtype=bool)
    side_subject = (pairs[f"{side}_subject"].to_numpy() if f"{side}_subject" in pairs
                    else np.full(len(pairs), None, dtype=object))
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
            n_people_fta = int(probe["subject_id"].nunique())
            enrol = acq[acq["role"] == "enrol"]
            n_probe, n_fta = len(probe), int((~probe["ok"].astype(bool)).sum())
            n_enrol, n_fte = len(enrol), int((~enrol["ok"].astype(bool)).sum())
            fta = _rate(n_fta, n_probe)
            fta_lo, fta_hi = clopper_pearson(n_fta, n_probe, confidence)
            sel = pair_groups == g
            gen = scores[sel & genuine]
            imp = scores[sel & ~genuine]
            p_gen = set(side_subject[sel & genuine])
            p_imp = set(side_subject[sel & ~genuine])
            n_people = len(p_gen | p_imp)
            for t in thresholds:
                fnm = int(np.count_nonzero(gen < t.value))
                fm = int(np.count_nonzero(imp >= t.value))
                fnmr_v, fmr_v = _rate(fnm, len(gen)), _rate(fm, len(imp))
                far, frr = iso_far_frr(fmr_v, fnmr_v, 0.0 if math.isnan(fta) else fta)
                rows.append({
                    "threshold_id": t.id,
                    "slice": slice_name(attrs) or "all",
                    "group": g,
                    "status": group_status(n_people, min_subjects, small_subjects) if attrs else "ok",
                    "n_subjects": n_subjects, "n_people": n_people, "n_people_fta": n_people_fta,
                    "n_people_fnmr": len(p_gen), "n_people_fmr": len(p_imp),
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


def _int(row: pd.Series, col: str):
    v = row.get(col)
    return None if v is None or pd.isna(v) else int(v)


def max_min_ratio(frame: pd.DataFrame, rate: str = "fmr") -> pd.DataFrame:
    """Highest over lowest group rate per (threshold, slice), over groups not marked insufficient.

    The 0/0 convention of :mod:`harness.metrics.disparity`: when the lowest observed rate is zero
    and the highest is not, ``ratio`` is +inf (unbounded: the data cannot bound it) and
    ``ratio_rule3`` divides by that group's rule-of-3 bound instead, a conservative (smallest
    plausible) ratio; when every rate is zero, ``ratio`` is NaN (undefined, never 1). ``note`` says
    which. ``max_people``/``min_people`` are the people who produced each rate.
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
            note = "undefined (0/0): no errors observed in any group"
        else:
            ratio = math.inf
            note = f"unbounded: {lo['group']} had zero observed errors"
            bound = lo[f"{rate}_rule3"]
            if bound:
                ratio3 = float(hi[rate] / bound)
        k, n = ("n_false_match", "n_impostor") if rate == "fmr" else ("n_false_non_match", "n_genuine")
        pcol = "n_people_fmr" if rate == "fmr" else "n_people_fnmr"
        out.append({
            "threshold_id": tid, "slice": sl, "metric": f"{rate}_max_min_ratio",
            "max_group": hi["group"], "max_rate": float(hi[rate]), "max_errors": _int(hi, k),
            "max_trials": _int(hi, n), "max_people": _int(hi, pcol),
            "min_group": lo["group"], "min_rate": float(lo[rate]), "min_errors": _int(lo, k),
            "min_trials": _int(lo, n), "min_people": _int(lo, pcol),
            "ratio": ratio, "ratio_rule3": ratio3, "note": note,
        })
    return pd.DataFrame(out, columns=DISPARITY_COLUMNS)


#: Columns of the max/min table (disparity.csv).
DISPARITY_COLUMNS = ["threshold_id", "slice", "metric", "max_group", "max_rate", "max_errors", "max_trials",
                     "max_people", "min_group", "min_rate", "min_errors", "min_trials", "min_people", "ratio",
                     "ratio_rule3", "note"]
