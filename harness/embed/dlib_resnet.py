"""dlib's ResNet-29 face descriptor (128-d), as used by face_recognition.

``compute_face_descriptor`` aligns a 150x150 chip from the landmarks itself, so the
template equals ``face_recognition.face_encodings`` for the same detection and jitters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.detect.base import Detection
from harness.modelfiles import dlib_model, sha256_model

WEIGHTS = "dlib_face_recognition_resnet_model_v1.dat"


def to_dlib_shape(face: Detection):
    """Rebuild dlib's full_object_detection from a stored box and landmarks."""
    import dlib

    rect = dlib.rectangle(*[int(v) for v in face.box])
    pts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in face.landmarks])
    return dlib.full_object_detection(rect, pts)


class DlibResNet:
    """dlib_face_recognition_resnet_model_v1 (LFW 99.38% per dlib's documentation)."""

    name = "dlib-resnet-v1"
    dim = 128

    def __init__(self, jitters: int = 1):
        self.jitters = int(jitters)
        self._net = None

    def load(self) -> None:
        import dlib

        self._net = dlib.face_recognition_model_v1(str(dlib_model(WEIGHTS)))

    def embed(self, image: np.ndarray, face: Detection) -> np.ndarray:
        if self._net is None:
            self.load()
        if len(face.landmarks) not in (5, 68):
            raise ValueError("dlib-resnet-v1 needs 5- or 68-point dlib landmarks from the detector")
        image = np.ascontiguousarray(image, dtype=np.uint8)
        return np.asarray(self._net.compute_face_descriptor(image, to_dlib_shape(face), self.jitters), dtype=np.float64)

    def provenance(self) -> dict[str, Any]:
        import dlib

        p = dlib_model(WEIGHTS)
        return {
            "name": self.name,
            "library": f"dlib {dlib.__version__}",
            "dim": self.dim,
            "jitters": self.jitters,
            "weights": {p.name: sha256_model(p)},
        }
