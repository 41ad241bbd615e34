"""Render doorbell clips of a person walking towards the camera (for testing ingest end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from harness.degrade.capture import Capture, render_frame


def render_walk(image: np.ndarray, landmarks: Optional[np.ndarray], cap: Capture, path: str | Path,
                distances: Sequence[float] = tuple(np.linspace(5.0, 1.0, 24)), seed: int = 0) -> dict:
    """Write an H.264 mp4 of the subject approaching from ``distances[0]`` to ``distances[-1]`` metres.

    Frames are whole sensor frames at the preset's resolution, bitrate and GOP. Returns encoder stats.
    """
    import av

    rng = np.random.default_rng(seed)
    cam = cap.camera
    w, h = cam.width - cam.width % 2, cam.height - cam.height % 2
    total = 0
    with av.open(str(path), "w", format="mp4") as out:
        st = out.add_stream("libx264", rate=cap.codec.fps)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.bit_rate = int(cap.codec.bitrate_kbps * 1000)
        st.codec_context.gop_size = cap.codec.gop
        kbps = int(cap.codec.bitrate_kbps)
        st.options = {"preset": "veryfast", "threads": "1", "x264-params":
                      f"keyint={cap.codec.gop}:scenecut=0:bframes=0:vbv-maxrate={kbps}:vbv-bufsize={kbps}:"
                      "nal-hrd=cbr:force-cfr=1"}
        for d in distances:
            frame, _ = render_frame(image, landmarks, cap.with_value("distance", float(d)), rng)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")
            for pkt in st.encode(vf):
                total += pkt.size
                out.mux(pkt)
        for pkt in st.encode():
            total += pkt.size
            out.mux(pkt)
    seconds = len(distances) / cap.codec.fps
    return {"frames": len(distances), "bytes": total, "achieved_bps": total * 8 / seconds,
            "target_bps": cap.codec.bitrate_kbps * 1000}
