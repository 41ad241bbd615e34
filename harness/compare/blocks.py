"""Blockwise all-vs-all scoring: one block pair's cosine scores counted per group cell on a threshold grid.

The kernel of :func:`harness.metrics.scale.all_vs_all`, run in this process or on Dask workers. It imports
numpy alone (threadpoolctl when called), so a worker that unpickles a task pays for nothing else.
"""

from __future__ import annotations

import numpy as np


class Blocks:
    """The sorted templates, subject and group ids and the grid: sent once to each Dask worker."""

    def __init__(self, A: np.ndarray, sid: np.ndarray, gid: np.ndarray, grid: dict):
        self.A, self.sid, self.gid, self.grid = A, sid, gid, grid
        self.aligned = False

    def arrays(self) -> tuple:
        if not self.aligned:
            # Arrays a Dask worker receives can start at any byte offset; numpy then cannot hand A @ A.T
            # to BLAS's symmetric kernel and rounds diagonal blocks differently (measured: 4 of 5e9 pairs
            # moved a bucket). One aligned copy per worker keeps every score bit-identical to this process's.
            self.A = np.require(self.A, np.float32, ["C", "A"])
            self.sid = np.require(self.sid, np.int64, ["C", "A"])
            self.gid = np.require(self.gid, np.int32, ["C", "A"])
            self.aligned = True
        return self.A, self.sid, self.gid, self.grid


def count_blocks(ctx: Blocks, blocks: list[tuple[int, int, int, int]]):
    """Counts over the block pairs ``(r0, r1, c0, c1)`` (c0 >= r0): one task of either engine.

    Returns the summed histogram, one array of kept pairs per block pair (with ``keep_above``), the
    seconds spent in matrix products and in counting, and the CPU seconds the task used (its thread's:
    wall seconds above CPU seconds mean the task waited for a core).
    """
    from threadpoolctl import threadpool_limits

    import time

    # OpenBLAS rounds a float32 product differently with more threads, which moves scores at a bucket
    # edge: one thread makes the counts independent of the cores, the workers and the engine.
    cpu = time.thread_time()
    with threadpool_limits(limits=1, user_api="blas"):
        hist, sparse, t_mm, t_count = _count_blocks_1(ctx, blocks)
    return hist, sparse, t_mm, t_count, time.thread_time() - cpu


def _count_blocks_1(ctx: Blocks, blocks: list[tuple[int, int, int, int]]):
    import time

    A, sid, gid, grid = ctx.arrays()
    G, K, lo, inv, keep_above = grid["G"], grid["K"], grid["lo"], grid["inv"], grid["keep_above"]
    nb = K + 1
    cells = G * G * nb
    dump = 2 * cells  # one extra bin for the pairs a diagonal block must not count (j <= i)
    hist = np.zeros(2 * cells, dtype=np.int64)
    sparse = []
    t_mm = t_count = 0.0
    # One workspace for every block of the task: no block-sized temporary is allocated per block. Dask's
    # nanny starts workers with MALLOC_TRIM_THRESHOLD_ set, which makes glibc map and unmap (and fault in)
    # every large temporary afresh; measured on the development machine, that alone made counting 1.7x
    # slower in a worker than here.
    side = max(max(r1 - r0, c1 - c0) for r0, r1, c0, c1 in blocks) if blocks else 0
    s_buf = np.empty(side * side, dtype=np.float32)
    i_buf = np.empty(side * side, dtype=np.intp)
    eq_buf = np.empty(side * side, dtype=bool)
    # Group cell offset of each row and column as float32: the buckets are exact small integers in float32
    # (codes stay far below 2**24), so adding the offsets there is exact and saves an integer pass.
    exact_f32 = dump < 2**24
    off_type = np.float32 if exact_f32 else np.intp
    row_off = gid.astype(off_type) * off_type(G * nb) + off_type(1)
    col_off = gid.astype(off_type) * off_type(nb)
    lower = {}
    for r0, r1, c0, c1 in blocks:
        m, n = r1 - r0, c1 - c0
        S = s_buf[:m * n].reshape(m, n)
        t0 = time.perf_counter()
        np.matmul(A[r0:r1], A[c0:c1].T, out=S)
        t1 = time.perf_counter()
        if keep_above is not None:
            ii, jj = np.nonzero(S >= keep_above)
            if c0 == r0:
                keep = ii < jj
                ii, jj = ii[keep], jj[keep]
            # One (possibly empty) array per block pair, so results can be put back in block order.
            sparse.append(np.stack([sid[r0 + ii], sid[c0 + jj], gid[r0 + ii], gid[c0 + jj],
                                    S[ii, jj].astype(np.float64).view(np.int64)], axis=1))
        # Bucket: 0 below edges[0], k for edges[k-1] <= s < edges[k], K at or above edges[-1]; in place, the
        # same float32 operations as ever (so the same buckets).
        np.subtract(S, lo, out=S)
        np.multiply(S, inv, out=S)
        np.floor(S, out=S)
        np.clip(S, -1, K - 1, out=S)
        code = i_buf[:m * n].reshape(m, n)
        if exact_f32:
            S += row_off[r0:r1, None]  # code = (g_row * G + g_col) * nb + bucket + 1
            S += col_off[None, c0:c1]
            np.copyto(code, S, casting="unsafe")  # exact: whole numbers
        else:
            np.copyto(code, S, casting="unsafe")
            code += row_off[r0:r1, None]
            code += col_off[None, c0:c1]
        if c0 in (r0, r1):  # a subject's templates are contiguous: genuine pairs only here
            eq = eq_buf[:m * n].reshape(m, n)
            np.equal(sid[r0:r1, None], sid[None, c0:c1], out=eq)
            np.add(code, cells, out=code, where=eq)
        if c0 == r0:  # diagonal block: only i < j
            if m not in lower:
                lower[m] = ~np.triu(np.ones((m, m), dtype=bool), 1)
            np.copyto(code, dump, where=lower[m])
            hist += np.bincount(code.ravel(), minlength=dump + 1)[:dump]
        else:
            hist += np.bincount(code.ravel(), minlength=dump)
        t_count += time.perf_counter() - t1
        t_mm += t1 - t0
    return hist, sparse, t_mm, t_count
