"""``facerisk models fetch / quantize / list`` against a local HTTP server and tiny models built here."""

import hashlib
import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.errors import FaceriskError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tests.embed.test_onnx import conv_model  # noqa: E402


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        name = self.path.lstrip("/")
        if name not in self.files:
            self.send_error(404, "Not Found")
            return
        body, lie = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + lie))  # lie > 0: the connection drops early
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    _Handler.files = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def model_bytes(tmp_path):
    return conv_model(tmp_path / "src.onnx").read_bytes()


def _card(dirpath, name, **fields):
    card = {"name": name, "backend": "onnx", "file": f"{name}.onnx", "obtain": "fetch", "licence": "test only",
            "commercial_use": True, "input": {"size": [32, 32], "layout": "NCHW", "colour": "RGB"},
            "alignment": "arcface-112", "output_dim": 16, "similarity": "cosine",
            "accuracy": [{"benchmark": "none", "value": None, "source": "built in the test"}]}
    card.update(fields)
    dirpath.mkdir(exist_ok=True)
    (dirpath / f"{name}.yaml").write_text(yaml.safe_dump(card))
    from harness.embed.cards import get_card

    return get_card(name)


@pytest.fixture()
def cards(tmp_path, monkeypatch):
    d = tmp_path / "cards"
    d.mkdir()
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(d))
    return d


def _leftovers(dest):
    return [p.name for p in Path(dest).iterdir() if p.name.startswith(".")] if Path(dest).exists() else []


def test_fetch_verifies_and_renames_into_place(server, cards, model_bytes, tmp_path):
    from harness.models_cli import fetch_model

    httpd, base = server
    _Handler.files["m.onnx"] = (model_bytes, 0)
    sha = hashlib.sha256(model_bytes).hexdigest()
    card = _card(cards, "good", url=f"{base}/m.onnx", sha256=sha, size_bytes=len(model_bytes))
    dest = tmp_path / "cache"
    path, got = fetch_model(card, dest, progress=False)
    assert path == dest / "good.onnx" and got == sha and path.read_bytes() == model_bytes
    assert not _leftovers(dest)
    # the fetched file runs, fed as its card says
    from harness.embed import make

    emb = make("onnx", path=str(path))
    assert emb.infer(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2, 16)
    assert emb.provenance()["card"]["name"] == "good"


def test_checksum_mismatch_is_refused_and_removed(server, cards, model_bytes, tmp_path):
    from harness.models_cli import fetch_model

    httpd, base = server
    _Handler.files["m.onnx"] = (model_bytes, 0)
    card = _card(cards, "tampered", url=f"{base}/m.onnx", sha256="0" * 64)
    dest = tmp_path / "cache"
    with pytest.raises(FaceriskError, match="does not match") as e:
        fetch_model(card, dest, progress=False)
    assert "refused and removed" in str(e.value) and "tampered.yaml" in str(e.value)
    assert not (dest / "tampered.onnx").exists() and not _leftovers(dest)


def test_http_404(server, cards, tmp_path):
    from harness.models_cli import fetch_model

    _, base = server
    card = _card(cards, "gone", url=f"{base}/missing.onnx", sha256="1" * 64)
    with pytest.raises(FaceriskError, match="HTTP 404") as e:
        fetch_model(card, tmp_path / "cache", progress=False)
    assert "--url MIRROR" in str(e.value)
    assert not _leftovers(tmp_path / "cache")


