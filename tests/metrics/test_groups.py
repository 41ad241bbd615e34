"""Per-group frame: counts equal brute force, same global threshold for all groups, honest zero handling."""

import math

import numpy as np
import pandas as pd
import pytest

from harness.metrics import GROUP_COLUMNS, Threshold, band, group_frame, max_min_ratio


def synthetic(seed=0, n=30):
    rng = np.random.default_rng(seed)
    subj = pd.DataFrame({"subject_id": [f"s{i}" for i in range(n)],
                         "g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n)})
    acq = pd.concat([subj.assign(role="enrol"), subj.assign(role="probe")], ignore_index=True)
    acq["ok"] = rng.random(len(acq)) > 0.1
    e = acq[(acq.role == "enrol") & acq.ok]
    p = acq[(acq.role == "probe") & acq.ok]
    pairs = e.merge(p, how="cross", suffixes=("_e", "_p"))
    pairs = pd.DataFrame({
        "genuine": (pairs.subject_id_e == pairs.subject_id_p).to_numpy(),
        "probe_g": pairs.g_p, "probe_h": pairs.h_p, "enrol_g": pairs.g_e, "enrol_h": pairs.h_e,
        "probe_subject": pairs.subject_id_p,
    })
    pairs["score"] = np.where(pairs.genuine, rng.normal(2, 1, len(pairs)), rng.normal(0, 1, len(pairs)))
    return pairs, acq


def test_counts_equal_brute_force():
    pairs, acq = synthetic()
    t = Threshold("t", "fixed", 1.0, 1.0, "cosine")
    gf = group_frame(pairs, acq, [t], [["g"], ["g", "h"]], min_subjects=1, small_subjects=2)
    assert list(gf.columns) == GROUP_COLUMNS
    for _, row in gf.iterrows():
        if row.slice == "all":
            sel = np.ones(len(pairs), bool)
            asel = np.ones(len(acq), bool)
        elif row.slice == "g":
            sel, asel = (pairs.probe_g == row.group).to_numpy(), (acq.g == row.group).to_numpy()
        else:
            gv, hv = row.group.split(" × ")
            sel = ((pairs.probe_g == gv) & (pairs.probe_h == hv)).to_numpy()
            asel = ((acq.g == gv) & (acq.h == hv)).to_numpy()
        imp = pairs.score[sel & ~pairs.genuine]
        gen = pairs.score[sel & pairs.genuine]
        assert row.n_impostor == len(imp) and row.n_false_match == (imp >= 1.0).sum()
        assert row.n_genuine == len(gen) and row.n_false_non_match == (gen < 1.0).sum()
        probes = acq[asel & (acq.role == "probe").to_numpy()]
        assert row.n_fta == (~probes.ok).sum()
        assert row.n_subjects == acq[asel].subject_id.nunique()
        if row.n_impostor:
            assert row.fmr_lo <= row.fmr <= row.fmr_hi
        assert row.far == pytest.approx(row.fmr * (1 - row.fta))


def test_every_group_is_read_at_the_same_threshold():
    pairs, acq = synthetic(1)
    ts = [Threshold("lo", "fixed", 0.0, 0.0, "cosine"), Threshold("hi", "fixed", 1.5, 1.5, "cosine")]
    gf = group_frame(pairs, acq, ts, [["g"]])
    assert set(gf.threshold_id) == {"lo", "hi"}
    lo = gf[gf.threshold_id == "lo"].set_index(["slice", "group"])
    hi = gf[gf.threshold_id == "hi"].set_index(["slice", "group"])
    assert (lo.fmr >= hi.fmr).all() and (lo.fnmr <= hi.fnmr).all()


def test_status_marks_small_groups_instead_of_hiding_them():
    pairs, acq = synthetic(2)
    t = Threshold("t", "fixed", 1.0, 1.0, "cosine")
    gf = group_frame(pairs, acq, [t], [["g"]], min_subjects=100, small_subjects=200)
    assert set(gf[gf.slice == "g"].status) == {"insufficient"}
    assert len(gf[gf.slice == "g"]) == 3


def test_rule_of_three_only_at_zero_errors():
    pairs, acq = synthetic(3)
    t = Threshold("t", "fixed", 100.0, 100.0, "cosine")  # nothing matches: zero false matches
    gf = group_frame(pairs, acq, [t], [["g"]])
    assert (gf.n_false_match == 0).all()
    assert np.allclose(gf.fmr_rule3, 3 / gf.n_impostor)
    assert gf.fnmr_rule3.isna().all()


def test_max_min_ratio_and_zero_handling():
    frame = pd.DataFrame([
        {"threshold_id": "t", "slice": "s", "group": "a", "status": "ok", "fmr": 0.04, "fmr_rule3": None},
        {"threshold_id": "t", "slice": "s", "group": "b", "status": "ok", "fmr": 0.01, "fmr_rule3": None},
        {"threshold_id": "t", "slice": "s", "group": "tiny", "status": "insufficient", "fmr": 0.0,
         "fmr_rule3": 0.5},
        {"threshold_id": "u", "slice": "s", "group": "a", "status": "ok", "fmr": 0.02, "fmr_rule3": None},
        {"threshold_id": "u", "slice": "s", "group": "b", "status": "small", "fmr": 0.0, "fmr_rule3": 0.01},
    ])
    r = max_min_ratio(frame).set_index("threshold_id")
    assert r.loc["t", "ratio"] == pytest.approx(4.0) and r.loc["t", "min_group"] == "b"  # insufficient excluded
    # x/0 is unbounded (+inf), never a finite number; the rule-of-3 ratio is the conservative figure.
    assert r.loc["u", "ratio"] == math.inf and r.loc["u", "ratio_rule3"] == pytest.approx(2.0)
    assert "unbounded" in r.loc["u", "note"] and "zero observed errors" in r.loc["u", "note"]


def test_zero_over_zero_ratio_is_undefined_not_one():
    frame = pd.DataFrame([
        {"threshold_id": "t", "slice": "s", "group": g, "status": "ok", "fnmr": 0.0, "fnmr_rule3": 0.1}
        for g in ("a", "b")])
    r = max_min_ratio(frame, "fnmr").iloc[0]
    assert math.isnan(r.ratio) and "undefined (0/0)" in r.note


def test_status_counts_people_who_produced_trials_not_people_listed():
    """A group of 6 listed people of whom only 2 had a probe acquired is insufficient, and says so."""
    subj = pd.DataFrame({"subject_id": [f"s{i}" for i in range(12)], "g": ["a"] * 6 + ["b"] * 6})
    acq = pd.concat([subj.assign(role="enrol"), subj.assign(role="probe")], ignore_index=True)
    acq["ok"] = ~((acq.role == "probe") & acq.subject_id.isin([f"s{i}" for i in range(2, 6)]))
    e, p = acq[(acq.role == "enrol") & acq.ok], acq[(acq.role == "probe") & acq.ok]
    x = e.merge(p, how="cross", suffixes=("_e", "_p"))
    pairs = pd.DataFrame({"genuine": (x.subject_id_e == x.subject_id_p).to_numpy(), "probe_g": x.g_p,
                          "probe_subject": x.subject_id_p, "enrol_subject": x.subject_id_e, "score": 0.0})
    gf = group_frame(pairs, acq, [Threshold("t", "fixed", 1.0, 1.0, "cosine")], [["g"]], min_subjects=5)
    a = gf[(gf.slice == "g") & (gf.group == "a")].iloc[0]
    b = gf[(gf.slice == "g") & (gf.group == "b")].iloc[0]
    assert (a.n_subjects, a.n_people, a.n_people_fta, a.n_people_fmr, a.n_people_fnmr) == (6, 2, 6, 2, 2)
    assert a.status == "insufficient" and b.status == "small" and b.n_people == 6
    assert a.n_fta == 4 and a.n_impostor == 2 * 11


def test_band_labels_and_unknown():
    out = band(pd.Series(["18", "29", "30", "54", pd.NA, "x"]), [18, 30, 45, 120])
    assert list(out) == ["18-29", "18-29", "30-44", "45+", "unknown", "unknown"]
