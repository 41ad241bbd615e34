"""Benchmark scenarios, named as MLPerf Inference names them.

- **single-stream**: one frame at a time, the next issued when the previous finished; latency
  percentiles per stage after an explicit warm-up, over a fixed count or a fixed duration.
- **offline**: every image available at once; maximum faces/s with all cores, images handed to
  worker processes in batches. Embedders with ``align()``/``infer()`` embed each batch's faces in one
  ``infer`` call (batched inference); others embed one face per call, as in a run, and the batch
  only amortises inter-process transfer.
- **cold start**: process start to first template, in a fresh interpreter each time.
- **doorbell stream**: a simulator-rendered clip (H.264, the preset's resolution and frame rate)
  played in real time; frames arrive at the clip's rate, the newest waiting frame is processed when
  the pipeline is free, older waiting frames are dropped. Sustained fps, frames dropped and latency
  from a frame's arrival to its decision.

Percentiles are nearest-rank on the sorted raw samples (the value below which at least p% of
samples lie, never interpolated), and the raw samples are kept in the result.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from harness.bench.stages import STAGES, Backends, FramePipeline, Scorer, load_backends

PERCENTILES = (50, 90, 99)


def percentile(sorted_samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted samples (MLPerf LoadGen reports order statistics too)."""
    n = len(sorted_samples)
    if n == 0:
        return float("nan")
    k = max(1, math.ceil(p / 100.0 * n))
    return float(sorted_samples[k - 1])


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """n, mean, min, p50, p90, p99, max (seconds) and the sorted raw samples."""
    s = sorted(float(x) for x in samples)
    out: dict[str, Any] = {"n": len(s)}
    if s:
        out.update(mean=float(np.mean(s)), min=s[0], **{f"p{p}": percentile(s, p) for p in PERCENTILES}, max=s[-1])
    else:
        out.update({k: None for k in ("mean", "min", "p50", "p90", "p99", "max")})
    out["samples"] = s
    return out


def _cycle(sources: Sequence, i: int):
    return sources[i % len(sources)]


def single_stream(pipe: FramePipeline, sources: Sequence, warmup: int = 5, count: Optional[int] = 50,
                  duration: Optional[float] = None, landmarks: Optional[Sequence] = None) -> dict[str, Any]:
    """Latency per stage, one frame at a time, after ``warmup`` untimed frames.

    Stops after ``count`` timed frames, or (when ``duration`` is given) after ``duration`` seconds with
    at least one frame. Sources are cycled in order; ``landmarks[i]`` scales the face for the capture stage.
    """
    if not sources:
        raise ValueError("no images to benchmark")
    lm = (lambda i: landmarks[i % len(sources)]) if landmarks is not None else (lambda i: None)
    for i in range(warmup):
        pipe.run(_cycle(sources, i), lm(i), seed=i)
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    overhead: list[float] = []
    faces = frames = matches = 0
    t0 = time.perf_counter()
    i = 0
    while True:
        if duration is not None:
            if frames and time.perf_counter() - t0 >= duration:
                break
        elif frames >= (count or 0):
            break
        times, out = pipe.run(_cycle(sources, warmup + i), lm(warmup + i), seed=warmup + i)
        for k, v in times.items():
            samples[k].append(v)
        # The harness's own cost in this frame: the whole frame minus every timed stage.
        overhead.append(times["pipeline"] - sum(v for k, v in times.items() if k != "pipeline"))
        frames += 1
        faces += out["faces"] > 0
        matches += bool(out["match"])
        i += 1
    wall = time.perf_counter() - t0
    return {"warmup": warmup, "count": frames, "duration_s": duration, "wall_s": wall,
            "frames_with_face": faces, "matches": matches,
            "stages": {k: summarize(v) for k, v in samples.items() if v}, "harness_overhead": summarize(overhead)}


# --------------------------------------------------------------------------- offline

_OFFLINE: dict[str, Any] = {}


def _offline_init(spec: dict[str, Any]) -> None:
    _OFFLINE["pipe"] = FramePipeline(load_backends(spec["detector"], spec["embedder"], spec.get("detector_options"),
                                                   spec.get("embedder_options")))


def _offline_batch(paths: list[str]) -> tuple[int, int, int, bool]:
    pipe = _OFFLINE["pipe"]
    if pipe.b.split:  # batched inference: align every face of the batch, then one infer() call for all
        chips = [c for c in (pipe.acquire_chip(p)[0] for p in paths) if c is not None]
        if chips:
            pipe.b.embedder.infer(np.stack(chips))
        return len(paths), len(chips), os.getpid(), True
    faces = 0
    for p in paths:
        _, out = pipe.run(p)
        faces += out["faces"] > 0
    return len(paths), faces, os.getpid(), False


