"""Sensor and image-pipeline effects, all seeded: optics/pixel blur, motion blur, light, noise, IR, codecs.

Images are float32 linear-light RGB in [0, 1] between the steps, uint8 sRGB at the ends.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


_SRGB_LUT = None


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear [0, 1] to sRGB uint8 through a 4096-entry table (exact to within one 8-bit step)."""
    global _SRGB_LUT
    if _SRGB_LUT is None:
        v = np.linspace(0, 1, 4096)
        y = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)
        _SRGB_LUT = np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)
    idx = (np.clip(x, 0.0, 1.0) * np.float32(4095) + np.float32(0.5)).astype(np.int32)
    return _SRGB_LUT[idx]


@dataclass(frozen=True)
class Sensor:
    """Exposure and noise. ``lux`` is the illuminance on the face; 1000 lux (overcast daylight) fills the
    sensor at base gain. Auto-exposure raises gain up to ``max_gain`` in low light, amplifying noise."""

    lux: float = 1000.0
    exposure_ms: float = 8.0
    full_well_e: float = 6000.0    # small-pixel CMOS (1.1-1.4 µm): a few thousand electrons
    read_noise_e: float = 3.0
    max_gain: float = 32.0
    backlight: float = 1.0         # background/face luminance ratio; AE exposes for the background
    ir: bool = False               # night mode: grayscale, IR illuminator
    ir_reference_m: float = 1.5    # distance at which the IR illuminator lights the face fully
    ir_hotspot: float = 0.3        # extra brightness at the image centre (0: none)

    def validate(self) -> None:
        if self.lux < 0 or self.exposure_ms <= 0 or self.full_well_e <= 0 or self.read_noise_e < 0:
            raise ConfigError("sensor: lux >= 0, exposure_ms > 0, full_well_e > 0, read_noise_e >= 0 required")
        if self.max_gain < 1 or self.backlight < 1:
            raise ConfigError("sensor: max_gain and backlight must be at least 1")


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return x
    import cv2

    return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def motion_blur(x: np.ndarray, length_px: float, angle_deg: float = 0.0) -> np.ndarray:
    """Linear motion blur of ``length_px`` pixels along ``angle_deg`` (0: horizontal)."""
    if length_px < 0.5:
        return x
    import cv2

    n = int(math.ceil(length_px)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = math.cos(math.radians(angle_deg)), -math.sin(math.radians(angle_deg))
    for t in np.linspace(-length_px / 2, length_px / 2, 4 * n):
        k[int(round(c + t * dy)), int(round(c + t * dx))] = 1.0
    k /= k.sum()
    return cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REPLICATE)


def expose(lin: np.ndarray, sensor: Sensor, rng: np.random.Generator, range_m: float = 1.0,
           centre_offset: float = 0.0) -> np.ndarray:
    """Photon shot noise, read noise, auto gain and highlight clipping on linear RGB; IR night mode.

    ``centre_offset`` (0 centre .. 1 corner) positions the face under the IR hot spot.
    """
    x = lin
    if sensor.ir:
        # Skin reflects near-infrared more evenly across skin tones than visible light; the red channel is
        # the closest visible proxy. The illuminator's light falls off with the square of range.
        x = (0.7 * x[..., 0] + 0.2 * x[..., 1] + 0.1 * x[..., 2])[..., None]  # one channel, noised once
        falloff = min(1.0, (sensor.ir_reference_m / max(range_m, 1e-3)) ** 2)
        hot = 1.0 + sensor.ir_hotspot * max(0.0, 1.0 - centre_offset) ** 2
        illum = falloff * hot
    else:
        illum = sensor.lux / 1000.0
    illum /= sensor.backlight
    # Auto-exposure: gain restores brightness up to max_gain (keyed to the background when backlit).
    gain = min(sensor.max_gain, 1.0 / max(illum * sensor.backlight, 1e-6))
    electrons = np.clip(x * np.float32(illum * sensor.full_well_e * (sensor.exposure_ms / 8.0)), 0, None)
    # Shot noise (Poisson, variance = signal) plus read noise, drawn as one Gaussian of the summed
    # variance: exact enough above a few electrons and ~10x faster than Poisson draws on full frames.
    noise = rng.standard_normal(electrons.shape, dtype=np.float32)
    electrons = electrons + noise * np.sqrt(electrons + np.float32(sensor.read_noise_e**2))
    out = np.clip(electrons * gain / sensor.full_well_e / (sensor.exposure_ms / 8.0), 0.0, 1.0)  # highlights clip
    return out.repeat(3, axis=2) if sensor.ir else out


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(quality), subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def encode_h264(frames, dest, width: int, height: int, bitrate_bps: float, gop: int, fps: int = 15,
                preset: str = "veryfast") -> tuple[int, int]:
    """Encode RGB frames (any iterable) to an mp4 at ``dest`` (path or file object) with libx264.

    Constant bitrate (VBV + HRD filler) with a fixed GOP, no B-frames, one thread: deterministic.
    Frames are cropped to even width/height (yuv420p). Returns (payload bytes, frames).
    """
    import av

    w2, h2 = width - width % 2, height - height % 2
    kbps = max(1, int(bitrate_bps / 1000))
    total = n = 0
    with av.open(dest, "w", format="mp4") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = w2, h2, "yuv420p"
        st.bit_rate = int(bitrate_bps)
        st.codec_context.gop_size = int(gop)
        st.options = {"preset": preset, "threads": "1", "x264-params":
                      f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:vbv-maxrate={kbps}:"
                      f"vbv-bufsize={kbps}:nal-hrd=cbr:force-cfr=1"}
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h2, :w2]), format="rgb24")
            n += 1
            for pkt in st.encode(vf):
                total += pkt.size
                out.mux(pkt)
        for pkt in st.encode():
            total += pkt.size
            out.mux(pkt)
    return total, n


def h264_roundtrip(frames: list[np.ndarray], bitrate_bps: int, gop: int, fps: int = 15,
                   preset: str = "veryfast") -> tuple[list[np.ndarray], dict]:
    """Encode RGB frames with libx264 at a target bitrate and GOP, decode them back.

    Deterministic for the same input. Returns decoded frames and stats (bytes, achieved bitrate).
    """
    import av

    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    total, n = encode_h264(frames, buf, w, h, bitrate_bps, gop, fps, preset)
    data = buf.getvalue()
    with av.open(io.BytesIO(data), "r") as inp:
        decoded = [frame.to_ndarray(format="rgb24") for frame in inp.decode(video=0)]
    return decoded, {"bytes": total, "achieved_bps": total * 8 / (n / fps), "target_bps": bitrate_bps,
                     "frames": n, "width": w - w % 2, "height": h - h % 2, "container_bytes": len(data)}
