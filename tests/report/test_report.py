"""The run directory: schema-valid JSON, consistent CSVs, a self-contained HTML report."""

import json
import re

import jsonschema
import numpy as np
import pandas as pd
import pytest

from harness.report import SCHEMA_PATH, _clean

pytestmark = pytest.mark.realdata


def test_results_json_validates_against_the_schema(real_run):
    res, out, cfg = real_run
    results = json.loads((out / "results.json").read_text())
    jsonschema.validate(results, json.loads(SCHEMA_PATH.read_text()))
    assert results["protocol"]["n_genuine"] == 102 and results["protocol"]["n_impostor"] == 102 * 101
    assert "DeBruine" in results["attribution"]


def test_files_agree_with_each_other(real_run):
    res, out, cfg = real_run
    results = json.loads((out / "results.json").read_text())
    for name in results["files"].values():
        assert (out / name).is_file()
    groups = pd.read_csv(out / "groups.csv", keep_default_na=False, na_values=[""])
    assert len(groups) == len(results["groups"])
    pairs = pd.read_csv(out / "pairs.csv")
    assert len(pairs) == 102 * 102 and pairs.genuine.sum() == 102
    overall = groups[(groups.slice == "all") & (groups.threshold_id == "euclidean=0.6")].iloc[0]
    assert overall.n_false_match == int(((pairs.euclidean <= 0.6) & ~pairs.genuine).sum())


def test_every_group_and_intersection_is_reported_with_status(real_run):
    res, out, cfg = real_run
    g = res.groups
    assert set(g.slice) == {"all", "gender", "ethnicity", "age_band", "gender × ethnicity"}
    tiny = g[(g.slice == "ethnicity") & (g.group == "east_asian/white")]
    assert (tiny.status == "insufficient").all() and (tiny.n_subjects == 1).all()
    assert (g[(g.slice == "gender")].status == "ok").all()


def test_html_is_self_contained_and_readable(real_run):
    res, out, cfg = real_run
    html = (out / "report.html").read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "report must not load anything from the network"
    assert html.count("data:image/png;base64,") == 3 * 4  # FMR bars, DET, histograms per slice
    assert "In brief" in html and "CC BY 4.0" in html and "DeBruine" in html
    assert "insufficient" in html


def test_clean_turns_nan_and_numpy_into_json():
    out = _clean({"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, 1.5], "d": np.array([1, 2])})
    assert out == {"a": None, "b": 3, "c": [None, 1.5], "d": [1, 2]}
    json.dumps(out, allow_nan=False)
