"""Disparity summaries: golden values, and documented behaviour when a group rate is zero."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.metrics import disparity as d

# Golden values worked by hand for rates (0.01, 0.02, 0.04).
R = [0.01, 0.02, 0.04]
S = [0.10, 0.10, 0.20]


def test_golden_values():
    assert d.max_min_ratio(R) == pytest.approx(4.0)
    assert d.max_geomean_ratio(R) == pytest.approx(0.04 / 0.02)  # geometric mean of 1,2,4 (x0.01) is 2
    # Gini: sum|xi-xj| over ordered pairs = 2*(0.01+0.03+0.02) = 0.12; n/(n-1) * 0.12 / (2*9*0.07/3)
    assert d.gini(R) == pytest.approx(1.5 * 0.12 / (2 * 9 * (0.07 / 3)))
    assert d.garbe(R, S) == pytest.approx(0.5 * d.gini(R) + 0.5 * d.gini(S))
    assert d.fdr(R, S) == pytest.approx(1 - (0.5 * 0.03 + 0.5 * 0.10))
    assert d.inequity_rate(R, S) == pytest.approx(math.sqrt(4.0 * 2.0))


def test_gini_correction_gives_one_at_maximal_inequality():
    assert d.gini([0, 0, 0, 1.0]) == pytest.approx(1.0)
    assert d.gini([0.3, 0.3]) == 0.0


def test_zero_rates_follow_the_one_convention():
    """x/0 is unbounded (+inf), 0/0 is undefined (NaN) — never 1, never a finite number."""
    assert d.max_min_ratio([0.0, 0.02]) == math.inf
    assert math.isnan(d.max_min_ratio([0.0, 0.0]))
    assert d.max_geomean_ratio([0.0, 0.02, 0.01]) == math.inf
    assert math.isnan(d.max_geomean_ratio([0.0, 0.0]))
    assert math.isnan(d.gini([0.0, 0.0]))
    assert d.fdr([0.0, 0.02], [0.0, 0.0]) == pytest.approx(0.99)
    assert d.inequity_rate([0.0, 0.02], [0.1, 0.2]) == math.inf
    assert math.isnan(d.inequity_rate([0.0, 0.02], [0.0, 0.0]))


def test_garbe_is_undefined_rather_than_half_a_gini():
    """All-zero FNMR used to make GARBE silently equal 0.5 · Gini(FMR)."""
    fm = [0.01, 0.04]
    assert math.isnan(d.garbe(fm, [0.0, 0.0]))
    s = d.summaries(fm, [0.0, 0.0])
    assert s["fmr_gini"] == pytest.approx(d.gini(fm)) and math.isnan(s["fnmr_gini"])


def test_input_checks():
    with pytest.raises(ValueError, match="at least two groups"):
        d.max_min_ratio([0.1])
    with pytest.raises(ValueError, match="NaN"):
        d.gini([0.1, float("nan")])


@given(st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=12))
def test_parity_and_bounds(rates):
    assert d.max_min_ratio(rates) >= 1 - 1e-12
    assert d.max_geomean_ratio(rates) >= 1 - 1e-9
    assert 0 <= d.gini(rates) <= 1 + 1e-12
    eq = [rates[0]] * len(rates)
    assert d.max_min_ratio(eq) == pytest.approx(1) and d.gini(eq) == pytest.approx(0, abs=1e-12)
    assert d.fdr(eq, eq) == 1.0


@given(st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=8))
def test_gini_equals_brute_force_mean_difference_form(rates):
    a = np.array(rates)
    n = len(a)
    brute = sum(abs(x - y) for x in a for y in a) / (2 * n * n * a.mean()) * n / (n - 1)
    assert d.gini(a) == pytest.approx(brute)


def test_golden_file():
    """Summaries for fixed inputs, stored once (tests/metrics/golden/summaries.json) and checked by hand:
    e.g. three_groups: max/min = 0.008/0.001 = 8; GARBE uses Gini with n/(n−1)."""
    import json
    from pathlib import Path

    golden = json.loads((Path(__file__).parent / "golden" / "summaries.json").read_text())
    assert golden["three_groups"]["summaries"]["fmr_max_min_ratio"] == pytest.approx(8.0)
    for name, case in golden.items():
        got = d.summaries(case["input"]["fmr"], case["input"]["fnmr"])
        assert set(got) == set(case["summaries"]), name
        for k, v in case["summaries"].items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                assert math.isnan(got[k]), (name, k)
            elif math.isinf(v):
                assert got[k] == v, (name, k)
            else:
                assert got[k] == pytest.approx(v, rel=1e-12), (name, k)
