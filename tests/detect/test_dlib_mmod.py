"""dlib-cnn-onnx gives dlib's own MMOD detections: same faces, boxes within 1 px, confidences within 1e-3.

The reference is ``dlib.cnn_face_detection_model_v1`` itself (dlib's CPU convolutions: ~2 s per
320x320 frl-london image at upsample 1, ~20 s per 1920x1080 frame at upsample 0), so the default
run checks 11 frl-london images (every 20th) and one whole doorbell frame; the other 193 images and two
more frames (about 8 minutes in all) run with FACERISK_LONG_TESTS=1.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from harness import detect
from harness.data.images import load_rgb
from harness.errors import FaceriskError

BOX_PX, CONF = 1, 1e-3
SUBSET = slice(0, None, 20)  # 11 of the 204 images, spread over subjects
LONG = pytest.mark.skipif(os.environ.get("FACERISK_LONG_TESTS") != "1",
                          reason="minutes of dlib's own CNN on CPU; FACERISK_LONG_TESTS=1 runs it")


@pytest.fixture(scope="module")
def dlib_cnn():
    import dlib

    from harness.modelfiles import dlib_model

    net = dlib.cnn_face_detection_model_v1(str(dlib_model("mmod_human_face_detector.dat")))

    def run(img, upsample):
        return [((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), float(d.confidence))
                for d in net(img, upsample)]
    return run


@pytest.fixture(scope="module")
def ours():
    made = {}

    def get(upsample):
        if upsample not in made:
            made[upsample] = detect.make("dlib-cnn-onnx", upsample=upsample)
            made[upsample].load()
        return made[upsample]
    return get


def _assert_same(tag, mine, ref):
    assert len(mine) == len(ref), f"{tag}: {len(mine)} detections, dlib {len(ref)}: {mine} vs {ref}"
    worst_box, worst_conf = 0, 0.0
    for (box, score), (rbox, rscore) in zip(sorted(mine), sorted(ref)):
        worst_box = max(worst_box, max(abs(a - b) for a, b in zip(box, rbox)))
        worst_conf = max(worst_conf, abs(score - rscore))
    assert worst_box <= BOX_PX and worst_conf <= CONF, f"{tag}: box {worst_box} px, confidence {worst_conf:.2e}"
    return worst_box, worst_conf


def _check_frl(paths, dlib_cnn, ours):
    worst = (0, 0.0)
    for p in paths:
        img = load_rgb(p)
        b, c = _assert_same(p.name, ours(1).raw(img), dlib_cnn(img, 1))
        worst = (max(worst[0], b), max(worst[1], c))
    print(f"{len(paths)} images: max box difference {worst[0]} px, max confidence difference {worst[1]:.2e}")


@pytest.mark.realdata
def test_frl_subset_matches_dlib_at_upsample_1(frl_images, dlib_cnn, ours):
    _check_frl(frl_images[SUBSET], dlib_cnn, ours)


@pytest.mark.realdata
@pytest.mark.slow
@LONG
def test_every_other_frl_image_matches_dlib_at_upsample_1(frl_images, dlib_cnn, ours):
    rest = [p for i, p in enumerate(frl_images) if p not in frl_images[SUBSET]]
    _check_frl(rest, dlib_cnn, ours)


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("index,distance,clutter", [pytest.param(0, 1.0, False, marks=LONG), (10, 1.5, False),
                                                    pytest.param(61, 1.2, True, marks=LONG)])
def test_whole_doorbell_frames_match_dlib_at_upsample_0(frl_images, dlib_cnn, ours, index, distance, clutter):
    from harness.degrade import capture

    img = load_rgb(frl_images[index])
    lm = detect.make("dlib-hog").detect(img)[0].landmarks
    cap = capture.load("doorbell-1080p-day").with_value("distance", distance)
    rng = np.random.default_rng(index)
    bg = (rng.random((1080, 1920, 3)) * 255).astype(np.uint8) if clutter else None
    frame, info = capture.render_frame(img, lm, cap, np.random.default_rng(index), background=bg)
    frame = np.ascontiguousarray(frame)
    assert frame.shape == (1080, 1920, 3)
    ref = dlib_cnn(frame, 0)
    assert ref, f"dlib found no face at {distance} m: the frame does not test detection"
    _assert_same(f"{frl_images[index].name} at {distance} m", ours(0).raw(frame), ref)


@pytest.mark.realdata
def test_landmarks_are_dlibs_inside_the_same_box(frl_images):
    img = load_rgb(frl_images[0])
    mine = detect.make("dlib-cnn-onnx").detect(img)
    theirs = detect.make("dlib-cnn").detect(img)
    assert [d.box for d in mine] == [d.box for d in theirs]
    assert np.array_equal(mine[0].landmarks, theirs[0].landmarks) and mine[0].landmarks.shape == (5, 2)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 300, 3), (30, 30, 3)])
def test_images_too_small_for_the_net_find_nothing(ours, shape):
    assert ours(0).detect(np.full(shape, 128, np.uint8)) == []


def test_sixteen_bit_and_grey_inputs_are_taken(ours):
    grey16 = np.full((64, 64), 40000, np.uint16)
    assert ours(0).detect(grey16) == []


def test_a_model_file_that_is_not_the_carded_one_is_refused(monkeypatch):
    from harness.detect import dlib_mmod

    monkeypatch.setattr(dlib_mmod, "SHA256", "0" * 64)
    with pytest.raises(FaceriskError, match="pinned by models/detector-dlib-cnn-onnx.yaml"):
        detect.make("dlib-cnn-onnx").load()


def test_bad_options_are_one_line_errors():
    with pytest.raises(FaceriskError, match="detector.upsample"):
        detect.make("dlib-cnn-onnx", upsample=9)
    with pytest.raises(FaceriskError, match="detector.threads"):
        detect.make("dlib-cnn-onnx", threads=0)


def test_provenance_names_weights_runtime_and_parity(ours):
    from harness.detect.dlib_mmod import SHA256

    prov = ours(0).provenance()
    assert prov["runtime"] == "onnxruntime" and prov["provider"] == "CPUExecutionProvider"
    assert prov["model_sha256"] == SHA256 and prov["upsample"] == 0 and prov["threads"] == 1
    assert "pyramid_down<6>" in prov["pyramid"] and "test_dlib_mmod" in prov["parity"]
    assert "shape predictor inside the dlib-cnn-onnx box" in prov["landmarks"]


def test_tiled_pyramid_layout_follows_dlib():
    """320x320: levels of floor(5/6 n) (pyramid_down<6>), outer padding 11, disjoint tiles inside the tensor."""
    from harness.detect.dlib_mmod import tiled_pyramid_rects

    rects, nr, nc = tiled_pyramid_rects(320, 320)
    assert nc == 320 + 22 and rects[0] == (11, 11, 330, 330)
    sizes = [(r - l + 1, b - t + 1) for l, t, r, b in rects]
    assert sizes[:4] == [(320, 320), (266, 266), (221, 221), (184, 184)]
    assert all(h >= 5 for _, h in sizes)
    for i, a in enumerate(rects):  # tiles never overlap and lie inside the tensor
        assert 0 <= a[0] and 0 <= a[1] and a[2] < nc and a[3] < nr
        for b in rects[i + 1:]:
            assert max(a[0], b[0]) > min(a[2], b[2]) or max(a[1], b[1]) > min(a[3], b[3])
