"""Bad model files, contradicting cards and unknown providers: one clear line naming the file and the fix."""

import numpy as np
import pytest
import yaml

from harness.errors import ConfigError
from tests.embed.test_onnx import conv_model, tiny_model

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _load(path, **kw):
    from harness.embed import make

    emb = make("onnx", path=str(path), **kw)
    emb.load()
    return emb


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        _load(tmp_path / "none.onnx")


def test_corrupt_file_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load") as e:
        _load(bad)
    assert str(bad) in str(e.value) and "again" in str(e.value) and "\n" not in str(e.value)


def test_truncated_file(tmp_path):
    good = conv_model(tmp_path / "c.onnx")
    data = good.read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match="cannot load") as e:
        _load(cut)
    assert "cut.onnx" in str(e.value) and ("truncated" in str(e.value) or "corrupt" in str(e.value))


def _model_with_shapes(path, in_shape, out_shape):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Identity", ["x"], ["y"])] if in_shape == out_shape else \
        [helper.make_node("Flatten", ["x"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def test_wrong_shaped_models(tmp_path):
    with pytest.raises(ConfigError, match="4-D image input") as e:
        _load(_model_with_shapes(tmp_path / "flat.onnx", ["N", 128], ["N", 128]))
    assert "flat.onnx" in str(e.value)
    with pytest.raises(ConfigError, match="2-D output"):
        _load(_model_with_shapes(tmp_path / "img.onnx", ["N", 3, 8, 8], ["N", 3, 8, 8]))
    with pytest.raises(ConfigError, match="colour axis"):
        _load(_model_with_shapes(tmp_path / "c5.onnx", [1, 5, 8, 8], [1, 320]))


def _card(dirpath, **over):
    card = {"name": "test-card", "backend": "onnx", "file": "m.onnx", "obtain": "manual", "licence": "test",
            "commercial_use": True, "input": {"size": [112, 112], "layout": "NCHW", "colour": "RGB", "mean": 0,
                                               "std": 1}, "alignment": "dlib-chip", "output_dim": 3,
            "similarity": "cosine"}
    card.update(over)
    p = dirpath / "test-card.yaml"
    p.write_text(yaml.safe_dump(card))
    return p


def test_input_contradicting_its_card(tmp_path, monkeypatch):
    cards = tmp_path / "cards"
    cards.mkdir()
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(cards))
    model = tiny_model(tmp_path / "m.onnx", size=112)
    _card(cards, input={"size": [150, 150], "layout": "NCHW", "colour": "RGB"})
    with pytest.raises(ConfigError, match="112x112 chips but card test-card") as e:
        _load(model)  # found by file name
    assert "m.onnx" in str(e.value) and "embedder.card" in str(e.value)
    _card(cards, input={"size": [112, 112], "layout": "NHWC"})
    with pytest.raises(ConfigError, match="is NCHW but card test-card"):
        _load(model)
    _card(cards, output_dim=512)
    with pytest.raises(ConfigError, match="3-d templates but card test-card"):
        _load(model)


def test_card_is_applied_when_it_matches(tmp_path, monkeypatch):
    cards = tmp_path / "cards"
    cards.mkdir()
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(cards))
    _card(cards, input={"size": [112, 112], "mean": 100, "std": 2})
    emb = _load(tiny_model(tmp_path / "m.onnx"))
    chips = np.full((1, 112, 112, 3), 110, np.uint8)
    np.testing.assert_allclose(emb.infer(chips)[0], [5, 5, 5], rtol=1e-6)
    assert emb.provenance()["card"]["name"] == "test-card"
    # an explicit option overrides the card
    emb2 = _load(tmp_path / "m.onnx", mean=110)
    np.testing.assert_allclose(emb2.infer(chips)[0], [0, 0, 0], atol=1e-6)


