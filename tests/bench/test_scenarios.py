"""Scenario mechanics: percentiles, warm-up and counts, offline throughput, cold start, real-time stream drops."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench import scenarios
from harness.bench.stages import Backends, FramePipeline, Scorer, load_backends
from harness.detect.base import Detection


def test_nearest_rank_percentiles_by_hand():
    s = list(range(1, 101))  # 1..100
    assert scenarios.percentile(s, 50) == 50 and scenarios.percentile(s, 90) == 90
    assert scenarios.percentile(s, 99) == 99 and scenarios.percentile(s, 100) == 100
    assert scenarios.percentile([7.0], 99) == 7.0
    assert math.isnan(scenarios.percentile([], 50))
    out = scenarios.summarize([3, 1, 2])
    assert out["samples"] == [1, 2, 3] and out["p50"] == 2 and out["max"] == 3 and out["n"] == 3


@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=200), st.floats(1, 100))
def test_percentile_is_an_order_statistic(xs, p):
    s = sorted(xs)
    v = scenarios.percentile(s, p)
    assert v in s
    assert sum(x <= v for x in s) >= p / 100 * len(s) - 1e-9  # at least p% at or below
    assert sum(x < v for x in s) < p / 100 * len(s) + 1e-9     # and fewer than p% strictly below


class CountingDetector:
    name = "counting"

    def __init__(self, sleep=0.0):
        self.calls, self.sleep = 0, sleep

    def load(self):
        pass

    def detect(self, image):
        self.calls += 1
        if self.sleep:
            time.sleep(self.sleep)
        h, w = image.shape[:2]
        return [Detection((0, 0, w, h), 1.0, np.zeros((5, 2)))]

    def provenance(self):
        return {"name": self.name}


class MeanEmbedder:
    name = "mean"

    def load(self):
        pass

    def embed(self, image, face):
        return image.reshape(-1, 3).mean(axis=0)

    def provenance(self):
        return {"name": self.name}


def test_single_stream_warmup_then_fixed_count(image_dir):
    det = CountingDetector()
    pipe = FramePipeline(Backends(det, MeanEmbedder()), Scorer(np.ones((3, 3))))
    paths = sorted(str(p) for p in image_dir.glob("*.png"))
    r = scenarios.single_stream(pipe, paths, warmup=3, count=7)
    assert det.calls == 10 and r["count"] == 7 and r["warmup"] == 3
    st_ = r["stages"]
    assert set(st_) == {"decode", "detect", "embed", "compare", "pipeline"}  # no capture, no align split
    assert all(s["n"] == 7 and len(s["samples"]) == 7 for s in st_.values())
    assert st_["pipeline"]["p50"] >= st_["detect"]["p50"]
    # the whole frame is at least the sum of its stages in every frame, so the overhead is >= 0
    assert r["harness_overhead"]["min"] >= 0 and r["harness_overhead"]["n"] == 7


def test_single_stream_by_duration(image_dir):
    pipe = FramePipeline(Backends(CountingDetector(sleep=0.01), MeanEmbedder()))
    paths = [str(p) for p in image_dir.glob("*.png")]
    t0 = time.perf_counter()
    r = scenarios.single_stream(pipe, paths, warmup=0, count=None, duration=0.15)
    assert 0.15 <= time.perf_counter() - t0 < 1.0
    assert 5 <= r["count"] <= 16 and r["duration_s"] == 0.15


def test_offline_and_cold_start_with_null_backends(image_dir):
    spec = {"detector": "null", "embedder": "null"}
    paths = sorted(image_dir.glob("*.png"))
    off = scenarios.offline(spec, paths, count=10, workers=2, batch=3)
    assert off["images"] == 10 and off["faces"] == 10 and off["faces_per_s"] > 0 and off["workers"] == 2
    cs = scenarios.cold_start(spec, str(paths[0]), repeats=1)
    assert cs["n"] == 1 and cs["first"] > cs["children"][0]["load_s"] >= 0
    assert cs["children"][0]["face_found"] is True


def _clip(tmp_path, n=12, fps=15):
    from harness.degrade.sensor import encode_h264

    frames = [np.full((64, 96, 3), 40 + 10 * i, np.uint8) for i in range(n)]
    path = tmp_path / "clip.mp4"
    encode_h264(frames, str(path), 96, 64, 200_000, 15, fps)
    return path


def test_stream_keeps_up_when_fast(tmp_path):
    pipe = FramePipeline(Backends(CountingDetector(), MeanEmbedder()))
    r = scenarios.doorbell_stream(pipe, _clip(tmp_path), fps=15)
    assert r["frames"] == 12 and r["dropped"] == 0 and r["processed"] == 12
    assert r["sustained_fps"] == pytest.approx(15, rel=0.15)
    assert r["latency"]["max"] < 1 / 15


def test_stream_drops_frames_when_slow(tmp_path):
    det = CountingDetector(sleep=0.2)  # 3 frame periods at 15 fps
    pipe = FramePipeline(Backends(det, MeanEmbedder()))
    r = scenarios.doorbell_stream(pipe, _clip(tmp_path), fps=15)
    assert r["processed"] + r["dropped"] == r["frames"] == 12
    assert det.calls == r["processed"] and 3 <= r["processed"] <= 6
    assert r["latency"]["min"] >= 0.2  # every processed frame waited for at least its own processing
    assert r["sustained_fps"] < 6


def test_render_clip_is_simulated_1080p(tmp_path, frl):
    from harness.data.images import load_rgb

    img = sorted(frl.glob("**/*.jpg"))[0]
    b = load_backends("null", "null")
    info = scenarios.render_clip(load_rgb(img), None, "doorbell-1080p-day", 3, tmp_path / "c.mp4")
    assert (info["width"], info["height"], info["fps"], info["frames"]) == (1920, 1080, 15, 3)
    assert info["simulated"] is True
    r = scenarios.doorbell_stream(FramePipeline(b), tmp_path / "c.mp4", info["fps"])
    assert r["frames"] == 3 and r["decode"]["n"] == 3
