"""Small synthetic images for benchmarks that need no real faces (null backends)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-images")
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (96, 80, 3), dtype=np.uint8)).save(root / f"img{i}.png")
    return root
