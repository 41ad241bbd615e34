"""dlib landmarks for a box found by another detector, so any detector can feed dlib's embedder.

dlib's ResNet aligns its chip from dlib's 5- or 68-point landmarks. Detectors that are not dlib's
(BlazeFace, Haar) give a box, so the shape predictor is run inside that box. The predictor was
trained on boxes from dlib's own detectors, whose framing differs somewhat from other detectors',
so this mixing is recorded in provenance rather than hidden.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.modelfiles import dlib_model, sha256_model

LANDMARK_FILES = {"5": "shape_predictor_5_face_landmarks.dat", "68": "shape_predictor_68_face_landmarks.dat"}


class DlibLandmarker:
    """dlib's shape predictor run inside a given box.

    Parameters
    ----------
    points : {"5", "68"}
        Which shape predictor.
    """

    def __init__(self, points: str = "5"):
        self.points = str(points)
        self._sp = None

    def load(self) -> None:
        import dlib

        self._sp = dlib.shape_predictor(str(dlib_model(LANDMARK_FILES[self.points])))

    def __call__(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(K, 2) landmarks in image pixels for the face in ``box`` (left, top, right, bottom)."""
        import dlib

        if self._sp is None:
            self.load()
        rect = dlib.rectangle(*[int(v) for v in box])
        shape = self._sp(image, rect)
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float64)

    def provenance(self, detector: str) -> dict[str, Any]:
        p = dlib_model(LANDMARK_FILES[self.points])
        return {"landmarks": f"dlib {self.points}-point shape predictor inside the {detector} box",
                "landmark_weights": {p.name: sha256_model(p)}}
