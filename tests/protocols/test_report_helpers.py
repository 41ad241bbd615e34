"""Protocol tables and HTML fragment from provenance.protocol (no models)."""

import pandas as pd

from harness.protocols import report
from harness.protocols.pairs import benchmark_figures


def pairs_info():
    listing = pd.DataFrame({"line": range(2, 22), "same": [True, False] * 10,
                            "fold": [str(1 + i // 10) for i in range(20)]})
    pairs = pd.DataFrame({"line": range(3, 22), "score": [-1.0, 1.0] * 9 + [-1.0]})  # line 2 lost to FTA
    return {"kind": "pairs", "results": benchmark_figures(listing, pairs, "reject", [0.1])}


def test_pairs_tables_and_html(tmp_path):
    info = pairs_info()
    assert info["results"]["n_lost_to_fta"] == 1 and info["results"]["lost_lines"] == [2]
    files = report.write_tables(info, tmp_path)
    assert set(files) == {"protocol_lfw_folds", "protocol_tar_at_far"}
    folds = pd.read_csv(tmp_path / files["protocol_lfw_folds"])
    assert folds["n_lost"].tolist() == [1, 0] and folds["accuracy"].tolist() == [0.9, 1.0]
    page = report.html_section(info)
    assert "95.00% ± 5.00%" in page and "1 of 20 listed pairs" in page and "scored as &#x27;different&#x27;" in page


def test_nothing_for_split():
    assert report.html_section({"kind": "split", "results": {}}) == "" and report.tables(None) == {}


def test_rfw_style_group_labels_give_per_group_accuracy():
    listing = pd.DataFrame({"line": range(2, 42), "same": [True, False] * 20,
                            "fold": [str(1 + (i // 10) % 2) for i in range(40)],
                            "group": ["African"] * 20 + ["Asian"] * 20})
    # African pairs perfectly separated; Asian ones always scored "same"
    pairs = pd.DataFrame({"line": range(2, 42), "score": [1.0, -1.0] * 10 + [1.0] * 20})
    res = benchmark_figures(listing, pairs, "reject", [0.1])
    assert res["by_group"]["African"]["mean"] == 1.0 and res["by_group"]["Asian"]["mean"] == 0.5
    assert res["by_group"]["Asian"]["n_folds"] == 2
    page = report.html_section({"kind": "pairs", "results": res})
    assert "Per group of the list" in page and "African" in page
