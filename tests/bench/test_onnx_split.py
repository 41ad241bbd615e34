"""A real split embedder from the registry (onnx: align() then batched infer()) on a small conv model built here."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tests.embed.test_onnx import conv_model  # noqa: E402  (the embed tests' tiny real network)

from harness.bench import scenarios  # noqa: E402
from harness.bench.runner import BenchOptions  # noqa: E402
from harness.bench.stages import FramePipeline, load_backends  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return conv_model(tmp_path_factory.mktemp("onnx") / "conv.onnx")


def test_align_and_embed_are_separate_stages(model, image_dir):
    b = load_backends("null", "onnx", embedder_options={"path": str(model)})
    assert b.split
    paths = sorted(str(p) for p in image_dir.glob("*.png"))
    r = scenarios.single_stream(FramePipeline(b), paths, warmup=1, count=4)
    assert {"decode", "detect", "align", "embed", "pipeline"} <= set(r["stages"])
    t = FramePipeline(b).run(paths[0])[1]["template"]
    assert t.shape == (16,)


def test_offline_uses_batched_inference(model, image_dir):
    spec = {"detector": "null", "embedder": "onnx", "embedder_options": {"path": str(model)}}
    off = scenarios.offline(spec, sorted(image_dir.glob("*.png")), count=8, workers=1, batch=4)
    assert off["batched_inference"] is True and off["faces"] == 8


def test_remote_bundle_ships_path_given_models(model, image_dir):
    from harness.bench.remote import prepare_bundle

    opts = BenchOptions(detector="null", embedder="onnx", embedder_options={"path": str(model)},
                        images=str(image_dir), sample=2)
    members, meta = prepare_bundle(opts)
    assert ("models/conv.onnx", model) in members
    assert meta["options"]["embedder_options"]["path"] == "models/conv.onnx"
    assert sum(a.startswith("images/") for a, _ in members) == 2
