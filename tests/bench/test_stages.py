"""Stage timing: the align/embed split, compare decisions, registry options, model files, and that the
benchmark times the very computation a run makes (same template as the run's acquisition)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.bench.stages import Backends, FramePipeline, Scorer, load_backends, model_files
from harness.detect.base import Detection
from harness.errors import ConfigError


class SplitEmbedder:
    name = "split"

    def __init__(self):
        self.calls = []

    def load(self):
        pass

    def align(self, image, face):
        self.calls.append("align")
        return image[:8, :8]

    def infer(self, chips):  # the batch API: (N, H, W, 3) -> (N, D)
        self.calls.append("infer")
        assert chips.ndim == 4
        return chips.reshape(len(chips), -1)[:, :4].astype(float)

    def embed(self, image, face):  # pragma: no cover - must not be used when align/infer exist
        raise AssertionError("embed() called although align()/infer() exist")

    def provenance(self):
        return {"name": self.name}


class OneFace:
    name = "one"

    def load(self):
        pass

    def detect(self, image):
        return [Detection((0, 0, 4, 4), 1.0), Detection((0, 0, 10, 10), 0.5)]

    def provenance(self):
        return {"name": self.name}


def test_align_and_embed_timed_separately_when_the_embedder_splits():
    emb = SplitEmbedder()
    b = Backends(OneFace(), emb)
    assert b.split
    times, out = FramePipeline(b).run(np.zeros((16, 16, 3), np.uint8))
    assert emb.calls == ["align", "infer"]
    assert {"align", "embed", "detect", "pipeline"} <= set(times) and "decode" not in times
    assert out["faces"] == 2 and out["template"].shape == (4,)


def test_unsplit_embedder_is_one_embed_stage():
    b = load_backends("null", "null")
    assert not b.split
    times, out = FramePipeline(b).run(np.zeros((32, 32, 3), np.uint8))
    assert "align" not in times and "embed" in times


def test_scorer_decisions():
    g = np.array([[0.0, 0.0], [1.0, 0.0]])
    s = Scorer(g, "euclidean", 0.5)
    assert s.decide(np.array([0.9, 0.1])) == (1, pytest.approx(np.hypot(0.1, 0.1)), True)
    assert s.decide(np.array([0.5, 2.0]))[2] is False
    c = Scorer(np.array([[1.0, 0.0], [0.0, 2.0]]), "cosine", 0.9)
    best, score, match = c.decide(np.array([0.0, 5.0]))
    assert best == 1 and score == pytest.approx(1.0) and match
    assert Scorer(np.zeros((0, 2))).decide(np.ones(2))[0] == -1


def test_unknown_backend_option_is_a_config_error():
    with pytest.raises(ConfigError, match="no_such_option|takes no arguments"):
        load_backends("null", "null", embedder_options={"no_such_option": 1})
    with pytest.raises(ConfigError):
        load_backends("no-such-detector", "null")


def test_model_files_of_dlib_backends():
    b = load_backends("dlib-hog", "dlib-resnet-v1")
    names = {p.name for be in (b.detector, b.embedder) for p in model_files(be)}
    assert names == {"shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat"}
    assert model_files(load_backends("null", "null").embedder) == []


@pytest.mark.parametrize("detector, options, expected", [
    ("haar", {}, "haarcascade_frontalface_default.xml"),
    ("blazeface-short", {"runtime": "litert"}, "face_detection_short_range.tflite"),
])
def test_model_files_of_other_registry_detectors(detector, options, expected):
    """Found duck-typed (runtime adapters' paths, hashed names in provenance), sized and hashed in bench.json."""
    from harness.detect import REGISTRY

    if detector not in REGISTRY:
        pytest.skip(f"{detector} is not registered in this checkout")
    try:
        b = load_backends(detector, "null", detector_options=options)
    except Exception as exc:  # the backend's own runtime may be absent on this machine
        pytest.skip(f"{detector} cannot load here: {exc}")
    names = {p.name for p in model_files(b.detector)}
    assert expected in names and "shape_predictor_5_face_landmarks.dat" in names


def test_bench_template_equals_the_runs_template(frl):
    """The timed pipeline computes what a run computes: same template, bit for bit."""
    from harness.pipeline import acquire_image

    img = sorted(frl.glob("**/*.jpg"))[0]
    b = load_backends("dlib-hog", "dlib-resnet-v1")
    times, out = FramePipeline(b).run(str(img))
    rec = acquire_image(str(img), b.detector, b.embedder, "largest", 40_000_000)
    assert out["faces"] == rec["n_faces"] >= 1
    assert np.array_equal(out["template"], rec["embedding"])
    assert times["pipeline"] >= times["decode"] + times["detect"] + times["embed"]
