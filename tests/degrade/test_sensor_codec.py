"""Sensor model and codecs: seeded, physically sensible, real H.264 at the asked bitrate."""

import numpy as np
import pytest

from harness.degrade import capture
from harness.degrade.sensor import Sensor, expose, h264_roundtrip, jpeg, linear_to_srgb, srgb_to_linear

RNG = np.random.default_rng(0)
SCENE = (RNG.random((64, 64, 3)) * 0.6 + 0.2).astype(np.float32)


def test_srgb_roundtrip():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)[..., None].repeat(3, axis=2)
    assert np.array_equal(linear_to_srgb(srgb_to_linear(x)), x)


def test_noise_grows_as_light_falls():
    def noise(lux):
        a = expose(SCENE, Sensor(lux=lux), np.random.default_rng(1))
        b = expose(SCENE, Sensor(lux=lux), np.random.default_rng(2))
        return float(np.std(a - b) / a.mean())  # relative noise (1/SNR)
    assert noise(5) > noise(50) > noise(1000)


def test_backlight_darkens_and_highlights_clip():
    day = expose(SCENE, Sensor(lux=1000), np.random.default_rng(0))
    back = expose(SCENE, Sensor(lux=1000, backlight=8), np.random.default_rng(0))
    assert back.mean() < 0.5 * day.mean()
    bright = expose(np.ones((8, 8, 3), np.float32), Sensor(lux=5000), np.random.default_rng(0))
    assert bright.max() == 1.0


def test_ir_mode_is_grayscale_and_falls_off_with_range():
    near = expose(SCENE, Sensor(ir=True, max_gain=1), np.random.default_rng(0), range_m=1.0)
    far = expose(SCENE, Sensor(ir=True, max_gain=1), np.random.default_rng(0), range_m=6.0)
    assert np.array_equal(near[..., 0], near[..., 1]) and np.array_equal(near[..., 1], near[..., 2])
    assert far.mean() < 0.2 * near.mean()


def test_jpeg_quality_changes_bytes():
    img = linear_to_srgb(SCENE)
    assert np.abs(jpeg(img, 95).astype(int) - img).mean() < np.abs(jpeg(img, 10).astype(int) - img).mean()


@pytest.mark.slow
def test_h264_hits_its_bitrate_and_decodes(tmp_path):
    rng = np.random.default_rng(0)
    base = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
    frames = [np.clip(base.astype(int) + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8) for _ in range(45)]
    decoded, stats = h264_roundtrip(frames, 500_000, gop=15, fps=15)
    assert len(decoded) == 45 and decoded[0].shape == (480, 640, 3)
    assert abs(stats["achieved_bps"] / 500_000 - 1) < 0.20, stats
    a, b = h264_roundtrip(frames[:10], 200_000, gop=5)[0], h264_roundtrip(frames[:10], 200_000, gop=5)[0]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # deterministic


@pytest.mark.slow
def test_rendered_clip_decodes_with_pyav_and_opencv(tmp_path):
    import av
    import cv2

    from harness.degrade.clips import render_walk

    img = (np.random.default_rng(0).random((320, 320, 3)) * 255).astype(np.uint8)
    cap = capture.load("doorbell-640x480-stream")
    path = tmp_path / "walk.mp4"
    stats = render_walk(img, None, cap, path, distances=np.linspace(3, 1, 30))
    assert abs(stats["achieved_bps"] / stats["target_bps"] - 1) < 0.20, stats
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 30
    vc = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, frame = vc.read()
        if not ok:
            break
        n += 1
        assert frame.shape == (480, 640, 3)
    assert n == 30


def test_presets_load_and_validate(tmp_path):
    names = capture.presets()
    assert {"doorbell-1080p-day", "doorbell-1536p-night-ir", "doorbell-640x480-stream"} <= set(names)
    for n in names:
        cap = capture.load(n)
        assert cap.name == n and cap.digest()
        assert names[n]["sources"]
    (tmp_path / "mine.yaml").write_text("camera: {width: 1280, height: 720, hfov_deg: 120}\nsubject: {distance: 3}\n")
    mine = capture.load(str(tmp_path / "mine.yaml"))
    assert mine.camera.width == 1280 and mine.subject.distance == 3 and mine.name == "mine"


@pytest.mark.parametrize("text, message", [
    ("camera: {hfov_deg: 400}", "hfov_deg"),
    ("subject: {distance: -2}", "distance"),
    ("camera: {lens: fisheye}", "no parameter 'lens'"),
    ("codec: {kind: mpeg2}", "codec kind"),
    ("sensor: {lux: -5}", "lux"),
    ("zoom: 2", "unknown key"),
])
def test_bad_user_presets(tmp_path, text, message):
    from harness.errors import ConfigError

    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        capture.load(str(tmp_path / "bad.yaml"))


def test_with_value_aliases_and_errors():
    from harness.errors import ConfigError

    cap = capture.load("doorbell-1080p-day")
    assert cap.with_value("distance", 4).subject.distance == 4.0
    assert cap.with_value("bitrate", 256).codec.bitrate_kbps == 256.0
    assert cap.with_value("light", 5).sensor.lux == 5.0
    with pytest.raises(ConfigError, match="distance"):
        cap.with_value("distance", -1)
    with pytest.raises(ConfigError):
        cap.with_value("nonsense.x", 1)


def test_render_probe_is_deterministic():
    img = (np.random.default_rng(3).random((320, 320, 3)) * 255).astype(np.uint8)
    cap = capture.load("doorbell-1080p-day")
    a, _ = capture.render_probe(img, None, cap, seed=7)
    b, _ = capture.render_probe(img, None, cap, seed=7)
    c, _ = capture.render_probe(img, None, cap, seed=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
