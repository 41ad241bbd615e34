"""Reading doorbell clips (mp4/mkv, H.264/H.265, whatever PyAV's FFmpeg decodes), with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from harness.errors import FaceriskError


class VideoError(FaceriskError):
    """A clip cannot be read."""


def probe(path: str | Path) -> dict:
    """Codec, size, frame rate and frame count (if the container says) of a clip's video stream."""
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoError(f"{p}: clip not found")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: zero-length clip (re-export or re-download it)")
    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                raise VideoError(f"{p}: no video stream in the container")
            st = c.streams.video[0]
            if st.codec_context is None:
                raise VideoError(f"{p}: unknown or unsupported video codec; re-encode it as H.264 "
                                 "(e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)")
            codec = st.codec_context.name
            return {"codec": codec, "width": st.codec_context.width, "height": st.codec_context.height,
                    "fps": float(st.average_rate) if st.average_rate else None, "frames": st.frames or None}
    except VideoError:
        raise
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise VideoError(f"{p}: not a readable video ({exc})") from None


def frames(path: str | Path, every: int = 1) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (index, time in s, RGB uint8 frame) for every ``every``-th decoded frame.

    A clip whose data breaks off raises :class:`VideoError` naming the frame reached, after the
    frames decoded before the damage have been yielded (they are still evidence).
    """
    import av

    p = Path(path)
    info = probe(p)
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as exc:
        raise VideoError(f"{p}: not a readable video ({exc})") from None
    n = 0
    with container:
        st = container.streams.video[0]
        try:
            for i, frame in enumerate(container.decode(st)):
                n = i + 1
                if i % every == 0:
                    t = float(frame.pts * st.time_base) if frame.pts is not None else i / (info["fps"] or 15)
                    yield i, t, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        except av.error.DecoderNotFoundError:
            raise VideoError(f"{p}: codec {info['codec']!r} cannot be decoded by this FFmpeg build") from None
        except av.error.FFmpegError as exc:
            raise VideoError(f"{p}: decoding failed after {n} frames ({exc}); the file may be truncated") from None
    if n == 0:
        raise VideoError(f"{p}: no decodable frame ({info['codec']}); the clip is empty or truncated")
