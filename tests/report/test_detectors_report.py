"""The detector comparison files: table, crossings, JSON, one plot, a page that says where FTA passes."""

from __future__ import annotations

import json

import pandas as pd

from harness.metrics import fta_compare
from harness.report import detectors


def _sweep(fails_black, fails_white):
    rows = []
    for v, kb, kw in zip([1.0, 2.0, 3.0], fails_black, fails_white):
        for g, k, n in (("black", kb, 13), ("white", kw, 69)):
            rows.append({"axis": "distance", "value": v, "threshold_id": "t", "slice": "ethnicity", "group": g,
                         "n_probe_images": n, "n_fta": k, "n_people_fta": n, "status": "small"})
    return pd.DataFrame(rows)


def test_write_comparison(tmp_path):
    t = fta_compare.fta_by_detector({"dlib-hog": _sweep([0, 4, 10], [0, 0, 0]),
                                     "blazeface-full": _sweep([0, 0, 2], [0, 0, 1])})
    c = fta_compare.crossings(t)
    files = detectors.write(t, c, tmp_path, {"command": "facerisk run --detector dlib-hog,blazeface-full",
                                             "capture": "doorbell-1080p-day"})
    for f in files.values():
        assert (tmp_path / f).stat().st_size > 0
    assert (tmp_path / files["plot"]).read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((tmp_path / files["json"]).read_text())
    assert doc["simulated"] is True and len(doc["fta"]) == 12 and doc["command"].startswith("facerisk run")
    lines = doc["sentences"]["ethnicity"]
    hog = next(s for s in lines if s.startswith("dlib-hog"))
    assert "black: distance 2" in hog and "white: not reached by 3" in hog
    page = (tmp_path / files["html"]).read_text()
    assert "simulated capture" in page and "blazeface-full" in page


def test_sentences_give_the_range_the_intervals_allow():
    t = fta_compare.fta_by_detector({"haar": _sweep([0, 13, 13], [0, 0, 1])})
    c = fta_compare.crossings(t)
    lines = detectors.crossing_sentences(c, "ethnicity")
    assert "black: distance 2" in lines[0]
    # white: 1/69 at the last step; the upper band passes 10% there, the lower never does
    assert "white: not reached by 3" in lines[0]
    c2 = fta_compare.crossings(fta_compare.fta_by_detector({"haar": _sweep([0, 2, 3], [0, 0, 0])}))
    line = detectors.crossing_sentences(c2, "ethnicity")[0]
    assert "black: distance 2 (intervals allow 1 to beyond 3)" in line
