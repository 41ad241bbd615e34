"""dlib ResNet -> ONNX converter: dlib's encodings, bad files, layer semantics, parity with dlib.

The byte encoders below are written from dlib's documented format (serialize.h, tensor.h), so the
reader is checked against an independent writer, not against itself.
"""

from __future__ import annotations

import math
import struct
import time

import numpy as np
import pytest

from harness.embed import dlib_convert as dc
from harness.errors import FaceriskError

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


# ----------------------------------------------------------------------------------------------
# dlib's encodings, written independently


def enc_int(v: int) -> bytes:
    mag = abs(v).to_bytes(8, "little").rstrip(b"\0") or b"\0"
    return bytes([len(mag) | (0x80 if v < 0 else 0)]) + mag


def enc_float(x: float) -> bytes:
    if math.isinf(x):
        return enc_int(0) + enc_int(32000 if x > 0 else 32001)
    if math.isnan(x):
        return enc_int(0) + enc_int(32002)
    m, e = math.frexp(x)
    mant, exp = int(m * (1 << 53)), e - 53
    while mant and mant % 256 == 0:  # dlib drops zero low-order bytes
        mant //= 256
        exp += 8
    return enc_int(mant) + enc_int(exp)


def enc_str(s: str) -> bytes:
    return enc_int(len(s)) + s.encode()


def enc_bool(b: bool) -> bytes:
    return b"1" if b else b"0"


def enc_tensor(a: np.ndarray) -> bytes:
    a = np.asarray(a, np.float32)
    shape = (list(a.shape) + [1, 1, 1, 1])[:4] if a.size else [0, 0, 0, 0]
    return enc_int(2) + b"".join(enc_int(s) for s in shape) + a.astype("<f4").tobytes()


def enc_alias(*shape: int) -> bytes:
    return enc_int(1) + b"".join(enc_int(s) for s in shape)


EMPTY = enc_tensor(np.zeros(0))


def layer_tail(version: int, on_input: bool) -> bytes:
    tail = enc_bool(True) + enc_bool(True) + enc_bool(False) + EMPTY + EMPTY
    if on_input:
        return tail + EMPTY + (enc_int(1) if version >= 3 else b"")
    return tail + (EMPTY if version == 2 else b"")


@pytest.mark.parametrize("v", [0, 1, -1, 127, 128, 255, 256, -256, 2**31 - 1, -(2**31), 2**62, -(2**63 - 1)])
def test_integer_encoding_round_trip(v):
    r = dc.Reader(enc_int(v) + b"X")
    assert r.integer() == v and r.pos == len(enc_int(v))


def test_integer_control_byte_layout():
    # 300 = 0x012c: two little-endian bytes after the control byte; the sign is bit 7
    assert enc_int(300) == b"\x02\x2c\x01" and dc.Reader(b"\x82\x2c\x01").integer() == -300
    with pytest.raises(dc.DlibFormatError, match="control byte"):
        dc.Reader(b"\x00").integer()
    with pytest.raises(dc.DlibFormatError, match="control byte"):
        dc.Reader(b"\x81\x05").integer(signed=False)


@pytest.mark.parametrize("x", [0.0, 1.0, -1.0, 0.04, 0.6, 122.782, -1e-30, 3.0e38, 1 / 3, math.inf, -math.inf])
def test_float_encoding_round_trip(x):
    got = dc.Reader(enc_float(x)).floating()
    assert got == x


def test_float_nan_and_known_bytes():
    assert math.isnan(dc.Reader(enc_float(math.nan)).floating())
    # mantissa 0xa3d70a, exponent -28: how dlib stores the model's loss margin (float 0.04)
    assert dc.Reader(b"\x03\x0a\xd7\xa3\x81\x1c").floating() == np.float32(0.04)


def test_string_bool_tensor():
    a = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    r = dc.Reader(enc_str("con_4") + enc_bool(True) + enc_bool(False) + enc_tensor(a))
    assert r.string() == "con_4" and r.boolean() is True and r.boolean() is False
    np.testing.assert_array_equal(r.tensor(), a)
    with pytest.raises(dc.DlibFormatError, match="bool"):
        dc.Reader(b"2").boolean()


