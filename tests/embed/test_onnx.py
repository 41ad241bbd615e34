"""The ONNX backend on tiny models built in the test: normalisation, layout, batching, provenance."""

import numpy as np
import pytest

from harness.detect.base import Detection
from harness.errors import ConfigError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def tiny_model(path, nhwc=False, batch="N", size=112, out_dim=3):
    """Per-channel mean of the input: a 3-d 'embedding' whose value we can compute by hand."""
    from onnx import TensorProto, helper

    shape = [batch, size, size, 3] if nhwc else [batch, 3, size, size]
    axes = [1, 2] if nhwc else [2, 3]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, out_dim])
    axes_t = helper.make_tensor("axes", TensorProto.INT64, [2], axes)
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)]
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=[axes_t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def conv_model(path, size=32, dim=16, seed=0, batch="N"):
    """Conv-ReLU-GlobalAveragePool-Gemm: a small real network (for quantisation and precision checks)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (8, dim)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(np.zeros(dim, np.float32), "b2")
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                           [batch, 3, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, dim])],
                              initializer=[w1, b1, w2, b2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


FACE = Detection((50, 50, 150, 150), 1.0, np.array([[130, 90], [115, 90], [70, 90], [85, 90], [100, 120]], float))


@pytest.mark.parametrize("nhwc", [False, True])
def test_embed_normalises_with_legacy_defaults(tmp_path, nhwc):
    from harness.embed import make

    emb = make("onnx", path=str(tiny_model(tmp_path / "m.onnx", nhwc)))
    emb.load()
    img = np.full((200, 200, 3), 127, np.uint8)
    img[..., 0] = 255
    v = emb.embed(img, FACE)
    assert v.shape == (3,)
    # no card: dlib chip, RGB, (x - 127.5) / 128
    assert v[0] == pytest.approx((255 - 127.5) / 128, abs=0.02) and v[1] == pytest.approx(-0.5 / 128, abs=0.02)
    prov = emb.provenance()
    assert prov["input_size"] == [112, 112] and len(prov["weights"]["m.onnx"]) == 64
    assert prov["input"]["layout"] == ("NHWC" if nhwc else "NCHW") and prov["card"] is None


def test_infer_is_exact_per_channel_mean_with_options(tmp_path):
    from harness.embed import make

    emb = make("onnx", path=str(tiny_model(tmp_path / "m.onnx")), mean=[10, 20, 30], std=[2, 4, 5], colour="BGR")
    chips = np.random.default_rng(0).integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)
    got = emb.infer(chips)
    bgr = chips[..., ::-1].astype(np.float64)
    want = ((bgr - [10, 20, 30]) / [2, 4, 5]).mean(axis=(1, 2))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert emb.provenance()["normalisation"]["mean"] == [10, 20, 30]


@pytest.mark.parametrize("batch,batch_size", [("N", 3), (4, 32), (1, 32)])
def test_batching_dynamic_and_fixed_axes_give_the_same_templates(tmp_path, batch, batch_size):
    from harness.embed import make

    emb = make("onnx", path=str(tiny_model(tmp_path / "m.onnx", batch=batch)), batch_size=batch_size)
    chips = np.random.default_rng(1).integers(0, 256, (10, 112, 112, 3), dtype=np.uint8)
    got = emb.infer(chips)
    one = np.stack([emb.infer(c[None])[0] for c in chips])
    np.testing.assert_allclose(got, one, rtol=1e-6)
    assert got.shape == (10, 3)
    prov = emb.provenance()
    assert prov["batch_axis"] == ("dynamic" if batch == "N" else batch)
    assert prov["batch_size"] == (batch_size if batch == "N" else batch)


def test_embed_equals_infer_of_align(tmp_path):
    from harness.embed import make

    emb = make("onnx", path=str(conv_model(tmp_path / "c.onnx", size=150)))
    img = np.random.default_rng(2).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    chip = emb.align(img, FACE)
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    np.testing.assert_array_equal(emb.embed(img, FACE), emb.infer(chip[None])[0])


def test_precision_and_opset_are_detected_from_the_graph(tmp_path):
    from harness.embed.onnx_model import inspect_graph

    g = inspect_graph(conv_model(tmp_path / "c.onnx"))
    assert g["precision"] == "fp32" and g["opset"] == 17 and g["quantisation"] is None


def test_threads_and_graph_optimisation_options(tmp_path):
    from harness.embed import make

    p = str(conv_model(tmp_path / "c.onnx"))
    chips = np.random.default_rng(3).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    a = make("onnx", path=p, threads=2, graph_optimization="disable")
    b = make("onnx", path=p, threads=1, graph_optimization="all")
    np.testing.assert_allclose(a.infer(chips), b.infer(chips), rtol=1e-5, atol=1e-6)
    assert a.provenance()["graph_optimization"] == "disable" and a.provenance()["threads"] == 2
    with pytest.raises(ConfigError, match="graph_optimization"):
        make("onnx", path=p, graph_optimization="max")


def test_make_rejects_options_a_backend_does_not_take():
    from harness.embed import make

    assert make("null", jitters=1, path=None).name == "null"  # defaults pass through silently
    with pytest.raises(ConfigError, match="does not take"):
        make("null", provider="cuda")
    with pytest.raises(ConfigError, match="unknown embedder"):
        make("nope")


def test_from_config_passes_every_embedder_field(tmp_path):
    from harness.config import EmbedderConfig
    from harness.embed import from_config

    emb = from_config(EmbedderConfig(name="onnx", path=str(tiny_model(tmp_path / "m.onnx")), batch_size=7,
                                     graph_optimization="basic"))
    assert emb.batch_size == 7 and emb.graph_optimization == "basic"
