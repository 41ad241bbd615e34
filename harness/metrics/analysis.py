"""Everything the metrics stage computes for a run, from a pair table and an acquisition table.

Shared by ``facerisk run`` (after scoring) and ``facerisk metrics SCORES`` (from a score file),
so results can be recomputed without models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from harness.metrics import bootstrap as boot
from harness.metrics import crossgroup, identification
from harness.metrics.groups import band, group_frame, group_labels, group_status, max_min_ratio, slice_name
from harness.metrics.rates import Threshold, from_similarity

GALLERY_SIZES = (1, 10, 100, 1000, 10000)


@dataclass
class Analysis:
    """All metric tables of a run (each a DataFrame; empty when not applicable)."""

    groups: pd.DataFrame
    disparity: pd.DataFrame
    summaries: pd.DataFrame
    crossgroup: pd.DataFrame
    per_group_thresholds: pd.DataFrame
    identification: pd.DataFrame
    gallery_size: pd.DataFrame
    cmc: pd.DataFrame
    det_bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    #: Demographically matched (same-group) FMR per group: impostor pairs within the group only.
    same_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Operational projection (harness.metrics.projection); filled by the report stage from its config.
    projection: pd.DataFrame = field(default_factory=pd.DataFrame)


def resolve_slices(frame: pd.DataFrame, attributes: Sequence[str], intersections: Sequence[Sequence[str]],
                   bins: dict, warnings: list, prefixes: Sequence[str] = ("",)) -> tuple[list[str], list[list[str]]]:
    """Attributes present in ``frame`` (numeric ones banded into ``<attr>_band`` columns, added in place)
    and the slices to report. ``prefixes`` ("probe_", "enrol_") serve pair tables."""
    rename, present = {}, []
    for a in attributes:
        if f"{prefixes[0]}{a}" not in frame.columns and f"{prefixes[0]}{a}_band" in frame.columns:
            rename[a] = f"{a}_band"  # already banded (e.g. a run's pairs.csv)
            present.append(rename[a])
            continue
        if f"{prefixes[0]}{a}" not in frame.columns:
            warnings.append(f"attribute {a!r} is not a metadata column; skipped")
            continue
        if a in bins:
            for p in prefixes:
                frame[f"{p}{a}_band"] = band(frame[f"{p}{a}"], bins[a])
            rename[a] = f"{a}_band"
        present.append(rename.get(a, a))
    slices = [[a] for a in present]
    for inter in intersections:
        cols = [rename.get(a, a) for a in inter]
        if all(f"{prefixes[0]}{c}" in frame.columns for c in cols):
            slices.append(cols)
        else:
            warnings.append(f"intersection {' × '.join(inter)} skipped: not every attribute is a metadata column")
    return present, slices


def analyse(pairs: pd.DataFrame, acquisitions: pd.DataFrame, thresholds: Sequence[Threshold],
            slices: Sequence[Sequence[str]], side: str = "probe", confidence: float = 0.95,
            min_subjects: int = 5, small_subjects: int = 30, replicates: int = 1000, seed: int = 0,
            impostors: str = "all", match_on: Sequence[str] = (), recalibrate: bool = False) -> Analysis:
    """Per-group rates with exact and subject-bootstrap intervals, disparity summaries with intervals,
    same-group (demographically matched) FMR, cross-group FMR, the per-group-threshold study, and 1:N
    identification per group.

    With ``recalibrate`` (``metrics.recalibrate``), calibrated thresholds are also re-fitted inside
    every replicate (:func:`~harness.metrics.bootstrap.recalibrated_intervals`), adding
    ``*_recal_lo/hi`` and ``threshold_recal_lo/hi`` columns, and the headline interval is widened to
    them: threshold uncertainty is then carried. Cost: each calibrated threshold is evaluated on a grid
    of about 4·target·N + 50 thresholds in every replicate.

    The bootstrap groups impostor pairs by ``side`` like :func:`group_frame`; under the matched
    protocol its subject pairs are restricted to equal ``match_on`` keys (``match_on`` columns of
    ``acquisitions``). Summaries carry a bootstrap p-value of parity and a Holm-adjusted verdict over
    every ratio test of the run (``verdict_holm``): the max and min groups are picked after looking at
    the data, across many slices and thresholds.
    """
    notes: list[str] = []
    groups = group_frame(pairs, acquisitions, thresholds, slices, side=side, confidence=confidence,
                         min_subjects=min_subjects, small_subjects=small_subjects)
    disparity = pd.concat([max_min_ratio(groups, "fmr"), max_min_ratio(groups, "fnmr")], ignore_index=True)

    acquired = acquisitions[acquisitions["ok"].astype(bool)]
    enrol_n = acquired[acquired["role"] == "enrol"].groupby("subject_id").size()
    probe_n = acquired[acquired["role"] == "probe"].groupby("subject_id").size()
    subj = acquisitions.drop_duplicates("subject_id").set_index("subject_id")
    tids = [t.id for t in thresholds]
    tvals = [t.value for t in thresholds]
    boot_rows, summary_rows, band_rows = [], [], []
    grid = _det_grid(pairs)
    keys = None
    if impostors != "all":
        cols = [c for c in match_on if c in subj.columns]
        if len(cols) == len(match_on) and cols:
            keys = group_labels(subj, cols)
        elif replicates:
            notes.append("subject bootstrap skipped: the matched protocol's match_on columns are not in the "
                         "acquisition table")
            replicates = 0
    if replicates:
        for attrs in [[]] + [list(s) for s in slices]:
            labels = group_labels(subj, attrs) if attrs else pd.Series("all", index=subj.index)
            counts = boot.SubjectCounts.from_pairs(pairs, labels, enrol_n, probe_n, tvals, keys=keys, side=side)
            name = slice_name(attrs) or "all"
            usable = groups[(groups["slice"] == name) & (groups["status"] != "insufficient")]["group"].unique()
            res = boot.bootstrap(counts, replicates, seed, confidence, tids, include=list(usable))
            boot_rows.append(res.groups.assign(slice=name))
            if attrs:
                summary_rows.append(res.summaries.assign(slice=name))
            if attrs and len(grid):  # no scores at all (every probe an FTA, e.g. at a far sweep step): no DET bands
                band_rows.append(_det_bands(pairs, labels, enrol_n, probe_n, grid, min(replicates, 200), seed,
                                            confidence, keys, side).assign(slice=name))
    if boot_rows:
        b = pd.concat(boot_rows, ignore_index=True)[["threshold_id", "slice", "group", "fmr_boot_lo", "fmr_boot_hi",
                                                     "fnmr_boot_lo", "fnmr_boot_hi"]]
        groups = groups.merge(b, on=["threshold_id", "slice", "group"], how="left")
    if recalibrate and replicates:
        rec = []
        for t in thresholds:
            if t.kind != "calibrated" or not t.target_fmr:
                continue
            for attrs in [[]] + [list(s) for s in slices]:
                labels = group_labels(subj, attrs) if attrs else pd.Series("all", index=subj.index)
                rec.append(boot.recalibrated_intervals(pairs, labels, enrol_n, probe_n, t.target_fmr, replicates, seed,
                                                       confidence, keys, side)
                           .assign(threshold_id=t.id, slice=slice_name(attrs) or "all"))
        if rec:
            groups = groups.merge(pd.concat(rec, ignore_index=True), on=["threshold_id", "slice", "group"], how="left")
    groups = headline_intervals(groups)
    summaries = pd.concat(summary_rows, ignore_index=True) if summary_rows else pd.DataFrame()
    if len(summaries):
        summaries["p_holm"] = boot.holm(summaries["p_boot"].to_numpy(dtype=float))
        tested = summaries["p_holm"].notna()
        summaries["verdict_holm"] = summaries["verdict"]
        summaries.loc[tested, "verdict_holm"] = np.where(summaries.loc[tested, "p_holm"] < 1 - confidence,
                                                          "disparity", "inconclusive")
        summaries["n_tests"] = int(tested.sum())
    same = same_group_fmr(pairs, subj, enrol_n, probe_n, thresholds, slices, groups, side, confidence,
                          replicates, seed, min_subjects, small_subjects, keys)

    cross = []
    for attrs in slices:
        for t in thresholds:
            cross.append(crossgroup.cross_group_fmr(pairs, attrs, t.value, confidence)
                         .assign(threshold_id=t.id, slice=slice_name(attrs)))
    cross_df = pd.concat(cross, ignore_index=True) if cross else pd.DataFrame()
    if len(cross_df):
        cross_df = _cross_people(pairs, slices, cross_df)

    pgt = []
    for t in thresholds:
        if t.kind != "calibrated":
            continue
        for attrs in slices:
            pgt.append(crossgroup.per_group_thresholds(pairs, attrs, t.target_fmr, side)
                       .assign(slice=slice_name(attrs), threshold_id=t.id))
    pgt_df = pd.concat(pgt, ignore_index=True) if pgt else pd.DataFrame()
    if len(pgt_df):
        kind = thresholds[0].score
        for col in ("own_threshold", "global_threshold"):
            pgt_df[f"{col}_native"] = [from_similarity(v, kind) for v in pgt_df[col]]

    ident, gsize, cmc_df = _identification(pairs, thresholds, slices, impostors, notes, seed)
    bands = pd.concat(band_rows, ignore_index=True) if band_rows else pd.DataFrame()
    return Analysis(groups, disparity, summaries, cross_df, pgt_df, ident, gsize, cmc_df, bands, notes, same)


def headline_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``fmr_ci_lo/hi`` and ``fnmr_ci_lo/hi``: the interval every page and sentence quotes.

    It is the subject-bootstrap percentile interval (people are the unit of uncertainty), widened to
    the exact pair-level Clopper–Pearson interval wherever that is wider: a percentile bootstrap cannot
    create errors that were never observed (zero errors give a 0–0 interval) and under-covers with few
    errors, while the pair-level interval ignores that pairs share people. Without a bootstrap the
    columns equal the pair-level interval (the page then says so).
    """
    out = frame.copy()
    for r in ("fmr", "fnmr"):
        lo, hi = out[f"{r}_lo"], out[f"{r}_hi"]
        for kind in ("boot", "recal"):  # recal: threshold re-fitted per replicate (metrics.recalibrate)
            if f"{r}_{kind}_lo" in out:
                lo = np.fmin(lo, out[f"{r}_{kind}_lo"])
                hi = np.fmax(hi, out[f"{r}_{kind}_hi"])
        out[f"{r}_ci_lo"], out[f"{r}_ci_hi"] = lo, hi
    return out


