"""All-vs-all scoring at NIST scale, in blocks, never holding N² scores.

Templates are compared block by block with BLAS matrix products (cosine similarity of L2-normalised
float32 templates), on one BLAS thread per process so that the counts do not depend on the number of
cores or on the engine (this process, or Dask workers via ``scheduler``). Each block's scores are bucketed on a fixed linear threshold grid and counted per
(group, group) cell, so memory is O(block² + groups² · grid). Subject pairs with any score at or above
the lowest threshold of interest are kept sparsely, for the subject bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

# The per-block kernel lives in a module that imports numpy alone: Dask workers unpickle it without paying
# for pandas and scipy (importing this module takes 1.2 s of CPU per worker on the development machine).
from harness.compare.blocks import Blocks as _Blocks, count_blocks as _count_blocks  # noqa: F401 - old names


@dataclass
class BlockCounts:
    """Counts over every unordered pair of distinct templates (i < j).

    ``imp_hist[a, b, k]`` / ``gen_hist[a, b, k]``: impostor / genuine pairs of groups (a, b), a <= b,
    with score in bucket k of ``edges`` (bucket 0: below edges[0]; last: at or above edges[-1]).
    """

    edges: np.ndarray
    group_names: list[str]
    imp_hist: np.ndarray
    gen_hist: np.ndarray
    n_templates: int
    comparisons: int
    sparse_pairs: Optional[pd.DataFrame] = None
    timings: dict[str, float] = field(default_factory=dict)

    def counts_at(self, threshold: float, genuine: bool = False) -> np.ndarray:
        """(G, G) symmetric matrix of pairs scoring >= threshold (threshold must be a grid edge)."""
        k = int(np.searchsorted(self.edges, threshold - 1e-12))
        h = self.gen_hist if genuine else self.imp_hist
        c = h[:, :, k + 1:].sum(axis=2)
        return c + np.triu(c, 1).T

    def totals(self, genuine: bool = False) -> np.ndarray:
        h = self.gen_hist if genuine else self.imp_hist
        c = h.sum(axis=2)
        return c + np.triu(c, 1).T

    def fmr_matrix(self, threshold: float) -> pd.DataFrame:
        """Cross-group FMR (symmetric: all-vs-all has no enrol/probe sides)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            m = self.counts_at(threshold) / self.totals()
        return pd.DataFrame(m, index=self.group_names, columns=self.group_names)

    def group_rates(self, threshold: float) -> pd.DataFrame:
        """Per group: FMR over impostor pairs within the group (NIST's demographically matched) and
        over all impostor pairs involving the group; FNMR over its genuine pairs."""
        fm, n = self.counts_at(threshold), self.totals()
        fnm_tot = self.totals(genuine=True)
        gm = fnm_tot - self.counts_at(threshold, genuine=True)
        rows = []
        for i, g in enumerate(self.group_names):
            involving = n[i].sum()
            rows.append({"group": g, "n_impostor_same_group": int(n[i, i]), "fmr_same_group": fm[i, i] / n[i, i] if n[i, i] else np.nan,
                         "n_impostor_involving": int(involving), "fmr_involving": fm[i].sum() / involving if involving else np.nan,
                         "n_genuine": int(fnm_tot[i, i]), "fnmr": gm[i, i] / fnm_tot[i, i] if fnm_tot[i, i] else np.nan})
        return pd.DataFrame(rows)


