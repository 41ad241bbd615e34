"""capture frame=whole: the whole sensor frame over a porch, through the codec, with the face's box;
only a detection on that box is the face (the rest are counted false detections)."""

import numpy as np
import pytest
from PIL import Image

from harness import config, pipeline
from harness.degrade import capture, scene
from harness.detect.base import Detection
from harness.errors import ConfigError
from harness.pipeline import acquire_image

# Digests (acquisition cache keys) of crop-mode presets as they were before frame/background existed.
CROP_DIGESTS = {"doorbell-1080p-day": "4c621af9b489acac", "doorbell-640x480-stream": "54cced3703e5de1b"}


def _photo(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((320, 320, 3)) * 255).astype(np.uint8)


def _lm():  # 5-point landmarks of a face centred in a 320x320 photo, eyes 60 px apart
    return np.array([[190, 130], [175, 130], [130, 130], [145, 130], [160, 200]], np.float64)


@pytest.mark.parametrize("name", sorted(CROP_DIGESTS))
def test_crop_mode_keeps_its_cache_keys(name):
    cap = capture.load(name)
    assert cap.frame == "crop" and "frame" not in cap.to_dict()
    assert cap.digest() == CROP_DIGESTS[name]
    whole = cap.with_value("frame", "whole")
    assert whole.to_dict()["frame"] == "whole" and whole.digest() != cap.digest()
    assert whole.with_value("background", "grey").digest() != whole.digest()


def test_whole_frame_is_the_sensor_frame_with_the_face_box():
    cap = capture.load("doorbell-640x480-stream").with_value("distance", 1.0).with_value("frame", "whole")
    out, info = capture.render_probe(_photo(), _lm(), cap, seed=3)
    assert out.shape == (480, 640, 3) and out.dtype == np.uint8
    l, t, r, b = info["face_box"]
    assert 0 <= l < r <= 640 and 0 <= t < b <= 480 and (r - l) < 640
    again, _ = capture.render_probe(_photo(), _lm(), cap, seed=3)
    assert np.array_equal(out, again)  # deterministic, codec included
    crop, cinfo = capture.render_probe(_photo(), _lm(), cap.with_value("frame", "crop"), seed=3)
    assert "face_box" not in cinfo and crop.shape[:2] != out.shape[:2]


def test_the_porch_is_behind_the_face_and_differs_from_grey():
    cap = capture.load("doorbell-640x480-stream").with_value("frame", "whole").with_value("codec.kind", "none")
    porch, info = capture.render_probe(_photo(), _lm(), cap, seed=1)
    grey, _ = capture.render_probe(_photo(), _lm(), cap.with_value("background", "grey"), seed=1)
    l, t, r, b = info["face_box"]
    outside = np.ones(porch.shape[:2], bool)
    outside[t:b, l:r] = False
    assert np.abs(porch[outside].astype(int) - grey[outside]).mean() > 10  # the background differs
    assert porch[outside].std() > grey[outside].std()  # and has texture and edges
    p = scene.porch(480, 640, 0)
    assert p is scene.porch(480, 640, 0) and not p.flags.writeable and p.shape == (480, 640, 3)


def test_bad_frame_or_background_is_one_line():
    cap = capture.load("doorbell-1080p-day")
    with pytest.raises(ConfigError, match="crop or whole"):
        cap.with_value("frame", "tiles")
    with pytest.raises(ConfigError, match="porch or grey"):
        cap.with_value("background", "beach")
    with pytest.raises(ConfigError, match="capture.frame"):
        pipeline.load_capture(config.load(overrides=["capture.frame=whole"]))


class _Boxes:
    """A detector that reports the given boxes (one on the face, others on the porch)."""

    name = "boxes"

    def __init__(self):
        self.boxes = []

    def load(self):
        pass

    def detect(self, image):
        return [Detection(box=b, score=1.0, landmarks=np.zeros((0, 2))) for b in self.boxes]

    def provenance(self):
        return {"name": self.name}


class _Emb:
    name = "emb"

    def load(self):
        pass

    def embed(self, image, face):
        return np.full(8, float(face.box[0]))  # which face was embedded

    def provenance(self):
        return {"name": self.name}


def test_only_a_detection_on_the_rendered_face_is_the_face(tmp_path):
    Image.fromarray(_photo()).save(tmp_path / "a.png")
    cap = capture.load("doorbell-640x480-stream").with_value("distance", 1.0).with_value("frame", "whole") \
        .with_value("codec.kind", "none")
    _, info = capture.render_probe(_photo(), _lm(), cap, seed=5)
    l, t, r, b = info["face_box"]
    det = _Boxes()
    det.boxes = [(0, 0, 20, 20), (l + 2, t + 2, r - 2, b - 2)]  # a false detection on the porch, then the face
    rec = acquire_image(str(tmp_path / "a.png"), det, _Emb(), "fta", 10**7, cap, _lm(), 5)
    assert rec["status"] == "ok" and rec["embedding"][0] == l + 2 and rec["n_background_faces"] == 1
    det.boxes = [(0, 0, 20, 20)]  # only the porch
    rec = acquire_image(str(tmp_path / "a.png"), det, _Emb(), "fta", 10**7, cap, _lm(), 5)
    assert rec["status"] == "fta" and rec["reason"] == "no_face_in_face_box" and rec["n_background_faces"] == 1
