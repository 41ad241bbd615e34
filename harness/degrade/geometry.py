"""Where a face lands on a doorbell sensor, and how big: camera and subject geometry.

Coordinates: camera at the origin, mounted ``mount_height`` m above the ground, optical axis
horizontal (tilted down by ``tilt_deg``); x to the subject's right-of-camera, y up, z forward.

Lens projections map the angle θ between a ray and the optical axis to an image radius r:

- rectilinear:  r = f·tan θ,      f = (W/2) / tan(HFOV/2)
- equidistant:  r = f·θ,          f = (W/2) / (HFOV/2)
- equisolid:    r = 2f·sin(θ/2),  f = (W/2) / (2·sin(HFOV/4))

with W the sensor width in pixels, so the horizontal field of view spans the sensor width.
Both eyes (``ipd_m`` apart, horizontal) are projected exactly, so the inter-ocular distance in
pixels includes lens distortion and obliquity. Example (hand-computed, see tests): 150° equidistant
fisheye on a 1536-px sensor, face on the axis at 2 m: f = 768 / 1.309 = 586.7 px/rad, the eyes
subtend 0.063/2 = 0.0315 rad, so IOD ≈ 18.5 px.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from harness.errors import ConfigError

PROJECTIONS = ("rectilinear", "equidistant", "equisolid")
#: Mean adult inter-pupillary distance (m); ~61-64 mm across adult populations.
IPD_M = 0.063


@dataclass(frozen=True)
class Camera:
    """A doorbell camera: sensor, field of view, lens projection and mounting."""

    width: int = 1920
    height: int = 1080
    hfov_deg: float = 160.0
    vfov_deg: float = 84.0
    projection: str = "equidistant"
    mount_height: float = 1.2
    tilt_deg: float = 0.0

    def validate(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ConfigError(f"camera sensor {self.width}x{self.height}: at least 16x16 pixels")
        if self.projection not in PROJECTIONS:
            raise ConfigError(f"camera projection {self.projection!r}: choose one of {', '.join(PROJECTIONS)}")
        limit = 180.0 if self.projection == "rectilinear" else 360.0
        for name, v in (("hfov_deg", self.hfov_deg), ("vfov_deg", self.vfov_deg)):
            if not 0 < v < limit:
                raise ConfigError(f"camera {name}={v}: must be in (0, {limit:g}) degrees for a {self.projection} lens")
        if self.projection == "equisolid" and self.hfov_deg >= 360:
            raise ConfigError("equisolid lens: hfov_deg must be below 360")
        if not 0 <= self.mount_height <= 5:
            raise ConfigError(f"camera mount_height={self.mount_height} m: must be in [0, 5]")

    @property
    def focal_px(self) -> float:
        """Focal length in pixels such that the horizontal FOV spans the sensor width."""
        half = math.radians(self.hfov_deg) / 2
        w2 = self.width / 2
        if self.projection == "rectilinear":
            return w2 / math.tan(half)
        if self.projection == "equidistant":
            return w2 / half
        return w2 / (2 * math.sin(half / 2))

    def radius(self, theta: np.ndarray) -> np.ndarray:
        """Image radius (px) of rays at angle ``theta`` (rad) from the optical axis."""
        f = self.focal_px
        if self.projection == "rectilinear":
            return f * np.tan(theta)
        if self.projection == "equidistant":
            return f * theta
        return 2 * f * np.sin(theta / 2)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (u right, v down, origin top-left) of 3-D points (N, 3) in camera space."""
        p = np.atleast_2d(np.asarray(points, dtype=np.float64))
        t = math.radians(self.tilt_deg)
        # Tilt the camera down by t: rotate the scene up by t about the x axis.
        y = p[:, 1] * math.cos(t) + p[:, 2] * math.sin(t)
        z = -p[:, 1] * math.sin(t) + p[:, 2] * math.cos(t)
        x = p[:, 0]
        theta = np.arctan2(np.hypot(x, y), z)
        phi = np.arctan2(y, x)
        r = self.radius(theta)
        return np.stack([self.width / 2 + r * np.cos(phi), self.height / 2 - r * np.sin(phi)], axis=1)


