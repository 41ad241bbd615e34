"""Operational projection: per-person alert probabilities (exact within the measured gallery), group means."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from harness.metrics.projection import PROJECTION_COLUMNS, person_alert_probability, project
from harness.metrics.rates import Threshold


def pairs_for(n=12, seed=0, pull=None):
    rng = np.random.default_rng(seed)
    g = np.array(["a"] * (n // 2) + ["b"] * (n - n // 2))
    rows = []
    for i in range(n):
        for j in range(n):
            s = rng.normal(2, 1) if i == j else rng.normal(0, 1) + (pull[j] if pull is not None else 0)
            rows.append({"enrol_image": f"e{i}", "probe_image": f"p{j}", "enrol_subject": f"s{i}",
                         "probe_subject": f"s{j}", "genuine": i == j, "score": s, "probe_g": g[j], "enrol_g": g[i]})
    return pd.DataFrame(rows)


def test_alert_probability_is_exact_within_the_gallery():
    hits = np.array([1, 0, 0, 1, 0, 0, 0])  # 2 hits among 7 entries
    for n in range(1, 8):
        brute = np.mean([hits[list(c)].any() for c in combinations(range(7), n)])
        assert person_alert_probability(np.array([2]), np.array([7]), n)[0] == pytest.approx(brute)
    # Beyond the gallery: independence, 1 - (1 - 2/7)^n.
    assert person_alert_probability(np.array([2]), np.array([7]), 50)[0] == pytest.approx(1 - (5 / 7) ** 50)
    assert person_alert_probability(np.array([0]), np.array([7]), 50)[0] == 0.0
    assert person_alert_probability(np.array([0]), np.array([7]), 50, upper=True)[0] > 0.5


def test_group_figure_is_the_mean_over_people_not_a_pooled_rate():
    pull = np.zeros(12)
    pull[0] = 3.0  # one person of group a attracts false matches
    pairs = pairs_for(pull=pull)
    t = Threshold("t", "fixed", 2.0, 2.0, "cosine")
    out = project(pairs, [t], [["g"]], [1, 11, 1000], visitors_per_day=50, replicates=200)
    assert list(out.columns) == PROJECTION_COLUMNS
    imp = pairs[~pairs.genuine]
    k = imp.assign(h=imp.score >= 2.0).groupby("probe_image").h.sum()
    a = out[(out.group == "a") & (out.watchlist_size == 11)].iloc[0]
    want = np.mean([1.0 if k[f"p{j}"] > 0 else 0.0 for j in range(6)])  # a gallery of all 11: any hit alerts
    assert a.alert_prob == pytest.approx(want) and a.method == "measured" and a.n_people == 6
    assert a.alerts_per_1000 == pytest.approx(1000 * want) and a.alerts_per_day == pytest.approx(50 * want)
    big = out[(out.group == "a") & (out.watchlist_size == 1000)].iloc[0]
    assert big.method == "extrapolated" and big.upper_alerts_per_1000 >= big.alerts_per_1000
    assert big.alerts_per_1000_lo <= big.alerts_per_1000 <= big.alerts_per_1000_hi
    assert set(out.slice) == {"all", "g"}


def test_projection_settings_come_from_config():
    from harness import config

    cfg = config.load(overrides=["projection.watchlist_sizes=[10,5000]", "projection.visitors_per_day=250"])
    assert cfg.projection.watchlist_sizes == [10, 5000] and cfg.projection.visitors_per_day == 250.0
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="projection"):
        config.load(overrides=["projection.watchlist_sizes=[0]"])
