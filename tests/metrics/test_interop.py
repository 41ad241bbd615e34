import numpy as np
import pandas as pd
import pytest

from harness.errors import DatasetError
from harness.metrics import Threshold, group_frame
from harness.metrics.interop import acquisitions_from_pairs, metric_frame, read_scores


def pairs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["f", "m"], n)
    e, p = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    out = pd.DataFrame({"enrol_subject": e.astype(str), "probe_subject": p.astype(str), "genuine": e == p,
                        "enrol_gender": g[e], "probe_gender": g[p]})
    out["euclidean"] = np.where(out.genuine, rng.normal(0.4, 0.1, len(out)), rng.normal(0.8, 0.1, len(out)))
    out["score"] = -out["euclidean"]
    return out


def test_fairlearn_metric_frame_agrees_with_group_frame():
    pytest.importorskip("fairlearn")
    pr = pairs()
    mf = metric_frame(pr, -0.6, ["gender"])
    acq = acquisitions_from_pairs(pr, ["gender"])
    gf = group_frame(pr, acq, [Threshold("t", "fixed", -0.6, 0.6, "euclidean")], [["gender"]])
    for g in ("f", "m"):
        row = gf[(gf.slice == "gender") & (gf.group == g)].iloc[0]
        assert mf.by_group.loc[g, "fmr"] == pytest.approx(row.fmr)
        assert mf.by_group.loc[g, "fnmr"] == pytest.approx(row.fnmr)
    assert mf.overall["fmr"] == pytest.approx(gf[gf.slice == "all"].fmr.iloc[0])


def test_score_file_roundtrip(tmp_path):
    pr = pairs()
    pr.drop(columns="score").to_csv(tmp_path / "s.csv", index=False)
    back = read_scores(tmp_path / "s.csv", "euclidean")
    assert np.allclose(back.score, -pr.euclidean) and back.genuine.dtype == bool


def test_score_file_errors_name_the_problem(tmp_path):
    pr = pairs()
    pr.drop(columns=["genuine"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DatasetError, match="missing column.*genuine"):
        read_scores(tmp_path / "a.csv", "euclidean")
    bad = pr.copy()
    bad["euclidean"] = bad["euclidean"].astype(object)
    bad.loc[3, "euclidean"] = "n/a"
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DatasetError, match="row 5: euclidean is not a number"):
        read_scores(tmp_path / "b.csv", "euclidean")
    with pytest.raises(DatasetError, match="not found"):
        read_scores(tmp_path / "nope.csv", "euclidean")
