"""The vectorised bootstrap equals, bit for bit, the per-threshold / per-replicate loops it replaced."""

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.metrics import disparity
from harness.metrics.bootstrap import SubjectCounts, replicate_summaries, resample


def rates_reference(c: SubjectCounts, m: np.ndarray) -> dict:
    """SubjectCounts.rates as it was: one (B, K) @ (K, G) product per threshold."""
    names = c.group_names()
    gidx = np.searchsorted(names, c.groups)
    G = np.zeros((len(c.subjects), len(names)))
    G[np.arange(len(c.subjects)), gidx] = 1.0
    K = np.zeros((len(c.subjects), int(c.keys.max()) + 1))
    K[np.arange(len(c.subjects)), c.keys] = 1.0
    me, mp = m * c.enrol_n, m * c.probe_n
    if c.side == "probe":
        per_subject, gk = mp * ((me @ K)[:, c.keys] - me), gidx[c.imp_j]
    else:
        per_subject, gk = me * ((mp @ K)[:, c.keys] - mp), gidx[c.imp_i]
    imp_total = per_subject @ G
    w = m[:, c.imp_i] * m[:, c.imp_j]
    Gk = np.zeros((len(gk), len(names)))
    Gk[np.arange(len(gk)), gk] = 1.0
    fm = np.stack([(w * c.imp_fm[:, t]) @ Gk for t in range(len(c.thresholds))], axis=2)
    gen_total = (m * c.gen_n) @ G
    fnm = np.stack([(m * c.gen_fnm[:, t]) @ G for t in range(len(c.thresholds))], axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"n_impostor": imp_total, "n_false_match": fm, "fmr": fm / imp_total[:, :, None],
                "n_genuine": gen_total, "n_false_non_match": fnm, "fnmr": fnm / gen_total[:, :, None]}


def _ratio(a, b):
    if b > 0:
        return a / b
    return np.nan if a == 0 else np.inf


def _geomean(x):
    return 0.0 if (x <= 0).any() else float(np.exp(np.log(x).mean()))


def summaries_reference(F, N, pf, pn) -> dict:
    """The former loop: disparity.summaries per replicate, fixed-group ratios by lambdas."""
    fixed = {
        "fmr_max_min_ratio": lambda f, n: _ratio(f[np.argmax(pf)], f[np.argmin(pf)]),
        "fnmr_max_min_ratio": lambda f, n: _ratio(n[np.argmax(pn)], n[np.argmin(pn)]),
        "fmr_max_geomean_ratio": lambda f, n: _ratio(f[np.argmax(pf)], _geomean(f)),
        "fnmr_max_geomean_ratio": lambda f, n: _ratio(n[np.argmax(pn)], _geomean(n)),
    }
    valid = [b for b in range(F.shape[0]) if not (np.isnan(F[b]).any() or np.isnan(N[b]).any())]
    reps = [disparity.summaries(F[b], N[b]) for b in valid]
    out = {}
    for name in disparity.summaries(pf, pn):
        if name in fixed:
            out[name] = np.array([fixed[name](F[b], N[b]) for b in valid], dtype=float)
        else:
            out[name] = np.array([r[name] for r in reps], dtype=float)
    return out


def random_counts(seed: int, n: int, n_groups: int, n_keys: int, side: str, thresholds: int) -> SubjectCounts:
    """Random pair table (several templates per subject, ties, matched keys) aggregated to SubjectCounts."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    groups = pd.Series(rng.choice([f"g{k}" for k in range(n_groups)], n), index=ids)
    groups.iloc[:n_groups] = [f"g{k}" for k in range(n_groups)]  # every group present
    keys = pd.Series(rng.integers(0, n_keys, n), index=ids) if n_keys > 1 else None
    enrol_n = pd.Series(rng.integers(1, 3, n), index=ids)
    probe_n = pd.Series(rng.integers(1, 3, n), index=ids)
    rows = []
    for i in ids:
        for j in ids:
            if keys is not None and i != j and keys[i] != keys[j]:
                continue
            for _ in range(int(enrol_n[i] * probe_n[j])):
                rows.append((i, j, i == j))
    pairs = pd.DataFrame(rows, columns=["enrol_subject", "probe_subject", "genuine"])
    # Coarse scores (ties with the thresholds) and separated genuine/impostor means, so some rates are 0.
    pairs["score"] = np.round(np.where(pairs.genuine, rng.normal(1.2, 1, len(pairs)),
                                       rng.normal(-0.5, 1, len(pairs))), 1)
    t = np.round(np.sort(rng.uniform(-1, 3, thresholds)), 1)
    return SubjectCounts.from_pairs(pairs, groups, enrol_n, probe_n, t, keys=keys, side=side)


def _same(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 14), n_groups=st.integers(1, 4), n_keys=st.integers(1, 3),
       side=st.sampled_from(["probe", "enrol"]), thresholds=st.integers(1, 7), reps=st.integers(1, 30))
def test_rates_equal_the_per_threshold_loop(seed, n, n_groups, n_keys, side, thresholds, reps):
    n_groups = min(n_groups, n)
    c = random_counts(seed, n, n_groups, n_keys, side, thresholds)
    m = resample(c.groups, reps, np.random.default_rng(seed))
    new, old = c.rates(m), rates_reference(c, m)
    for key in old:
        assert _same(new[key], old[key]), key


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_groups=st.integers(2, 12), reps=st.integers(1, 80),
       zero_share=st.sampled_from([0.0, 0.1, 0.5, 0.9]), nan_share=st.sampled_from([0.0, 0.05, 0.5]))
def test_replicate_summaries_equal_the_per_replicate_loop(seed, n_groups, reps, zero_share, nan_share):
    rng = np.random.default_rng(seed)

    def draw():
        x = rng.integers(0, 40, (reps, n_groups)) / rng.integers(40, 4000, (reps, n_groups))
        x[rng.random(x.shape) < zero_share] = 0.0
        x[rng.random(x.shape) < nan_share / n_groups] = np.nan
        return x

    F, N = draw(), draw()
    pf, pn = np.nan_to_num(draw()[0]), np.nan_to_num(draw()[0])
    new, old = replicate_summaries(F, N, pf, pn), summaries_reference(F, N, pf, pn)
    assert set(new) == set(old)
    for key in old:
        assert _same(new[key], old[key]), key


def test_real_replicates_from_counts_agree():
    """End to end on one random data set: rates of 200 replicates, then their summaries."""
    c = random_counts(7, 30, 3, 1, "probe", 5)
    m = resample(c.groups, 200, np.random.default_rng(0))
    r = c.rates(m)
    point = c.rates(np.ones((1, len(c.subjects))))
    for ti in range(len(c.thresholds)):
        pf, pn = point["fmr"][0, :, ti], point["fnmr"][0, :, ti]
        if np.isnan(pf).any() or np.isnan(pn).any() or math.isnan(disparity.summaries(pf, pn)["fdr"]):
            continue
        new = replicate_summaries(r["fmr"][:, :, ti], r["fnmr"][:, :, ti], pf, pn)
        old = summaries_reference(r["fmr"][:, :, ti], r["fnmr"][:, :, ti], pf, pn)
        for key in old:
            assert _same(new[key], old[key]), key
