"""The ONNX backend on a tiny model built in the test (no public face weights are available offline)."""

import numpy as np
import pytest

from harness.detect.base import Detection
from harness.errors import ConfigError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def tiny_model(path, nhwc=False):
    """Per-channel mean of the input: a 3-d 'embedding' whose value we can compute by hand."""
    from onnx import TensorProto, helper

    shape = [1, 112, 112, 3] if nhwc else [1, 3, 112, 112]
    axes = [1, 2] if nhwc else [2, 3]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    axes_t = helper.make_tensor("axes", TensorProto.INT64, [2], axes)
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)]
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=[axes_t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("nhwc", [False, True])
def test_onnx_embedder_runs_and_normalises(tmp_path, nhwc):
    from harness.embed import make

    emb = make("onnx", path=str(tiny_model(tmp_path / "m.onnx", nhwc)))
    emb.load()
    img = np.full((200, 200, 3), 127, np.uint8)
    img[..., 0] = 255
    face = Detection((50, 50, 150, 150), 1.0,
                     np.array([[130, 90], [115, 90], [70, 90], [85, 90], [100, 120]], float))
    v = emb.embed(img, face)
    assert v.shape == (3,)
    assert v[0] == pytest.approx((255 - 127.5) / 128, abs=0.02) and v[1] == pytest.approx(-0.5 / 128, abs=0.02)
    prov = emb.provenance()
    assert prov["input_size"] == [112, 112] and len(prov["weights"]["m.onnx"]) == 64


def test_missing_or_broken_model_is_a_clear_error(tmp_path):
    from harness.embed import make

    with pytest.raises(ConfigError, match="not found"):
        make("onnx", path=str(tmp_path / "none.onnx")).load()
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load"):
        make("onnx", path=str(tmp_path / "bad.onnx")).load()