# ----------------------------------------------------------------------------------------------
# A tiny network written in dlib's format, run through ONNX and through a numpy reference


TINY_SPEC = [("loss_metric",), ("fc", 4), ("avg_pool", 0, 0, 1, 1), ("relu",), ("add_prev", 1),
             ("affine",), ("con", 3, 3, 3, 2, 2), ("tag", 1), ("max_pool", 3, 3, 2, 2), ("relu",),
             ("con", 2, 3, 3, 1, 1), ("input_rgb_image_sized", 150, 150)]


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    p = {
        "w1": rng.normal(size=(2, 3, 3, 3)).astype(np.float32) * 0.1, "b1": rng.normal(size=2).astype(np.float32),
        "w2": rng.normal(size=(3, 2, 3, 3)).astype(np.float32) * 0.3, "b2": rng.normal(size=3).astype(np.float32),
        "g": rng.uniform(0.5, 2, 3).astype(np.float32), "be": rng.normal(size=3).astype(np.float32),
        "fc": rng.normal(size=(3, 4)).astype(np.float32), "mean": (122.782, 117.001, 104.298),
    }
    inp = enc_str("input_rgb_image_sized") + b"".join(enc_float(float(np.float32(m))) for m in p["mean"]) \
        + enc_int(150) + enc_int(150)

    def con(w, b, stride, pad):
        f, c, kh, kw = w.shape
        return (enc_str("con_4") + enc_tensor(np.concatenate([w.ravel(), b]).reshape(-1, 1, 1, 1))
                + enc_int(f) + enc_int(kh) + enc_int(kw) + enc_int(stride) + enc_int(stride)
                + enc_int(pad) + enc_int(pad) + enc_alias(f, c, kh, kw) + enc_alias(1, f, 1, 1)
                + b"".join(enc_float(v) for v in (1.0, 1.0, 1.0, 0.0)))

    def pool(kind, k, s):
        return enc_str(f"{kind}_2") + b"".join(enc_int(v) for v in (k, k, s, s, 0, 0))

    affine = (enc_str("affine_2") + enc_tensor(np.concatenate([p["g"], p["be"]]).reshape(1, -1, 1, 1))
              + enc_alias(1, 3, 1, 1) + enc_alias(1, 3, 1, 1) + enc_int(0) + enc_bool(False))
    fc = (enc_str("fc_3") + enc_int(4) + enc_int(3) + enc_tensor(p["fc"].reshape(3, 4, 1, 1))
          + enc_alias(3, 4, 1, 1) + enc_alias(0, 0, 0, 0) + enc_int(1)
          + b"".join(enc_float(v) for v in (1.0, 1.0, 1.0, 0.0)) + enc_bool(False))
    relu = enc_str("relu_2") + enc_bool(False)

    def wrap(version, sub, details, on_input=False):
        return enc_int(version) + sub + details + layer_tail(version, on_input)

    net = wrap(3, inp, con(p["w1"], p["b1"], 1, 1), on_input=True)    # con 2 filters, stride 1, pad 1
    net = wrap(2, net, relu)
    net = wrap(2, net, pool("max_pool", 3, 2))
    net = enc_int(1) + net                                               # tag1
    net = wrap(2, net, con(p["w2"], p["b2"], 2, 0))                      # con 3 filters, stride 2
    net = wrap(1, net, affine)
    net = wrap(2, net, enc_str("add_prev_"))
    net = wrap(2, net, relu)
    net = wrap(2, net, pool("avg_pool", 0, 1))
    net = wrap(2, net, fc)
    data = enc_int(1) + enc_str("loss_metric_2") + enc_float(0.04) + enc_float(0.6) + net
    return data, p


