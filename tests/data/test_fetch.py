"""Downloading the public original, against a local HTTP server (never the internet)."""

import hashlib
import io

import numpy as np
import pytest
import yaml
from PIL import Image

from harness import data
from harness.errors import DatasetError
from tests.conftest import serve_files


def jpeg(seed):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def upstream(tmp_path):
    """A fake upstream tree shaped like webmorphR.stim, served on 127.0.0.1."""
    root = tmp_path / "upstream"
    files = {"data-raw/info.csv": b"face_id,face_age,face_gender,face_eth\n001,24,female,white\n002,NA,male,black\n"}
    for i, sid in enumerate(["001", "002"]):
        files[f"inst/neutral_front/{sid}_03.jpg"] = jpeg(2 * i)
        files[f"inst/smiling_front/{sid}_08.jpg"] = jpeg(2 * i + 1)
    with serve_files(root, files) as url:
        yield root, files, url


def make_card(tmp_path, files, base_url, monkeypatch, corrupt=None):
    cards = tmp_path / "cards"
    cards.mkdir(exist_ok=True)
    sums = {rel: hashlib.sha256(c).hexdigest() for rel, c in files.items()}
    if corrupt:
        sums[corrupt] = "0" * 64
    card = {
        "name": "tiny", "licence": "CC BY 4.0", "citation": "Test, T. (2026). Tiny set.",
        "labels": {"age": "self-reported", "gender": "self-reported", "ethnicity": "self-reported"},
        "upstream": {
            "base_url": base_url,
            "metadata": {"path": "data-raw/info.csv",
                         "columns": {"subject_id": "face_id", "age": "face_age", "gender": "face_gender",
                                     "ethnicity": "face_eth"}},
            "images": [
                {"upstream": "inst/neutral_front/{subject_id}_03.jpg", "image": "images/{subject_id}_neutral.jpg",
                 "expression": "neutral"},
                {"upstream": "inst/smiling_front/{subject_id}_08.jpg", "image": "images/{subject_id}_smiling.jpg",
                 "expression": "smiling"},
            ],
        },
        "sha256": sums,
    }
    (cards / "tiny.yaml").write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FACERISK_CARDS", str(cards))
    return data.get_card("tiny")


def test_fetch_builds_a_valid_layout(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, url, monkeypatch)
    home = tmp_path / "home"
    folder = data.fetch(card, home, progress=False)
    ds = data.open_dataset(str(folder), card=card)
    assert sorted(ds.frame["image"]) == ["images/001_neutral.jpg", "images/001_smiling.jpg",
                                         "images/002_neutral.jpg", "images/002_smiling.jpg"]
    assert (folder / "images/002_smiling.jpg").read_bytes() == files["inst/smiling_front/002_08.jpg"]
    assert set(ds.frame.columns) >= {"image", "subject_id", "expression", "age", "gender", "ethnicity"}
    assert ds.frame.loc[ds.frame.subject_id == "002", "age"].isna().all()
    assert "Tiny set" in (folder / "ATTRIBUTION.txt").read_text()
    assert not (home / ".tiny.partial").exists()


