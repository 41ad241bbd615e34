"""compare.aggregate_above_pairs: a run above it writes counts, not pairs, and the counts are the pair table's."""

import json

import numpy as np
import pandas as pd
import pytest

from harness import config
from harness.compare import columnar
from harness.errors import ConfigError


def test_the_setting_is_validated():
    assert config.load(overrides=["compare.aggregate_above_pairs=5"]).compare.aggregate_above_pairs == 5
    assert config.load(overrides=["compare.aggregate_above_pairs=null"]).compare.aggregate_above_pairs is None
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(ConfigError, match="compare.aggregate_above_pairs"):
            config.load(overrides=[f"compare.aggregate_above_pairs={bad}"])


def test_pair_outputs_says_what_is_kept():
    assert columnar.pair_outputs(100, None)["aggregate_only"] is False
    assert columnar.pair_outputs(100, 100)["aggregate_only"] is False
    big = columnar.pair_outputs(101, 100)
    assert big["aggregate_only"] and big["not_written"] == ["pairs.csv", "pairs.parquet"]
    assert "pair_counts.csv" in big["note"] and "subject_pair_counts.csv" in big["note"]


@pytest.mark.realdata
def test_an_aggregate_only_run_has_the_pair_table_runs_per_group_counts(real_run, tmp_path):
    from harness import pipeline, report

    res, ref_out, cfg = real_run
    small = config.load(overrides=[f"dataset.data_home={cfg.dataset.data_home}", f"cache_dir={cfg.cache_dir}",
                                   f"reports_dir={tmp_path}", "progress=false", "workers=2", "name=agg",
                                   "compare.aggregate_above_pairs=10"])
    out = report.write(pipeline.run(small), small.reports_dir, small.name)
    results = json.loads((out / "results.json").read_text())
    assert not (out / "pairs.csv").exists() and not (out / "pairs.parquet").exists()
    assert "pairs" not in results["files"]
    assert results["files"]["pair_counts"] == "pair_counts.csv"
    kept = results["provenance"]["pairs"]
    assert kept["aggregate_only"] and kept["n_pairs"] == len(res.pairs) > 10
    assert any("aggregate-only" in w for w in results["warnings"])
    assert "aggregate-only" in (out / "report.html").read_text()

    ref = pd.read_csv(ref_out / "groups.csv", keep_default_na=False)
    ours = pd.read_csv(out / "groups.csv", keep_default_na=False)
    cols = ["threshold_id", "slice", "group", "n_impostor", "n_false_match", "n_genuine", "n_false_non_match"]
    pd.testing.assert_frame_equal(ours[cols], ref[cols])  # the rates themselves are unchanged

    # ... and the written counts give the pair-table run's per-group counts at every threshold
    counts = pd.read_csv(out / "pair_counts.csv", keep_default_na=False)
    value = {t.id: t.value for t in res.thresholds}
    checked = 0
    for row in ref.itertuples():
        c = counts[(counts["slice"] == row.slice) & (counts["group"].astype(str) == str(row.group))]
        if not len(c) and row.n_impostor == row.n_genuine == 0:
            continue
        imp, gen = c[~c["genuine"]], c[c["genuine"]]
        t = value[row.threshold_id]
        assert imp["n"].sum() == row.n_impostor, row
        assert imp.loc[imp["score_from"] >= t, "n"].sum() == row.n_false_match, row
        assert gen["n"].sum() == row.n_genuine, row
        assert gen.loc[gen["score_from"] < t, "n"].sum() == row.n_false_non_match, row
        checked += 1
    assert checked >= 10

    # per subject pair: every pair once, and the false matches at each threshold
    subj = pd.read_csv(out / "subject_pair_counts.csv")
    assert subj["n_pairs"].sum() == len(res.pairs)
    for t in res.thresholds:
        s = res.pairs["score"].to_numpy()
        assert subj[f"n_ge_{t.id}"].sum() == int(np.count_nonzero(s >= t.value))
