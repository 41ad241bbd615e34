"""Every detector has a card whose pinned sha256 is the file the code loads (and the code checks)."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness import detect
from harness.detect import blazeface, haar
from harness.modelfiles import dlib_model, sha256_model

MODELS = Path(__file__).resolve().parents[2] / "models"


def _card(name):
    return yaml.safe_load((MODELS / f"detector-{name}.yaml").read_text())


def test_a_card_per_detector():
    for name in detect.REGISTRY:
        if name != "null":
            card = _card(name)
            assert card["backend"] == name and card["licence"] and card["designed_for"] and card["published_figures"]


def test_blazeface_cards_pin_the_shipped_files():
    for name, spec in blazeface.SPECS.items():
        card = _card(name)
        assert spec.card == f"models/detector-{name}.yaml"
        assert card["file"] == spec.file and card["sha256"] == spec.sha256
        assert card["files"][spec.file]["sha256"] == spec.sha256
        assert sha256_model(blazeface.model_path(spec)) == spec.sha256
        assert "Apache-2.0" in card["licence"] and "MIT" in card["licence"]


def test_haar_and_dlib_cards_pin_the_files():
    card = _card("haar")
    assert card["sha256"] == haar.SHA256 == sha256_model(haar.cascade_path())
    for name in ("dlib-hog", "dlib-cnn"):
        for fname, entry in _card(name)["files"].items():
            assert entry["sha256"] == sha256_model(dlib_model(fname))
