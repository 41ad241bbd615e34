"""Subject-clustered bootstrap from aggregated counts per subject pair.

Pairs share subjects, so resampling pairs (as fairlearn does with rows) understates uncertainty.
Here subjects are resampled with replacement (stratified within each group, so group sizes stay
fixed), and their pairs are regenerated *by weight*, never re-scored:

- a subject drawn ``m`` times contributes ``m`` copies of its genuine comparisons;
- the impostor comparisons between enrolled subject ``i`` and probe subject ``j`` (i ≠ j) count
  ``m_i · m_j`` times; copies of one subject are never paired with each other.

Only the counts needed for that are kept: templates per subject, genuine comparisons and false
non-matches per subject, and a sparse list of subject pairs with at least one false match. So the
bootstrap costs O(B · (subjects + false-match pairs)), independent of the number of comparisons.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from harness.metrics import disparity


@dataclass
class SubjectCounts:
    """Aggregated comparison counts per subject and subject pair, at fixed thresholds (similarity)."""

    subjects: np.ndarray        # (n,) ids
    groups: np.ndarray          # (n,) group label of each subject (the side that decides groups)
    keys: np.ndarray            # (n,) impostor-eligibility key: pairs only between equal keys
    enrol_n: np.ndarray         # (n,) enrolment templates
    probe_n: np.ndarray         # (n,) probe templates
    gen_n: np.ndarray           # (n,) genuine comparisons
    gen_fnm: np.ndarray         # (n, T) false non-matches
    imp_i: np.ndarray           # (K,) enrolled subject index of a pair with false matches
    imp_j: np.ndarray           # (K,) probe subject index
    imp_fm: np.ndarray          # (K, T) false matches
    thresholds: np.ndarray      # (T,)
    side: str = "probe"         # which side of an impostor pair decides its group ("probe" or "enrol")

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame, subject_groups: pd.Series, enrol_n: pd.Series, probe_n: pd.Series,
                   thresholds: Sequence[float], keys: Optional[pd.Series] = None,
                   side: str = "probe") -> "SubjectCounts":
        """Aggregate a pair table (``enrol_subject``, ``probe_subject``, ``genuine``, ``score``).

        ``subject_groups``, ``enrol_n``, ``probe_n`` and ``keys`` are indexed by subject id; ``keys``
        reproduces a matched-impostor protocol (None: every subject pair is an impostor pair): impostor
        pairs between different keys must then be absent from ``pairs``. ``side`` is
        ``metrics.group_side``: the side of an impostor pair whose group the pair counts for.
        """
        if side not in ("probe", "enrol"):
            raise ValueError(f"side must be 'probe' or 'enrol', not {side!r}")
        subjects = np.asarray(subject_groups.index)
        index = {s: k for k, s in enumerate(subjects)}
        t = np.asarray(thresholds, dtype=np.float64)
        ei = pairs["enrol_subject"].map(index).to_numpy()
        pj = pairs["probe_subject"].map(index).to_numpy()
        if pd.isna(ei).any() or pd.isna(pj).any():
            raise ValueError("pairs name subjects missing from subject_groups")
        ei, pj = ei.astype(np.int64), pj.astype(np.int64)
        s = pairs["score"].to_numpy(dtype=np.float64)
        gen = pairs["genuine"].to_numpy(dtype=bool)
        n = len(subjects)
        gen_n = np.bincount(ei[gen], minlength=n)
        gen_fnm = np.stack([np.bincount(ei[gen], weights=(s[gen] < v), minlength=n) for v in t], axis=1)
        loose = ~gen & (s >= t.min())
        code = ei[loose] * n + pj[loose]
        uniq, inv = np.unique(code, return_inverse=True)
        # Whole-number counts per subject pair: bincount's float sums are exact, as np.add.at's were (and 50x
        # faster over the 60 thresholds of a DET grid).
        s_loose = s[loose]
        fm = np.zeros((len(uniq), len(t)))
        for k, v in enumerate(t):
            fm[:, k] = np.bincount(inv, weights=s_loose >= v, minlength=len(uniq))
        keys_arr = np.zeros(n, dtype=np.int64) if keys is None else pd.factorize(keys.reindex(subjects))[0]
        return cls(subjects, np.asarray(subject_groups.to_numpy(), dtype=object), keys_arr,
                   enrol_n.reindex(subjects).fillna(0).to_numpy(float), probe_n.reindex(subjects).fillna(0).to_numpy(float),
                   gen_n.astype(float), gen_fnm, uniq // n, uniq % n, fm, t, side)

    @classmethod
    def from_all_vs_all(cls, templates: np.ndarray, subject_ids: np.ndarray, subject_groups: pd.Series,
                        sparse_pairs: pd.DataFrame, thresholds: Sequence[float]) -> "SubjectCounts":
        """Counts for an all-vs-all comparison (see :func:`harness.metrics.scale.all_vs_all`).

        All-vs-all pairs have no enrol/probe sides, so each unordered impostor pair is entered in both
        orientations: a group's FMR is then over the impostor pairs that involve a member of the group.
        ``sparse_pairs`` must hold every impostor pair scoring at or above ``min(thresholds)``.
        ``templates`` must be L2-normalised (cosine similarity).
        """
        t = np.asarray(thresholds, dtype=np.float64)
        subjects = np.asarray(subject_groups.index)
        index = pd.Index(subjects)
        sid = index.get_indexer(subject_ids)
        if (sid < 0).any():
            raise ValueError("subject_ids name subjects missing from subject_groups")
        n = len(subjects)
        per = np.bincount(sid, minlength=n).astype(float)
        # Genuine pairs (same subject, i < j) are few: score them directly.
        order = np.argsort(sid, kind="stable")
        bounds = np.flatnonzero(np.diff(sid[order])) + 1
        gi, gj = [], []
        for grp in np.split(order, bounds):
            if len(grp) > 1:
                a, b = np.triu_indices(len(grp), 1)
                gi.append(grp[a])
                gj.append(grp[b])
        gen_n = np.zeros(n)
        gen_fnm = np.zeros((n, len(t)))
        if gi:
            gi, gj = np.concatenate(gi), np.concatenate(gj)
            s = np.einsum("ij,ij->i", templates[gi], templates[gj]).astype(np.float64)
            gen_n = np.bincount(sid[gi], minlength=n).astype(float)
            gen_fnm = np.stack([np.bincount(sid[gi], weights=(s < v), minlength=n) for v in t], axis=1)
        sp = sparse_pairs[sparse_pairs["score"] >= t.min()]
        a = index.get_indexer(sp["subject_a"])
        b = index.get_indexer(sp["subject_b"])
        sc = sp["score"].to_numpy(dtype=np.float64)
        ii, jj, ss = np.r_[a, b], np.r_[b, a], np.r_[sc, sc]
        code = ii * n + jj
        uniq, inv = np.unique(code, return_inverse=True)
        fm = np.zeros((len(uniq), len(t)))
        for k, v in enumerate(t):
            np.add.at(fm[:, k], inv, ss >= v)
        # Ordered impostor pairs between i and j: per_i * per_j, i.e. enrol_n = probe_n = templates.
        return cls(subjects, np.asarray(subject_groups.to_numpy(), dtype=object), np.zeros(n, dtype=np.int64),
                   per, per, gen_n, gen_fnm, uniq // n, uniq % n, fm, t)

    def group_names(self) -> list[str]:
        return sorted(set(self.groups))

    def rates(self, m: np.ndarray) -> dict[str, np.ndarray]:
        """Counts and rates per group for multiplicity rows ``m`` (B, n). Shapes: (B, G) or (B, G, T)."""
        names = self.group_names()
        gidx = np.searchsorted(names, self.groups)
        G = np.zeros((len(self.subjects), len(names)))
        G[np.arange(len(self.subjects)), gidx] = 1.0
        nk = int(self.keys.max()) + 1
        K = np.zeros((len(self.subjects), nk))
        K[np.arange(len(self.subjects)), self.keys] = 1.0
        me = m * self.enrol_n
        mp = m * self.probe_n
        if self.side == "probe":
            # Probe subject j meets every enrol template of its key except its own copies'.
            per_subject = mp * ((me @ K)[:, self.keys] - me)
            gk = gidx[self.imp_j]
        else:
            per_subject = me * ((mp @ K)[:, self.keys] - mp)
            gk = gidx[self.imp_i]
        imp_total = per_subject @ G                              # (B, G)
        w = m[:, self.imp_i] * m[:, self.imp_j]                  # (B, K) pair multiplicities
        T, ng = len(self.thresholds), len(names)
        # Per group one product (B, K_g) @ (K_g, T), instead of one (B, K) @ (K, G) per threshold.
        # Multiplicities and counts are whole numbers, so every sum is exact in float64 (below 2**53):
        # any summation order gives the very same value as the per-threshold loop did.
        fm = np.zeros((m.shape[0], ng, T))
        fnm = np.zeros((m.shape[0], ng, T))
        for g in range(ng):
            sel = np.flatnonzero(gk == g)
            if len(sel):
                fm[:, g, :] = w[:, sel] @ self.imp_fm[sel]
            sub = np.flatnonzero(gidx == g)
            fnm[:, g, :] = m[:, sub] @ self.gen_fnm[sub]
        gen_total = (m * self.gen_n) @ G
        with np.errstate(invalid="ignore", divide="ignore"):
            return {
                "n_impostor": imp_total, "n_false_match": fm, "fmr": fm / imp_total[:, :, None],
                "n_genuine": gen_total, "n_false_non_match": fnm, "fnmr": fnm / gen_total[:, :, None],
            }


def resample(groups: np.ndarray, replicates: int, rng: np.random.Generator, stratify: bool = True) -> np.ndarray:
    """Multiplicity matrix (replicates, n): how often each subject is drawn in each replicate."""
    n = len(groups)
    m = np.zeros(replicates * n, dtype=np.int64)
    strata = [np.flatnonzero(groups == g) for g in sorted(set(groups))] if stratify else [np.arange(n)]
    rows = (np.arange(replicates) * n)[:, None]
    for idx in strata:
        draws = idx[rng.integers(0, len(idx), size=(replicates, len(idx)))]
        m += np.bincount((rows + draws).ravel(), minlength=replicates * n)
    return m.reshape(replicates, n).astype(np.float64)


def nanquantile0(arr: np.ndarray, q: float) -> np.ndarray:
    """``np.nanquantile(arr, q, axis=0)``, bit for bit, in one vectorised call where a column has no NaN.

    numpy's nanquantile runs a Python-level loop over every column (``apply_along_axis``); on the columns
    without NaN it is ``np.quantile`` of that column, which the one call along axis 0 computes with the same
    operations (tests/metrics/test_nanquantile0.py). Columns holding a NaN go through nanquantile.
    """
    arr = np.asarray(arr, dtype=np.float64)
    has_nan = np.isnan(arr).any(axis=0)
    out = np.quantile(arr, q, axis=0)
    if has_nan.any():
        out[has_nan] = np.nanquantile(arr[:, has_nan], q, axis=0)
    return out


def _ratio_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b element by element under the package convention: x/0 = +inf for x > 0, 0/0 = NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = a / np.where(b > 0, b, 1.0)
    return np.where(b > 0, q, np.where(a == 0, np.nan, np.inf))


def _geomean_many(x: np.ndarray) -> np.ndarray:
    """Geometric mean of every row, 0 when a value is 0 (the exponential taken value by value)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logmean = np.log(x).mean(axis=1)
    out = np.array([float(np.exp(v)) for v in logmean.tolist()]).reshape(len(x))
    return np.where((x <= 0).any(axis=1), 0.0, out)