def test_unknown_and_absent_providers(tmp_path):
    import onnxruntime as ort

    model = tiny_model(tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="unknown execution provider") as e:
        _load(model, provider="warp-drive")
    assert "cpu" in str(e.value) and "\n" not in str(e.value)
    absent = [p for p in ("cuda", "tensorrt", "openvino", "coreml")
              if {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider",
                  "openvino": "OpenVINOExecutionProvider", "coreml": "CoreMLExecutionProvider"}[p]
              not in ort.get_available_providers()]
    if not absent:
        pytest.skip("every accelerator provider is installed here")
    with pytest.raises(ConfigError, match="is not available") as e:
        _load(model, provider=absent[0])
    assert "CPUExecutionProvider" in str(e.value) and "embedder.provider=cpu" in str(e.value)
    assert _load(model, provider="CPUExecutionProvider").provenance()["provider"] == "CPUExecutionProvider"


def test_jitters_are_refused():
    from harness.embed import make

    with pytest.raises(ConfigError, match="jitters"):
        make("onnx", path="x.onnx", jitters=2)


def test_facerisk_run_with_a_corrupt_model_exits_2_with_one_line(tmp_path, capsys):
    from harness.cli import main
    from tests.conftest import write_dataset

    rng = np.random.default_rng(0)
    rows, images = [], {}
    for s in ("a", "b"):
        for e in ("neutral", "smiling"):
            rows.append({"image": f"{s}_{e}.png", "subject_id": s, "expression": e})
            images[f"{s}_{e}.png"] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ds = write_dataset(tmp_path / "ds", rows, images)
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    code = main(["run", "--dataset", str(ds), "--detector", "null", "--embedder", "onnx", "--model-path", str(bad),
                 "--reports-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "broken.onnx" in err, err


def _fresh_python(code, tmp_path):
    """``code`` in a new interpreter with an empty HOME and TMPDIR; returns (stdout, files written there)."""
    import os
    import subprocess
    import sys

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**env, "HOME": str(home), "TMPDIR": str(tmp)})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip(), sorted(str(p.relative_to(tmp_path)) for p in (*home.rglob("*"), *tmp.rglob("*")))


def test_a_file_that_is_not_onnx_never_reaches_onnxruntime(tmp_path):
    """Hostile re-test: a text file given as the model started onnxruntime (which then wrote its telemetry
    database under ~/.cache/Microsoft and $TMPDIR/.ses) before the one-line error."""
    (tmp_path / "m.onnx").write_text("hi")
    out, written = _fresh_python(
        "import sys\nfrom harness.embed import make\nfrom harness.errors import ConfigError\n"
        f"e = make('onnx', path={str(tmp_path / 'm.onnx')!r})\n"
        "try:\n    e.load()\nexcept ConfigError as exc:\n    print(str(exc).splitlines()[0][:60])\n"
        "print('onnxruntime' in sys.modules)\n", tmp_path)
    assert out.splitlines() == [f"{tmp_path / 'm.onnx'}: cannot load: not a readable ONNX model"[:60], "False"]
    assert written == []


def test_importing_onnxruntime_through_facerisk_writes_nothing_outside(tmp_path):
    """onnxruntime 1.2x starts 1DS telemetry on import (~/.cache/Microsoft/DeveloperTools/.onnxruntime/
    onnxruntime.db, deviceid, $TMPDIR/.ses); importing harness sets ORT_DISABLE_TELEMETRY=1 first."""
    out, written = _fresh_python("import os, harness, onnxruntime\nprint(os.environ['ORT_DISABLE_TELEMETRY'])",
                                 tmp_path)
    assert out == "1" and written == []
    # the control: without the switch this onnxruntime does write there (so the test above can fail)
    import shutil

    shutil.rmtree(tmp_path / "home")
    shutil.rmtree(tmp_path / "tmp")
    _, written = _fresh_python("import onnxruntime", tmp_path)
    if not written:
        pytest.skip("this onnxruntime build writes no telemetry files")
    assert any("onnxruntime" in w for w in written)
