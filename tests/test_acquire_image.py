"""acquire_image never passes a broken template on: a NaN/inf output is recorded, never compared."""

import numpy as np
from PIL import Image

from harness.detect.null import NullDetector
from harness.pipeline import acquire_image


class BrokenEmbedder:
    name = "broken"

    def __init__(self, value):
        self.value = value

    def load(self):
        pass

    def embed(self, image, face):
        return np.full(8, self.value)

    def provenance(self):
        return {"name": self.name}


def test_non_finite_templates_are_recorded_not_embedded(tmp_path):
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(tmp_path / "a.png")
    for bad in (np.nan, np.inf):
        rec = acquire_image(str(tmp_path / "a.png"), NullDetector(), BrokenEmbedder(bad), "fta", 10**7)
        assert rec["status"] == "fta" and rec["reason"] == "non_finite_template" and rec["embedding"] is None
    rec = acquire_image(str(tmp_path / "a.png"), NullDetector(), BrokenEmbedder(0.5), "fta", 10**7)
    assert rec["status"] == "ok" and np.isfinite(rec["embedding"]).all()
