"""Blockwise all-vs-all counts equal a dense brute-force count."""

import numpy as np
import pandas as pd
import pytest

from harness.metrics.bootstrap import SubjectCounts
from harness.metrics.scale import all_vs_all, normalise


def templates(n_subjects=150, per=2, groups=3, seed=0):
    rng = np.random.default_rng(seed)
    sid = np.repeat(np.arange(n_subjects), per)
    rng.shuffle(sid)  # order must not matter
    gid = (np.arange(n_subjects) % groups)[sid]
    centres = rng.normal(size=(n_subjects, 16))
    T = normalise(centres[sid] + 0.8 * rng.normal(size=(len(sid), 16)))
    return T, sid, gid


@pytest.mark.parametrize("block", [7, 64, 1000])
def test_counts_equal_dense_brute_force(block):
    T, sid, gid = templates()
    edges = np.linspace(-0.5, 1.0, 31)
    bc = all_vs_all(T, sid, gid, ["a", "b", "c"], edges, block=block, keep_above=0.4)
    S = T @ T.T
    iu = np.triu_indices(len(T), 1)
    s, gen = S[iu], sid[iu[0]] == sid[iu[1]]
    ga, gb = np.minimum(gid[iu[0]], gid[iu[1]]), np.maximum(gid[iu[0]], gid[iu[1]])
    assert bc.comparisons == len(s)
    assert bc.imp_hist.sum() + bc.gen_hist.sum() == len(s) and bc.gen_hist.sum() == gen.sum()
    for k in (3, 15, 27):
        t = edges[k]
        c = bc.counts_at(t)
        for a in range(3):
            for b in range(a, 3):
                sel = (ga == a) & (gb == b) & ~gen
                # float32 BLAS vs dense product may differ in the last bit at a bucket edge
                assert abs(c[a, b] - (s[sel] >= t).sum()) <= 1
        g = bc.counts_at(t, genuine=True)
        assert abs(np.trace(g) + np.triu(g, 1).sum() - (s[gen] >= t).sum()) <= 1
    kept = bc.sparse_pairs
    assert len(kept) == pytest.approx(((s >= 0.4) & ~gen).sum(), abs=2)


def test_group_rates_and_fmr_matrix():
    T, sid, gid = templates(seed=1)
    bc = all_vs_all(T, sid, gid, ["a", "b", "c"], np.linspace(-0.5, 1.0, 31))
    m = bc.fmr_matrix(0.5)
    assert m.shape == (3, 3) and np.allclose(m.to_numpy(), m.to_numpy().T)
    r = bc.group_rates(0.5)
    assert set(r.columns) >= {"fmr_same_group", "fmr_involving", "fnmr"}


def test_uneven_edges_are_refused():
    T, sid, gid = templates(n_subjects=5)
    with pytest.raises(ValueError, match="evenly spaced"):
        all_vs_all(T, sid, gid, ["a", "b", "c"], np.array([0.0, 0.1, 0.5]))


def test_subject_counts_from_blocks_match_direct_counts():
    T, sid, gid = templates(n_subjects=60, seed=2)
    thr = [0.3, 0.5]
    bc = all_vs_all(T, sid, gid, ["a", "b", "c"], np.linspace(-0.5, 1.0, 31), keep_above=min(thr))
    groups = pd.Series(np.array(["a", "b", "c"])[(np.arange(60) % 3)], index=np.arange(60))
    c = SubjectCounts.from_all_vs_all(T, sid, groups, bc.sparse_pairs, thr)
    r = c.rates(np.ones((1, 60)))
    S = T @ T.T
    iu = np.triu_indices(len(T), 1)
    s, gen = S[iu], sid[iu[0]] == sid[iu[1]]
    # Ordered impostor pairs: every unordered pair twice.
    assert r["n_impostor"].sum() == 2 * (~gen).sum()
    assert abs(r["n_false_match"][0, :, 0].sum() - 2 * ((s >= 0.3) & ~gen).sum()) <= 2
    assert r["n_genuine"].sum() == gen.sum()
