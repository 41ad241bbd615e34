"""The bootstrap's fast paths give the former results bit for bit: nanquantile0 and from_pairs' counts."""

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harness.metrics.bootstrap import SubjectCounts, nanquantile0

values = st.one_of(st.floats(0, 1, width=32), st.just(np.nan), st.just(np.inf), st.just(0.0))


@settings(max_examples=300)
@given(arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 5), st.integers(1, 7)), elements=values),
       st.sampled_from([0.025, 0.975, 0.005, 0.5, 0.0, 1.0]))
def test_nanquantile0_is_numpys_nanquantile_bit_for_bit(arr, q):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        want = np.nanquantile(arr, q, axis=0)
        got = nanquantile0(arr, q)
    np.testing.assert_array_equal(got, want)  # NaN where NaN, and otherwise equal values
    assert got.shape == want.shape


def test_nanquantile0_on_bootstrap_sized_rates():
    rng = np.random.default_rng(7)
    arr = rng.binomial(2000, 0.01, size=(1000, 9, 60)) / 2000.0
    arr[:, 3, 5] = np.nan
    arr[::7, 4, 2] = np.nan
    for q in (0.025, 0.975):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert np.array_equal(nanquantile0(arr, q), np.nanquantile(arr, q, axis=0), equal_nan=True)


def _add_at_counts(pairs, index, t):
    """from_pairs' false-match counts as they were computed before (np.add.at per threshold)."""
    n = len(index)
    ei = pairs["enrol_subject"].map(index).to_numpy().astype(np.int64)
    pj = pairs["probe_subject"].map(index).to_numpy().astype(np.int64)
    s, gen = pairs["score"].to_numpy(float), pairs["genuine"].to_numpy(bool)
    loose = ~gen & (s >= t.min())
    uniq, inv = np.unique(ei[loose] * n + pj[loose], return_inverse=True)
    fm = np.zeros((len(uniq), len(t)))
    for k, v in enumerate(t):
        np.add.at(fm[:, k], inv, s[loose] >= v)
    return fm


@settings(max_examples=60)
@given(st.integers(2, 12), st.integers(1, 3), st.integers(0, 2**31), st.integers(1, 70))
def test_from_pairs_counts_equal_the_add_at_loop(n_subjects, per, seed, n_t):
    rng = np.random.default_rng(seed)
    subjects = [f"s{i}" for i in range(n_subjects)]
    rows = [{"enrol_subject": a, "probe_subject": b, "genuine": a == b, "score": float(rng.normal())}
            for a in subjects for b in subjects for _ in range(per)]
    pairs = pd.DataFrame(rows)
    groups = pd.Series(["g" + str(i % 2) for i in range(n_subjects)], index=subjects)
    ones = pd.Series(per, index=subjects)
    t = np.sort(rng.normal(size=n_t))
    c = SubjectCounts.from_pairs(pairs, groups, ones, ones, t)
    want = _add_at_counts(pairs, {s: k for k, s in enumerate(subjects)}, t)
    assert c.imp_fm.dtype == want.dtype and np.array_equal(c.imp_fm, want)
