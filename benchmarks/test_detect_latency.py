"""Detection latency p50 per detector on a 1080p and a 640x480 frame, side by side in one run.

The frames: one frl-london photo placed by the doorbell-1080p-day capture model at 1.5 m in a whole
1920x1080 sensor frame (render_frame, grey porch), and the same frame's central 4:3 crop resized to
640x480. Every detector runs round-robin on the same frame, so the machine's noise hits all of them
alike. ``detect()`` includes dlib's 5-point landmarks (inside the detector's box for BlazeFace and
Haar); BlazeFace is also timed without them (``raw``: letterbox, inference, decoding, NMS).
dlib's MMOD CNN runs twice, as dlib-cnn (dlib's own convolutions) and as dlib-cnn-onnx (the same
weights under onnxruntime, same detections), each at upsample 1 (face_recognition's 'cnn') and 0.
One thread per detector (the harness parallelises over images, not inside a model).
CPU time (process_time) p50 is recorded beside wall time: it is what a shared machine distorts least.

FACERISK_BENCH_DETECTORS=label,label runs only those variants (labels as in the JSON) and merges
their figures into the existing detect_latency.json, the run listed under "runs" with its load.

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
VARIANTS = [("dlib-hog", {}), ("dlib-cnn", {}), ("dlib-cnn-onnx", {}), ("dlib-cnn", {"upsample": 0}),
            ("dlib-cnn-onnx", {"upsample": 0}), ("haar", {}),
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
    return name + "".join(f"[{k}={v}]" if k != "runtime" else f"[{v}]" for k, v in opts.items())


def _selected():
    only = [x for x in os.environ.get("FACERISK_BENCH_DETECTORS", "").split(",") if x]
    labels = [_label(n, o) for n, o in VARIANTS]
    unknown = sorted(set(only) - set(labels))
    if unknown:
        pytest.fail(f"FACERISK_BENCH_DETECTORS: unknown {', '.join(unknown)}; choose from {', '.join(labels)}")
    return [(n, o) for n, o in VARIANTS if not only or _label(n, o) in only], bool(only)


def test_detect_latency(frames):
    from harness import detect

    imgs, info = frames
    variants, partial = _selected()
    dets = {}
    for name, opts in variants:
        d = detect.make(name, **opts)
        d.load()
        dets[_label(name, opts)] = d
    times: dict[str, dict[str, list[float]]] = {k: {f: [] for f in imgs} for k in dets}
    cpu: dict[str, dict[str, list[float]]] = {k: {f: [] for f in imgs} for k in dets}
    raw_times: dict[str, dict[str, list[float]]] = {k: {f: [] for f in imgs} for k in dets if "blazeface" in k}
    found: dict[str, dict[str, int]] = {k: {} for k in dets}
    for k, d in dets.items():  # warm-up: first-call allocations, page cache
        for f, img in imgs.items():
            found[k][f] = len(d.detect(img))
    for r in range(REPEATS):
        for f, img in imgs.items():
            for k, d in dets.items():
                if k.startswith("dlib-cnn") and not k.startswith("dlib-cnn-onnx") and r >= SLOW_REPEATS:
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                d.detect(img)
                times[k][f].append(time.perf_counter() - t0)
                cpu[k][f].append(time.process_time() - c0)
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
        "p50_ms": p50, "p50_cpu_ms": {k: {f: round(1000 * statistics.median(v), 2) for f, v in per.items()}
                                      for k, per in cpu.items()},
        "p50_ms_blazeface_raw": p50_raw, "faces_found": found,
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
    run = {"detectors": list(dets), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "load_average_1min": os.getloadavg()[0],
           "command": (f"FACERISK_BENCH_DETECTORS={','.join(dets)} " if partial else "") + out["command"]}
    target = dest / "detect_latency.json"
    if partial and target.is_file():  # merge: keep the other detectors' figures, say which run gave which
        old = json.loads(target.read_text())
        for key in ("p50_ms", "p50_cpu_ms", "p50_ms_blazeface_raw", "faces_found", "repeats", "provenance"):
            old.setdefault(key, {}).update(out[key])
        old["runs"] = old.get("runs") or [{"detectors": sorted(set(old["p50_ms"]) - set(dets)),
                                           "load_average_1min": old.get("machine", {}).get("load_average_1min"),
                                           "command": old.get("command")}]
        old["runs"].append(run)
        out = old
    else:
        out["runs"] = [run]
    target.write_text(json.dumps(out, indent=2))
    print(json.dumps(out["p50_ms"], indent=2))
    for k in dets:
        assert all(p50[k][f] > 0 for f in imgs)
    for k in dets:  # the same weights: the onnxruntime port must find what dlib finds
        if k.startswith("dlib-cnn-onnx") and k.replace("dlib-cnn-onnx", "dlib-cnn") in dets:
            assert found[k] == found[k.replace("dlib-cnn-onnx", "dlib-cnn")], k
