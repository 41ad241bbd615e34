"""The cross-group FMR table: every cell's numbers, a colour that grows with the rate, readable text."""

import pandas as pd

from harness.report import heat
from harness.report.heat import RAMP, ZERO_BG, ramp_colour, table, text_colour


def _contrast(a: str, b: str) -> float:
    la, lb = heat._luminance(a), heat._luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _long(cells):
    rows = [{"enrol_group": e, "probe_group": p, "n_impostor": n, "n_false_match": k, "fmr": k / n if n else float("nan"),
             "fmr_lo": 0.0, "fmr_hi": 0.5} for e, p, k, n in cells]
    return pd.DataFrame(rows)


def test_text_is_readable_on_every_cell_colour():
    for bg in RAMP + [ZERO_BG, heat.NO_PAIRS_BG]:
        assert _contrast(text_colour(bg), bg) >= 4.5, bg


def test_colour_darkens_with_the_rate_and_spans_the_ramp():
    lum = [heat._luminance(ramp_colour(v, 1e-4, 1e-1)) for v in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)]
    assert lum == sorted(lum, reverse=True)
    assert ramp_colour(1e-4, 1e-4, 1e-1) == RAMP[0] and ramp_colour(1e-1, 1e-4, 1e-1) == RAMP[-1]


def test_cells_give_rate_counts_and_mark_zero_and_empty_cells():
    t = table(_long([("a", "a", 3, 100), ("a", "b", 0, 50), ("b", "a", 30, 100), ("b", "b", 0, 0)]), str.upper)
    assert t["cols"] == ["A", "B"] and [r["group"] for r in t["rows"]] == ["A", "B"]
    (aa, ab), (ba, bb) = (r["cells"] for r in t["rows"])
    assert (aa["rate"], aa["counts"], aa["bg"]) == ("3.0%", "3 / 100", RAMP[0])       # lowest non-zero: lightest
    assert (ba["rate"], ba["counts"], ba["bg"]) == ("30.0%", "30 / 100", RAMP[-1])      # highest: darkest
    assert (ab["rate"], ab["counts"], ab["bg"]) == ("0%", "0 / 50", ZERO_BG)           # a measured zero: grey
    assert bb["rate"] == "no pairs" and bb["counts"] == ""
    assert (t["lo"], t["hi"]) == ("3.0%", "30.0%") and t["any_positive"]
    assert "95%" in aa["tip"]


def test_a_table_without_false_matches_says_so():
    t = table(_long([("a", "a", 0, 10), ("a", "b", 0, 10)]))
    assert not t["any_positive"] and {c["bg"] for c in t["rows"][0]["cells"]} == {ZERO_BG}
