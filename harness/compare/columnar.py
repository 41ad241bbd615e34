"""Columnar (Parquet) copies of a run's large tables, and the aggregates that replace pairs at scale.

A run's ``pairs`` table grows as enrolments x probes; past a few million rows a CSV is slow to write
and read and many gigabytes on disk. :func:`write_tables` writes Parquet (pyarrow, zstd) copies of the
tables that are large, atomically (a temporary file renamed into place). Past a larger size even
Parquet is not worth keeping: :func:`grid_counts` and :func:`subject_pair_counts` keep exactly what
the rates and the subject bootstrap need (per group pair counts on the threshold grid; per subject
pair counts at each threshold), as the blockwise all-vs-all engine does.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from harness.errors import FaceriskError

#: Tables with at least this many rows also get a Parquet copy.
PARQUET_MIN_ROWS = 100_000

log = logging.getLogger("facerisk")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise FaceriskError("Parquet outputs need pyarrow, which is not installed; pip install 'facerisk[parquet]' "
                            "(or set the row limit above the table size)") from None
    return pyarrow


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as Parquet (zstd), atomically: readers never see half a file."""
    pa = _pyarrow()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Text columns with missing values stay text (None), not a mix pyarrow refuses.
    frame = frame.copy()
    for col in frame.columns[frame.dtypes == object]:
        frame[col] = frame[col].where(frame[col].notna(), None).map(lambda v: v if v is None else str(v))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pa.parquet.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_tables(out: Path, tables: dict[str, pd.DataFrame], min_rows: int = PARQUET_MIN_ROWS,
                 required: bool = False) -> dict[str, str]:
    """Parquet copies ``out/NAME.parquet`` of every table with at least ``min_rows`` rows.

    Without pyarrow the copies are skipped with a warning naming the extra to install (``required``:
    a FaceriskError instead). Returns ``{NAME + "_parquet": file name}`` for the files written (for
    results.json's ``files``).
    """
    large = {name: frame for name, frame in tables.items() if frame is not None and len(frame) >= min_rows}
    if not large:
        return {}
    try:
        _pyarrow()
    except FaceriskError:
        if required:
            raise
        log.warning("%s: %s rows; no Parquet copy because pyarrow is not installed (pip install "
                    "'facerisk[parquet]')", ", ".join(large), f"{max(map(len, large.values())):,}")
        return {}
    return {f"{name}_parquet": write_parquet(frame, Path(out) / f"{name}.parquet").name for name, frame in large.items()}


def grid_counts(pairs: pd.DataFrame, edges: np.ndarray, group_cols: Sequence[str], score: str = "score",
                ) -> pd.DataFrame:
    """Pairs counted per group cell, genuine or not, and score bucket on the increasing grid ``edges``.

    Bucket ``k`` holds scores in ``[edges[k-1], edges[k])`` (0: below ``edges[0]``; ``len(edges)``: at or
    above the last edge), so the pairs at or above ``edges[k]`` are those in buckets ``k + 1`` and up:
    see :func:`count_at`. Columns: ``group_cols``, ``genuine``, ``bucket``, ``n``.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) < 1 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be strictly increasing")
    bucket = np.searchsorted(edges, pairs[score].to_numpy(dtype=np.float64), side="right")
    keys = [pairs[c] for c in group_cols] + [pairs["genuine"].astype(bool), pd.Series(bucket, index=pairs.index,
                                                                                      name="bucket")]
    counts = pairs.groupby(keys, observed=True, sort=True, dropna=False).size().rename("n").reset_index()
    return counts


def count_at(grid: pd.DataFrame, edges: np.ndarray, threshold: float, group_cols: Sequence[str]) -> pd.DataFrame:
    """From :func:`grid_counts`: per group cell and genuine, pairs in total and pairs scoring >= ``threshold``
    (a grid edge)."""
    edges = np.asarray(edges, dtype=np.float64)
    k = int(np.searchsorted(edges, threshold))
    if k >= len(edges) or not np.isclose(edges[k], threshold, rtol=0, atol=1e-12):
        raise ValueError(f"threshold {threshold} is not an edge of the grid")
    keys = list(group_cols) + ["genuine"]
    total = grid.groupby(keys, observed=True)["n"].sum().rename("n_pairs")
    above = grid[grid["bucket"] > k].groupby(keys, observed=True)["n"].sum().rename("n_at_or_above")
    return pd.concat([total, above], axis=1).fillna(0).astype(np.int64).reset_index()


def subject_pair_counts(pairs: pd.DataFrame, thresholds: Sequence[float], score: str = "score",
                        subjects: tuple[str, str] = ("enrol_subject", "probe_subject"),
                        keep: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per (enrol subject, probe subject): pairs compared and pairs scoring >= each threshold.

    This is what a subject bootstrap resamples (people, not pairs, are the unit); ``keep`` names further
    columns constant within a subject pair (their groups). Columns: the two subject columns, ``keep``,
    ``genuine``, ``n_pairs`` and ``n_ge_<i>`` for ``thresholds[i]``.
    """
    s = pairs[score].to_numpy(dtype=np.float64)
    frame = pairs[list(subjects) + list(keep or []) + ["genuine"]].copy()
    frame["n_pairs"] = 1
    for i, t in enumerate(thresholds):
        frame[f"n_ge_{i}"] = (s >= t).astype(np.int64)
    keys = list(subjects) + list(keep or []) + ["genuine"]
    # dropna=False: a pair whose group is unknown (a missing attribute) is still counted
    return frame.groupby(keys, observed=True, sort=True, dropna=False).sum().reset_index()


