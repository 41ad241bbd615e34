"""Images a detector cannot use become a counted failure to acquire with a reason, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness import detect, embed
from harness.detect.base import as_rgb8
from harness.errors import FaceriskError
from harness.pipeline import acquire_image

DETECTORS = ["dlib-hog", "blazeface-short", "blazeface-full", "haar"]


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("odd")
    rng = np.random.default_rng(0)
    files = {}
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(d / "1x1.png")
    files["1x1"] = d / "1x1.png"
    Image.fromarray(rng.integers(0, 65535, (64, 48), dtype=np.uint16)).save(d / "16bit.png")
    files["16-bit"] = d / "16bit.png"
    Image.fromarray(rng.integers(0, 255, (40, 60), dtype=np.uint8), "L").save(d / "grey.png")
    files["grey"] = d / "grey.png"
    Image.fromarray(rng.integers(0, 255, (30, 30, 4), dtype=np.uint8), "RGBA").save(d / "rgba.png")
    files["rgba"] = d / "rgba.png"
    Image.fromarray(np.zeros((3, 2000, 3), np.uint8)).save(d / "sliver.png")
    files["3x2000"] = d / "sliver.png"
    return files


@pytest.fixture(scope="module")
def backends():
    out = {}
    for name in DETECTORS:
        det = detect.make(name)
        det.load()
        out[name] = det
    emb = embed.make("dlib-resnet-v1")
    emb.load()
    return out, emb


@pytest.mark.parametrize("name", DETECTORS)
def test_odd_images_are_a_counted_fta(name, odd_files, backends):
    dets, emb = backends
    for kind, path in odd_files.items():
        rec = acquire_image(str(path), dets[name], emb, "largest", 40_000_000)
        assert rec["status"] == "fta" and rec["reason"] == "no_face", (name, kind, rec["status"])


def test_as_rgb8_takes_what_arrays_come_as():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert as_rgb8(grey).shape == (3, 4, 3) and (as_rgb8(grey)[..., 2] == grey).all()
    assert as_rgb8(grey[..., None]).shape == (3, 4, 3)
    assert as_rgb8(np.full((2, 2, 3), 65535, np.uint16)).max() == 255
    assert as_rgb8(np.full((2, 2, 3), 0.5)).max() == 128
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent black composites to white, as load_rgb does
    assert (as_rgb8(rgba) == 255).all()
    rgb = np.zeros((2, 2, 3), np.uint8)
    assert as_rgb8(rgb).flags["C_CONTIGUOUS"]
    for bad in (np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros(5, np.uint8),
                np.zeros((2, 2, 3), np.complex64)):
        with pytest.raises(FaceriskError, match="detector input"):
            as_rgb8(bad)


@pytest.mark.parametrize("name", ["blazeface-full", "haar"])
def test_direct_arrays_of_any_depth_do_not_crash(name, backends):
    det = backends[0][name]
    for arr in (np.zeros((1, 1, 3), np.uint8), np.zeros((5, 7), np.uint16), np.zeros((9, 9, 4), np.uint8)):
        assert det.detect(arr) == []
