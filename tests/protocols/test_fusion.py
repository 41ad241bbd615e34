"""Several enrolment images per person: best-score and mean-template fusion (protocol.fusion)."""

import numpy as np
import pandas as pd
import pytest

from harness import config
from harness.protocols import make
from harness.protocols.base import mean_templates


def acq_and_records():
    # person A: two enrolment images at (0,0) and (2,0); B: one at (10,0); probes: A at (1.9,0), B at (10,1)
    rows = [("a1", "A", "enrol", [0, 0]), ("a2", "A", "enrol", [2, 0]), ("b1", "B", "enrol", [10, 0]),
            ("a3", "A", "probe", [1.9, 0]), ("b2", "B", "probe", [10, 1])]
    acq = pd.DataFrame([{"image": i, "subject_id": s, "role": r, "ok": True, "gender": "x"} for i, s, r, _ in rows])
    return acq, [{"embedding": np.array(v, dtype=float)} for *_, v in rows]


@pytest.mark.parametrize("fusion, n_pairs, genuine_a", [("none", 6, [1.9, 0.1]), ("best", 4, [0.1]),
                                                       ("mean", 4, [0.9])])
def test_fusion(fusion, n_pairs, genuine_a):
    cfg = config.load(overrides=[f"protocol.fusion={fusion}"])
    acq, records = acq_and_records()
    pairs = make(cfg).pairs(acq, records, [["gender"]])
    assert len(pairs) == n_pairs
    a = pairs[(pairs["enrol_subject"] == "A") & pairs["genuine"]]["euclidean"].round(6).tolist()
    assert sorted(a) == sorted(genuine_a)
    assert (pairs["score"] == -pairs["euclidean"]).all()


def test_mean_templates_names_the_fused_images():
    acq, records = acq_and_records()
    enrol = acq[acq["role"] == "enrol"].reset_index(drop=True)
    rows, t = mean_templates(enrol, np.array([r["embedding"] for r in records[:3]]))
    assert rows["image"].tolist() == ["a1+a2", "b1"] and np.allclose(t, [[1, 0], [10, 0]])


def test_fusion_does_not_apply_to_listed_pairs():
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="fusion"):
        make(config.load(overrides=["protocol.kind=all", "protocol.fusion=mean"])).roles(None)
