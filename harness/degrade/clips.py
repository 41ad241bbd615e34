"""Render doorbell clips of a person walking towards the camera (for testing ingest end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from harness.degrade.capture import Capture, render_frame
from harness.degrade.sensor import encode_h264


def render_walk(image: np.ndarray, landmarks: Optional[np.ndarray], cap: Capture, path: str | Path,
                distances: Sequence[float] = tuple(np.linspace(5.0, 1.0, 24)), seed: int = 0) -> dict:
    """Write an H.264 mp4 of the subject approaching from ``distances[0]`` to ``distances[-1]`` metres.

    Frames are whole sensor frames at the preset's resolution, bitrate and GOP. Returns encoder stats.
    """
    rng = np.random.default_rng(seed)
    cam = cap.camera
    frames = (render_frame(image, landmarks, cap.with_value("distance", float(d)), rng)[0] for d in distances)
    total, n = encode_h264(frames, str(path), cam.width, cam.height, cap.codec.bitrate_kbps * 1000,
                           cap.codec.gop, cap.codec.fps)
    return {"frames": n, "bytes": total, "achieved_bps": total * 8 / (n / cap.codec.fps),
            "target_bps": cap.codec.bitrate_kbps * 1000}
