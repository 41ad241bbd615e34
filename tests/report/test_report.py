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
    assert (tiny.status == "insufficient").all() and (tiny.n_subjects == 1).all() and (tiny.n_people == 1).all()
    assert (g.n_people <= g.n_subjects).all() and (g.n_people_fmr <= g.n_people).all()
    assert (g[(g.slice == "gender")].status == "ok").all()


def test_html_is_self_contained_and_readable(real_run):
    res, out, cfg = real_run
    html = (out / "report.html").read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "report must not load anything from the network"
    # Per slice: FMR bars and score distributions (no DET: no group had a false non-match, so a DET would be
    # flat); a watchlist plot per single attribute. The cross-group heatmaps are tables (test_cross_group_tables).
    n_t, n_slices = len(res.thresholds), len(res.slices)
    assert not (res.groups.n_false_non_match > 0).any()
    assert html.count("data:image/png;base64,") == n_slices * 2 + 3
    assert "In brief" in html and "CC BY 4.0" in html and "DeBruine" in html
    assert "insufficient" in html
    assert '<meta name="viewport"' in html and 'class="scroll"' in html and "@media print" in html
    assert "Same-group risk" in html and "Operational projection" in html and "What this run cannot tell you" in html
    assert "age_band" not in html.split("<h2>Provenance</h2>")[0].replace("age_band_", ""), "raw identifier shown"
    assert "fmr_max_min_ratio" not in html.split("<h2>Provenance</h2>")[0]


def test_cross_group_tables_hold_every_cell_of_cross_group_csv(real_run):
    """One coloured table per slice and threshold; its cells, row by row, are cross_group.csv's counts."""
    import html as html_lib

    from harness.report import labels
    from harness.report.labels import threshold_label

    res, out, cfg = real_run
    html = (out / "report.html").read_text()
    tables = re.findall(r'<table class="heat">.*?</table>', html, flags=re.S)
    assert len(tables) == len(res.slices) * len(res.thresholds)
    cross = pd.read_csv(out / "cross_group.csv", keep_default_na=False, na_values=[""])
    cell = re.compile(r'<td style="background:#[0-9a-f]{6};color:#[0-9a-f]{6}" title="[^"]*">([^<]*)'
                      r'(?:<br><small>([^<]*)</small>)?</td>')
    i = 0
    for attrs in res.slices:
        for t in res.thresholds:
            c = cross[(cross.slice == " × ".join(attrs)) & (cross.threshold_id == t.id)]
            c = c.sort_values(["enrol_group", "probe_group"])
            got = cell.findall(tables[i])
            want = [(labels.pct(k / n), f"{k:,} / {n:,}") if n else ("no pairs", "")
                    for k, n in zip(c.n_false_match, c.n_impostor)]
            assert got == want, (attrs, t.id)
            assert html_lib.escape(threshold_label(t.to_dict())) in tables[i].split("</caption>")[0]
            i += 1
    assert "Who is falsely matched to whom" in html


