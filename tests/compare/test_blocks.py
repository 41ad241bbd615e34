"""The blockwise kernel's counts equal a plain per-pair count with the same float32 bucket arithmetic."""

import numpy as np
import pytest

from harness.compare.blocks import Blocks, count_blocks


def _reference(A, sid, gid, G, K, lo, inv, blocks):
    """Each block's products, every pair i < j bucketed with the same float32 operations, counted plainly."""
    nb = K + 1
    cells = G * G * nb
    hist = np.zeros(2 * cells, dtype=np.int64)
    for r0, r1, c0, c1 in blocks:
        S = A[r0:r1] @ A[c0:c1].T
        i, j = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        keep = i < j
        b = np.clip(np.floor((S[keep] - lo) * inv), -1, K - 1).astype(np.int64) + 1
        i, j = i[keep], j[keep]
        code = (gid[i].astype(np.int64) * G + gid[j]) * nb + b + cells * (sid[i] == sid[j])
        hist += np.bincount(code, minlength=2 * cells)
    return hist


@pytest.mark.parametrize("G, K", [(3, 61), (60, 2400)])  # the second: codes past 2**24 (integer offsets)
def test_counts_equal_a_per_pair_count(G, K):
    rng = np.random.default_rng(7)
    n = 700
    sid = np.sort(rng.integers(0, 250, n)).astype(np.int64)  # sorted: a subject's templates are contiguous
    gid = (sid % G).astype(np.int32)
    A = rng.standard_normal((250, 24)).astype(np.float32)[sid] + 0.6 * rng.standard_normal((n, 24)).astype(np.float32)
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    lo, inv = np.float32(-0.5), np.float32((K - 1) / 1.5)
    grid = {"G": G, "K": K, "lo": lo, "inv": inv, "keep_above": None}
    block = 128
    starts = range(0, n, block)
    blocks = [(r, min(n, r + block), c, min(n, c + block)) for r in starts for c in starts if c >= r]
    hist, sparse, t_mm, t_count, cpu = count_blocks(Blocks(A, sid, gid, grid), blocks)
    assert sparse == [] and cpu >= 0
    assert hist.sum() == n * (n - 1) // 2
    np.testing.assert_array_equal(hist, _reference(A, sid, gid, G, K, lo, inv, blocks))
