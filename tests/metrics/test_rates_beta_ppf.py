"""rates.beta_ppf (scipy.special, no scipy.stats import) gives scipy.stats.beta.ppf's very bits."""

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.metrics.rates import beta_ppf, clopper_pearson


@settings(max_examples=300)
@given(st.integers(0, 10_000_000), st.integers(1, 10_000_000), st.sampled_from([0.005, 0.025, 0.05, 0.95, 0.975,
                                                                               0.995, 0.5, 0.9]))
def test_beta_ppf_is_bit_identical_to_scipy_stats(k, extra, q):
    n = k + extra
    for a, b in ((max(k, 1), n - k + 1), (k + 1, max(n - k, 1))):
        assert beta_ppf(q, a, b) == stats.beta.ppf(q, a, b)


def test_beta_ppf_arrays_are_bit_identical_to_scipy_stats():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 500_000, 20_000)
    k = rng.integers(0, n + 1)
    a, b = k + 1.0, np.maximum(n - k, 1).astype(float)
    for q in (0.95, 0.975, 0.025):
        assert np.array_equal(beta_ppf(q, a, b), stats.beta.ppf(q, a, b))


def test_clopper_pearson_equals_the_scipy_stats_formula():
    alpha = 1.0 - 0.95  # as clopper_pearson computes it (0.05000000000000004)
    for k, n in [(1, 1), (5, 100), (35, 2352), (87, 10302), (10302, 10302), (0, 7)]:
        lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        assert clopper_pearson(k, n) == (lo, hi)


def test_metrics_do_not_import_scipy_stats():
    """scipy.stats costs about 0.5 s to import: the metrics and report modules must not pull it in."""
    code = ("import sys, harness.pipeline, harness.report, harness.metrics.identification, "
            "harness.metrics.projection; print([m for m in sys.modules if m.startswith('scipy.stats')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
