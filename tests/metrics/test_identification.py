import numpy as np
import pytest

from harness.metrics import identification as ident


def matrix(seed=0, n=30):
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    S = rng.normal(0, 1, (n, n))
    S[ids, ids] += 2.5  # mates score higher
    return S, ids, ids.copy()


def test_cmc_brute_force():
    S, p, g = matrix()
    curve = ident.cmc(S, p, g, max_rank=5)
    for k in range(1, 6):
        brute = np.mean([(np.argsort(-S[i])[:k] == i).any() for i in range(len(p))])
        assert curve[k - 1] == pytest.approx(brute)
    assert (np.diff(curve) >= 0).all()


def test_fpir_fnir_brute_force():
    S, p, g = matrix(1)
    t = 1.0
    r = ident.fpir_fnir(S, p, g, [t]).iloc[0]
    fp = np.mean([np.delete(S[i], i).max() >= t for i in range(len(p))])
    fn = np.mean([not (np.argmax(S[i]) == i and S[i, i] >= t) for i in range(len(p))])
    assert r.fpir == pytest.approx(fp) and r.fnir == pytest.approx(fn)


def test_fnir_at_fpir_meets_target():
    S, p, g = matrix(2, 80)
    out = ident.fnir_at_fpir(S, p, g, [0.1, 0.5])
    assert (out.fpir <= out.target_fpir).all()
    assert out.fnir.iloc[0] >= out.fnir.iloc[1]  # stricter FPIR costs misses


def test_unmated_probe_counts_only_as_nonmated():
    S, p, g = matrix(3)
    p2 = p.copy()
    p2[0] = 999  # not on the watchlist
    r = ident.fpir_fnir(S, p2, g, [0.0]).iloc[0]
    assert r.n_mated == len(p) - 1 and r.n_nonmated == len(p)


def test_gallery_size_empirical_and_extrapolated():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (200, 100))
    out = ident.fpir_by_gallery_size(X, 2.0, [1, 10, 100, 1000]).set_index("gallery_size")
    p = (X >= 2.0).mean(axis=1)
    assert out.loc[1000, "fpir_empirical"] != out.loc[1000, "fpir_empirical"]  # NaN beyond the gallery
    assert out.loc[100, "fpir_empirical"] == pytest.approx((X >= 2.0).any(axis=1).mean())
    assert out.loc[10, "fpir_extrapolated"] == pytest.approx(np.mean(1 - (1 - p) ** 10))
    # Independent normal scores: extrapolation and measurement agree at size 10.
    assert abs(out.loc[10, "fpir_empirical"] - out.loc[10, "fpir_extrapolated"]) < 0.05
    assert out.fpir_extrapolated.is_monotonic_increasing
    assert (out.fpir_extrapolated_upper >= out.fpir_extrapolated).all()
    assert out.loc[1000, "fpir_extrapolated_upper"] > 0.9  # no one is provably never matched


def test_by_group_splits_searches():
    S, p, g = matrix(4)
    groups = np.where(p % 2 == 0, "even", "odd")
    out = ident.fpir_fnir_by_group(S, p, g, groups, [1.0])
    assert set(out.group) == {"even", "odd"} and out.n_nonmated.sum() == len(p)


def test_gallery_size_empirical_is_the_exact_expectation_over_every_gallery():
    """Hypergeometric expectation equals enumeration of every gallery of each size (no Monte Carlo)."""
    from itertools import combinations

    rng = np.random.default_rng(4)
    X = rng.normal(0, 1, (7, 8))
    hits = X >= 0.8
    out = ident.fpir_by_gallery_size(X, 0.8, [1, 2, 3, 5, 8]).set_index("gallery_size")
    for n in (1, 2, 3, 5, 8):
        brute = np.mean([hits[:, list(c)].any(axis=1).mean() for c in combinations(range(8), n)])
        assert out.loc[n, "fpir_empirical"] == pytest.approx(brute, rel=1e-12)
    assert ident.no_hit_probability(np.array([3]), 8, 6)[0] == 0.0  # 6 drawn from 5 misses: impossible