def test_truncated_download(server, cards, model_bytes, tmp_path):
    from harness.models_cli import fetch_model

    _, base = server
    _Handler.files["m.onnx"] = (model_bytes[: len(model_bytes) // 2], len(model_bytes) - len(model_bytes) // 2)
    card = _card(cards, "short", url=f"{base}/m.onnx", sha256=hashlib.sha256(model_bytes).hexdigest())
    with pytest.raises(FaceriskError, match="truncated"):
        fetch_model(card, tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "short.onnx").exists() and not _leftovers(tmp_path / "cache")


def test_zip_member_unpinned_needs_no_verify_and_licence(server, cards, model_bytes, tmp_path):
    from harness.models_cli import fetch_model

    _, base = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pack/other.onnx", b"x")
        zf.writestr("pack/rec.onnx", model_bytes)
    _Handler.files["pack.zip"] = (buf.getvalue(), 0)
    card = _card(cards, "packed", archive={"url": f"{base}/pack.zip", "member": "rec.onnx", "sha256": None},
                 commercial_use=False)
    dest = tmp_path / "cache"
    with pytest.raises(FaceriskError, match="non-commercial"):
        fetch_model(card, dest, progress=False)
    with pytest.raises(FaceriskError, match="--no-verify"):
        fetch_model(card, dest, accept_licence=True, progress=False)
    path, sha = fetch_model(card, dest, accept_licence=True, verify=False, progress=False)
    assert path.read_bytes() == model_bytes and sha == hashlib.sha256(model_bytes).hexdigest()
    assert not _leftovers(dest)


def test_cli_fetch_error_is_one_line_exit_2(server, cards, model_bytes, tmp_path, capsys):
    from harness.cli import main

    _, base = server
    _Handler.files["m.onnx"] = (model_bytes, 0)
    _card(cards, "clicard", url=f"{base}/m.onnx", sha256="2" * 64)
    assert main(["models", "fetch", "clicard", "--dest", str(tmp_path / "c"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("facerisk: error:") and err.count("\n") == 1 and "does not match" in err
    assert main(["models", "fetch", "dlib-resnet-v1-onnx"]) == 2
    assert "convert-dlib" in capsys.readouterr().err


def test_list_says_present_fetchable_convertible(server, cards, model_bytes, tmp_path, monkeypatch, capsys):
    from harness.cli import main

    monkeypatch.setenv("FACERISK_MODELS", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "here.onnx").write_bytes(model_bytes)
    _card(cards, "here", url="http://127.0.0.1:9/x", sha256=hashlib.sha256(model_bytes).hexdigest())
    _card(cards, "there", url="http://127.0.0.1:9/x", sha256="3" * 64)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    line = {ln.split()[1]: ln for ln in out.splitlines() if ln.startswith("card ")}
    assert "present (sha256 ok)" in line["here"] and "fetchable" in line["there"]
    assert "non-commercial only" in line["insightface-buffalo-l"]
    assert "convertible" in line["dlib-resnet-v1-onnx"] or "not convertible" in line["dlib-resnet-v1-onnx"]


@pytest.mark.parametrize("precision,expect", [("fp16", "fp16"), ("int8-dynamic", "int8"), ("int8-static", "int8")])
def test_quantize_variants_keep_float32_io_and_write_a_sidecar(tmp_path, precision, expect):
    from harness.embed import make
    from harness.embed.onnx_model import inspect_graph
    from harness.models_cli import quantize

    src = conv_model(tmp_path / "src.onnx")
    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    out = quantize(src, precision, chips=chips if precision == "int8-static" else None)
    assert out == tmp_path / f"src.{precision}.onnx"
    assert inspect_graph(out)["precision"] == expect
    side = json.loads(out.with_name(out.name + ".json").read_text())
    assert side["precision"] == precision and side["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    a, b = make("onnx", path=str(src), mean=127.5, std=127.5), make("onnx", path=str(out), mean=127.5, std=127.5)
    ya, yb = a.infer(chips), b.infer(chips)  # float32 in, float32 out, close to the original
    cos = (ya * yb).sum(1) / np.linalg.norm(ya, axis=1) / np.linalg.norm(yb, axis=1)
    assert cos.min() > 0.98
    prov = b.provenance()
    assert prov["precision"] == expect and prov["variant"]["precision"] == precision
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_quantize_refuses_to_overwrite_or_requantise(tmp_path):
    from harness.models_cli import quantize

    src = conv_model(tmp_path / "src.onnx")
    with pytest.raises(FaceriskError, match="overwrite"):
        quantize(src, "fp16", out=src)
    half = quantize(src, "fp16")
    with pytest.raises(FaceriskError, match="already fp16"):
        quantize(half, "int8-dynamic")


def test_calibration_split_is_seeded_and_leaves_people_for_evaluation():
    from harness.models_cli import calibration_split

    ids = [f"s{i}" for i in range(30)]
    assert calibration_split(ids, 5, 1) == calibration_split(ids, 5, 1) != calibration_split(ids, 5, 2)
    with pytest.raises(FaceriskError, match="some must remain"):
        calibration_split(ids, 30, 0)


@pytest.mark.realdata
def test_int8_static_calibrates_on_a_seeded_subject_split_of_a_dataset(tmp_path, data_home):
    from harness.embed import make
    from harness.models_cli import calibration_split, quantize

    src = conv_model(tmp_path / "src.onnx", size=150)
    cal = {"dataset": "frl-london", "data_home": str(data_home), "subjects": 3, "seed": 7}
    out = quantize(src, "int8-static", calibration=cal)
    info = json.loads(out.with_name(out.name + ".json").read_text())["calibration"]
    import pandas as pd

    ids = pd.read_csv(data_home / "frl-london" / "metadata.csv", dtype={"subject_id": str})["subject_id"]
    assert info["subjects"] == calibration_split(ids, 3, 7) and info["seed"] == 7
    assert info["n_images"] == 6 and all(img.split("/")[-1][:3] in info["subjects"] for img in info["images"])
    # the variant's provenance names its calibration people, so 'facerisk compare' can leave them out
    assert make("onnx", path=str(out)).provenance()["variant"]["calibration"]["subjects"] == info["subjects"]
