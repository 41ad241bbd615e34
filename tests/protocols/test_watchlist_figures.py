"""Watchlist figures (harness.metrics.watchlist) on a hand-made probe x gallery table."""

import math

import pandas as pd

from harness.metrics import watchlist


def table():
    # probes p1..p4 (groups a, a, b, b; p4 also enrolled: one mated entry), gallery strangers g1, g2
    rows = []
    scores = {"p1": {"g1": 0.9, "g2": 0.1}, "p2": {"g1": 0.2, "g2": 0.3}, "p3": {"g1": 0.7, "g2": 0.8},
              "p4": {"g1": 0.1, "g2": 0.2, "p4": 0.4}}
    grp = {"p1": "a", "p2": "a", "p3": "b", "p4": "b"}
    for p, row in scores.items():
        for g, sc in row.items():
            rows.append({"probe_image": f"{p}.jpg", "probe_subject": p, "enrol_subject": g, "enrol_image": f"{g}.jpg",
                         "genuine": g == p, "score": sc, "probe_grp": grp[p]})
    return pd.DataFrame(rows)


def test_rates_people_and_the_flagged_list():
    t = watchlist.searches(table(), ["grp"])
    rows, flagged = watchlist.watchlist_rates(t, 0.5, [["grp"]])
    by = rows.set_index("group")
    assert by.loc["all", "n_false_alarms"] == 2 and by.loc["all", "fpir"] == 0.5
    assert by.loc["a", "n_people_flagged"] == 1 and by.loc["b", "n_people_flagged"] == 1
    assert by.loc["a", "share_of_all_flagged"] == 0.5 and by.loc["b", "share_of_probe_people"] == 0.5
    assert by.loc["b", "n_mated_searches"] == 1 and by.loc["b", "fnir"] == 1.0  # p4's mate scored 0.4 < 0.5
    assert math.isnan(by.loc["a", "fnir"])  # no mated search in group a: undefined, not 0
    assert [f["probe_subject"] for f in flagged] == ["p1", "p3"]
    assert flagged[0]["matched_gallery_subject"] == "g1" and flagged[1]["matched_gallery_subject"] == "g2"
    lo, hi = by.loc["all", "share_people_flagged_lo"], by.loc["all", "share_people_flagged_hi"]
    assert lo < 0.5 < hi
    rows, _ = watchlist.watchlist_rates(t, 0.95, [])
    assert rows.iloc[0]["n_people_flagged"] == 0 and rows.iloc[0]["share_people_flagged_rule_of_3"] == 0.75


def test_fpir_threshold_and_sweep():
    t, got = watchlist.fpir_threshold([0.9, 0.3, 0.8, 0.2], 0.25)
    assert got == 0.25 and 0.8 < t <= 0.9
    sweep = watchlist.gallery_sweep(table(), [("t", 0.5)], [1, 2, 5], seed=1)
    assert sweep["gallery_people"].tolist() == [1, 2] and sweep["fpir"].is_monotonic_increasing
    assert sweep.iloc[-1]["n_false_alarms"] == 2


def test_summary_adds_fpir_thresholds():
    out = watchlist.summary(table(), [("t", 0.5)], [["grp"]], [0.25])
    ids = [t["threshold_id"] for t in out["thresholds"]]
    assert ids == ["t", "fpir=0.25"] and out["thresholds"][1]["flag"]  # 0.25 x 4 searches < 3
