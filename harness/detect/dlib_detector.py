"""dlib detectors (HOG+SVM or CNN/MMOD) with dlib's 5- or 68-point landmarks.

Same calls, in the same order, as face_recognition's ``face_locations`` / ``_raw_face_landmarks``,
so its encodings can be reproduced exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.detect.base import Detection, as_rgb8
from harness.modelfiles import dlib_model, sha256_model

LANDMARK_FILES = {"5": "shape_predictor_5_face_landmarks.dat", "68": "shape_predictor_68_face_landmarks.dat"}
CNN_FILE = "mmod_human_face_detector.dat"


class DlibDetector:
    """dlib face detector plus shape predictor.

    Parameters
    ----------
    kind : {"hog", "cnn"}
        HOG+linear SVM (``get_frontal_face_detector``) or the MMOD CNN.
    upsample : int
        Times the image is upsampled (finds smaller faces, costs ~4x per step).
    landmarks : {"5", "68"}
        Landmark model.
    """

    def __init__(self, kind: str = "hog", upsample: int = 1, landmarks: str = "5"):
        self.kind = kind
        self.upsample = int(upsample)
        self.landmarks = str(landmarks)
        self.name = f"dlib-{kind}"
        self._det = None
        self._sp = None

    @staticmethod
    def missing() -> str:
        """'' when dlib's model files are installed, else what to install."""
        from harness.errors import FaceriskError
        from harness.modelfiles import dlib_model_dir

        try:
            return "" if dlib_model_dir().is_dir() else "weights missing"
        except FaceriskError:
            return "needs face_recognition_models"

    def load(self) -> None:
        import dlib

        if self.kind == "cnn":
            self._det = dlib.cnn_face_detection_model_v1(str(dlib_model(CNN_FILE)))
        else:
            self._det = dlib.get_frontal_face_detector()
        self._sp = dlib.shape_predictor(str(dlib_model(LANDMARK_FILES[self.landmarks])))

    def detect(self, image: np.ndarray) -> list[Detection]:
        if self._det is None:
            self.load()
        image = as_rgb8(image)
        if self.kind == "cnn":
            found = [(d.rect, float(d.confidence)) for d in self._det(image, self.upsample)]
        else:
            rects, scores, _ = self._det.run(image, self.upsample, 0.0)
            found = list(zip(rects, map(float, scores)))
        out = []
        for rect, score in found:
            shape = self._sp(image, rect)
            pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float64)
            out.append(Detection((rect.left(), rect.top(), rect.right(), rect.bottom()), score, pts))
        return out

    def provenance(self) -> dict[str, Any]:
        import dlib

        files = [dlib_model(LANDMARK_FILES[self.landmarks])]
        if self.kind == "cnn":
            files.append(dlib_model(CNN_FILE))
        return {
            "name": self.name,
            "library": f"dlib {dlib.__version__}",
            "upsample": self.upsample,
            "landmarks": f"{self.landmarks}-point",
            "weights": {p.name: sha256_model(p) for p in files},
        }


class DlibHog(DlibDetector):
    """dlib's HOG + linear SVM frontal face detector (face_recognition's 'hog')."""

    def __init__(self, upsample: int = 1, landmarks: str = "5"):
        super().__init__("hog", upsample, landmarks)


class DlibCnn(DlibDetector):
    """dlib's MMOD CNN face detector (face_recognition's 'cnn')."""

    def __init__(self, upsample: int = 1, landmarks: str = "5"):
        super().__init__("cnn", upsample, landmarks)
