"""Alignment templates: Umeyama similarity fit, ArcFace 112x112 chips, landmark mappings, dlib's chip."""

import numpy as np
import pytest

from harness.detect.base import Detection
from harness.embed import align
from harness.errors import ConfigError


def _similarity(theta, scale, shift):
    c, s = np.cos(theta), np.sin(theta)
    m = np.zeros((2, 3))
    m[:, :2] = scale * np.array([[c, -s], [s, c]])
    m[:, 2] = shift
    return m


def _apply(m, pts):
    return pts @ m[:, :2].T + m[:, 2]


@pytest.mark.parametrize("seed", range(5))
def test_umeyama_recovers_a_known_similarity(seed):
    rng = np.random.default_rng(seed)
    m = _similarity(rng.uniform(-1, 1), rng.uniform(0.3, 3), rng.uniform(-50, 50, 2))
    src = rng.uniform(0, 200, (5, 2))
    np.testing.assert_allclose(align.umeyama(src, _apply(m, src)), m, atol=1e-9)


def test_umeyama_is_the_least_squares_fit_and_never_reflects():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    dst = _apply(_similarity(0.3, 1.5, [4, -2]), src) + rng.normal(0, 2, (5, 2))
    m = align.umeyama(src, dst)
    err = ((_apply(m, src) - dst) ** 2).sum()
    for _ in range(50):  # any nearby similarity fits worse
        p = _similarity(0.3 + rng.normal(0, .02), 1.5 * (1 + rng.normal(0, .02)), m[:, 2] + rng.normal(0, .5, 2))
        assert ((_apply(p, src) - dst) ** 2).sum() >= err - 1e-9
    mirrored = src * [-1, 1]  # a mirror image: the best rotation still has det > 0
    assert np.linalg.det(align.umeyama(src, mirrored)[:, :2]) > 0


def _scene(kind):
    """An image with bright dots where a face's five keypoints are, placed by a known similarity."""
    m = _similarity(0.25, 2.0, [60.0, 40.0])
    pts = _apply(m, align.ARCFACE_112)
    img = np.zeros((400, 400, 3), np.uint8)
    for x, y in pts:
        img[int(round(y)) - 2:int(round(y)) + 3, int(round(x)) - 2:int(round(x)) + 3] = 255
    if kind == "keypoints":
        face = Detection((0, 0, 400, 400), 1.0, keypoints=pts)
    else:
        lm = np.zeros((68, 2))
        lm[36:42], lm[42:48], lm[30], lm[48], lm[54] = pts[0], pts[1], pts[2], pts[3], pts[4]
        face = Detection((0, 0, 400, 400), 1.0, lm)
    return img, face


@pytest.mark.parametrize("kind", ["keypoints", "dlib68"])
def test_arcface_chip_puts_the_keypoints_on_the_template(kind):
    img, face = _scene(kind)
    chip = align.arcface_chip(img, face)
    assert chip.shape == (112, 112, 3) and chip.dtype == np.uint8
    for x, y in align.ARCFACE_112:  # every dot lands on its template point
        assert chip[int(round(y)), int(round(x))].max() > 150
    assert chip[10, 10].max() == 0


def test_dlib_5_point_landmarks_cannot_give_mouth_corners():
    lm = np.array([[194, 149], [173, 151], [124, 152], [143, 152], [158, 186]], float)  # real dlib 5-point order
    face = Detection((96, 110, 225, 239), 1.0, lm)
    with pytest.raises(ConfigError, match="no mouth corners") as e:
        align.arcface_chip(np.zeros((320, 320, 3), np.uint8), face)
    assert "detector.landmarks=68" in str(e.value) and "partial_landmarks" in str(e.value)
    src, dst, how = align.keypoints_of(face, partial=True)
    assert how == "dlib-5:eye-centres-only"
    np.testing.assert_allclose(src, [[133.5, 152], [183.5, 150]])  # image-left eye first
    np.testing.assert_allclose(dst, align.ARCFACE_112[:2])
    assert align.arcface_chip(np.zeros((320, 320, 3), np.uint8), face, partial=True).shape == (112, 112, 3)


def test_blazeface_keypoints_use_the_mouth_centre():
    pts = np.array([[100, 100], [140, 100], [120, 125], [120, 145], [80, 110], [160, 110]], float)
    src, dst, how = align.keypoints_of(Detection((0, 0, 200, 200), 1.0, keypoints=pts))
    assert len(src) == 4 and how.startswith("blazeface")
    np.testing.assert_allclose(dst[3], align.ARCFACE_112[3:5].mean(axis=0))


def test_dlib_chip_is_dlibs_get_face_chip():
    dlib = pytest.importorskip("dlib")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (320, 320, 3), dtype=np.uint8)
    lm = np.array([[194, 149], [173, 151], [124, 152], [143, 152], [158, 186]], float)
    face = Detection((96, 110, 225, 239), 1.0, lm)
    rect = dlib.rectangle(96, 110, 225, 239)
    shape = dlib.full_object_detection(rect, dlib.points([dlib.point(int(x), int(y)) for x, y in lm]))
    want = dlib.get_face_chip(img, shape, size=150, padding=0.25)
    np.testing.assert_array_equal(align.align(img, face, "dlib-chip", (150, 150)), want)
    assert align.align(img, face, "dlib-chip", (112, 112)).shape == (112, 112, 3)
    with pytest.raises(ConfigError, match="dlib 5- or 68-point"):
        align.dlib_chip(img, Detection((0, 0, 10, 10), 1.0))


def test_unknown_template():
    with pytest.raises(ConfigError, match="unknown template"):
        align.align(np.zeros((10, 10, 3), np.uint8), Detection((0, 0, 5, 5), 1.0), "mtcnn", (112, 112))


def test_sources_with_all_five_points_are_preferred():
    lm68 = np.zeros((68, 2))
    lm68[:, 0] = np.arange(68)
    five = np.arange(10, dtype=float).reshape(5, 2)
    six = np.arange(12, dtype=float).reshape(6, 2)
    assert align.keypoints_of(Detection((0, 0, 9, 9), 1.0, lm68, keypoints=five))[2] == "detector-5"
    assert align.keypoints_of(Detection((0, 0, 9, 9), 1.0, lm68, keypoints=six))[2].startswith("dlib-68")
    assert align.keypoints_of(Detection((0, 0, 9, 9), 1.0, np.zeros((5, 2)) + [[1, 0]] * 5,
                                        keypoints=six))[2].startswith("blazeface")
