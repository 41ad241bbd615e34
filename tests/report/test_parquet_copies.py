"""Large run tables get Parquet copies beside the CSVs (report.write -> harness.compare.columnar)."""

import pandas as pd
import pytest

from harness.compare import columnar


def test_tables_at_the_threshold_get_a_parquet_copy_that_reads_back_equal(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    pairs = pd.DataFrame({"enrol_subject": ["a", "b", "c"], "probe_subject": ["a", "c", "b"],
                          "genuine": [True, False, False], "euclidean": [0.1, 0.7, 0.8]})
    small = pd.DataFrame({"image": ["x"]})
    files = columnar.write_tables(tmp_path, {"pairs": pairs, "acquisitions": small}, min_rows=3)
    assert files == {"pairs_parquet": "pairs.parquet"}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pairs.parquet"), pairs)