@dataclass(frozen=True)
class Subject:
    """A person in front of the door: where they stand and how their head is turned."""

    distance: float = 2.0       # m, horizontal, along the optical axis
    height: float = 1.70        # m, standing height; eyes at 0.93 of it (anthropometric mean)
    lateral: float = 0.0        # m, to the camera's right
    head_pitch_deg: float = 0.0  # + looks up
    head_yaw_deg: float = 0.0    # + turns to the camera's right
    speed: float = 0.0          # m/s walking speed, for motion blur

    def validate(self) -> None:
        if not 0.2 <= self.distance <= 30:
            raise ConfigError(f"subject distance={self.distance} m: must be between 0.2 and 30 m")
        if not 0.5 <= self.height <= 2.5:
            raise ConfigError(f"subject height={self.height} m: must be between 0.5 and 2.5 m")
        if abs(self.head_pitch_deg) > 80 or abs(self.head_yaw_deg) > 80:
            raise ConfigError("head pitch/yaw beyond ±80°: the face is not visible")
        if not 0 <= self.speed <= 5:
            raise ConfigError(f"subject speed={self.speed} m/s: must be between 0 and 5")

    @property
    def eye_height(self) -> float:
        return 0.93 * self.height


@dataclass
class FacePlacement:
    """Where and how the face appears on the sensor."""

    centre_px: tuple[float, float]
    interocular_px: float
    radial_scale: float       # local magnification along the radial direction / tangential
    azimuth_deg: float        # direction of the radial axis at the face (for anisotropic distortion)
    view_pitch_deg: float     # camera-to-face elevation plus head pitch (foreshortening)
    view_yaw_deg: float
    range_m: float
    in_frame: bool
    px_per_m: float

    def to_dict(self) -> dict:
        return asdict(self)


def place_face(camera: Camera, subject: Subject, ipd_m: float = IPD_M) -> FacePlacement:
    """Project the subject's eyes and nose through the lens; measure size, position and local distortion."""
    camera.validate()
    subject.validate()
    eye_y = subject.eye_height - camera.mount_height
    centre = np.array([subject.lateral, eye_y, subject.distance])
    # Eyes lie on a horizontal line perpendicular to the line of sight (in the ground plane).
    los = np.array([subject.lateral, 0.0, subject.distance])
    across = np.array([los[2], 0.0, -los[0]]) / np.linalg.norm(los)
    eyes = np.stack([centre - across * ipd_m / 2, centre + across * ipd_m / 2])
    up = np.array([0.0, ipd_m, 0.0])
    uv = camera.project(np.vstack([eyes, centre, centre + up]))
    iod = float(np.linalg.norm(uv[1] - uv[0]))
    vertical = float(np.linalg.norm(uv[3] - uv[2]))
    c = uv[2]
    rel = c - np.array([camera.width / 2, camera.height / 2])
    azimuth = math.degrees(math.atan2(-rel[1], rel[0])) if np.hypot(*rel) > 1e-9 else 0.0
    rng_m = float(np.linalg.norm(centre))
    elevation = math.degrees(math.atan2(eye_y, math.hypot(subject.lateral, subject.distance))) - camera.tilt_deg
    azim = math.degrees(math.atan2(subject.lateral, subject.distance))
    inside = bool(0 <= c[0] < camera.width and 0 <= c[1] < camera.height)
    return FacePlacement(
        centre_px=(float(c[0]), float(c[1])), interocular_px=iod,
        radial_scale=vertical / iod if iod > 0 else 1.0, azimuth_deg=azimuth,
        view_pitch_deg=elevation + subject.head_pitch_deg, view_yaw_deg=azim + subject.head_yaw_deg,
        range_m=rng_m, in_frame=inside, px_per_m=iod / ipd_m,
    )
