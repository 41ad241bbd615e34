"""The detector protocol: find faces and their landmarks in an RGB image (acquisition)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


#: Order of the six BlazeFace keypoints in :attr:`Detection.keypoints` (MediaPipe's order; "right"
#: is the subject's right, i.e. the eye on the image's left in a frontal photo).
BLAZEFACE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear_tragion", "left_ear_tragion")


@dataclass
class Detection:
    """One face.

    Attributes
    ----------
    box : (left, top, right, bottom)
        Pixels in the input image.
    score : float
        Detector confidence (its own scale: SVM margin, CNN confidence, sigmoid probability).
    landmarks : (K, 2) array
        dlib 5- or 68-point landmarks (what dlib's embedder aligns with); empty when none were computed.
    keypoints : (K, 2) array
        The detector's own keypoints, if it has any (BlazeFace: six, in :data:`BLAZEFACE_KEYPOINTS` order).
    """

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return max(0, right - left) * max(0, bottom - top)

    @property
    def interocular_px(self) -> float:
        """Distance between eye centres in pixels (NaN without eye landmarks)."""
        lm = self.landmarks
        if len(lm) == 5:  # dlib 5-point: 0,1 right eye corners; 2,3 left eye corners
            right, left = lm[0:2].mean(axis=0), lm[2:4].mean(axis=0)
        elif len(lm) == 68:
            right, left = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
        else:
            return float("nan")
        return float(np.linalg.norm(right - left))


class Detector(Protocol):
    """Backends implement these four members; see :mod:`harness.detect` for the registry."""

    name: str

    def load(self) -> None:
        """Load weights (called once per worker process)."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """All faces found in an (H, W, 3) uint8 RGB image, with landmarks."""

    def provenance(self) -> dict[str, Any]:
        """Name, parameters and weight hashes: everything that changes the output."""


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """``image`` as a C-contiguous (H, W, 3) uint8 RGB array, the one input every detector takes.

    Files reach detectors through :func:`harness.data.images.load_rgb`, which already gives this;
    arrays passed in directly may be greyscale (H, W) or (H, W, 1), RGBA (alpha composited on
    white, as ``load_rgb`` does), 16-bit (scaled by 257) or float in [0, 1].

    Raises
    ------
    FaceriskError
        For an empty image or a shape that is not an image.
    """
    from harness.errors import FaceriskError

    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.shape[0] == 0 or a.shape[1] == 0:
        raise FaceriskError(f"detector input of shape {a.shape} is not an image; pass (H, W, 3) uint8 RGB")
    if a.dtype != np.uint8:
        if a.dtype.kind == "f":
            a = np.clip(np.nan_to_num(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        elif a.dtype.kind in "ui" and a.dtype.itemsize == 2:
            a = (a.astype(np.float64) / 257.0 + 0.5).clip(0, 255).astype(np.uint8)
        elif a.dtype == bool:
            a = a.astype(np.uint8) * 255
        else:
            raise FaceriskError(f"detector input of dtype {a.dtype} is not supported; pass uint8 RGB")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float64) / 255.0
        a = (a[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a)