#: Columns of the same-group table (same_group.csv).
SAME_GROUP_COLUMNS = ["threshold_id", "slice", "group", "status", "n_people", "n_impostor", "n_false_match", "fmr",
                      "fmr_lo", "fmr_hi", "fmr_rule3", "fmr_boot_lo", "fmr_boot_hi", "fmr_all", "n_impostor_all",
                      "n_false_match_all"]


def same_group_fmr(pairs: pd.DataFrame, subj: pd.DataFrame, enrol_n: pd.Series, probe_n: pd.Series,
                   thresholds: Sequence[Threshold], slices, groups: pd.DataFrame, side: str = "probe",
                   confidence: float = 0.95, replicates: int = 1000, seed: int = 0, min_subjects: int = 5,
                   small_subjects: int = 30, keys: Optional[pd.Series] = None) -> pd.DataFrame:
    """Demographically matched FMR per group: only impostor pairs whose two people share the group.

    This answers "how likely is an innocent person of group G to be matched to someone who looks like
    them" — NIST FRVT reports demographic FMR over such pairs, and a data set's group mix dilutes the
    all-impostor rate (most impostors of a minority group come from other groups). ``fmr_all`` repeats
    the all-impostor FMR of :func:`group_frame` beside it. Bootstrap intervals resample people within
    the group (subject pairs restricted to the group, as a matched protocol); ``keys`` are the run's
    own matched-protocol keys, if any, which further restrict the pairs.
    """
    from harness.metrics.rates import clopper_pearson, rule_of_three

    rows, boot_rows = [], []
    s = pairs["score"].to_numpy(dtype=np.float64)
    gen = pairs["genuine"].to_numpy(dtype=bool)
    for attrs in slices:
        name = slice_name(attrs)
        eg = group_labels(pairs, [f"enrol_{a}" for a in attrs]).to_numpy()
        pg = group_labels(pairs, [f"probe_{a}" for a in attrs]).to_numpy()
        within = (eg == pg) & ~gen
        subj_side = pairs[f"{side}_subject"].to_numpy()
        for g in sorted(set(pg[within]) | set(eg[within])):
            sel = within & (pg == g)
            for t in thresholds:
                k, n = int((s[sel] >= t.value).sum()), int(sel.sum())
                lo, hi = clopper_pearson(k, n, confidence)
                ref = groups[(groups["threshold_id"] == t.id) & (groups["slice"] == name) & (groups["group"] == g)]
                n_people = len(set(subj_side[sel]))
                rows.append({"threshold_id": t.id, "slice": name, "group": g,
                             "status": group_status(n_people, min_subjects, small_subjects), "n_people": n_people,
                             "n_impostor": n, "n_false_match": k, "fmr": k / n if n else np.nan,
                             "fmr_lo": lo, "fmr_hi": hi, "fmr_rule3": rule_of_three(k, n),
                             "fmr_all": float(ref["fmr"].iloc[0]) if len(ref) else np.nan,
                             "n_impostor_all": int(ref["n_impostor"].iloc[0]) if len(ref) else 0,
                             "n_false_match_all": int(ref["n_false_match"].iloc[0]) if len(ref) else 0})
        if replicates:
            labels = group_labels(subj, attrs)
            keep = pairs[gen | (eg == pg)]
            k_all = labels if keys is None else labels + "|" + keys.reindex(labels.index).astype(str)
            counts = boot.SubjectCounts.from_pairs(keep, labels, enrol_n, probe_n, [t.value for t in thresholds],
                                                   keys=k_all, side=side)
            res = boot.bootstrap(counts, replicates, seed, confidence, [t.id for t in thresholds], include=[])
            boot_rows.append(res.groups.assign(slice=name)[["threshold_id", "slice", "group", "fmr_boot_lo",
                                                            "fmr_boot_hi"]])
    out = pd.DataFrame(rows, columns=[c for c in SAME_GROUP_COLUMNS if c not in ("fmr_boot_lo", "fmr_boot_hi")])
    if boot_rows and len(out):
        out = out.merge(pd.concat(boot_rows, ignore_index=True), on=["threshold_id", "slice", "group"], how="left")
    else:
        out["fmr_boot_lo"] = np.nan
        out["fmr_boot_hi"] = np.nan
    return headline_intervals(out[SAME_GROUP_COLUMNS].assign(fnmr_lo=np.nan, fnmr_hi=np.nan)) \
        .drop(columns=["fnmr_lo", "fnmr_hi", "fnmr_ci_lo", "fnmr_ci_hi"])


