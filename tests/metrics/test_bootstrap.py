"""Subject bootstrap from aggregated counts equals brute-force regeneration of pairs."""

import numpy as np
import pandas as pd
import pytest

from harness.metrics import Threshold, group_frame
from harness.metrics.bootstrap import SubjectCounts, bootstrap, holm, parity_p_value, percentile, resample


def synthetic(n=24, seed=0):
    rng = np.random.default_rng(seed)
    subj = pd.DataFrame({"subject_id": [f"s{i:02d}" for i in range(n)], "g": rng.choice(["a", "b", "c"], n)})
    e = subj.assign(role="enrol")
    p = subj.assign(role="probe")
    pairs = e.merge(p, how="cross", suffixes=("_e", "_p"))
    out = pd.DataFrame({"enrol_subject": pairs.subject_id_e, "probe_subject": pairs.subject_id_p,
                        "probe_g": pairs.g_p, "genuine": (pairs.subject_id_e == pairs.subject_id_p)})
    out["score"] = np.where(out.genuine, rng.normal(1.5, 1, len(out)), rng.normal(0, 1, len(out)))
    acq = pd.concat([e, p], ignore_index=True).assign(ok=True)
    return out, acq, subj.set_index("subject_id")["g"]


def counts_for(pairs, groups, t):
    ones = pd.Series(1.0, index=groups.index)
    return SubjectCounts.from_pairs(pairs, groups, ones, ones, t)


def test_point_estimate_equals_group_frame():
    pairs, acq, groups = synthetic()
    t = [0.5, 1.5]
    c = counts_for(pairs, groups, t)
    r = c.rates(np.ones((1, len(groups))))
    gf = group_frame(pairs, acq, [Threshold(str(v), "fixed", v, v, "cosine") for v in t], [["g"]])
    for ti, v in enumerate(t):
        for gi, g in enumerate(c.group_names()):
            row = gf[(gf.threshold_id == str(v)) & (gf.group == g)].iloc[0]
            assert r["n_false_match"][0, gi, ti] == row.n_false_match
            assert r["n_impostor"][0, gi] == row.n_impostor
            assert r["n_false_non_match"][0, gi, ti] == row.n_false_non_match


def test_weighted_counts_equal_regenerated_pairs():
    """For one resample, regenerate the pairs explicitly (copies as distinct subjects, no same-person
    cross-copy pairs) and count by brute force."""
    pairs, acq, groups = synthetic(n=12, seed=3)
    t = [0.8]
    c = counts_for(pairs, groups, t)
    rng = np.random.default_rng(7)
    m = resample(c.groups, 1, rng)[0]
    draws = [s for s, k in zip(c.subjects, m) for _ in range(int(k))]
    by = {(r.enrol_subject, r.probe_subject): r.score for r in pairs.itertuples()}
    brute = {g: [0, 0] for g in c.group_names()}  # false matches, impostor pairs
    for a_i, a in enumerate(draws):
        for b_i, b in enumerate(draws):
            if a == b:
                continue  # same person: the genuine pair is counted once per copy, below
            g = groups[b]
            brute[g][1] += 1
            brute[g][0] += by[(a, b)] >= 0.8
    r = c.rates(m[None, :])
    for gi, g in enumerate(c.group_names()):
        assert r["n_impostor"][0, gi] == brute[g][1]
        assert r["n_false_match"][0, gi, 0] == brute[g][0]
    gen = {g: sum(int(k) for s, k in zip(c.subjects, m) if groups[s] == g) for g in c.group_names()}
    for gi, g in enumerate(c.group_names()):
        assert r["n_genuine"][0, gi] == gen[g]


def test_stratified_resample_keeps_group_sizes():
    groups = np.array(["a"] * 5 + ["b"] * 3)
    m = resample(groups, 50, np.random.default_rng(0))
    assert (m[:, :5].sum(axis=1) == 5).all() and (m[:, 5:].sum(axis=1) == 3).all()


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    pairs, acq, groups = synthetic(n=60, seed=1)
    c = counts_for(pairs, groups, [0.0, 1.0])
    a = bootstrap(c, replicates=200, seed=5, threshold_ids=["t0", "t1"])
    b = bootstrap(c, replicates=200, seed=5, threshold_ids=["t0", "t1"])
    pd.testing.assert_frame_equal(a.groups, b.groups)
    pd.testing.assert_frame_equal(a.summaries, b.summaries)
    g = a.groups
    assert ((g.fmr_boot_lo <= g.fmr + 1e-12) & (g.fmr <= g.fmr_boot_hi + 1e-12)).all()
    assert set(a.summaries.verdict) <= {"inconclusive", "disparity", "undefined", "unbounded", "no parity test"}
    assert set(a.summaries.summary) >= {"fmr_max_min_ratio", "garbe", "fdr", "fmr_max_geomean_ratio"}