#: What an aggregate-only run writes instead of the pair table.
PAIR_COUNTS, SUBJECT_PAIR_COUNTS = "pair_counts.csv", "subject_pair_counts.csv"
#: The similarity grid of ``pair_counts.csv`` (plus the run's thresholds): 0.01 apart, wide enough for
#: cosine similarities and for negated Euclidean distances of unit-length templates.
SCORE_GRID = np.round(np.linspace(-2.0, 1.0, 301), 6)


def pair_outputs(n_pairs: int, aggregate_above_pairs: Optional[int]) -> dict:
    """What a run with ``n_pairs`` pairs keeps (``compare.aggregate_above_pairs``; results.json ``provenance.pairs``).

    Above the limit only aggregates are written (see :func:`write_aggregates`); the pair table itself
    (pairs.csv, pairs.parquet) is not. ``note`` is the sentence a run's warnings and report carry.
    """
    aggregate = aggregate_above_pairs is not None and n_pairs > aggregate_above_pairs
    out = {"n_pairs": int(n_pairs), "aggregate_above_pairs": aggregate_above_pairs, "aggregate_only": aggregate,
           "written": [PAIR_COUNTS, SUBJECT_PAIR_COUNTS] if aggregate else ["pairs.csv"],
           "not_written": ["pairs.csv", "pairs.parquet"] if aggregate else []}
    if aggregate:
        out["note"] = (f"{n_pairs:,} pairs is more than compare.aggregate_above_pairs ({aggregate_above_pairs:,}): "
                       f"no pairs.csv; aggregate-only outputs {PAIR_COUNTS} (pairs per slice, group, genuine and score "
                       f"bucket) and {SUBJECT_PAIR_COUNTS} (pairs per subject pair at each threshold); every rate "
                       "and interval was computed from all pairs before they were aggregated")
    return out


def aggregates(pairs: pd.DataFrame, thresholds: Sequence, slices: Sequence[Sequence[str]], side: str,
               labels) -> dict[str, pd.DataFrame]:
    """The two tables an aggregate-only run keeps in place of ``pairs``.

    Parameters
    ----------
    pairs : the run's pair table (``score``: similarity; ``genuine``; ``enrol_subject``, ``probe_subject``;
        ``<side>_<attr>``).
    thresholds : the run's thresholds (``id``, ``value`` in similarity units): grid edges, so the counts at
        each are exact.
    slices : attribute lists, as the run's groups table has them (an overall slice ``all`` is added).
    side : which side of a pair decides its group (``metrics.group_side``).
    labels : ``labels(frame, columns) -> Series`` of group labels (the metrics stage's ``group_labels``).

    Returns
    -------
    ``{"pair_counts": ..., "subject_pair_counts": ...}``. pair_counts: ``slice``, ``group``, ``genuine``,
    ``bucket``, ``score_from``, ``score_to`` (the bucket's similarity range, ``score_from <= s < score_to``)
    and ``n``; pairs at or above a threshold are the rows with ``score_from >= threshold``.
    subject_pair_counts: ``enrol_subject``, ``probe_subject``, the side's attributes, ``genuine``,
    ``n_pairs`` and ``n_ge_<threshold id>``.
    """
    edges = np.unique(np.concatenate([SCORE_GRID, [float(t.value) for t in thresholds]]))
    lower = np.concatenate([[-np.inf], edges])
    upper = np.concatenate([edges, [np.inf]])
    frames = []
    for attrs in [[]] + [list(s) for s in slices]:
        cols = [f"{side}_{a}" for a in attrs]
        if any(c not in pairs.columns for c in cols):
            continue
        frame = pd.DataFrame({"score": pairs["score"].to_numpy(), "genuine": pairs["genuine"].to_numpy(dtype=bool),
                              "group": labels(pairs, cols).to_numpy() if attrs else "all"})
        g = grid_counts(frame, edges, ["group"])
        g.insert(0, "slice", " × ".join(attrs) if attrs else "all")
        frames.append(g)
    counts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["slice", "group", "genuine", "bucket", "n"])
    b = counts["bucket"].to_numpy(dtype=np.int64)
    counts.insert(4, "score_from", lower[b])
    counts.insert(5, "score_to", upper[b])
    keep = sorted({f"{side}_{a}" for s in slices for a in s} & set(pairs.columns))
    subj = subject_pair_counts(pairs, [float(t.value) for t in thresholds], keep=keep)
    subj = subj.rename(columns={f"n_ge_{i}": f"n_ge_{t.id}" for i, t in enumerate(thresholds)})
    return {"pair_counts": counts, "subject_pair_counts": subj}


def write_aggregates(out: Path, pairs: pd.DataFrame, thresholds: Sequence, slices: Sequence[Sequence[str]],
                     side: str, labels, min_rows: int = PARQUET_MIN_ROWS) -> dict[str, str]:
    """Write :func:`aggregates` as ``pair_counts.csv`` and ``subject_pair_counts.csv`` (Parquet copies when large).

    Returns results.json ``files`` entries for what was written.
    """
    tables = aggregates(pairs, thresholds, slices, side, labels)
    files = {}
    for name, frame in tables.items():
        frame.to_csv(Path(out) / f"{name}.csv", index=False)
        files[name] = f"{name}.csv"
    files.update(write_tables(out, tables, min_rows=min_rows))
    return files