def test_clean_turns_nan_and_numpy_into_json():
    out = _clean({"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, 1.5], "d": np.array([1, 2])})
    assert out == {"a": None, "b": 3, "c": [None, 1.5], "d": [1, 2]}
    json.dumps(out, allow_nan=False)


def test_metrics_tables_are_written_and_consistent(real_run):
    res, out, cfg = real_run
    results = json.loads((out / "results.json").read_text())
    for key in ("summaries", "cross_group", "per_group_thresholds", "identification", "gallery_size", "cmc",
                "det_bands"):
        assert (out / results["files"][key]).is_file(), key
    cross = pd.DataFrame(results["cross_group"])
    groups = pd.DataFrame(results["groups"])
    for tid in cross.threshold_id.unique():
        c = cross[(cross.threshold_id == tid) & (cross.slice == "ethnicity")]
        g = groups[(groups.threshold_id == tid) & (groups.slice == "ethnicity")]
        # Summing the heatmap over enrolled groups gives each probe group's row of groups[].
        by_probe = c.groupby("probe_group").n_false_match.sum()
        assert (by_probe.reindex(g.group).to_numpy() == g.n_false_match.to_numpy()).all()
    g = groups.dropna(subset=["fmr_boot_lo"])
    assert len(g) and ((g.fmr_boot_lo <= g.fmr + 1e-12) & (g.fmr <= g.fmr_boot_hi + 1e-12)).all()
    s = pd.DataFrame(results["summaries"])
    assert set(s.summary) >= {"fmr_max_min_ratio", "fmr_max_geomean_ratio", "fdr", "garbe", "inequity_rate", "fmr_gini"}
    assert {"verdict_holm", "p_boot", "p_holm", "n_tests"} <= set(s.columns)
    # No replicate is dropped for being infinite: an unbounded limit is flagged, never a finite number.
    csv = pd.read_csv(out / "summaries.csv")
    for rec, row in zip(results["summaries"], csv.itertuples()):
        for key in ("value", "lo", "hi"):
            if np.isinf(getattr(row, key)):
                assert rec[key] is None and key in rec["unbounded"]
    same = pd.DataFrame(results["same_group"])
    assert set(same.slice) == {"gender", "ethnicity", "age_band", "gender × ethnicity"}
    assert set(same.threshold_id) == {t.id for t in res.thresholds}
    assert (same.n_impostor <= same.n_impostor_all).all()
    proj = pd.DataFrame(results["projection"]["rows"])
    assert set(proj.watchlist_size) == set(cfg.projection.watchlist_sizes) and results["projection"]["assumptions"]
    ident = pd.DataFrame(results["identification"]["searches"])
    assert (ident[ident.slice == "all"].n_mated == 102).all()


def test_scores_recompute_without_models(real_run, tmp_path):
    """'facerisk metrics' on the run's own pairs.csv reproduces its per-group table exactly."""
    from harness.cli import main

    res, out, cfg = real_run
    rc = main(["metrics", str(out / "pairs.csv"), "--acquisitions", str(out / "acquisitions.csv"),
               "--out", str(tmp_path / "m")])
    assert rc == 0
    a = pd.read_csv(tmp_path / "m" / "groups.csv")
    b = pd.read_csv(out / "groups.csv")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m" / "summaries.csv"), pd.read_csv(out / "summaries.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m" / "same_group.csv"), pd.read_csv(out / "same_group.csv"))


def test_report_carries_the_fingerprint_of_its_files(real_run):
    from harness.report.bundle import fingerprint

    res, out, cfg = real_run
    fp = fingerprint(out)
    assert len(fp) == 16 and f'id="fingerprint">{fp}<' in (out / "report.html").read_text()


def test_brief_in_the_page_obeys_the_rules(real_run):
    from tests.report.test_claims import check_brief_rules

    res, out, cfg = real_run
    html = (out / "report.html").read_text()
    brief = html.split('<div class="brief">')[1].split("</div>")[0]
    paragraphs = [re.sub("<[^>]+>", "", p) for p in brief.split("<p>") if p.strip()]
    import html as h

    check_brief_rules({"paragraphs": [h.unescape(p) for p in paragraphs], "cannot": ["x"]}, simulated=False)


def test_every_abbreviation_on_the_page_is_in_the_glossary(real_run):
    from harness.report.labels import GLOSSARY, abbreviations

    res, out, cfg = real_run
    html = (out / "report.html").read_text().split("<h2>Provenance</h2>")[0]
    text = re.sub(r"<style>.*?</style>|<[^>]+>|data:image/png;base64,[A-Za-z0-9+/=]+", " ", html, flags=re.S)
    known = set(GLOSSARY) | {"ISO", "IEC", "NIST", "FRVT", "CSV", "JSON", "HTML", "UTC", "CC", "BY", "DOI", "RGB",
                             "ONNX", "HOG", "CNN", "MB", "ID"}
    missing = sorted(abbreviations(text) - known)
    assert not missing, f"abbreviations without a glossary entry: {missing}"


def test_a_dollar_in_a_group_label_is_text_not_maths():
    """A '$' in a label ('$5 coupon' group, a file name) used to be rendered as mathtext."""
    from harness.report import plots

    plt = plots.pyplot()  # the report's pyplot, with its rcParams

    fig, ax = plt.subplots()
    t = ax.set_title("cost $x_1$ group")
    fig.canvas.draw()
    assert t.get_text() == "cost $x_1$ group"
    assert t._preprocess_math(t.get_text())[1] is False  # matplotlib's own test of "is this mathtext?"
    plt.close(fig)