def np_conv(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    f, c, kh, kw = w.shape
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("fc,chw->fhw", w[:, :, i, j], patch)
    return out + b[:, None, None]


def np_reference(chip, p):
    """dlib's forward pass for TINY_SPEC, from the semantics in dlib's cpu code, in float64."""
    x = (chip.transpose(2, 0, 1).astype(np.float64) - np.array(p["mean"], np.float32)[:, None, None]) / 256
    x = np.maximum(np_conv(x, p["w1"], p["b1"], 1, 1), 0)
    oh = (x.shape[1] - 3) // 2 + 1
    x = np.array([[[x[k, 2 * r:2 * r + 3, 2 * c:2 * c + 3].max() for c in range(oh)] for r in range(oh)]
                  for k in range(2)])
    tag = x
    y = np_conv(x, p["w2"], p["b2"], 2, 0) * p["g"][:, None, None] + p["be"][:, None, None]
    out = np.zeros([max(a, b) for a, b in zip(y.shape, tag.shape)])  # add_prev zero-fills the smaller
    out[:y.shape[0], :y.shape[1], :y.shape[2]] += y
    out[:tag.shape[0], :tag.shape[1], :tag.shape[2]] += tag
    x = np.maximum(out, 0).mean(axis=(1, 2))
    return x @ p["fc"]


def test_tiny_network_reads_and_runs_like_dlib(tiny, tmp_path):
    data, p = tiny
    path = tmp_path / "tiny.dat"
    path.write_bytes(data)
    layers = dc.read_network(path, TINY_SPEC)
    assert [layer.kind for layer in layers] == ["input", "con", "relu", "max_pool", "tag", "con", "affine",
                                                "add_prev", "relu", "avg_pool", "fc", "loss_metric"]
    assert layers[-1].params["distance_threshold"] == pytest.approx(0.6)
    chips = np.random.default_rng(1).integers(0, 256, (2, 150, 150, 3), dtype=np.uint8)
    want = np.stack([np_reference(c, p) for c in chips])
    for fold in (True, False):
        model = dc.to_onnx(layers, fold_affine=fold)
        # the 3x36x36 branch and the 2x74x74 tag are zero-filled to 3x74x74 before the sum
        assert sum(n.op_type == "Pad" for n in model.graph.node) == 2
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        got = sess.run(None, {dc.INPUT_NAME: chips.transpose(0, 3, 1, 2).astype(np.float32)})[0]
        assert got.shape == (2, 4)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# Bad files


@pytest.fixture(scope="module")
def dat_bytes():
    from harness.modelfiles import dlib_model

    try:
        return dlib_model(dc.SOURCE_FILE).read_bytes()
    except FaceriskError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("cut", [40, 300, 5_000_000, -1])
def test_truncated_file_is_refused_naming_it(dat_bytes, tmp_path, cut):
    bad = tmp_path / "cut.dat"
    bad.write_bytes(dat_bytes[:cut])
    with pytest.raises(FaceriskError, match=r"cut\.dat: truncated") as exc:
        dc.convert(tmp_path / "out", source=bad)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_other_files_are_refused(dat_bytes, tmp_path):
    from harness.modelfiles import dlib_model

    cases = {
        "landmarks.dat": dlib_model("shape_predictor_5_face_landmarks.dat").read_bytes(),
        "trailing.dat": dat_bytes + b"\0",
        "text.dat": b"hello world, not a model\n" * 10,
        "empty.dat": b"",
        "header.dat": dat_bytes[:10],
        "zip.dat": b"BZh91AY&SY" + bytes(64),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FaceriskError) as exc:
            dc.read_network(tmp_path / name)
        msg = str(exc.value)
        assert msg.startswith(str(tmp_path / name)) and "\n" not in msg, msg
    with pytest.raises(FaceriskError, match="no dlib loss_metric network header"):
        dc.read_network(tmp_path / "header.dat")
    with pytest.raises(FaceriskError, match="bzip2"):
        dc.read_network(tmp_path / "zip.dat")
    with pytest.raises(FaceriskError, match="trailing"):
        dc.read_network(tmp_path / "trailing.dat")
    with pytest.raises(FaceriskError, match="not found"):
        dc.convert(tmp_path / "o", source=tmp_path / "missing.dat")


def test_wrong_geometry_is_refused(tiny, tmp_path):
    data, _ = tiny
    (tmp_path / "tiny.dat").write_bytes(data)
    spec = [s if s[0] != "fc" else ("fc", 128) for s in TINY_SPEC]
    with pytest.raises(FaceriskError, match="fc_ with 4 outputs"):
        dc.read_network(tmp_path / "tiny.dat", spec)


# ----------------------------------------------------------------------------------------------
# The real model: file layout, and parity with dlib on every frl-london face


@pytest.fixture(scope="module")
def converted(tmp_path_factory, dat_bytes):
    out = tmp_path_factory.mktemp("models")
    t0 = time.perf_counter()
    path = dc.convert(out)
    return path, time.perf_counter() - t0


def test_convert_writes_named_model_into_cache(converted, monkeypatch, tmp_path, dat_bytes):
    import hashlib

    import onnx

    path, _ = converted
    sha = hashlib.sha256(dat_bytes).hexdigest()
    assert path.name == f"dlib_face_recognition_resnet_model_v1-{sha[:12]}.onnx"
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["facerisk.source_sha256"] == sha
    inp, out = model.graph.input[0], model.graph.output[0]
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", 3, 150, 150]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 128]
    assert model.opset_import[0].version == dc.OPSET
    monkeypatch.setenv("FACERISK_MODELS", str(tmp_path / "cache"))
    assert dc.models_dir() == tmp_path / "cache"
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]


