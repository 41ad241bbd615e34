"""Null detector: the whole image is one face. Measures the harness's own overhead."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.detect.base import Detection


class NullDetector:
    """Returns one box covering the image, with 5 landmarks at canonical positions."""

    name = "null"

    def load(self) -> None:
        pass

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        rel = np.array([[0.70, 0.38], [0.58, 0.38], [0.30, 0.38], [0.42, 0.38], [0.5, 0.62]])
        return [Detection((0, 0, w, h), 1.0, rel * [w, h])]

    def provenance(self) -> dict[str, Any]:
        return {"name": self.name}
