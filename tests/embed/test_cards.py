"""Model cards: every shipped card validates; bad cards name the file and field; lookup by sha256 / name."""

import hashlib
from pathlib import Path

import pytest
import yaml

from harness.embed import cards
from harness.errors import ConfigError

GOOD = {"name": "x-model", "backend": "onnx", "file": "x.onnx", "obtain": "manual", "licence": "MIT",
        "commercial_use": True, "input": {"size": [112, 112], "layout": "NCHW", "colour": "RGB", "mean": 127.5,
                                          "std": 127.5},
        "alignment": "arcface-112", "output_dim": 512, "similarity": "cosine",
        "accuracy": [{"benchmark": "LFW", "value": 0.99, "source": "paper"}]}


def test_every_shipped_card_is_valid_and_says_its_licence_plainly():
    found = {c.name: c for c in cards.list_cards()}
    for name in ("dlib-resnet-v1", "dlib-resnet-v1-onnx", "insightface-buffalo-l", "insightface-buffalo-s",
                 "opencv-sface-2021dec", "edgeface-xs-gamma-06"):
        assert name in found, name
    assert found["insightface-buffalo-l"].commercial_use is False
    assert "NON-COMMERCIAL" in found["insightface-buffalo-s"].licence
    assert found["opencv-sface-2021dec"].sha256 and found["opencv-sface-2021dec"].fetchable
    for c in found.values():
        assert c.accuracy and all(a.get("source") for a in c.accuracy), c.name
        if c.backend == "onnx":
            assert c.input is not None and c.alignment in cards.ALIGNMENTS and c.output_dim


def test_detector_cards_in_the_same_folder_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "det.yaml").write_text(yaml.safe_dump({"name": "det", "kind": "detector", "input": "a string"}))
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(GOOD))
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(tmp_path))
    names = [c.name for c in cards.list_cards()]
    assert "x-model" in names and "det" not in names


@pytest.mark.parametrize("change,field", [
    ({"name": "bad name!"}, "name"),
    ({"obtain": "torrent"}, "obtain"),
    ({"sha256": "abc"}, "sha256"),
    ({"commercial_use": "maybe"}, "commercial_use"),
    ({"input": {"size": [112], "layout": "NCHW"}}, "input.size"),
    ({"input": {"size": [112, 112], "layout": "CHW"}}, "input.layout"),
    ({"input": {"size": [112, 112], "colour": "YUV"}}, "input.colour"),
    ({"input": {"size": [112, 112], "std": 0}}, "input.std"),
    ({"alignment": "mtcnn"}, "alignment"),
    ({"similarity": "hamming"}, "similarity"),
    ({"obtain": "fetch"}, "url or archive"),
    ({"accuracy": [{"value": 1}]}, "accuracy"),
])
def test_invalid_cards_name_the_file_and_field(tmp_path, change, field):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({**GOOD, **change}))
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as e:
        cards.load_card(p)
    assert str(p) in str(e.value)


def test_missing_required_field_and_bad_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({k: v for k, v in GOOD.items() if k != "licence"}))
    with pytest.raises(ConfigError, match="licence"):
        cards.load_card(p)
    p.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cards.load_card(p)


def test_card_dirs_order_repo_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(tmp_path))
    dirs = cards.card_dirs()
    repo = Path(cards.__file__).resolve().parents[2] / "models"
    assert repo in dirs and dirs[-1] == tmp_path and dirs.index(repo) < dirs.index(tmp_path)


def test_card_for_file_by_sha_then_name(tmp_path, monkeypatch):
    d = tmp_path / "cards"
    d.mkdir()
    monkeypatch.setenv("FACERISK_MODEL_CARDS", str(d))
    f = tmp_path / "renamed.onnx"
    f.write_bytes(b"weights")
    sha = hashlib.sha256(b"weights").hexdigest()
    (d / "x.yaml").write_text(yaml.safe_dump({**GOOD, "sha256": sha}))
    assert cards.card_for_file(f, sha).name == "x-model"  # by hash, whatever the file is called
    other = tmp_path / "x.onnx"
    other.write_bytes(b"different")
    with pytest.raises(ConfigError, match="differs from the card"):
        cards.card_for_file(other, hashlib.sha256(b"different").hexdigest())
    assert cards.card_for_file(tmp_path / "unknown.onnx", "0" * 64) is None


def test_get_card_by_name_or_file(tmp_path):
    assert cards.get_card("dlib-resnet-v1").backend == "dlib-resnet-v1"
    p = tmp_path / "mine.yaml"
    p.write_text(yaml.safe_dump(GOOD))
    assert cards.get_card(str(p)).name == "x-model"
    with pytest.raises(ConfigError, match="known cards"):
        cards.get_card("no-such-card")