def offline(spec: dict[str, Any], sources: Sequence, count: int, workers: int, batch: int = 8) -> dict[str, Any]:
    """Throughput with ``workers`` processes over ``count`` images (sources cycled), batches of ``batch``.

    Each worker loads the backends and processes one warm-up image before the clock starts.
    """
    paths = [str(_cycle(sources, i)) for i in range(count)]
    batches = [paths[i:i + batch] for i in range(0, len(paths), batch)]
    with ProcessPoolExecutor(max_workers=workers, initializer=_offline_init, initargs=(spec,)) as pool:
        warm = list(pool.map(_offline_batch, [[paths[i % len(paths)]] for i in range(workers)]))
        t0 = time.perf_counter()
        results = list(pool.map(_offline_batch, batches))
        wall = time.perf_counter() - t0
    n_img = sum(r[0] for r in results)
    n_face = sum(r[1] for r in results)
    return {"workers": workers, "batch": batch, "images": n_img, "faces": n_face, "wall_s": wall,
            "images_per_s": n_img / wall if wall > 0 else None, "faces_per_s": n_face / wall if wall > 0 else None,
            "worker_processes_used": len({r[2] for r in results}),
            "batched_inference": all(r[3] for r in results),
            "warmup_images": len(warm)}


# --------------------------------------------------------------------------- cold start


def cold_start(spec: dict[str, Any], image: str, repeats: int = 3, timeout: float = 600.0) -> dict[str, Any]:
    """Process start to first template, each repeat in a fresh interpreter (``python -m harness.bench.coldstart``).

    Measured by the parent from just before the child is spawned to the child's report of its first
    template. The OS file cache is not dropped (that needs root), so repeats after the first read
    warm files; the first sample is the coldest.
    """
    totals, children = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "harness.bench.coldstart", json.dumps({**spec, "image": str(image)})],
                           capture_output=True, text=True, timeout=timeout)
        total = time.perf_counter() - t0
        if r.returncode != 0:
            tail = (r.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"cold-start child failed: {tail}")
        child = json.loads(r.stdout.strip().splitlines()[-1])
        totals.append(total)
        children.append(child)
    out = summarize(totals)
    out["first"] = totals[0]
    out["children"] = children
    out["note"] = "file cache not dropped between repeats: the first sample is the coldest"
    return out


# --------------------------------------------------------------------------- doorbell stream


def render_clip(image: np.ndarray, landmarks, preset: str, frames: int, path: Path, seed: int = 0,
                start_m: float = 4.0, end_m: float = 1.0) -> dict[str, Any]:
    """Render a walk-up clip with the capture simulator (``harness.degrade``): simulated, not recorded."""
    from harness.degrade import capture
    from harness.degrade.clips import render_walk

    cap = capture.load(preset)
    t0 = time.perf_counter()
    stats = render_walk(image, landmarks, cap, path, distances=tuple(np.linspace(start_m, end_m, frames)), seed=seed)
    return {"preset": preset, "width": cap.camera.width, "height": cap.camera.height, "fps": cap.codec.fps,
            "bitrate_kbps": cap.codec.bitrate_kbps, "distance_m": [start_m, end_m], "seed": seed,
            "render_s": time.perf_counter() - t0, **stats, "simulated": True}


def doorbell_stream(pipe: FramePipeline, clip: Path, fps: float) -> dict[str, Any]:
    """Play ``clip`` in real time at ``fps`` and process the newest arrived frame whenever the pipeline is free.

    Every frame is decoded in order (an H.264 decoder cannot skip frames); decoding counts against
    the pipeline's time. A frame is dropped when a later frame has already arrived by the time it is
    decoded. Latency is from a frame's arrival (its presentation time on the wall clock) to its decision.
    """
    from harness.data.video import frames as read_frames

    period = 1.0 / fps
    n = sum(1 for _ in read_frames(clip))  # frame count (containers do not always say)
    # Re-decode inside the timed loop, frame by frame, so decode cost is paid as a live stream pays it.
    it = read_frames(clip)
    latencies, decode_s, dropped, processed = [], [], 0, 0
    faces = matches = 0
    start = time.perf_counter() + 0.05
    for k in range(n):
        td = time.perf_counter()
        _, _, frame = next(it)
        decode_s.append(time.perf_counter() - td)
        arrival = start + k * period
        now = time.perf_counter()
        if now < arrival:
            time.sleep(arrival - now)
        elif k + 1 < n and now >= start + (k + 1) * period:
            dropped += 1
            continue
        _, out = pipe.run(np.ascontiguousarray(frame))
        done = time.perf_counter()
        latencies.append(done - arrival)
        processed += 1
        faces += out["faces"] > 0
        matches += bool(out["match"])
    end = time.perf_counter()
    # A pipeline that keeps up is paced by the clip; one that lags runs past the clip's end.
    wall = max(end - start, n * period)
    return {"fps": fps, "frames": n, "processed": processed, "dropped": dropped,
            "sustained_fps": processed / wall if wall > 0 else None, "wall_s": wall,
            "clip_s": n * period, "frames_with_face": faces, "matches": matches,
            "latency": summarize(latencies), "decode": summarize(decode_s),
            "policy": "newest frame; frames superseded while the pipeline was busy are dropped"}


__all__ = ["PERCENTILES", "Backends", "Scorer", "cold_start", "doorbell_stream", "offline", "percentile",
           "render_clip", "single_stream", "summarize"]
