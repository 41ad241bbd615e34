"""Bring-your-own-data frictions: symlinks, per-image columns, subject column, text ages, datasets init."""

import os

import numpy as np
import pandas as pd
import pytest

from harness import cli, config, protocols
from harness.data import open_dataset
from harness.data.dataset import text_columns
from harness.data.init import init_tree
from harness.errors import ConfigError, DatasetError
from tests.conftest import write_dataset

PIX = np.zeros((8, 8, 3), dtype=np.uint8)


def two_people(tmp_path, **extra):
    rows = [{"image": "a1.png", "subject_id": "A", "role": "enrol", "gender": "f", **extra},
            {"image": "a2.png", "subject_id": "A", "role": "probe", "gender": "f", **extra},
            {"image": "b1.png", "subject_id": "B", "role": "enrol", "gender": "m", **extra}]
    return write_dataset(tmp_path / "ds", rows, {r["image"]: PIX for r in rows})


def test_symlinked_images_inside_the_folder_are_accepted(tmp_path):
    shared = write_dataset(tmp_path / "shared", [{"image": "x.png", "subject_id": "A"}], {"x.png": PIX})
    root = tmp_path / "mine"
    root.mkdir()
    os.symlink(shared / "x.png", root / "x.png")  # the link points outside; its path is inside
    pd.DataFrame([{"image": "x.png", "subject_id": "A"}]).to_csv(root / "metadata.csv", index=False)
    assert open_dataset(str(root)).frame["image"].tolist() == ["x.png"]
    pd.DataFrame([{"image": "../shared/x.png", "subject_id": "A"}]).to_csv(root / "metadata.csv", index=False)
    with pytest.raises(DatasetError, match="row 2: image path '../shared/x.png' must be relative and inside"):
        open_dataset(str(root))


def test_the_split_column_is_exempt_from_the_per_person_check(tmp_path):
    root = two_people(tmp_path)
    with pytest.raises(DatasetError, match="subject A has inconsistent role"):
        open_dataset(str(root))
    assert len(open_dataset(str(root), per_image=["role"]).frame) == 3
    cfg = config.load(overrides=["protocol.split_column=role", "protocol.enrol_value=enrol",
                                 "protocol.probe_value=probe"])
    assert "role" in protocols.make(cfg).per_image_columns()


def test_validate_can_be_told_the_per_image_columns(tmp_path, capsys):
    root = two_people(tmp_path)
    assert cli.main(["datasets", "validate", str(root)]) == 2
    assert cli.main(["datasets", "validate", str(root), "--per-image", "role"]) == 0
    assert "valid (3 images, 2 subjects" in capsys.readouterr().out


def test_subject_column_option(tmp_path):
    rows = [{"image": "a1.png", "person": "A"}, {"image": "b1.png", "person": "B"}]
    root = write_dataset(tmp_path / "ds", rows, {"a1.png": PIX, "b1.png": PIX})
    with pytest.raises(DatasetError, match="missing required column.*subject_id"):
        open_dataset(str(root))
    assert open_dataset(str(root), subject_column="person").frame["subject_id"].tolist() == ["A", "B"]
    with pytest.raises(DatasetError, match="protocol.subject_column 'who' is not a column"):
        open_dataset(str(root), subject_column="who")


def test_a_text_age_column_is_warned_about_not_silently_unknown(tmp_path):
    frame = pd.DataFrame({"age": ["50-64", "30", None, "18-29"], "gender": ["f"] * 4})
    assert text_columns(frame, ["age", "height"]) == {"age": ["18-29", "50-64"]}
    proto = protocols.make(config.load())
    proto.warn_text_bins(frame)
    assert len(proto.notes) == 1 and "'50-64'" in proto.notes[0] and "band 'unknown'" in proto.notes[0]


def test_landmarks_5_as_a_number_is_the_choice_5(tmp_path):
    assert config.load(overrides=["detector.landmarks=5"]).detector.landmarks == "5"
    f = tmp_path / "c.yaml"
    f.write_text("detector:\n  landmarks: 68\n")
    assert config.load(str(f)).detector.landmarks == "68"
    with pytest.raises(ConfigError, match="7 is not one of '5', '68'"):
        config.load(overrides=["detector.landmarks=7"])
    with pytest.raises(ConfigError, match="protocol.kind: 'triples' is not one of"):
        config.load(overrides=["protocol.kind=triples"])


def test_datasets_init_from_a_folder_tree(tmp_path, capsys):
    tree = tmp_path / "tree"
    for person, n in (("Ann_Lee", 2), ("Bo_Chan", 1)):
        for i in range(1, n + 1):
            write_dataset(tree / person, [], {f"{person}_{i:04d}.jpg": PIX})
            (tree / person / "metadata.csv").unlink()
    assert cli.main(["datasets", "init", str(tree)]) == 0
    out = capsys.readouterr().out
    assert "3 images, 2 people (1 with two or more images)" in out and "fill in: gender, ethnicity, age" in out
    meta = pd.read_csv(tree / "metadata.csv", dtype=str, keep_default_na=False)
    assert meta["image"].tolist() == ["Ann_Lee/Ann_Lee_0001.jpg", "Ann_Lee/Ann_Lee_0002.jpg", "Bo_Chan/Bo_Chan_0001.jpg"]
    assert meta["subject_id"].tolist() == ["Ann_Lee", "Ann_Lee", "Bo_Chan"] and (meta["gender"] == "").all()
    assert len(open_dataset(str(tree)).frame) == 3  # the skeleton validates as it is
    with pytest.raises(DatasetError, match="already exists"):
        init_tree(tree)
    write_dataset(tree, [], {"loose.jpg": PIX})
    with pytest.raises(DatasetError, match="directly in the folder"):
        init_tree(tree, force=True)