#: Ratio summaries re-read in every replicate for the groups picked in the full sample (parity-tested).
FIXED_GROUP_RATIOS = ("fmr_max_min_ratio", "fnmr_max_min_ratio", "fmr_max_geomean_ratio", "fnmr_max_geomean_ratio")


def replicate_summaries(fmr: np.ndarray, fnmr: np.ndarray, pf: np.ndarray, pn: np.ndarray) -> dict[str, np.ndarray]:
    """Every disparity summary of every defined replicate: rows of ``fmr``/``fnmr`` (B, G) with no NaN.

    Ratio summaries are re-read in each replicate for the groups that were highest and lowest (or
    highest vs the geometric mean) in the full sample (``pf``, ``pn``). A max/min taken afresh per
    replicate is >= 1 by construction, so its interval could never span parity; the fixed-group ratio
    can. The other summaries are taken afresh. All replicates at once, value for value what
    :func:`harness.metrics.disparity.summaries` gives one replicate at a time.
    """
    ok = ~(np.isnan(fmr).any(axis=1) | np.isnan(fnmr).any(axis=1))
    F, N = np.ascontiguousarray(fmr[ok], dtype=np.float64), np.ascontiguousarray(fnmr[ok], dtype=np.float64)
    if not len(F):
        return {k: np.array([]) for k in disparity.summaries(pf, pn)}
    out = disparity.summaries_many(F, N)
    out["fmr_max_min_ratio"] = _ratio_many(F[:, np.argmax(pf)], F[:, np.argmin(pf)])
    out["fnmr_max_min_ratio"] = _ratio_many(N[:, np.argmax(pn)], N[:, np.argmin(pn)])
    out["fmr_max_geomean_ratio"] = _ratio_many(F[:, np.argmax(pf)], _geomean_many(F))
    out["fnmr_max_geomean_ratio"] = _ratio_many(N[:, np.argmax(pn)], _geomean_many(N))
    return out


def percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile that keeps +inf replicates (NaN replicates are dropped).

    ``np.quantile`` would either drop infinite replicates (if filtered out first: an unbounded limit
    then prints as a finite number) or return NaN from ``inf - inf``. Here an order statistic that is
    +inf makes the percentile +inf whenever the interpolation would reach it.
    """
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[~np.isnan(v)]
    if not len(v):
        return np.nan
    pos = q * (len(v) - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    frac = pos - lo
    if np.isinf(v[hi]) and (frac > 0 or lo == hi):
        return float(v[hi])
    if np.isinf(v[lo]):
        return float(v[lo])
    return float(v[lo] + (v[hi] - v[lo]) * frac)


def parity_p_value(values: np.ndarray, parity: float) -> float:
    """Two-sided bootstrap p-value for "the summary equals parity": twice the smaller tail share.

    Consistent with the percentile interval: at level 1 − α the interval excludes parity exactly when
    this is below α (up to ties). Undefined (NaN) replicates are left out.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if not len(v):
        return np.nan
    return float(min(1.0, 2 * min((v <= parity).mean(), (v >= parity).mean())))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN and does not count towards the family)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def _which(name: str, names: list, keep: list, pf: np.ndarray, pn: np.ndarray, pick) -> str:
    """The group a ratio summary's numerator (argmax) or denominator (argmin) was read for."""
    if "ratio" not in name or name.startswith("inequity"):
        return ""
    return names[keep[int(pick(pn if name.startswith("fnmr") else pf))]]


