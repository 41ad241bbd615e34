"""Identification (1:N): searching a probe against a gallery, as a doorbell watchlist would.

Inputs are a similarity matrix ``S`` (probes × gallery entries), the probes' subject ids and the
gallery's subject ids. A *mated* search has the probe's subject in the gallery; a *non-mated*
search is simulated for every probe by removing its mates from the gallery (leave-mates-out), so
one matrix yields both (NIST FRVT 1:N terminology: FPIR, FNIR, CMC).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from harness.metrics.rates import threshold_at_fmr


def _mates(probe_ids, gallery_ids) -> np.ndarray:
    return np.asarray(probe_ids)[:, None] == np.asarray(gallery_ids)[None, :]


def mated_rank_and_score(S: np.ndarray, probe_ids, gallery_ids) -> tuple[np.ndarray, np.ndarray]:
    """For each probe: rank (1-based) of its best mate and that mate's score; rank 0 if unmated."""
    M = _mates(probe_ids, gallery_ids)
    mate_score = np.where(M, S, -np.inf).max(axis=1)
    nonmate = np.where(M, -np.inf, S)
    rank = 1 + (nonmate > mate_score[:, None]).sum(axis=1)  # ties go to the mate
    has = M.any(axis=1)
    return np.where(has, rank, 0), np.where(has, mate_score, np.nan)


def top_nonmate_score(S: np.ndarray, probe_ids, gallery_ids) -> np.ndarray:
    """Highest score of each probe against gallery entries that are not its mates."""
    return np.where(_mates(probe_ids, gallery_ids), -np.inf, S).max(axis=1)


def cmc(S: np.ndarray, probe_ids, gallery_ids, max_rank: int = 20) -> np.ndarray:
    """Closed-set cumulative match characteristic: share of mated searches with the mate in the top k, k=1..max_rank."""
    rank, _ = mated_rank_and_score(S, probe_ids, gallery_ids)
    r = rank[rank > 0]
    return np.array([(r <= k).mean() if len(r) else np.nan for k in range(1, max_rank + 1)])


def fpir_fnir(S: np.ndarray, probe_ids, gallery_ids, thresholds: Sequence[float], candidates: int = 1) -> pd.DataFrame:
    """Open-set FPIR and FNIR at each threshold.

    FNIR(T): mated searches whose mate is not among the top ``candidates`` with score >= T.
    FPIR(T): non-mated searches (mates removed) whose top score is >= T.
    """
    rank, mscore = mated_rank_and_score(S, probe_ids, gallery_ids)
    mated = rank > 0
    top = top_nonmate_score(S, probe_ids, gallery_ids)
    rows = []
    for t in thresholds:
        hit = mated & (rank <= candidates) & (mscore >= t)
        rows.append({"threshold": t, "n_mated": int(mated.sum()), "fnir": 1 - hit[mated].mean() if mated.any() else np.nan,
                     "n_nonmated": len(top), "n_false_positive": int((top >= t).sum()), "fpir": float((top >= t).mean())})
    return pd.DataFrame(rows)


def fnir_at_fpir(S: np.ndarray, probe_ids, gallery_ids, targets: Sequence[float], candidates: int = 1) -> pd.DataFrame:
    """FNIR at thresholds calibrated on the non-mated searches to each target FPIR."""
    top = top_nonmate_score(S, probe_ids, gallery_ids)
    rows = []
    for target in targets:
        t, achieved, flags = threshold_at_fmr(top, target)
        r = fpir_fnir(S, probe_ids, gallery_ids, [t], candidates).iloc[0]
        rows.append({"target_fpir": target, "threshold": t, "fpir": achieved, "fnir": r["fnir"], "flags": ",".join(flags)})
    return pd.DataFrame(rows)


def no_hit_probability(k, m, n) -> np.ndarray:
    """P(a gallery of ``n`` entries drawn without replacement from ``m`` holds none of ``k`` hits).

    The hypergeometric zero term C(m−k, n) / C(m, n), computed in logs; 0 when n > m − k.
    """
    from scipy.special import gammaln

    k, m = np.asarray(k, dtype=np.float64), np.asarray(m, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), k.shape)
    possible = n <= m - k
    safe_n = np.where(possible, n, 0)
    log_p = (gammaln(m - k + 1) - gammaln(m - k - safe_n + 1) - gammaln(m + 1) + gammaln(m - safe_n + 1))
    return np.where(possible, np.exp(log_p), 0.0)


def fpir_by_gallery_size(impostor_scores: np.ndarray, threshold: float, sizes: Sequence[int]) -> pd.DataFrame:
    """FPIR as a function of watchlist size, per probe row of ``impostor_scores`` (probes × non-mates).

    ``empirical``: the exact expectation, over every gallery of each size drawn without replacement
    from the probe's non-mates (only for sizes it has), of the share of searches with a false hit:
    mean over probes of 1 − C(M−k_j, N)/C(M, N) (hypergeometric), where probe j has k_j hits among
    its M non-mates. No random draws, so no Monte Carlo error.
    ``extrapolated``: mean over probes of 1 − (1 − p_j)^N, where p_j = k_j/M is probe j's own observed
    false match rate — assumes gallery entries fail independently, but keeps the fact that some people
    are matched falsely far more often than others. A person never falsely matched among the non-mates
    available has p_j = 0, so this curve plateaus: it is a lower estimate.
    ``extrapolated_upper`` uses each p_j's one-sided 95% Clopper–Pearson upper bound instead: beyond
    the measured gallery size the truth is bracketed by the two, not pinned down.
    """
    from harness.metrics.rates import beta_ppf

    X = np.asarray(impostor_scores, dtype=np.float64)
    hits = X >= threshold
    k, n_nm = hits.sum(axis=1), X.shape[1]
    p = k / n_nm if n_nm else np.full(len(k), np.nan)
    p_hi = np.where(k < n_nm, beta_ppf(0.95, k + 1, np.maximum(n_nm - k, 1)), 1.0)
    rows = []
    for n in sizes:
        emp = float(np.mean(1 - no_hit_probability(k, n_nm, n))) if n <= n_nm and len(k) else np.nan
        rows.append({"gallery_size": int(n), "fpir_empirical": emp,
                     "fpir_extrapolated": float(np.mean(1 - (1 - p) ** n)),
                     "fpir_extrapolated_upper": float(np.mean(1 - (1 - p_hi) ** n))})
    return pd.DataFrame(rows)


def fpir_fnir_by_group(S: np.ndarray, probe_ids, gallery_ids, probe_groups, thresholds: Sequence[float],
                       candidates: int = 1) -> pd.DataFrame:
    """:func:`fpir_fnir` for the searches of each probe group (the person in front of the camera)."""
    probe_ids, probe_groups = np.asarray(probe_ids), np.asarray(probe_groups)
    out = []
    for g in sorted(set(probe_groups)):
        m = probe_groups == g
        part = fpir_fnir(S[m], probe_ids[m], gallery_ids, thresholds, candidates)
        part.insert(0, "group", g)
        out.append(part)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()