def test_equal_groups_are_inconclusive_on_ratios():
    """Groups drawn from one distribution: the FMR ratio's interval must include parity."""
    pairs, acq, groups = synthetic(n=90, seed=2)
    c = counts_for(pairs, groups, [0.0])
    res = bootstrap(c, replicates=300, seed=1)
    row = res.summaries[res.summaries.summary == "fmr_max_min_ratio"].iloc[0]
    assert row.lo <= 1.0 <= row.hi and row.verdict == "inconclusive"
    assert res.summaries.set_index("summary").loc["garbe", "verdict"] == "no parity test"


def test_a_real_difference_is_called_a_disparity():
    pairs, acq, groups = synthetic(n=90, seed=2)
    shift = pairs.probe_subject.map(groups).eq("a").to_numpy() & ~pairs.genuine.to_numpy()
    pairs.loc[shift, "score"] += 1.0  # group a's probes attract false matches
    c = counts_for(pairs, groups, [1.0])
    res = bootstrap(c, replicates=300, seed=1)
    row = res.summaries.set_index("summary").loc["fmr_max_min_ratio"]
    assert row.verdict == "disparity" and row.lo > 1


def test_subject_bootstrap_is_wider_than_pair_independence():
    """Clustered uncertainty exceeds the binomial interval that treats pairs as independent."""
    from harness.metrics import clopper_pearson

    rng = np.random.default_rng(0)
    n = 80
    subj = pd.Series(["a"] * n, index=[f"s{i}" for i in range(n)])
    # Subject effects: some people attract false matches far more than others.
    pull = rng.gamma(0.3, 1.0, n)
    rows = []
    for i, si in enumerate(subj.index):
        for j, sj in enumerate(subj.index):
            score = rng.normal(1.5, 1) if i == j else rng.normal(0, 1) + pull[j]
            rows.append((si, sj, i == j, score))
    pairs = pd.DataFrame(rows, columns=["enrol_subject", "probe_subject", "genuine", "score"])
    c = counts_for(pairs, subj, [2.0])
    res = bootstrap(c, replicates=400, seed=0)
    row = res.groups.iloc[0]
    imp = pairs[~pairs.genuine]
    lo, hi = clopper_pearson(int((imp.score >= 2.0).sum()), len(imp))
    assert (row.fmr_boot_hi - row.fmr_boot_lo) > 1.5 * (hi - lo)


def test_enrol_side_counts_equal_group_frame_on_the_enrol_side():
    """metrics.group_side=enrol: the bootstrap's point counts group impostor pairs by the enrolled person."""
    pairs, acq, groups = synthetic(n=30, seed=4)
    pairs["enrol_g"] = pairs.enrol_subject.map(groups)
    t = [0.5]
    ones = pd.Series(1.0, index=groups.index)
    c = SubjectCounts.from_pairs(pairs, groups, ones, ones, t, side="enrol")
    r = c.rates(np.ones((1, len(groups))))
    gf = group_frame(pairs, acq, [Threshold("t", "fixed", 0.5, 0.5, "cosine")], [["g"]], side="enrol")
    for gi, g in enumerate(c.group_names()):
        row = gf[(gf.slice == "g") & (gf.group == g)].iloc[0]
        assert r["n_impostor"][0, gi] == row.n_impostor and r["n_false_match"][0, gi, 0] == row.n_false_match
    probe_side = counts_for(pairs, groups, t).rates(np.ones((1, len(groups))))
    assert not np.array_equal(probe_side["n_false_match"], r["n_false_match"])  # the side matters here


def test_enrol_side_weighted_counts_equal_regenerated_pairs():
    pairs, acq, groups = synthetic(n=12, seed=5)
    ones = pd.Series(1.0, index=groups.index)
    c = SubjectCounts.from_pairs(pairs, groups, ones, ones, [0.8], side="enrol")
    m = resample(c.groups, 1, np.random.default_rng(2))[0]
    draws = [s for s, k in zip(c.subjects, m) for _ in range(int(k))]
    by = {(r.enrol_subject, r.probe_subject): r.score for r in pairs.itertuples()}
    brute = {g: [0, 0] for g in c.group_names()}
    for a in draws:
        for b in draws:
            if a != b:
                brute[groups[a]][1] += 1
                brute[groups[a]][0] += by[(a, b)] >= 0.8
    r = c.rates(m[None, :])
    for gi, g in enumerate(c.group_names()):
        assert r["n_impostor"][0, gi] == brute[g][1] and r["n_false_match"][0, gi, 0] == brute[g][0]


def test_percentile_keeps_infinite_replicates():
    """An unbounded limit stays +inf: dropping inf replicates used to print a finite upper bound."""
    v = np.array([1.0, 2.0, 3.0, np.inf, np.inf, np.nan])
    assert percentile(v, 0.975) == np.inf
    assert percentile(v, 0.0) == 1.0 and percentile(v, 0.25) == pytest.approx(2.0)
    assert percentile(np.array([1.0, 3.0]), 0.5) == pytest.approx(2.0)
    assert np.isnan(percentile(np.array([np.nan]), 0.5))


