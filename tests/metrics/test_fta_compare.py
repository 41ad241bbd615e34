"""FTA compared across detectors: subject-level intervals and where each group passes 10% / 50%."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.metrics import fta_compare
from harness.metrics.rates import clopper_pearson


def _sweep(values, fails, n=10, people=None, group="black", thresholds=("t1", "t2")):
    rows = []
    for tid in thresholds:
        for v, k in zip(values, fails):
            rows.append({"axis": "distance", "value": v, "threshold_id": tid, "slice": "ethnicity", "group": group,
                         "n_probe_images": n, "n_fta": k, "n_people_fta": people or n, "status": "ok"})
    return pd.DataFrame(rows)


def test_one_probe_per_person_gives_exact_intervals_once_per_step():
    t = fta_compare.fta_by_detector({"a": _sweep([1, 2], [0, 3])})
    assert len(t) == 2  # one threshold's rows: FTA does not depend on it
    r = t.iloc[1]
    assert r["fta"] == pytest.approx(0.3)
    assert (r["fta_lo"], r["fta_hi"]) == pytest.approx(clopper_pearson(3, 10))
    assert r["interval"].startswith("Clopper-Pearson, one probe per person")
    z = t.iloc[0]
    assert z["fta"] == 0 and z["fta_hi"] > 0.25  # no failure seen is not "no risk": rule-of-3-like bound


def test_several_probes_per_person_widen_the_interval_to_the_people_count():
    t = fta_compare.fta_by_detector({"a": _sweep([1], [6], n=20, people=5)})
    r = t.iloc[0]
    assert r["fta"] == pytest.approx(0.3)
    lo, hi = clopper_pearson(6, 20)
    assert r["fta_hi"] - r["fta_lo"] > hi - lo
    assert (r["fta_lo"], r["fta_hi"]) == pytest.approx(clopper_pearson(2, 5))  # round(0.3 * 5) of 5 people


def test_mixed_axes_are_refused():
    b = _sweep([1], [0]).assign(axis="light")
    with pytest.raises(ValueError, match="different axes"):
        fta_compare.fta_by_detector({"a": _sweep([1], [0]), "b": b})


def test_crossings_first_step_interpolation_and_interval_range():
    t = fta_compare.fta_by_detector({"hog": _sweep([1, 2, 3, 4], [0, 0, 4, 8], n=10),
                                     "cnn": _sweep([1, 2, 3, 4], [0, 0, 0, 0], n=10)})
    c = fta_compare.crossings(t).set_index(["detector", "level"])
    r10 = c.loc[("hog", 0.10)]
    assert r10["first_value"] == 3 and r10["interpolated"] == pytest.approx(2.25)  # 0 -> 0.4 between 2 and 3
    assert r10["fta_at_first"] == pytest.approx(0.4)
    assert r10["earliest"] <= 3 <= r10["latest"]  # upper band reaches 10% no later, lower band no earlier
    assert r10["earliest"] == 1  # 0/10 has an upper bound above 10%
    r50 = c.loc[("hog", 0.50)]
    assert r50["first_value"] == 4 and r50["interpolated"] == pytest.approx(3.25)
    never = c.loc[("cnn", 0.50)]
    assert math.isnan(never["first_value"]) and never["note"] == "not reached by 4"


def test_already_failing_at_the_first_step_is_said():
    t = fta_compare.fta_by_detector({"a": _sweep([0.5, 1.0], [9, 10])})
    c = fta_compare.crossings(t)
    assert (c["note"] == "already at the first step").all() and (c["first_value"] == 0.5).all()