@dataclass
class BootstrapResult:
    """Per-group rate intervals and disparity-summary intervals, plus the raw replicate arrays."""

    groups: pd.DataFrame
    summaries: pd.DataFrame
    replicates: int
    seed: int


def replicate_rates(counts: SubjectCounts, replicates: int, seed: int = 0, chunk: int = 100,
                    stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """FMR and FNMR of every replicate, each of shape (replicates, groups, thresholds)."""
    rng = np.random.default_rng(seed)
    fmr_reps, fnmr_reps = [], []
    for start in range(0, replicates, chunk):
        m = resample(counts.groups, min(chunk, replicates - start), rng, stratify)
        r = counts.rates(m)
        fmr_reps.append(r["fmr"])
        fnmr_reps.append(r["fnmr"])
    return np.concatenate(fmr_reps), np.concatenate(fnmr_reps)


def bootstrap(counts: SubjectCounts, replicates: int = 1000, seed: int = 0, confidence: float = 0.95,
              threshold_ids: Optional[Sequence[str]] = None, include: Optional[Sequence[str]] = None,
              chunk: int = 100, stratify: bool = True) -> BootstrapResult:
    """Subject-clustered percentile bootstrap of per-group FMR/FNMR and the disparity summaries.

    Verdicts: ``disparity`` when a ratio's interval excludes parity (1), ``inconclusive`` when it
    spans it, ``unbounded`` when the full-sample ratio is x/0 (the lowest group saw no error, which
    resampling people can never change, so parity is not tested), ``undefined`` when the full-sample value is 0/0 (or no replicate is defined), and
    ``no parity test`` for the non-negative indices (Gini/GARBE, FDR, inequity rate), whose intervals
    are reported as they are. Infinite replicates are kept, so a limit can be +inf (unbounded);
    ``undefined_share`` is the share of replicates left out as undefined (0/0 or a group without trials).
    ``p_boot`` is the two-sided bootstrap p-value of parity for the fixed-group ratios (for Holm).

    Parameters
    ----------
    include : groups entering the disparity summaries (default all); rates are given for all groups.
    threshold_ids : labels for the thresholds in ``counts`` (default their index).
    """
    names = counts.group_names()
    tids = list(threshold_ids) if threshold_ids is not None else [str(i) for i in range(len(counts.thresholds))]
    point = counts.rates(np.ones((1, len(counts.subjects))))
    fmr_b, fnmr_b = replicate_rates(counts, replicates, seed, chunk, stratify)
    a = (1 - confidence) / 2
    rows = []
    q = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group with no trials in any replicate: NaN
        for key, arr in (("fmr", fmr_b), ("fnmr", fnmr_b)):
            q[key] = (nanquantile0(arr, a), nanquantile0(arr, 1 - a))
    for ti, tid in enumerate(tids):
        for gi, g in enumerate(names):
            rows.append({
                "threshold_id": tid, "group": g,
                "fmr": point["fmr"][0, gi, ti], "fmr_boot_lo": q["fmr"][0][gi, ti], "fmr_boot_hi": q["fmr"][1][gi, ti],
                "fnmr": point["fnmr"][0, gi, ti], "fnmr_boot_lo": q["fnmr"][0][gi, ti],
                "fnmr_boot_hi": q["fnmr"][1][gi, ti],
            })
    keep = [i for i, g in enumerate(names) if include is None or g in set(include)]
    srows = []
    for ti, tid in enumerate(tids):
        pf, pn = point["fmr"][0, keep, ti], point["fnmr"][0, keep, ti]
        if len(keep) < 2 or np.isnan(pf).any() or np.isnan(pn).any():
            continue
        est = disparity.summaries(pf, pn)
        # Fixed-group ratios (see replicate_summaries): the max/min groups are those of the full sample.
        reps = replicate_summaries(fmr_b[:, keep, ti], fnmr_b[:, keep, ti], pf, pn)
        fixed = FIXED_GROUP_RATIOS
        for name, value in est.items():
            vals = reps[name]
            # +inf replicates (a ratio to a zero rate) are kept: they make a limit unbounded, never finite.
            defined = vals[~np.isnan(vals)]
            lo, hi = percentile(defined, a), percentile(defined, 1 - a)
            parity = disparity.parity_of(name)
            p_value = parity_p_value(defined, parity) if name in fixed and not np.isnan(value) else np.nan
            if not len(defined) or np.isnan(value):
                verdict = "undefined"  # 0/0: e.g. no group had an error, so no ratio exists
            elif name in fixed and np.isinf(value):
                # The lowest group saw no error: resampling people can never create one, so the bootstrap
                # cannot test parity here (its interval would be inf-inf). No verdict, no p-value.
                verdict = "unbounded"
                p_value = np.nan
            elif name not in fixed:
                verdict = "no parity test"  # non-negative indices: sampling noise alone moves them off parity
            elif lo <= parity <= hi:
                verdict = "inconclusive"
            else:
                verdict = "disparity"
            srows.append({"threshold_id": tid, "summary": name, "value": value, "lo": lo, "hi": hi,
                          "parity": parity, "verdict": verdict, "p_boot": p_value, "n_groups": len(keep),
                          "max_group": _which(name, names, keep, pf, pn, np.argmax) if not np.isnan(value) else "",
                          "min_group": _which(name, names, keep, pf, pn, np.argmin)
                          if "max_min" in name and not np.isnan(value) else "",
                          "undefined_share": 1 - len(defined) / max(1, fmr_b.shape[0])})
    return BootstrapResult(pd.DataFrame(rows), pd.DataFrame(srows), replicates, seed)


def recalibrated_intervals(pairs: pd.DataFrame, subject_groups: pd.Series, enrol_n: pd.Series, probe_n: pd.Series,
                           target_fmr: float, replicates: int = 1000, seed: int = 0, confidence: float = 0.95,
                           keys: Optional[pd.Series] = None, side: str = "probe", chunk: int = 100) -> pd.DataFrame:
    """Subject-bootstrap intervals that carry the calibrated threshold's own uncertainty.

    In each replicate the threshold is re-fitted to ``target_fmr`` on that replicate's impostor
    pairs (the lowest threshold whose overall FMR does not exceed the target, exactly as
    :func:`harness.metrics.rates.threshold_at_fmr` fits it on the full sample), and every group is
    read there. Counts are kept on a grid just above each of the highest impostor scores (about
    ``4·target·N + 50`` of them, enough for any plausible replicate), so the cost is that many
    thresholds instead of one: O(B · (subjects + false-match pairs) · grid).

    Returns one row per group: ``fmr_recal_lo/hi``, ``fnmr_recal_lo/hi`` and the re-fitted
    threshold's interval ``threshold_recal_lo/hi`` (similarity units).
    """
    s = pairs["score"].to_numpy(dtype=np.float64)
    gen = pairs["genuine"].to_numpy(dtype=bool)
    imp = np.sort(s[~gen])[::-1]
    if not len(imp):
        return pd.DataFrame()
    m_top = min(len(imp), int(np.ceil(4 * target_fmr * len(imp))) + 50)
    grid = np.unique(np.nextafter(imp[:m_top], np.inf))  # ascending: FMR falls along the grid
    counts = SubjectCounts.from_pairs(pairs, subject_groups, enrol_n, probe_n, grid, keys=keys, side=side)
    rng = np.random.default_rng(seed)
    fmr_reps, fnmr_reps, thr_reps = [], [], []
    for start in range(0, replicates, chunk):
        mult = resample(counts.groups, min(chunk, replicates - start), rng)
        r = counts.rates(mult)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = r["n_false_match"].sum(axis=1) / r["n_impostor"].sum(axis=1)[:, None]  # (B, T)
        ok = overall <= target_fmr + 1e-12
        # The lowest grid threshold meeting the target (a replicate with FM beyond the grid's reach keeps the
        # top one, which meets any target: no impostor scores above it).
        j = np.where(ok.any(axis=1), ok.argmax(axis=1), len(grid) - 1)
        b = np.arange(len(j))
        fmr_reps.append(r["fmr"][b, :, j])
        fnmr_reps.append(r["fnmr"][b, :, j])
        thr_reps.append(grid[j])
    a = (1 - confidence) / 2
    fmr_b, fnmr_b, thr = np.concatenate(fmr_reps), np.concatenate(fnmr_reps), np.concatenate(thr_reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = {k: (nanquantile0(v, a), nanquantile0(v, 1 - a)) for k, v in
             (("fmr", fmr_b), ("fnmr", fnmr_b))}
    t_lo, t_hi = float(np.quantile(thr, a)), float(np.quantile(thr, 1 - a))
    return pd.DataFrame([{"group": g, "fmr_recal_lo": q["fmr"][0][gi], "fmr_recal_hi": q["fmr"][1][gi],
                          "fnmr_recal_lo": q["fnmr"][0][gi], "fnmr_recal_hi": q["fnmr"][1][gi],
                          "threshold_recal_lo": t_lo, "threshold_recal_hi": t_hi}
                         for gi, g in enumerate(counts.group_names())])
