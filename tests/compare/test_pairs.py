import numpy as np
import pandas as pd
import pytest

from harness.compare import build_pairs, cosine_similarity, euclidean_distance


def sides():
    e = pd.DataFrame({"image": ["e1", "e2", "e3"], "subject_id": ["a", "b", "c"], "g": ["f", "m", "f"]})
    p = pd.DataFrame({"image": ["p1", "p2", "p3"], "subject_id": ["a", "b", "c"], "g": ["f", "m", "f"]})
    rng = np.random.default_rng(0)
    return e, p, rng.normal(size=(3, 8)), rng.normal(size=(3, 8))


def test_all_pairs_scores_and_labels():
    e, p, te, tp = sides()
    pairs = build_pairs(e, p, te, tp, ["g"])
    assert len(pairs) == 9 and pairs.genuine.sum() == 3
    for _, r in pairs.iterrows():
        i, j = int(r.enrol_image[1]) - 1, int(r.probe_image[1]) - 1
        assert r.euclidean == pytest.approx(np.linalg.norm(te[i] - tp[j]))
        assert r.cosine == pytest.approx(te[i] @ tp[j] / np.linalg.norm(te[i]) / np.linalg.norm(tp[j]))
        assert r.enrol_g == e.g[i] and r.probe_g == p.g[j]


def test_matched_impostors_keep_only_same_group():
    e, p, te, tp = sides()
    pairs = build_pairs(e, p, te, tp, ["g"], impostors="matched", match_on=["g"])
    assert pairs.genuine.sum() == 3
    imp = pairs[~pairs.genuine]
    assert len(imp) == 2 and (imp.enrol_g == imp.probe_g).all()


def test_distance_helpers():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(euclidean_distance(a, a), [[0, 5], [5, 0]])
    assert np.allclose(cosine_similarity(a, a)[1, 1], 1.0) and cosine_similarity(a, a)[0, 1] == 0.0