def test_unbounded_ratio_keeps_inf_and_gets_no_parity_verdict():
    pairs, acq, groups = synthetic(n=60, seed=6)
    lift = pairs.probe_subject.map(groups).eq("a").to_numpy() & ~pairs.genuine.to_numpy()
    pairs.loc[~lift & ~pairs.genuine.to_numpy(), "score"] = -10.0  # only group a has false matches
    c = counts_for(pairs, groups, [1.0])
    res = bootstrap(c, replicates=200, seed=0).summaries.set_index("summary")
    row = res.loc["fmr_max_min_ratio"]
    assert row.value == np.inf and row.hi == np.inf and row.verdict == "unbounded" and np.isnan(row.p_boot)
    assert res.loc["fmr_max_geomean_ratio", "hi"] == np.inf


def test_holm_matches_hand_computation():
    p = holm([0.01, 0.04, 0.03, np.nan])
    # sorted 0.01, 0.03, 0.04 with m = 3: 0.03, max(0.03, 0.06), max(0.06, 0.04)
    assert p[0] == pytest.approx(0.03) and p[2] == pytest.approx(0.06) and p[1] == pytest.approx(0.06)
    assert np.isnan(p[3])
    assert parity_p_value(np.array([2.0, 3.0, 0.5, 4.0]), 1.0) == pytest.approx(0.5)


def test_recalibrated_replicate_equals_refitting_on_regenerated_pairs(monkeypatch):
    """One replicate of the re-calibrating bootstrap = threshold_at_fmr on the regenerated impostor pairs."""
    import harness.metrics.bootstrap as bmod
    from harness.metrics.bootstrap import recalibrated_intervals
    from harness.metrics.rates import threshold_at_fmr

    pairs, acq, groups = synthetic(n=30, seed=8)
    ones = pd.Series(1.0, index=groups.index)
    m = resample(groups.to_numpy(dtype=object), 1, np.random.default_rng(3))[0]
    monkeypatch.setattr(bmod, "resample", lambda g, b, rng, stratify=True: np.tile(m, (b, 1)))
    out = recalibrated_intervals(pairs, groups, ones, ones, 0.05, replicates=1).set_index("group")
    mult = dict(zip(groups.index, m))
    imp = pairs[~pairs.genuine & (pairs.enrol_subject != pairs.probe_subject)]
    w = imp.enrol_subject.map(mult) * imp.probe_subject.map(mult)
    scores = np.repeat(imp.score.to_numpy(), w.to_numpy().astype(int))
    t, _, _ = threshold_at_fmr(scores, 0.05)
    assert out.threshold_recal_lo.iloc[0] == t == out.threshold_recal_hi.iloc[0]
    for g in out.index:
        sel = imp.probe_subject.map(groups).eq(g).to_numpy()
        ww = w.to_numpy()[sel]
        want = (ww * (imp.score.to_numpy()[sel] >= t)).sum() / ww.sum()
        assert out.loc[g, "fmr_recal_lo"] == pytest.approx(want)


def test_recalibrated_threshold_moves_between_replicates():
    from harness.metrics.bootstrap import recalibrated_intervals

    pairs, acq, groups = synthetic(n=60, seed=9)
    ones = pd.Series(1.0, index=groups.index)
    r = recalibrated_intervals(pairs, groups, ones, ones, 0.05, replicates=300, seed=1)
    assert (r.threshold_recal_lo < r.threshold_recal_hi).all()  # the threshold itself moves between replicates
    assert ((r.fmr_recal_lo <= r.fmr_recal_hi) & (r.fnmr_recal_lo <= r.fnmr_recal_hi)).all()


def test_analyse_with_recalibration_widens_the_headline_interval():
    from harness.metrics.analysis import analyse
    from harness.metrics.rates import make_thresholds

    pairs, acq, groups = synthetic(n=40, seed=10)
    pairs["probe_g"] = pairs.probe_subject.map(groups)
    pairs["enrol_g"] = pairs.enrol_subject.map(groups)
    pairs["probe_image"] = pairs.probe_subject + ".p"
    pairs["enrol_image"] = pairs.enrol_subject + ".e"
    t = make_thresholds(pairs.loc[~pairs.genuine, "score"].to_numpy(), [0.05], [], "cosine", "synthetic")
    plain = analyse(pairs, acq, t, [["g"]], replicates=200, min_subjects=1, small_subjects=2).groups
    rec = analyse(pairs, acq, t, [["g"]], replicates=200, min_subjects=1, small_subjects=2, recalibrate=True).groups
    assert "fmr_recal_lo" not in plain and {"fmr_recal_lo", "threshold_recal_hi"} <= set(rec.columns)
    assert (rec.fmr_ci_hi >= rec.fmr_recal_hi - 1e-12).all() and (rec.fmr_ci_hi >= plain.fmr_ci_hi - 1e-12).all()
