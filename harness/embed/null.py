"""Null embedder: a cheap deterministic template from pixel statistics. Measures overhead."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.detect.base import Detection


class NullEmbedder:
    """128-d vector of per-cell mean intensities of the face box (no model)."""

    name = "null"

    def load(self) -> None:
        pass

    def embed(self, image: np.ndarray, face: Detection) -> np.ndarray:
        left, top, right, bottom = (max(0, v) for v in face.box)
        crop = image[top:bottom, left:right].astype(np.float64).mean(axis=2)
        if crop.size == 0:
            return np.zeros(128)
        ys = np.linspace(0, crop.shape[0], 9).astype(int)
        xs = np.linspace(0, crop.shape[1], 17).astype(int)
        v = np.array([crop[ys[i]:max(ys[i + 1], ys[i] + 1), xs[j]:max(xs[j + 1], xs[j] + 1)].mean()
                      for i in range(8) for j in range(16)])
        return (v - v.mean()) / (v.std() + 1e-9) / np.sqrt(128)

    def provenance(self) -> dict[str, Any]:
        return {"name": self.name}
