"""Detect stage: find faces and landmarks. One file per backend, named in :data:`REGISTRY`.

Backends are imported only when made, so listing them needs none of their libraries.
Each backend class takes its options as keyword arguments (see :func:`options`).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from harness.detect.base import BLAZEFACE_KEYPOINTS, Detection, Detector

#: name -> ("module:Class", description)
REGISTRY: dict[str, tuple[str, str]] = {
    "dlib-hog": ("harness.detect.dlib_detector:DlibHog",
                 "dlib HOG + linear SVM frontal face detector (face_recognition's default 'hog')"),
    "dlib-cnn": ("harness.detect.dlib_detector:DlibCnn",
                 "dlib MMOD CNN face detector (face_recognition's 'cnn'; slow on CPU)"),
    "dlib-cnn-onnx": ("harness.detect.dlib_mmod:DlibCnnOnnx",
                      "dlib's MMOD CNN weights under onnxruntime, dlib's pyramid/decoding/NMS in numpy "
                      "(same detections as dlib-cnn; 8-11x less CPU here)"),
    "blazeface-short": ("harness.detect.blazeface:BlazeFaceShort",
                        "MediaPipe BlazeFace short range, 128x128, faces within ~2 m (LiteRT or onnxruntime)"),
    "blazeface-full": ("harness.detect.blazeface:BlazeFaceFull",
                       "MediaPipe BlazeFace full range, 192x192, faces up to ~5 m (LiteRT or onnxruntime)"),
    "haar": ("harness.detect.haar:HaarCascade",
             "OpenCV Haar cascade, frontalface_default (Viola-Jones baseline)"),
    "null": ("harness.detect.null:NullDetector", "whole image as one face (overhead measurement)"),
}

#: name -> description (what ``facerisk models list`` prints).
BACKENDS: dict[str, str] = {name: desc for name, (_, desc) in REGISTRY.items()}


def _unknown(name: str) -> Exception:
    from harness.errors import ConfigError

    return ConfigError(f"detector.name: unknown detector {name!r}; choose one of {', '.join(REGISTRY)}")


def backend_class(name: str) -> type:
    """The class registered as ``name`` (imports its module)."""
    if name not in REGISTRY:
        raise _unknown(name)
    module, _, cls = REGISTRY[name][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def options(name: str) -> dict[str, Any]:
    """The options backend ``name`` takes, with their defaults."""
    params = inspect.signature(backend_class(name).__init__).parameters
    return {p.name: p.default for p in list(params.values())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def status(name: str) -> str:
    """"ready", or in a few words what backend ``name`` is missing (nothing is loaded)."""
    try:
        cls = backend_class(name)
    except ImportError as exc:
        return f"needs {exc.name}"
    missing = getattr(cls, "missing", None)
    return (missing() if missing else "") or "ready"


def make(name: str, **opts: Any) -> Detector:
    """Build the detector called ``name`` with keyword ``opts``.

    Raises
    ------
    ConfigError
        Unknown name, or an option the backend does not take.
    """
    from harness.errors import ConfigError

    accepted = options(name)
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise ConfigError(f"detector {name!r} does not take option(s) {', '.join(unknown)}; "
                          f"it takes {', '.join(accepted) or 'none'}")
    return backend_class(name)(**opts)


__all__ = ["BACKENDS", "BLAZEFACE_KEYPOINTS", "REGISTRY", "Detection", "Detector", "backend_class", "make",
           "options", "status"]
