"""OpenCV's Viola-Jones Haar cascade (``haarcascade_frontalface_default.xml``), the classic baseline.

The cascade ships in the opencv-python(-headless) 4.x wheels under ``cv2.data.haarcascades``.
Input handling follows OpenCV's face detection tutorial: grey conversion and histogram
equalisation, then ``detectMultiScale`` (here ``detectMultiScale2``, which also returns each
box's neighbour count, used as its score). dlib landmarks are computed inside each box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.detect.base import Detection, as_rgb8
from harness.errors import FaceriskError

CASCADE = "haarcascade_frontalface_default.xml"
SHA256 = "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0"
CARD = "models/detector-haar.yaml"


def cascade_path() -> Path:
    """The cascade XML shipped with OpenCV."""
    import cv2

    base = getattr(getattr(cv2, "data", None), "haarcascades", None)
    p = Path(base or "") / CASCADE
    if not base or not p.is_file():
        raise FaceriskError(
            f"{CASCADE} not found in this OpenCV build; install 'opencv-python-headless>=4.8,<5' (5.x dropped the cascades)"
        )
    return p


class HaarCascade:
    """Haar cascade frontal face detector.

    Parameters
    ----------
    scale_factor : float
        Image pyramid step (OpenCV's default 1.1).
    min_neighbors : int
        Overlapping raw detections needed to keep a face (OpenCV's default 3).
    landmarks : {"5", "68"}
        dlib shape predictor run inside each box.
    """

    name = "haar"

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 3, landmarks: str = "5"):
        from harness.detect.dlib_landmarks import DlibLandmarker

        if not scale_factor > 1.0:
            raise FaceriskError(f"detector.scale_factor={scale_factor}: must be above 1 (e.g. 1.1)")
        if int(min_neighbors) < 0:
            raise FaceriskError(f"detector.min_neighbors={min_neighbors}: must be 0 or more")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self._landmarker = DlibLandmarker(landmarks)
        self._cascade = None

    @staticmethod
    def missing() -> str:
        """'' when OpenCV ships the cascade, else what to install."""
        try:
            cascade_path()
        except FaceriskError:
            return "needs opencv 4.x cascades"
        return ""

    def load(self) -> None:
        import cv2

        from harness.detect.blazeface import verify

        p = cascade_path()
        verify(p, SHA256, CARD)
        self._cascade = cv2.CascadeClassifier(str(p))
        if self._cascade.empty():
            raise FaceriskError(f"{p}: OpenCV could not read the cascade; reinstall opencv-python-headless")
        self._landmarker.load()

    def detect(self, image: np.ndarray) -> list[Detection]:
        import cv2

        if self._cascade is None:
            self.load()
        image = as_rgb8(image)
        grey = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        rects, neighbours = self._cascade.detectMultiScale2(grey, scaleFactor=self.scale_factor,
                                                            minNeighbors=self.min_neighbors)
        out = []
        for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(neighbours).reshape(-1)):
            box = (int(x), int(y), int(x + w), int(y + h))
            out.append(Detection(box, float(n), self._landmarker(image, box)))
        return out

    def provenance(self) -> dict[str, Any]:
        import cv2

        return {"name": self.name, "library": f"opencv {cv2.__version__}", "cascade": CASCADE, "cascade_sha256": SHA256,
                "scale_factor": self.scale_factor, "min_neighbors": self.min_neighbors, "min_size_px": 24,
                "preprocessing": "grey + equalizeHist", "score": "neighbour count",
                **self._landmarker.provenance(self.name)}
