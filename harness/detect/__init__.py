"""Detect stage: find faces and landmarks. One file per backend; :func:`make` picks one."""

from __future__ import annotations

from harness.detect.base import Detection, Detector

BACKENDS = {
    "dlib-hog": "dlib HOG + linear SVM frontal face detector (face_recognition's default 'hog')",
    "dlib-cnn": "dlib MMOD CNN face detector (face_recognition's 'cnn'; slow on CPU)",
    "null": "whole image as one face (overhead measurement)",
}


def make(name: str, upsample: int = 1, landmarks: str = "5") -> Detector:
    """Build the detector called ``name``."""
    from harness.errors import ConfigError

    if name in ("dlib-hog", "dlib-cnn"):
        from harness.detect.dlib_detector import DlibDetector

        return DlibDetector(kind=name.split("-")[1], upsample=upsample, landmarks=landmarks)
    if name == "null":
        from harness.detect.null import NullDetector

        return NullDetector()
    raise ConfigError(f"unknown detector {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Detection", "Detector", "make"]
