"""Detection latency p50 per detector on a 1080p and a 640x480 frame, side by side in one run.

The frames: one frl-london photo placed by the doorbell-1080p-day capture model at 1.5 m in a whole
1920x1080 sensor frame (render_frame, grey porch), and the same frame's central 4:3 crop resized to
640x480. Every detector runs round-robin on the same frame, so the machine's noise hits all of them
alike. ``detect()`` includes dlib's 5-point landmarks (inside the detector's box for BlazeFace and
Haar); BlazeFace is also timed without them (``raw``: letterbox, inference, decoding, NMS).
One thread per detector (the harness parallelises over images, not inside a model).

    make bench ARGS="-k detect_latency"
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

REPEATS = int(os.environ.get("FACERISK_BENCH_REPEATS", "15"))
SLOW_REPEATS = 3  # dlib-cnn takes seconds per 1080p frame on CPU
VARIANTS = [("dlib-hog", {}), ("dlib-cnn", {}), ("haar", {}),
            ("blazeface-short", {"runtime": "litert"}), ("blazeface-short", {"runtime": "onnxruntime"}),
            ("blazeface-full", {"runtime": "litert"}), ("blazeface-full", {"runtime": "onnxruntime"})]


@pytest.fixture(scope="module")
def frames(frl):
    import cv2

    from harness import detect
    from harness.data.images import load_rgb
    from harness.degrade import capture

    photo = load_rgb(sorted((frl / "images").glob("*_neutral.jpg"))[0])
    hog = detect.make("dlib-hog")
    lm = hog.detect(photo)[0].landmarks
    cap = capture.load("doorbell-1080p-day").with_value("distance", 1.5)
    full, info = capture.render_frame(photo, lm, cap, np.random.default_rng(0))
    h, w = full.shape[:2]
    cw = int(round(h * 4 / 3))
    vga = cv2.resize(full[:, (w - cw) // 2:(w - cw) // 2 + cw], (640, 480), interpolation=cv2.INTER_AREA)
    return {"1920x1080": np.ascontiguousarray(full), "640x480": np.ascontiguousarray(vga)}, info


def _label(name, opts):
    return name + (f"[{opts['runtime']}]" if "runtime" in opts else "")


def test_detect_latency(frames):
    from harness import detect

    imgs, info = frames
    dets = {}
    for name, opts in VARIANTS:
        d = detect.make(name, **opts)
        d.load()
        dets[_label(name, opts)] = d
    times: dict[str, dict[str, list[float]]] = {k: {f: [] for f in imgs} for k in dets}
    raw_times: dict[str, dict[str, list[float]]] = {k: {f: [] for f in imgs} for k in dets if "blazeface" in k}
    found: dict[str, dict[str, int]] = {k: {} for k in dets}
    for k, d in dets.items():  # warm-up: first-call allocations, page cache
        for f, img in imgs.items():
            found[k][f] = len(d.detect(img))
    for r in range(REPEATS):
        for f, img in imgs.items():
            for k, d in dets.items():
                if k == "dlib-cnn" and r >= SLOW_REPEATS:
                    continue
                t0 = time.perf_counter()
                d.detect(img)
                times[k][f].append(time.perf_counter() - t0)
                if k in raw_times:
                    t0 = time.perf_counter()
                    d.raw(img)
                    raw_times[k][f].append(time.perf_counter() - t0)
    p50 = {k: {f: round(1000 * statistics.median(v), 2) for f, v in per.items()} for k, per in times.items()}
    p50_raw = {k: {f: round(1000 * statistics.median(v), 2) for f, v in per.items()} for k, per in raw_times.items()}
    out = {
        "what": "detect() p50 in ms (dlib 5-point landmarks included); blazeface_raw: without landmarks",
        "frames": {"1920x1080": f"doorbell-1080p-day at 1.5 m, render_frame, face box {info['face_box']}",
                   "640x480": "central 4:3 crop of the same frame, INTER_AREA to 640x480"},
        "p50_ms": p50, "p50_ms_blazeface_raw": p50_raw, "faces_found": found,
        "repeats": {k: {f: len(v) for f, v in per.items()} for k, per in times.items()},
        "provenance": {k: {x: v for x, v in d.provenance().items() if x in ("runtime", "version", "provider",
                                                                              "threads", "upsample", "library")}
                       for k, d in dets.items()},
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                    "load_average_1min": os.getloadavg()[0]},
        "command": 'make bench ARGS="-k detect_latency"',
    }
    dest = Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results"))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "detect_latency.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out["p50_ms"], indent=2))
    for k in dets:
        assert all(p50[k][f] > 0 for f in imgs)
