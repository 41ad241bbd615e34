"""LiteRT and onnxruntime (tflite2onnx conversion) BlazeFace agree on every frl-london image."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.images import load_rgb
from harness.detect.blazeface import BlazeFace

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("variant", ["blazeface-short", "blazeface-full"])
def test_same_detections_within_one_pixel(variant, frl_images, model_cache):
    lite, onnx = BlazeFace(variant, "litert"), BlazeFace(variant, "onnxruntime")
    lite.load()
    onnx.load()
    assert onnx.provenance()["conversion"]["converter"].startswith("tflite2onnx")
    found = 0
    worst = 0.0
    for p in frl_images:
        img = load_rgb(p)
        a, b = lite.raw(img), onnx.raw(img)
        assert len(a) == len(b), f"{p.name}: {len(a)} faces under LiteRT, {len(b)} under onnxruntime"
        for (ba, ka, sa), (bb, kb, sb) in zip(a, b):
            worst = max(worst, float(np.abs(ba - bb).max()), float(np.abs(ka - kb).max()))
            assert np.abs(np.round(ba) - np.round(bb)).max() <= 1, p.name
            assert abs(sa - sb) < 1e-3, p.name
        found += len(a) > 0
    assert worst < 1.0
    assert found >= 200  # the frontal studio photos are nearly all found; a broken conversion finds none
