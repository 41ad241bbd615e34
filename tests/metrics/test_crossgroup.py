import numpy as np
import pandas as pd
import pytest

from harness.metrics.crossgroup import as_matrix, cross_group_fmr, per_group_thresholds


def pairs(seed=0, n=40):
    rng = np.random.default_rng(seed)
    g = rng.choice(["x", "y"], n)
    e, p = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    e, p = e.ravel(), p.ravel()
    out = pd.DataFrame({"enrol_subject": e, "probe_subject": p, "genuine": e == p,
                        "enrol_g": g[e], "probe_g": g[p]})
    out["score"] = np.where(out.genuine, rng.normal(2, 1, len(out)), rng.normal(0, 1, len(out)))
    return out


def test_cells_equal_brute_force_and_sum_to_the_total():
    pr = pairs()
    long = cross_group_fmr(pr, ["g"], 1.0)
    imp = pr[~pr.genuine]
    for _, r in long.iterrows():
        sel = imp[(imp.enrol_g == r.enrol_group) & (imp.probe_g == r.probe_group)]
        assert r.n_impostor == len(sel) and r.n_false_match == (sel.score >= 1.0).sum()
        assert r.fmr_lo <= r.fmr <= r.fmr_hi
    assert long.n_impostor.sum() == len(imp)
    m = as_matrix(long)
    assert list(m.index) == ["x", "y"] and list(m.columns) == ["x", "y"]


def test_per_group_thresholds_meet_their_target():
    pr = pairs(1, 60)
    out = per_group_thresholds(pr, ["g"], 0.05)
    for _, r in out.iterrows():
        assert r.own_fmr <= 0.05
        imp = pr[~pr.genuine & (pr.probe_g == r.group)]
        assert r.global_fmr == pytest.approx((imp.score >= r.global_threshold).mean())
