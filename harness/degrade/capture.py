"""Turn a clean enrolment-quality photo into what a doorbell camera would record of that person.

The face is resampled to the size the lens puts it at (see :mod:`harness.degrade.geometry`),
foreshortened by the viewing angles, blurred by motion, exposed on a noisy sensor (day, low
light, backlight or infrared night mode) and compressed (JPEG or real H.264). Probes are rendered
as the sensor-pixel neighbourhood of the face (the face and its photo's margins, at least 96 px a
side) rather than the whole frame: the detector then sees exactly the pixels the camera would
have on the face, at a fraction of the cost. That is a fast approximation for detectors that scan
the image at its own scale (dlib HOG/CNN, Haar), not for those that resize their whole input
(BlazeFace: 128 or 192 px): ``frame: whole`` renders the whole sensor frame over a porch
background (:mod:`harness.degrade.scene`) through the same sensor and codec, and reports the
face's box; :func:`render_frame` renders a whole frame without the codec.

Local geometry is an affine approximation (scale, anisotropic foreshortening) of the projection at
the face's position, which holds while the face spans a small angle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml

from harness.degrade.geometry import Camera, FacePlacement, Subject, place_face
from harness.degrade.sensor import (Sensor, expose, h264_roundtrip, jpeg, linear_to_srgb,
                                    motion_blur, srgb_to_linear)
from harness.errors import ConfigError

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
MIN_SIDE = 96


@dataclass(frozen=True)
class Codec:
    """Compression after the image pipeline."""

    kind: str = "h264"            # none | jpeg | h264
    jpeg_quality: int = 75
    bitrate_kbps: float = 1500.0  # for the whole sensor frame; a crop gets its share by area
    gop: int = 30
    fps: int = 15
    frame_index: int = -1         # which decoded frame is the probe (-1: the last of the GOP)

    def validate(self) -> None:
        if self.kind not in ("none", "jpeg", "h264"):
            raise ConfigError(f"codec kind {self.kind!r}: choose none, jpeg or h264")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"codec jpeg_quality={self.jpeg_quality}: must be 1..100")
        if self.bitrate_kbps <= 0 or self.gop < 1 or self.fps < 1:
            raise ConfigError("codec: bitrate_kbps > 0, gop >= 1 and fps >= 1 required")


FRAMES = ("crop", "whole")
BACKGROUNDS = ("porch", "grey")


@dataclass(frozen=True)
class Capture:
    """A complete capture model: camera, subject, sensor, codec, and the seed of every random step."""

    name: str = "custom"
    camera: Camera = field(default_factory=Camera)
    subject: Subject = field(default_factory=Subject)
    sensor: Sensor = field(default_factory=Sensor)
    codec: Codec = field(default_factory=Codec)
    motion_angle_deg: float = 90.0  # walking towards the camera: the face drifts vertically on the sensor
    optics_blur_px: float = 0.5     # lens + demosaicing blur (Gaussian sigma at the sensor)
    seed: int = 0
    #: crop: the probe is the face's sensor-pixel neighbourhood (fast; what a detector that resizes its whole
    #: input sees is then too kind); whole: the whole sensor frame, face placed where the lens puts it.
    frame: str = "crop"
    #: Behind the face in whole frames: porch (procedural wall, door, lamp, step; see :mod:`scene`) or grey.
    background: str = "porch"

    def validate(self) -> "Capture":
        self.camera.validate()
        self.subject.validate()
        self.sensor.validate()
        self.codec.validate()
        if self.frame not in FRAMES:
            raise ConfigError(f"capture frame {self.frame!r}: choose {' or '.join(FRAMES)}")
        if self.background not in BACKGROUNDS:
            raise ConfigError(f"capture background {self.background!r}: choose {' or '.join(BACKGROUNDS)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["frame"] == "crop":  # crops have no background; and crop-mode digests (cache keys) stay as they were
            del d["frame"], d["background"]
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def with_value(self, path: str, value: Any) -> "Capture":
        """A copy with one parameter changed, by dotted path (``subject.distance``) or alias."""
        path = ALIASES.get(path, path)
        parts = path.split(".")
        if len(parts) == 1:
            return dataclasses.replace(self, **{parts[0]: _coerce(self, parts[0], value)}).validate()
        if len(parts) != 2 or parts[0] not in ("camera", "subject", "sensor", "codec"):
            raise ConfigError(f"capture parameter {path!r}: use section.field (camera, subject, sensor, codec) "
                              f"or one of {', '.join(ALIASES)}")
        section = getattr(self, parts[0])
        new = dataclasses.replace(section, **{parts[1]: _coerce(section, parts[1], value)})
        return dataclasses.replace(self, **{parts[0]: new}).validate()


ALIASES = {"distance": "subject.distance", "light": "sensor.lux", "lux": "sensor.lux",
           "bitrate": "codec.bitrate_kbps", "yaw": "subject.head_yaw_deg", "pitch": "subject.head_pitch_deg",
           "speed": "subject.speed", "height": "camera.mount_height"}


def _coerce(obj, name: str, value: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if name not in fields:
        raise ConfigError(f"{type(obj).__name__} has no parameter {name!r}; use one of: {', '.join(fields)}")
    current = getattr(obj, name)
    try:
        if isinstance(current, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if isinstance(current, (int, float)):
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise ValueError("not finite")
            return type(current)(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{type(obj).__name__}.{name}: {value!r} is not a finite number") from None
    return value


def from_dict(data: dict[str, Any], name: str = "custom") -> Capture:
    """Build and validate a capture from nested plain data (a preset or a user YAML)."""
    sections = {"camera": Camera, "subject": Subject, "sensor": Sensor, "codec": Codec}
    kwargs: dict[str, Any] = {"name": data.get("name", name)}
    for key, value in data.items():
        if key in sections:
            if not isinstance(value, dict):
                raise ConfigError(f"capture {name}: section {key} must be a mapping")
            base = sections[key]()
            for k, v in value.items():
                base = dataclasses.replace(base, **{k: _coerce(base, k, v)})
            kwargs[key] = base
        elif key in ("motion_angle_deg", "optics_blur_px", "seed"):
            kwargs[key] = float(value) if key != "seed" else int(value)
        elif key in ("frame", "background"):
            kwargs[key] = str(value)
        elif key not in ("name", "description", "sources"):
            raise ConfigError(f"capture {name}: unknown key {key!r}")
    return Capture(**kwargs).validate()


def presets() -> dict[str, dict[str, Any]]:
    """Built-in presets (name -> plain data, with description and sources)."""
    return yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))


def load(name_or_path: str) -> Capture:
    """A built-in preset by name, or a user preset from a YAML file."""
    p = Path(name_or_path)
    if p.suffix.lower() in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"{p}: capture preset file not found")
        from harness.config import read_yaml

        data = read_yaml(p, "capture preset") or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: a capture preset must be a mapping")
        try:
            return from_dict(data, name=p.stem)
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from None
    table = presets()
    if name_or_path not in table:
        raise ConfigError(f"unknown capture preset {name_or_path!r}; use one of: {', '.join(table)} (or a .yaml file)")
    return from_dict(table[name_or_path], name=name_or_path)


def clean_interocular(landmarks: Optional[np.ndarray], width: int) -> tuple[float, np.ndarray]:
    """Inter-ocular distance and eye midpoint in the clean photo (5- or 68-point landmarks)."""
    lm = None if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    if lm is not None and len(lm) in (5, 68):
        if len(lm) == 5:
            right, left = lm[0:2].mean(axis=0), lm[2:4].mean(axis=0)
        else:
            right, left = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
        return float(np.linalg.norm(right - left)), (right + left) / 2
    # No landmarks (the clean photo had no detectable face): assume a passport-style framing.
    return 0.2 * width, np.array([width / 2, 0.42 * width])


def _face_patch(image: np.ndarray, landmarks, cap: Capture, placement: FacePlacement) -> tuple[np.ndarray, dict]:
    """Resample the clean photo to the camera's scale and viewing angles (linear light, float32)."""
    import cv2

    h, w = image.shape[:2]
    iod_clean, centre = clean_interocular(landmarks, w)
    s = placement.interocular_px / iod_clean
    elev = placement.view_pitch_deg - cap.subject.head_pitch_deg
    sx = s * max(0.05, math.cos(math.radians(placement.view_yaw_deg)))
    sy = s * placement.radial_scale * max(0.05, math.cos(math.radians(placement.view_pitch_deg))) \
        / max(0.05, math.cos(math.radians(elev)))
    lin = srgb_to_linear(image)
    # Anti-alias before decimation: integrate over the new, larger pixels (plus the lens's own blur).
    sigma_x = 0.5 * math.sqrt(max(0.0, 1 / sx**2 - 1)) + cap.optics_blur_px / sx
    sigma_y = 0.5 * math.sqrt(max(0.0, 1 / sy**2 - 1)) + cap.optics_blur_px / sy
    lin = cv2.GaussianBlur(lin, (0, 0), sigmaX=max(sigma_x, 0.01), sigmaY=max(sigma_y, 0.01),
                           borderType=cv2.BORDER_REPLICATE)
    out_w, out_h = max(MIN_SIDE, int(round(w * sx))), max(MIN_SIDE, int(round(h * sy)))
    # Map the clean eye midpoint to the same relative spot of the output.
    tx = out_w / 2 - sx * w / 2
    ty = out_h / 2 - sy * h / 2
    M = np.array([[sx, 0, tx], [0, sy, ty]], dtype=np.float64)
    patch = cv2.warpAffine(lin, M, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    eye_mid = M @ np.r_[centre, 1.0]
    return patch, {"scale_x": sx, "scale_y": sy, "patch_size": [out_w, out_h], "eye_midpoint": eye_mid.tolist(),
                   "clean_interocular_px": iod_clean}


def _finish(patch: np.ndarray, cap: Capture, placement: FacePlacement, rng: np.random.Generator) -> np.ndarray:
    """Motion blur and sensor exposure of one frame (new noise each call)."""
    blur = cap.subject.speed * cap.sensor.exposure_ms / 1000.0 * placement.px_per_m
    x = motion_blur(patch, blur, cap.motion_angle_deg)
    half_diag = math.hypot(cap.camera.width, cap.camera.height) / 2
    off = math.hypot(placement.centre_px[0] - cap.camera.width / 2, placement.centre_px[1] - cap.camera.height / 2)
    return linear_to_srgb(expose(x, cap.sensor, rng, placement.range_m, off / half_diag))


def render_probe(image: np.ndarray, landmarks: Optional[np.ndarray], cap: Capture,
                 seed: Optional[int] = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Degrade one clean photo into a doorbell probe (uint8 RGB) and describe what was done.

    ``seed`` (default ``cap.seed``) fixes every random step; the same inputs give the same bytes.
    """
    cap.validate()
    rng = np.random.default_rng(cap.seed if seed is None else seed)
    placement = place_face(cap.camera, cap.subject)
    patch, info = _face_patch(image, landmarks, cap, placement)
    info.update(placement=placement.to_dict(), target_interocular_px=placement.interocular_px)
    if cap.frame == "whole":
        bg = scene_background(cap) if cap.background == "porch" else None
        patch, box = _place_in_frame(patch, info, cap, placement, bg)
        info["face_box"] = box
    codec = cap.codec
    if codec.kind == "h264":
        frames = [_finish(patch, cap, placement, rng) for _ in range(codec.gop)]
        area = (frames[0].shape[0] * frames[0].shape[1]) / (cap.camera.width * cap.camera.height)
        bps = max(1000, int(codec.bitrate_kbps * 1000 * area))
        decoded, stats = h264_roundtrip(frames, bps, codec.gop, codec.fps)
        out = decoded[codec.frame_index]
        info["h264"] = stats
    else:
        out = _finish(patch, cap, placement, rng)
        if codec.kind == "jpeg":
            out = jpeg(out, codec.jpeg_quality)
    return out, info


def render_frame(image: np.ndarray, landmarks: Optional[np.ndarray], cap: Capture, rng: np.random.Generator,
                 background: Optional[np.ndarray] = None) -> tuple[np.ndarray, dict[str, Any]]:
    """A whole sensor frame (camera.height × camera.width) with the face placed where the lens puts it.

    No codec is applied (encode sequences of frames with :func:`harness.degrade.sensor.h264_roundtrip`);
    ``render_probe`` with ``frame="whole"`` gives a whole frame through the capture's codec.
    """
    placement = place_face(cap.camera, cap.subject)
    patch, info = _face_patch(image, landmarks, cap, placement)
    frame, box = _place_in_frame(patch, info, cap, placement, background)
    out = _finish(frame, cap, placement, rng)
    info.update(placement=placement.to_dict(), face_box=box)
    return out, info


def _place_in_frame(patch: np.ndarray, info: dict, cap: Capture, placement: FacePlacement,
                    background: Optional[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """The whole linear-light frame with the face patch pasted at the lens's position, and the patch's box."""
    import cv2

    cam = cap.camera
    if background is None:
        frame = np.full((cam.height, cam.width, 3), 0.18, np.float32)  # mid-grey
    else:
        frame = cv2.resize(srgb_to_linear(background), (cam.width, cam.height), interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    ex, ey = info["eye_midpoint"]
    x0 = int(round(placement.centre_px[0] - ex))
    y0 = int(round(placement.centre_px[1] - ey))
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(cam.width, x0 + pw), min(cam.height, y0 + ph)
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = patch[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return frame, [fx0, fy0, fx1, fy1]


def scene_background(cap: Capture) -> np.ndarray:
    """The porch behind whole frames: one per camera size and capture seed (a doorbell sees one porch)."""
    from harness.degrade.scene import porch

    return porch(cap.camera.height, cap.camera.width, cap.seed)
