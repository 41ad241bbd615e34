"""dlib-resnet-v1-onnx: converted once into the model cache on first use, fed like dlib, named honestly."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat

import numpy as np
import pytest

from harness import embed
from harness.embed import dlib_onnx
from harness.errors import FaceriskError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture()
def model_cache(tmp_path, monkeypatch):
    home = tmp_path / "models"
    monkeypatch.setenv("FACERISK_MODELS", str(home))
    return home


def _load_in_child(home: str, q) -> None:
    os.environ["FACERISK_MODELS"] = home
    emb = embed.make("dlib-resnet-v1-onnx")
    emb.load()
    q.put(str(emb.path))


def test_first_load_converts_into_the_model_cache_once(model_cache):
    # Two processes starting together (as pool workers do) share one conversion: the lock serialises them.
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(str(model_cache), q)) for _ in range(2)]
    for p in procs:
        p.start()
    paths = {q.get(timeout=300) for _ in procs}
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert paths == {str(dlib_onnx.converted_path())}
    files = [p.name for p in model_cache.iterdir() if not p.name.startswith(".")]
    assert files == [dlib_onnx.converted_path().name]
    assert not [p for p in model_cache.iterdir() if p.suffix == ".tmp"]
    # Readable by others: a shared model cache serves several users.
    assert dlib_onnx.converted_path().stat().st_mode & stat.S_IROTH
    mtime = dlib_onnx.converted_path().stat().st_mtime_ns
    embed.make("dlib-resnet-v1-onnx").load()
    assert dlib_onnx.converted_path().stat().st_mtime_ns == mtime  # reused, not converted again


def test_unwritable_model_cache_is_one_line_naming_it(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FACERISK_MODELS", str(blocker / "models"))
    with pytest.raises(FaceriskError, match="FACERISK_MODELS") as err:
        embed.make("dlib-resnet-v1-onnx").load()
    assert "\n" not in str(err.value)


def test_templates_match_dlib_and_provenance_says_converted(model_cache, frl):
    from harness import detect
    from harness.data.images import load_rgb

    det = detect.make("dlib-hog")
    ref = embed.make("dlib-resnet-v1")
    fast = embed.make("dlib-resnet-v1-onnx")
    import pandas as pd

    images = pd.read_csv(frl / "metadata.csv", dtype=str)["image"].head(4).tolist()
    assert len(images) == 4
    for rel in images:
        image = load_rgb(frl / rel)
        face = det.detect(image)[0]
        a, b = ref.embed(image, face), fast.embed(image, face)
        assert np.max(np.abs(a - b)) < 1e-5
        assert np.linalg.norm(a - b) < 1e-5
    prov = fast.provenance()
    assert prov["name"] == "dlib-resnet-v1-onnx"
    assert prov["runtime"] == "onnxruntime"
    assert prov["card"]["name"] == "dlib-resnet-v1-onnx"
    assert "not bit-identical" in prov["converted_from"]["parity"]
    assert list(prov["weights"]) == [dlib_onnx.converted_path().name]
