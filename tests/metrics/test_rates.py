"""Rates equal brute-force counts and independent implementations (scipy, sklearn)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import roc_curve

from harness.metrics import (clopper_pearson, det_curve, eer, fmr, fnmr, from_similarity, iso_far_frr,
                             rule_of_three, threshold_at_fmr, to_similarity)

scores = arrays(np.float64, st.integers(1, 300), elements=st.floats(-5, 5, allow_nan=False, width=32))


@given(scores, scores, st.floats(-5, 5))
def test_fmr_fnmr_equal_brute_force(gen, imp, t):
    assert fmr(imp, t) == sum(1 for s in imp if s >= t) / len(imp)
    assert fnmr(gen, t) == sum(1 for s in gen if s < t) / len(gen)


@settings(max_examples=200)
@given(scores, st.floats(1e-4, 0.5))
def test_threshold_at_fmr_is_the_lowest_that_meets_the_target(imp, target):
    value, achieved, flags = threshold_at_fmr(imp, target)
    assert achieved == fmr(imp, value) <= target + 1e-12
    # Any lower candidate threshold (an observed score below `value`) would exceed the target.
    lower = imp[imp < value]
    if len(lower):
        assert fmr(imp, lower.max()) > target
    assert ("below-3/N" in flags) == (target < 3 / len(imp))


@given(scores, scores)
def test_det_curve_matches_sklearn_roc(gen, imp):
    t, fm, fnm = det_curve(gen, imp)
    y = np.r_[np.ones(len(gen)), np.zeros(len(imp))]
    s = np.r_[gen, imp]
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    for ti, fp, tp in zip(thr[1:], fpr[1:], tpr[1:]):  # sklearn's first threshold is +inf
        j = np.searchsorted(t, ti)
        assert t[j] == ti
        assert fm[j] == pytest.approx(fp) and 1 - fnm[j] == pytest.approx(tp)


def test_clopper_pearson_known_values():
    # Reference values from the exact beta quantiles (also R's binom.test(5, 100)$conf.int).
    lo, hi = clopper_pearson(5, 100)
    assert lo == pytest.approx(0.01643, abs=5e-5) and hi == pytest.approx(0.11284, abs=5e-5)
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(0.30850, abs=5e-5))
    assert clopper_pearson(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


@given(st.integers(0, 500), st.integers(1, 500))
def test_clopper_pearson_contains_the_estimate(k, n):
    k = min(k, n)
    lo, hi = clopper_pearson(k, n)
    assert 0 <= lo <= k / n <= hi <= 1


def test_rule_of_three():
    assert rule_of_three(0, 300) == pytest.approx(0.01)
    assert rule_of_three(1, 300) is None
    assert rule_of_three(0, 0) is None
    # 3/n approximates the exact one-sided 95% bound for zero events.
    assert rule_of_three(0, 1000) == pytest.approx(1 - 0.05 ** (1 / 1000), rel=0.01)


def test_iso_far_frr_folds_fta_in():
    far, frr = iso_far_frr(0.01, 0.02, 0.1)
    assert far == pytest.approx(0.009) and frr == pytest.approx(0.1 + 0.02 * 0.9)
    assert iso_far_frr(0.01, 0.02, 0.0) == (0.01, 0.02)


def test_similarity_convention_round_trips():
    d = np.array([0.3, 0.6])
    assert np.array_equal(to_similarity(d, "euclidean"), -d)
    assert from_similarity(-0.6, "euclidean") == 0.6
    assert np.array_equal(to_similarity(d, "cosine"), d)


def test_eer_of_separable_and_identical_sets():
    assert eer(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
    assert eer(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)


@given(scores, scores)
def test_tar_and_fnmr_at_fmr(gen, imp):
    from harness.metrics import fnmr_at_fmr, roc_curve, tar_at_far

    for r, t in zip(fnmr_at_fmr(gen, imp, [0.1, 0.5]), tar_at_far(gen, imp, [0.1, 0.5])):
        assert r["fmr"] <= r["target_fmr"] + 1e-12
        assert r["fnmr"] == fnmr(gen, r["threshold"]) and t["tar"] == pytest.approx(1 - r["fnmr"])
    th, fm, tar = roc_curve(gen, imp)
    assert (np.diff(fm) <= 0).all() and (np.diff(tar) <= 0).all()