def _cross_people(pairs: pd.DataFrame, slices, cross: pd.DataFrame) -> pd.DataFrame:
    """Add ``n_people_enrol`` and ``n_people_probe`` (people behind each cross-group cell) to the long table."""
    imp = pairs[~pairs["genuine"].to_numpy(dtype=bool)]
    parts = []
    for attrs in slices:
        eg = group_labels(imp, [f"enrol_{a}" for a in attrs])
        pg = group_labels(imp, [f"probe_{a}" for a in attrs])
        c = imp.groupby([eg.rename("enrol_group"), pg.rename("probe_group")]).agg(
            n_people_enrol=("enrol_subject", "nunique"), n_people_probe=("probe_subject", "nunique")).reset_index()
        parts.append(c.assign(slice=slice_name(attrs)))
    people = pd.concat(parts, ignore_index=True)
    out = cross.merge(people, on=["slice", "enrol_group", "probe_group"], how="left")
    for col in ("n_people_enrol", "n_people_probe"):
        out[col] = out[col].fillna(0).astype(int)
    return out


def _det_grid(pairs: pd.DataFrame, points: int = 60) -> np.ndarray:
    """Thresholds spanning the impostor tail (FMR 1e-4..0.5) and the genuine head, for DET curves."""
    s = pairs["score"].to_numpy()
    gen = pairs["genuine"].to_numpy(dtype=bool)
    q_imp = np.quantile(s[~gen], 1 - np.geomspace(1e-4, 0.5, points // 2)) if (~gen).any() else []
    q_gen = np.quantile(s[gen], np.geomspace(1e-3, 0.5, points // 2)) if gen.any() else []
    return np.unique(np.r_[q_imp, q_gen])


def _det_bands(pairs, labels, enrol_n, probe_n, grid, replicates, seed, confidence, keys=None,
               side="probe") -> pd.DataFrame:
    """Per group and grid threshold: point FMR/FNMR and subject-bootstrap percentile bands."""
    counts = boot.SubjectCounts.from_pairs(pairs, labels, enrol_n, probe_n, grid, keys=keys, side=side)
    point = counts.rates(np.ones((1, len(counts.subjects))))
    fmr_b, fnmr_b = boot.replicate_rates(counts, replicates, seed)
    a = (1 - confidence) / 2
    rows = []
    with np.errstate(all="ignore"):
        q = {name: (boot.nanquantile0(arr, a), boot.nanquantile0(arr, 1 - a))
             for name, arr in (("fmr", fmr_b), ("fnmr", fnmr_b))}
    for gi, g in enumerate(counts.group_names()):
        for k, t in enumerate(grid):
            rows.append({"group": g, "threshold": t, "fmr": point["fmr"][0, gi, k], "fnmr": point["fnmr"][0, gi, k],
                         "fmr_lo": q["fmr"][0][gi, k], "fmr_hi": q["fmr"][1][gi, k],
                         "fnmr_lo": q["fnmr"][0][gi, k], "fnmr_hi": q["fnmr"][1][gi, k]})
    return pd.DataFrame(rows)


def _identification(pairs, thresholds, slices, impostors, notes, seed):
    """1:N with the enrolment set as gallery (one entry per enrolled image) and every probe searched."""
    if impostors != "all":
        notes.append("1:N identification skipped: it needs every probe scored against the whole gallery")
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    if not len(pairs):  # every probe an FTA (e.g. a far sweep step): no search was made
        notes.append("1:N identification skipped: no probe was acquired")
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    grid = pairs.pivot_table(index="probe_image", columns="enrol_image", values="score", aggfunc="first")
    if grid.isna().any().any():
        notes.append("1:N identification skipped: the score grid is incomplete")
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    S = grid.to_numpy()
    first = pairs.drop_duplicates("probe_image").set_index("probe_image")
    probe_ids = first.loc[grid.index, "probe_subject"].to_numpy()
    gallery_ids = pairs.drop_duplicates("enrol_image").set_index("enrol_image").loc[grid.columns, "enrol_subject"].to_numpy()
    rows, gs, cm = [], [], []
    mates = probe_ids[:, None] == gallery_ids[None, :]
    for attrs in [[]] + [list(s) for s in slices]:
        labels = (group_labels(first.loc[grid.index], [f"probe_{a}" for a in attrs]).to_numpy() if attrs
                  else np.full(len(grid), "all", dtype=object))
        name = slice_name(attrs) or "all"
        r = identification.fpir_fnir_by_group(S, probe_ids, gallery_ids, labels, [t.value for t in thresholds])
        r["threshold_id"] = r["threshold"].map({t.value: t.id for t in thresholds})
        people = pd.Series(probe_ids).groupby(labels).nunique()
        r["n_people"] = r["group"].map(people).fillna(0).astype(int)  # the people behind each search rate
        rows.append(r.assign(slice=name))
        for g in sorted(set(labels)):
            m = labels == g
            curve = identification.cmc(S[m], probe_ids[m], gallery_ids, max_rank=min(20, S.shape[1]))
            cm.append(pd.DataFrame({"slice": name, "group": g, "rank": np.arange(1, len(curve) + 1), "rate": curve}))
            nonmate = np.where(mates[m], np.nan, S[m])
            rows_nm = [row[~np.isnan(row)] for row in nonmate]
            if len({len(r) for r in rows_nm}) != 1:
                # Subjects with different numbers of enrolment images: keep the same gallery size for all.
                k = min(len(r) for r in rows_nm)
                rows_nm = [r[:k] for r in rows_nm]
            X = np.array(rows_nm)
            for t in thresholds:
                gs.append(identification.fpir_by_gallery_size(X, t.value, GALLERY_SIZES)
                          .assign(slice=name, group=g, threshold_id=t.id, n_people=len(set(probe_ids[m]))))
    return (pd.concat(rows, ignore_index=True), pd.concat(gs, ignore_index=True), pd.concat(cm, ignore_index=True))
