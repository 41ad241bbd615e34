"""LFW-style fold accuracy and TAR at FAR (harness.metrics.lfw), against brute force on small lists."""

import math

import numpy as np
import pytest

from harness.metrics import lfw


def brute_accuracy(scores, same, folds, lost, policy):
    accs = []
    for f in sorted(set(folds)):
        tr = (folds != f) & ~lost
        u = np.unique(scores[tr])
        cands = np.concatenate([[u[0] - 1], (u[:-1] + u[1:]) / 2, [u[-1] + 1]])  # the documented rule: midpoints
        best = max(cands, key=lambda t: (((scores[tr] >= t) == same[tr]).sum(), -t))  # the lowest of equals
        te = folds == f
        pred = (scores >= best) & ~lost
        keep = te if policy == "reject" else te & ~lost
        accs.append((pred[keep] == same[keep]).mean())
    return np.array(accs)


@pytest.mark.parametrize("policy", ["reject", "exclude"])
def test_fold_accuracy_matches_brute_force(policy):
    rng = np.random.default_rng(3)
    n = 400
    same = rng.random(n) < 0.5
    scores = np.where(same, rng.normal(1, 1, n), rng.normal(-1, 1, n))
    folds = np.repeat(np.arange(10).astype(str), n // 10)
    lost = rng.random(n) < 0.05
    got = lfw.fold_accuracies(scores, same, folds, lost, policy)
    want = brute_accuracy(scores, same, folds, lost, policy)
    assert np.allclose([r["accuracy"] for r in got["folds"]], want)
    assert math.isclose(got["mean"], want.mean())
    assert math.isclose(got["standard_error"], want.std(ddof=1) / math.sqrt(10))
    assert sum(r["n_lost"] for r in got["folds"]) == lost.sum()


def test_lost_pairs_scored_as_different_under_reject():
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.9, 0.8, 0.1, 0.2])
    same = np.array([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    folds = np.array(["1"] * 4 + ["2"] * 4)
    lost = np.array([1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)  # one same, one different pair lost in fold 1
    rej = lfw.fold_accuracies(scores, same, folds, lost, "reject")
    exc = lfw.fold_accuracies(scores, same, folds, lost, "exclude")
    assert rej["folds"][0]["accuracy"] == 3 / 4  # the lost same pair is wrong, the lost different pair right
    assert exc["folds"][0]["accuracy"] == 1.0 and exc["folds"][0]["n_scored"] == 2


def test_one_fold_is_refused():
    with pytest.raises(ValueError, match="two folds"):
        lfw.fold_accuracies([0.1, 0.2], [True, False], ["1", "1"])


def test_tar_at_far():
    imp = np.linspace(0, 1, 1000)  # 1000 different-person pairs
    gen = np.array([0.5, 0.995, 0.9995, 2.0])
    scores = np.concatenate([imp, gen])
    same = np.concatenate([np.zeros(1000, bool), np.ones(4, bool)])
    (r,) = lfw.tar_at_far(scores, same, [1e-2])
    assert r["far"] <= 1e-2 and r["far"] == 10 / 1000  # the lowest threshold allowed: 10 false accepts
    assert r["tar"] == 3 / 4  # 0.995, 0.9995 and 2.0 are above the 11th highest impostor score, 0.5 is not
    (r,) = lfw.tar_at_far(scores, same, [1e-3])
    assert r["flag"]  # 1 allowed false accept among 1000: below 3/N
