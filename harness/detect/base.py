"""The detector protocol: find faces and their landmarks in an RGB image (acquisition)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class Detection:
    """One face: box as (left, top, right, bottom) in pixels, detector score, landmarks (K, 2)."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

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
