"""Parquet copies round-trip exactly; grid and subject-pair aggregates give the counts of the raw pairs."""

import sys

import numpy as np
import pandas as pd
import pytest

from harness.compare import columnar
from harness.errors import FaceriskError


def _pairs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    enrol = rng.integers(0, 40, n)
    probe = rng.integers(0, 40, n)
    genuine = enrol == probe
    score = np.where(genuine, rng.normal(0.7, 0.1, n), rng.normal(0.1, 0.2, n))
    grp = np.array(["a", "b", "c"])
    return pd.DataFrame({"enrol_subject": [f"{i:03d}" for i in enrol], "probe_subject": [f"{i:03d}" for i in probe],
                         "genuine": genuine, "score": score, "enrol_g": grp[enrol % 3], "probe_g": grp[probe % 3],
                         "reason": np.where(rng.random(n) < 0.5, "no_face", None)})


def test_parquet_copy_round_trips_exactly_and_only_large_tables_get_one(tmp_path):
    pytest.importorskip("pyarrow")
    big, small = _pairs(), _pairs(10)
    files = columnar.write_tables(tmp_path, {"pairs": big, "acquisitions": small}, min_rows=1000)
    assert files == {"pairs_parquet": "pairs.parquet"}
    assert not (tmp_path / "acquisitions.parquet").exists()
    back = pd.read_parquet(tmp_path / "pairs.parquet")
    pd.testing.assert_frame_equal(back, big)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_without_pyarrow_the_copy_is_skipped_with_a_warning_or_refused_when_required(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(FaceriskError, match=r"facerisk\[parquet\]"):
        columnar.write_parquet(_pairs(5), tmp_path / "p.parquet")
    assert columnar.write_tables(tmp_path, {"pairs": _pairs(50)}, min_rows=10) == {}
    assert "facerisk[parquet]" in caplog.text and "pairs: 50 rows" in caplog.text
    assert columnar.write_tables(tmp_path, {"pairs": _pairs(5)}, min_rows=10) == {}  # small: nothing to say
    with pytest.raises(FaceriskError, match=r"facerisk\[parquet\]"):
        columnar.write_tables(tmp_path, {"pairs": _pairs(50)}, min_rows=10, required=True)
    assert not list(tmp_path.iterdir())


def test_grid_counts_give_the_raw_counts_at_every_edge():
    p = _pairs()
    edges = np.round(np.linspace(-0.5, 1.0, 31), 10)
    grid = columnar.grid_counts(p, edges, ["enrol_g", "probe_g"])
    assert grid["n"].sum() == len(p)
    for t in edges[[0, 10, 17, 30]]:
        got = columnar.count_at(grid, edges, t, ["enrol_g", "probe_g"]).set_index(["enrol_g", "probe_g", "genuine"])
        for (a, b, g), row in got.iterrows():
            sel = (p.enrol_g == a) & (p.probe_g == b) & (p.genuine == g)
            assert row["n_pairs"] == sel.sum()
            assert row["n_at_or_above"] == (sel & (p.score >= t)).sum()
    with pytest.raises(ValueError, match="not an edge"):
        columnar.count_at(grid, edges, 0.123, ["enrol_g", "probe_g"])


def test_subject_pair_counts_sum_to_the_pair_counts():
    p = _pairs()
    sp = columnar.subject_pair_counts(p, [0.3, 0.6], keep=["enrol_g", "probe_g"])
    assert sp["n_pairs"].sum() == len(p)
    assert sp["n_ge_0"].sum() == (p.score >= 0.3).sum() and sp["n_ge_1"].sum() == (p.score >= 0.6).sum()
    assert not sp.duplicated(["enrol_subject", "probe_subject"]).any()
    assert (sp.loc[sp.genuine, "enrol_subject"] == sp.loc[sp.genuine, "probe_subject"]).all()
