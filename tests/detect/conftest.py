"""Detector test fixtures: converted ONNX models go to a per-session folder, not the user cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("facerisk-cache")
    mp.setenv("FACERISK_CACHE", str(root))
    yield root / "models"
    mp.undo()


@pytest.fixture(scope="session")
def frl_images(frl):
    paths = sorted((frl / "images").glob("*.jpg"))
    if len(paths) != 204:
        pytest.skip(f"expected the 204 frl-london images in {frl / 'images'}, found {len(paths)}")
    return paths
