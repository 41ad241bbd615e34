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


def test_same_group_fmr_is_the_cross_group_diagonal():
    """Demographically matched FMR = the diagonal cells of the cross-group matrix, with people counted."""
    import numpy as np
    import pandas as pd

    from harness.metrics import Threshold
    from harness.metrics.analysis import same_group_fmr
    from harness.metrics.crossgroup import cross_group_fmr
    from harness.metrics.groups import group_frame

    rng = np.random.default_rng(3)
    n = 24
    subj = pd.DataFrame({"subject_id": [f"s{i}" for i in range(n)], "g": rng.choice(["a", "b", "c"], n)})
    x = subj.merge(subj, how="cross", suffixes=("_e", "_p"))
    pairs = pd.DataFrame({"enrol_subject": x.subject_id_e, "probe_subject": x.subject_id_p,
                          "enrol_g": x.g_e, "probe_g": x.g_p, "genuine": (x.subject_id_e == x.subject_id_p)})
    pairs["score"] = np.where(pairs.genuine, 2.0, rng.normal(0, 1, len(pairs)) + (pairs.enrol_g == pairs.probe_g))
    acq = pd.concat([subj.assign(role="enrol"), subj.assign(role="probe")]).assign(ok=True)
    t = [Threshold("t", "fixed", 1.0, 1.0, "cosine")]
    groups = group_frame(pairs, acq, t, [["g"]])
    ones = pd.Series(1.0, index=subj.subject_id)
    same = same_group_fmr(pairs, subj.set_index("subject_id"), ones, ones, t, [["g"]], groups, replicates=100)
    cross = cross_group_fmr(pairs, ["g"], 1.0)
    for r in same.itertuples():
        c = cross[(cross.enrol_group == r.group) & (cross.probe_group == r.group)].iloc[0]
        assert (r.n_impostor, r.n_false_match) == (c.n_impostor, c.n_false_match)
        assert r.n_people == (subj.g == r.group).sum()
        assert r.fmr_ci_lo <= r.fmr <= r.fmr_ci_hi and r.fmr_ci_hi >= r.fmr_hi - 1e-12
        assert r.fmr_all == groups[(groups.slice == "g") & (groups.group == r.group)].fmr.iloc[0]