def test_cli_convert_dlib_prints_path(converted, tmp_path, capsys, monkeypatch):
    from harness.cli import main

    monkeypatch.setenv("FACERISK_MODELS", str(tmp_path / "cache"))
    assert main(["models", "convert-dlib"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(tmp_path / "cache" / converted[0].name)
    assert open(printed, "rb").read() == converted[0].read_bytes()  # deterministic output
    assert main(["models", "convert-dlib", "--source", str(tmp_path / "nope.dat")]) == 2
    assert "nope.dat" in capsys.readouterr().err


@pytest.fixture(scope="module")
def frl_faces(frl):
    """Every frl-london image: dlib HOG (upsample 1) + 5-point landmarks, as the harness detects."""
    import pandas as pd

    from harness.data.images import load_rgb
    from harness.detect.dlib_detector import DlibDetector

    det = DlibDetector("hog", upsample=1, landmarks="5")
    meta = pd.read_csv(frl / "metadata.csv", dtype=str)
    faces = []
    for rel in meta["image"]:
        img = load_rgb(frl / rel)
        found = det.detect(img)
        if found:
            faces.append((rel, img, max(found, key=lambda f: f.area)))
    return meta, faces


@pytest.fixture(scope="module")
def parity(converted, frl_faces):
    import dlib

    from harness.embed.dlib_resnet import DlibResNet, to_dlib_shape

    path, _ = converted
    meta, faces = frl_faces
    ref = DlibResNet(jitters=1)
    want = np.stack([ref.embed(img, face) for _, img, face in faces])
    chips = np.stack([dlib.get_face_chip(img, to_dlib_shape(face), size=150, padding=0.25) for _, img, face in faces])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = chips.transpose(0, 3, 1, 2).astype(np.float32)
    got = np.concatenate([sess.run(None, {dc.INPUT_NAME: x[i:i + 32]})[0] for i in range(0, len(x), 32)])
    return meta, [rel for rel, _, _ in faces], want, got.astype(np.float64)


@pytest.mark.realdata
def test_parity_cosine_on_every_frl_face(parity):
    meta, rels, want, got = parity
    assert len(rels) >= 0.95 * len(meta), f"only {len(rels)} of {len(meta)} images had a face"
    cos = np.sum(want * got, 1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
    diff = np.abs(want - got).max()
    print(f"\n{len(rels)} faces: min cosine {cos.min():.12f} (1 - cos = {1 - cos.min():.3g}), max abs diff {diff:.3g}")
    assert cos.min() >= 0.9999, f"min cosine {cos.min()} at {rels[int(cos.argmin())]}"


@pytest.mark.realdata
def test_parity_decisions_at_0_6_unchanged(parity):
    meta, rels, want, got = parity

    def dist(e):
        sq = np.sum(e * e, 1)
        return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * e @ e.T, 0))

    flips = (dist(want) <= 0.6) != (dist(got) <= 0.6)
    expr = meta.set_index("image").loc[rels, "expression"].to_numpy()
    enrol, probe = expr == "neutral", expr == "smiling"
    assert enrol.any() and probe.any()
    print(f"\nall {len(rels)}x{len(rels)} pairs: {int(flips.sum())} decisions at 0.6 differ; "
          f"enrol x probe: {int(flips[np.ix_(enrol, probe)].sum())}")
    assert flips.sum() == 0
