"""BlazeFace post-processing on hand-built tensors: anchors, decoding, weighted NMS, letterboxing."""

from __future__ import annotations

import numpy as np
import pytest

from harness.detect import blazeface as bf

SHORT, FULL = bf.SPECS["blazeface-short"], bf.SPECS["blazeface-full"]


def test_anchor_counts_and_grids():
    a = bf.ssd_anchors(SHORT)
    assert a.shape == (896, 2)
    # stride 8: 16x16 cells, 2 anchors each; first cell centre (0.5/16, 0.5/16), repeated
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 16, 0.5 / 16])  # x runs fastest
    np.testing.assert_allclose(a[511], [15.5 / 16, 15.5 / 16])
    # strides 16, 16, 16 share one 8x8 grid with 3 x 2 = 6 anchors per cell
    np.testing.assert_allclose(a[512:518], np.tile([0.5 / 8, 0.5 / 8], (6, 1)))
    np.testing.assert_allclose(a[-1], [7.5 / 8, 7.5 / 8])
    f = bf.ssd_anchors(FULL)
    assert f.shape == (2304, 2)
    np.testing.assert_allclose(f[0], [0.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(f[48], [0.5 / 48, 1.5 / 48])


def test_decode_box_keypoints_and_score():
    anchors = bf.ssd_anchors(FULL)
    raw = np.zeros((1, 2304, 16))
    logits = np.full((1, 2304, 1), -10.0)
    i = 48 * 10 + 20  # anchor centre ((20.5)/48, (10.5)/48)
    raw[0, i, :4] = [9.6, -19.2, 48.0, 96.0]  # dx = 0.05, dy = -0.1, w = 0.25, h = 0.5 of the square
    raw[0, i, 4:6] = [-19.2, 0.0]  # right eye 0.1 left of the anchor centre
    logits[0, i, 0] = 1e6  # clipped to 100, sigmoid -> 1
    boxes, kps, scores = bf.decode(raw, logits, anchors, FULL, 0.5)
    assert len(scores) == 1 and scores[0] == pytest.approx(1.0)
    cx, cy = 20.5 / 48 + 0.05, 10.5 / 48 - 0.1
    np.testing.assert_allclose(boxes[0], [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25])
    np.testing.assert_allclose(kps[0, 0], [20.5 / 48 - 0.1, 10.5 / 48])
    np.testing.assert_allclose(kps[0, 1], [20.5 / 48, 10.5 / 48])
    logits[0, i, 0] = 0.0  # sigmoid 0.5: kept at 0.5, dropped at 0.51
    assert len(bf.decode(raw, logits, anchors, FULL, 0.5)[2]) == 1
    assert len(bf.decode(raw, logits, anchors, FULL, 0.51)[2]) == 0


def test_weighted_nms_averages_a_cluster_and_keeps_the_best_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [5.0, 5.0, 6.0, 6.0]])
    kps = np.zeros((3, 6, 2))
    kps[1] += 1.0
    scores = np.array([0.9, 0.6, 0.7])
    out = bf.weighted_nms(boxes, kps, scores, 0.3)
    assert [round(s, 2) for _, _, s in out] == [0.9, 0.7]
    np.testing.assert_allclose(out[0][0], [0.04, 0.0, 1.04, 1.0])  # (0.9*0 + 0.6*0.1) / 1.5
    np.testing.assert_allclose(out[0][1], np.full((6, 2), 0.4))
    np.testing.assert_allclose(out[1][0], boxes[2])
    # IoU exactly at the threshold does not merge (MediaPipe merges only above it)
    b = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.3]])
    assert len(bf.weighted_nms(b, np.zeros((2, 6, 2)), np.array([0.9, 0.8]), 0.3)) == 2


def test_letterbox_centres_the_image_in_a_black_square():
    img = np.full((50, 100, 3), 255, np.uint8)
    x, (x0, y0, side) = bf.letterbox(img, 128)
    assert x.shape == (1, 128, 128, 3) and x.dtype == np.float32
    assert (x0, y0, side) == (0.0, -25.0, 100.0)
    assert x[0, 5, 64, 0] == pytest.approx(-1.0) and x[0, 122, 64, 0] == pytest.approx(-1.0)  # padding
    assert x[0, 64, 64, 0] == pytest.approx(1.0)  # image
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_unletterboxed_detection_lands_on_a_synthetic_face(monkeypatch):
    """A model that 'sees' a face at a known place in the square must report it at the image's pixels."""
    det = bf.BlazeFace("blazeface-short")
    anchors = bf.ssd_anchors(SHORT)
    i = 16 * 8 + 8  # anchor (8.5/16, 8.5/16) of the stride-8 grid

    class FakeModel:
        def run(self, x):
            raw = np.zeros((1, 896, 16), np.float32)
            raw[0, i, 2:4] = [32.0, 32.0]  # 0.25 x 0.25 of the square
            logit = np.full((1, 896, 1), -50.0, np.float32)
            logit[0, i] = 5.0
            return {"regressors": raw, "classificators": logit}

    det._model = FakeModel()
    (box, kp, score), = det.raw(np.zeros((200, 400, 3), np.uint8))  # square side 400, y0 = -100
    cx, cy = anchors[i] * 400 + [0, -100]
    np.testing.assert_allclose(box, [cx - 50, cy - 50, cx + 50, cy + 50])
    np.testing.assert_allclose(kp[0], anchors[i] * 400 + [0, -100])
    assert score == pytest.approx(1 / (1 + np.exp(-5.0)))


def test_tile_grid_covers_the_frame_with_overlap():
    tiles = bf.tile_grid(1920, 1080, 3)
    side = tiles[0][2]
    assert side == 432 and len(tiles) == 18
    covered = np.zeros((1080, 1920), bool)
    for x, y, s in tiles:
        assert s == side and x + s <= 1920 and y + s <= 1080
        covered[y:y + s, x:x + s] = True
    assert covered.all()
    xs = sorted({x for x, _, _ in tiles})
    assert min(b - a for a, b in zip(xs, xs[1:])) <= 0.75 * side  # neighbours overlap by >= a quarter
    assert bf.tile_grid(100, 100, 2) == [(0, 0, 58), (42, 0, 58), (0, 42, 58), (42, 42, 58)]
    with pytest.raises(Exception, match="tiles"):
        bf.BlazeFace("blazeface-full", tiles=0)
