"""The blockwise all-vs-all through a Dask LocalCluster equals the single-process engine exactly."""

import numpy as np
import pandas as pd
import pytest

from harness.metrics.scale import all_vs_all, normalise

pytest.importorskip("distributed", reason="dask.distributed not installed (pip install 'facerisk[dask]')")


def _templates(n_subjects=400, per=3, groups=4, seed=3):
    rng = np.random.default_rng(seed)
    sid = np.repeat(np.arange(n_subjects), per)
    rng.shuffle(sid)
    gid = (np.arange(n_subjects) % groups)[sid]
    centres = rng.normal(size=(n_subjects, 32))
    return normalise(centres[sid] + 0.8 * rng.normal(size=(len(sid), 32))), sid, gid


def test_local_cluster_counts_and_kept_pairs_equal_the_single_process_engine():
    T, sid, gid = _templates()
    edges = np.linspace(-0.5, 1.0, 61)
    names = ["a", "b", "c", "d"]
    one = all_vs_all(T, sid, gid, names, edges, block=100, keep_above=0.3)
    two = all_vs_all(T, sid, gid, names, edges, block=100, keep_above=0.3, scheduler="local")
    assert one.timings["blocks"] == two.timings["blocks"] == 12 * 13 // 2
    assert two.comparisons == one.comparisons == len(T) * (len(T) - 1) // 2
    np.testing.assert_array_equal(two.imp_hist, one.imp_hist)
    np.testing.assert_array_equal(two.gen_hist, one.gen_hist)
    assert len(one.sparse_pairs) > 100
    pd.testing.assert_frame_equal(two.sparse_pairs, one.sparse_pairs)


def test_a_slice_of_block_rows_counts_only_its_pairs():
    T, sid, gid = _templates(n_subjects=100)
    part = all_vs_all(T, sid, gid, ["a", "b", "c", "d"], np.linspace(-0.5, 1.0, 16), block=50, rows=2)
    N = len(T)  # 300 templates: block rows 0-49 and 50-99, each against itself and every later block
    assert part.timings["blocks"] == 6 + 5
    assert part.comparisons == 2 * 50 * 49 // 2 + 50 * 250 + 50 * 200
    assert part.imp_hist.sum() + part.gen_hist.sum() == part.comparisons < N * (N - 1) // 2


def test_counts_do_not_depend_on_how_many_blas_threads_the_caller_allows():
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    n = 3000
    sid = np.repeat(np.arange(n // 2), 2)
    T = normalise(rng.standard_normal((n // 2, 128), dtype=np.float32)[sid]
                  + 0.7 * rng.standard_normal((n, 128), dtype=np.float32))
    gid = sid % 4
    with threadpool_limits(limits=1, user_api="blas"):
        one_raw = T[:1500] @ T.T
    with threadpool_limits(limits=2, user_api="blas"):
        two_raw = T[:1500] @ T.T
    if np.array_equal(one_raw, two_raw):
        pytest.skip("this BLAS gives the same float32 products on 1 and 2 threads; nothing to guard against")
    edges = np.linspace(-0.5, 1.0, 1501)  # fine grid: a last-bit change moves some pair across an edge
    got = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            got.append(all_vs_all(T, sid, gid, ["a", "b", "c", "d"], edges, block=1500))
    np.testing.assert_array_equal(got[0].imp_hist, got[1].imp_hist)
    np.testing.assert_array_equal(got[0].gen_hist, got[1].gen_hist)


def test_templates_at_an_odd_byte_offset_score_exactly_as_aligned_ones():
    """What a Dask worker may receive: arrays starting at any byte, which numpy multiplies without BLAS."""
    from harness.compare import blocks as scale

    rng = np.random.default_rng(2)
    T = normalise(rng.standard_normal((2500, 128), dtype=np.float32))
    sid = np.arange(2500, dtype=np.int64)
    gid = (sid % 3).astype(np.int32)
    buf = np.empty(T.nbytes + 8, dtype=np.uint8)
    start = 3 + (-buf.ctypes.data) % 8
    odd = buf[start:start + T.nbytes].view(np.float32).reshape(T.shape)
    odd[...] = T
    assert not odd.flags.aligned
    # keep_above=-1 keeps every pair with its exact score: the products themselves must be bit-identical
    grid = {"G": 3, "K": 1501, "lo": np.float32(-0.5), "inv": np.float32(1000.0), "keep_above": -1.0}
    blocks = [(0, 1250, 0, 1250), (0, 1250, 1250, 2500)]  # a diagonal block (A @ A.T: numpy's syrk path) too
    ref = scale.count_blocks(scale.Blocks(T, sid, gid, grid), blocks)
    got = scale.count_blocks(scale.Blocks(odd, sid, gid, grid), blocks)
    np.testing.assert_array_equal(got[0], ref[0])
    for a, b in zip(got[1], ref[1]):
        np.testing.assert_array_equal(a, b)