def test_resolve_downloads_when_absent_and_not_again(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    make_card(tmp_path, files, url, monkeypatch)
    home = tmp_path / "home"
    ds = data.resolve("tiny", home=str(home), progress=False)
    assert len(ds.frame) == 4
    (root / "data-raw/info.csv").unlink()  # a second resolve must not touch the network
    assert len(data.resolve("tiny", home=str(home), progress=False).frame) == 4


def test_checksum_mismatch_is_refused(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, url, monkeypatch, corrupt="inst/smiling_front/002_08.jpg")
    with pytest.raises(DatasetError, match="checksum mismatch.*002_08.jpg"):
        data.fetch(card, tmp_path / "home", progress=False)
    assert not (tmp_path / "home" / "tiny").exists()


def test_offline_message_says_how_to_provide_the_folder(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, "http://127.0.0.1:9", monkeypatch)  # nothing listens on port 9
    with pytest.raises(DatasetError, match="place the folder 'tiny/'.*FACERISK_DATA_HOME"):
        data.fetch(card, tmp_path / "home", progress=False)


def test_no_download_flag_fails_with_the_fetch_command(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    make_card(tmp_path, files, url, monkeypatch)
    with pytest.raises(DatasetError, match="facerisk datasets fetch tiny"):
        data.resolve("tiny", home=str(tmp_path / "empty"), download=False)


def test_mirror_overrides_the_card_url(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, "http://127.0.0.1:9", monkeypatch)
    folder = data.fetch(card, tmp_path / "home", mirror=url, progress=False)
    assert (folder / "metadata.csv").is_file()


def test_frl_london_card_pins_every_upstream_file():
    card = data.get_card("frl-london")
    assert card.licence == "CC BY 4.0" and "10.6084/m9.figshare.5047666" in card.citation
    assert set(card.labels.values()) == {"self-reported"}
    assert len([k for k in card.sha256 if k.endswith(".jpg")]) == 204
    assert card.upstream["metadata"]["path"] in card.sha256
    assert "fa8b78fda2d659bb74ce62fcd99c4407551d2a77" in card.upstream["base_url"]


def test_fetch_pins_what_it_built_and_a_later_edit_stops_the_run(tmp_path, upstream, monkeypatch):
    from harness.data import integrity

    root, files, url = upstream
    card = make_card(tmp_path, files, url, monkeypatch)
    folder = data.fetch(card, tmp_path / "home", progress=False)
    ds = data.open_dataset(str(folder), card=card)
    assert integrity.check(folder, ds.manifest())["status"] == "verified"
    # one probe replaced by another person's photo, as in the hostile test
    (folder / "images/002_smiling.jpg").write_bytes(files["inst/smiling_front/001_08.jpg"])
    with pytest.raises(DatasetError, match=r"images/002_smiling.jpg: changed since it was pinned.*allow_modified"):
        integrity.check(folder, ds.manifest())
    rec = integrity.check(folder, ds.manifest(), allow_modified=True)
    assert rec["status"] == "modified" and rec["changed"] == ["images/002_smiling.jpg"]


def test_an_edited_label_file_is_caught_too(tmp_path, upstream, monkeypatch):
    from harness.data import integrity

    root, files, url = upstream
    folder = data.fetch(make_card(tmp_path, files, url, monkeypatch), tmp_path / "home", progress=False)
    meta = folder / "metadata.csv"
    meta.write_text(meta.read_text().replace("female", "male"))
    ds = data.open_dataset(str(folder))
    with pytest.raises(DatasetError, match="metadata.csv: changed"):
        integrity.check(folder, ds.manifest())


def test_a_card_named_to_escape_the_data_home_is_refused(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    make_card(tmp_path, files, url, monkeypatch)
    p = tmp_path / "cards" / "tiny.yaml"
    p.write_text(p.read_text().replace("name: tiny", "name: ../x"))
    with pytest.raises(DatasetError, match="must be a plain name"):
        data.get_card("../x")
    assert not (tmp_path / "x").exists()


def test_offline_fetch_names_the_mirror_option_and_leaves_no_empty_folder(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, "http://127.0.0.1:9", monkeypatch)
    with pytest.raises(DatasetError, match="--mirror URL"):
        data.fetch(card, tmp_path / "home", progress=False)
    assert not (tmp_path / "home" / ".tiny.partial").exists()


def test_fetch_never_replaces_a_folder_it_did_not_build(tmp_path, upstream, monkeypatch):
    root, files, url = upstream
    card = make_card(tmp_path, files, url, monkeypatch)
    mine = tmp_path / "home" / "tiny"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="left untouched"):
        data.fetch(card, tmp_path / "home", progress=False)
    assert (mine / "notes.txt").read_text() == "mine"
