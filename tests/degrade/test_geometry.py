"""Lens and placement formulas against hand-computed values."""

import math

import numpy as np
import pytest

from harness.degrade.geometry import Camera, Subject, place_face
from harness.errors import ConfigError

ON_AXIS = 1.2 / 0.93  # a subject whose eyes are at the camera's height stands on the optical axis


def test_equidistant_fisheye_18px_at_2m():
    # 150° over 1536 px: f = 768 / (75° in rad) = 586.7 px/rad; eyes at ±31.5 mm at 2 m.
    cam = Camera(width=1536, height=1536, hfov_deg=150, vfov_deg=150, projection="equidistant")
    f = 768 / math.radians(75)
    assert cam.focal_px == pytest.approx(f)
    p = place_face(cam, Subject(distance=2.0, height=ON_AXIS))
    expected = 2 * f * math.atan(0.0315 / 2.0)
    assert expected == pytest.approx(18.48, abs=0.01)
    assert p.interocular_px == pytest.approx(expected, rel=1e-6)
    assert p.centre_px == pytest.approx((768, 768))


def test_rectilinear_is_pinhole():
    cam = Camera(width=1920, height=1080, hfov_deg=90, vfov_deg=60, projection="rectilinear")
    assert cam.focal_px == pytest.approx(960)
    p = place_face(cam, Subject(distance=2.0, height=ON_AXIS))
    assert p.interocular_px == pytest.approx(960 * 0.063 / 2.0, rel=1e-6)  # f * IPD / d


def test_equisolid_radius():
    cam = Camera(width=1000, height=1000, hfov_deg=180, vfov_deg=180, projection="equisolid")
    f = 500 / (2 * math.sin(math.radians(45)))
    assert cam.focal_px == pytest.approx(f)
    # A ray 90° off axis lands on the sensor edge.
    uv = cam.project(np.array([[1.0, 0.0, 0.0]]))[0]
    assert uv == pytest.approx((1000, 500), abs=1e-6)


def test_off_axis_projection_equidistant():
    cam = Camera(width=1000, height=1000, hfov_deg=180, vfov_deg=180, projection="equidistant")
    uv = cam.project(np.array([[1.0, 0.0, 1.0]]))[0]  # 45° to the right
    assert uv[0] - 500 == pytest.approx(cam.focal_px * math.pi / 4)


def test_face_shrinks_with_distance_and_sits_below_centre_when_camera_is_low():
    cam = Camera(width=1536, height=1536, hfov_deg=150, vfov_deg=150)
    sizes = [place_face(cam, Subject(distance=d)).interocular_px for d in (1, 2, 4)]
    assert sizes[0] > sizes[1] > sizes[2]
    assert sizes[1] / sizes[2] == pytest.approx(2, rel=0.05)
    p = place_face(cam, Subject(distance=1.0, height=1.8))
    assert p.centre_px[1] < 768  # eyes above a 1.2 m camera appear above the image centre
    assert p.view_pitch_deg > 0 and p.radial_scale < 1  # seen from below: foreshortened


@pytest.mark.parametrize("kwargs, message", [
    ({"hfov_deg": 360}, "hfov_deg"),
    ({"hfov_deg": 190, "projection": "rectilinear"}, "rectilinear"),
    ({"projection": "pinhole"}, "projection"),
    ({"width": 8}, "16x16"),
    ({"mount_height": -1}, "mount_height"),
])
def test_absurd_cameras_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        place_face(Camera(**kwargs), Subject())


@pytest.mark.parametrize("kwargs, message", [
    ({"distance": -1}, "distance"), ({"distance": 100}, "distance"), ({"height": 4}, "height"),
    ({"head_yaw_deg": 95}, "not visible"), ({"speed": -2}, "speed"),
])
def test_absurd_subjects_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        place_face(Camera(), Subject(**kwargs))
