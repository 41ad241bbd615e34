"""Capture simulator throughput on this machine: whole 1080p frames, and face-neighbourhood probes.

    make bench ARGS="-k capture"
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness.degrade import capture
from harness.degrade.capture import render_frame, render_probe
from harness.degrade.sensor import h264_roundtrip

OUT = Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results"))
RESULTS = {}
IMG = (np.random.default_rng(0).random((320, 320, 3)) * 255).astype(np.uint8)
LM = np.array([[205, 150], [185, 150], [115, 150], [135, 150], [160, 190]], float)


def test_frames_1080p(benchmark):
    cap = capture.load("doorbell-1080p-day")
    rng = np.random.default_rng(0)
    frame, _ = render_frame(IMG, LM, cap, rng)
    assert frame.shape == (1080, 1920, 3)
    benchmark.pedantic(lambda: render_frame(IMG, LM, cap, rng), rounds=5, iterations=1)
    RESULTS["frames_1080p_per_s"] = 1 / benchmark.stats.stats.median


def test_frames_1080p_with_h264(benchmark):
    cap = capture.load("doorbell-1080p-day")
    rng = np.random.default_rng(0)
    frames = [render_frame(IMG, LM, cap.with_value("distance", d), rng)[0] for d in np.linspace(4, 1, 15)]
    decoded, stats = h264_roundtrip(frames, 1_500_000, gop=15)
    assert len(decoded) == 15
    benchmark.pedantic(lambda: h264_roundtrip(frames, 1_500_000, gop=15), rounds=3, iterations=1)
    RESULTS["h264_encode_decode_1080p_frames_per_s"] = 15 / benchmark.stats.stats.median
    RESULTS["h264_achieved_over_target"] = stats["achieved_bps"] / 1_500_000


@pytest.mark.parametrize("preset", ["doorbell-1080p-day", "doorbell-1536p-night-ir"])
def test_probes(benchmark, preset):
    cap = capture.load(preset)
    benchmark.pedantic(lambda: render_probe(IMG, LM, cap, seed=1), rounds=10, iterations=1)
    RESULTS[f"probes_per_s[{preset}]"] = 1 / benchmark.stats.stats.median


def test_write_results():
    if len(RESULTS) < 4:
        pytest.skip("run the whole module")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "capture_throughput.json").write_text(json.dumps(RESULTS, indent=2))
    print(json.dumps(RESULTS, indent=2))