def normalise(templates: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation to float32 (cosine similarity becomes a dot product)."""
    t = np.asarray(templates, dtype=np.float32)
    n = np.linalg.norm(t, axis=1, keepdims=True)
    return t / np.where(n == 0, 1, n)


def all_vs_all(templates: np.ndarray, subject_ids: np.ndarray, group_ids: np.ndarray, group_names: list[str],
               edges: np.ndarray, block: int = 1024, keep_above: Optional[float] = None,
               progress: bool = False, scheduler: Optional[str] = None, rows: Optional[int] = None) -> BlockCounts:
    """Score every unordered pair of templates in blocks and count per group cell on the grid ``edges``.

    Parameters
    ----------
    templates : (N, d) array, L2-normalised (see :func:`normalise`).
    subject_ids : (N,) int array; equal ids make a genuine pair.
    group_ids : (N,) int array in ``range(len(group_names))``.
    edges : increasing, evenly spaced similarity thresholds.
    keep_above : keep (subject_a, subject_b, count) for impostor pairs scoring >= this (for the bootstrap).
    block : templates per block side. 1024 keeps each block's score and bucket arrays (4 MiB) in cache:
        2.3x faster than 4096 on the development machine (30,000 templates: 3.1 s vs 7.1 s). BLAS rounds a
        float32 product differently for different block shapes, so a different block size can move a
        pair whose score lies within one float32 step of a grid edge (a handful in 5e9); the block size is
        recorded in ``timings``.
    scheduler : None: this process; ``"local"`` or ``tcp://HOST:PORT``: the blocks are spread over a Dask
        cluster (the templates are sent to each worker once). The counts are identical either way.
    rows : only the first ``rows`` block rows (each against every later block): a measured slice, for
        projecting the whole run's time; ``comparisons`` then counts the slice's pairs.
    """
    import time

    from tqdm import tqdm

    t_start = time.perf_counter()
    # Sorted by subject, a subject's templates are contiguous: genuine pairs can only fall in a
    # diagonal block or the next one, so only those blocks need a same-subject mask.
    order = np.argsort(np.asarray(subject_ids), kind="stable")
    A = np.ascontiguousarray(np.asarray(templates, dtype=np.float32)[order])
    N = len(A)
    sid = np.asarray(subject_ids, dtype=np.int64)[order]
    gid = np.asarray(group_ids, dtype=np.int32)[order]
    G = len(group_names)
    edges = np.asarray(edges, dtype=np.float64)
    K = len(edges)
    step = (edges[-1] - edges[0]) / (K - 1) if K > 1 else 1.0
    if K > 1 and not np.allclose(np.diff(edges), step, rtol=1e-6, atol=1e-9):
        raise ValueError("edges must be evenly spaced")
    grid = {"G": G, "K": K, "lo": np.float32(edges[0]), "inv": np.float32(1.0 / step), "keep_above": keep_above}
    nb = K + 1
    cells = G * G * nb
    starts = list(range(0, N, block))
    pairs = [(r0, min(N, r0 + block), c0, min(N, c0 + block))
             for r0 in starts[:rows] for c0 in starts if c0 >= r0]
    hist = np.zeros(2 * cells, dtype=np.int64)  # impostor cells, then genuine cells
    sparse: list[np.ndarray] = []
    t_mm = t_count = t_cpu = t_setup = 0.0
    bar = tqdm(total=len(pairs), desc="all-vs-all blocks", disable=not progress)
    ctx = _Blocks(A, sid, gid, grid)
    if scheduler is None:
        for r0 in starts[:rows]:  # one call per block row (each call pins BLAS to one thread)
            row = [p for p in pairs if p[0] == r0]
            h, sp, tm, tc, tcpu = _count_blocks(ctx, row)
            hist += h
            sparse.extend(sp)
            t_mm, t_count, t_cpu = t_mm + tm, t_count + tc, t_cpu + tcpu
            bar.update(len(row))
    else:
        from harness import executors

        with executors.make(scheduler, 0, len(pairs)) as ex:  # inside a run: the run's cluster
            t_setup = time.perf_counter() - t_start
            # Enough tasks to keep every worker busy to the end, few enough that scheduling stays cheap.
            n_tasks = min(len(pairs), max(1, 8 * ex.workers))
            tiles = [pairs[i::n_tasks] for i in range(n_tasks)]
            by_pair: dict[int, np.ndarray] = {}
            for n, (h, sp, tm, tc, tcpu) in ex.run(_count_blocks, tiles, ctx):
                hist += h
                by_pair.update({n + k * n_tasks: arr for k, arr in enumerate(sp)})
                t_mm, t_count, t_cpu = t_mm + tm, t_count + tc, t_cpu + tcpu
                bar.update(len(tiles[n]))
            sparse = [by_pair[i] for i in sorted(by_pair)]  # block order, as in this process
    bar.close()
    imp, gen = (_fold(h.reshape(G, G, nb)) for h in (hist[:cells], hist[cells:]))
    sp = None
    if keep_above is not None:
        arr = np.concatenate(sparse) if sparse else np.zeros((0, 5), dtype=np.int64)
        sp = pd.DataFrame({"subject_a": arr[:, 0], "subject_b": arr[:, 1], "group_a": arr[:, 2],
                           "group_b": arr[:, 3], "score": arr[:, 4].view(np.float64)})
        sp = sp[sp.subject_a != sp.subject_b].reset_index(drop=True)
    n_pairs = sum((r1 - r0) * (c1 - c0) if c0 != r0 else (r1 - r0) * (r1 - r0 - 1) // 2 for r0, r1, c0, c1 in pairs)
    return BlockCounts(edges, list(group_names), imp, gen, N, n_pairs, sp,
                       {"matmul_s": t_mm, "count_s": t_count, "task_cpu_s": t_cpu, "cluster_start_s": t_setup,
                        "wall_s": time.perf_counter() - t_start,
                        "blocks": len(pairs), "block": block})


def _fold(h: np.ndarray) -> np.ndarray:
    """Fold cells (a, b) and (b, a) into a <= b (all-vs-all pairs have no sides)."""
    G = h.shape[0]
    off = (1 - np.eye(G, dtype=np.int64))[:, :, None]
    return np.triu(np.ones((G, G), dtype=np.int64))[:, :, None] * (h + np.transpose(h, (1, 0, 2)) * off)
