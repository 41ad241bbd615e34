"""Fetching an LFW-shaped upstream (one sub-folder per person, a pair list, gender name lists) from 127.0.0.1."""

import hashlib

import pytest
import yaml

from harness import data
from harness.errors import DatasetError
from harness.protocols.pairs import read_pair_list
from tests.conftest import serve_files
from tests.data.test_fetch import jpeg

PEOPLE = {"Ann_Lee": 2, "Bo_Chan": 1, "Cy_Dube": 2}


@pytest.fixture
def lfw_upstream(tmp_path):
    root = tmp_path / "upstream"
    files = {}
    seed = 0
    for person, n in PEOPLE.items():
        for i in range(1, n + 1):
            files[f"lfw-deepfunneled/{person}/{person}_{i:04d}.jpg"] = jpeg(seed)
            seed += 1
    files["facenet/pairs.txt"] = b"2\t1\nAnn_Lee\t1\t2\nAnn_Lee\t1\tBo_Chan\t1\nCy_Dube\t1\t2\nCy_Dube\t2\tBo_Chan\t1\n"
    # Cy_Dube's two images are labelled differently: the person gets no label, and the conflict is listed
    files["labels/female_names.txt"] = b"Ann_Lee_0001.jpg\nAnn_Lee_0002\nCy_Dube_0001.jpg\n"
    files["labels/male_names.txt"] = b"Bo_Chan_0001.jpg\nCy_Dube_0002.jpg\n"
    with serve_files(root, files) as url:
        yield files, url


def lfw_card(tmp_path, files, url, monkeypatch, pinned=True):
    cards = tmp_path / "cards"
    cards.mkdir(exist_ok=True)
    sums = {rel: hashlib.sha256(c).hexdigest() for rel, c in files.items() if rel.startswith("lfw-deepfunneled/")}
    sums["pairs.txt"] = hashlib.sha256(files["facenet/pairs.txt"]).hexdigest()
    for v in ("female", "male"):
        sums[f"labels/{v}_names.txt"] = hashlib.sha256(files[f"labels/{v}_names.txt"]).hexdigest()
    card = {"name": "lfw-tiny", "licence": "unstated (research use)", "citation": "Test (2026).",
            "labels": {"gender": "annotated"}, "sha256": sums,
            "upstream": {"layout": "tree", "images_prefix": "lfw-deepfunneled/", "base_url": url,
                         "images_pinned": pinned,
                         "files": [{"dest": "pairs.txt", "url": f"{url}/facenet/pairs.txt"}],
                         "labels": {"gender": [{"dest": f"labels/{v}_names.txt", "value": v,
                                                "url": f"{url}/labels/{v}_names.txt"} for v in ("female", "male")]}}}
    (cards / "lfw-tiny.yaml").write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FACERISK_CARDS", str(cards))
    return data.get_card("lfw-tiny")


def test_tree_fetch_builds_people_labels_and_the_pair_list(tmp_path, lfw_upstream, monkeypatch):
    files, url = lfw_upstream
    card = lfw_card(tmp_path, files, url, monkeypatch)
    folder = data.fetch(card, tmp_path / "home", progress=False)
    ds = data.open_dataset(str(folder), card=card)
    assert len(ds.frame) == 5 and sorted(ds.frame["subject_id"].unique()) == sorted(PEOPLE)
    gender = ds.frame.drop_duplicates("subject_id").set_index("subject_id")["gender"]
    assert gender["Ann_Lee"] == "female" and gender["Bo_Chan"] == "male" and gender.isna()["Cy_Dube"]
    assert "Cy_Dube" in (folder / "LABEL-CONFLICTS.txt").read_text()
    assert (folder / "images/Bo_Chan/Bo_Chan_0001.jpg").read_bytes() == files["lfw-deepfunneled/Bo_Chan/Bo_Chan_0001.jpg"]
    lst = read_pair_list(folder / "pairs.txt", ds.frame["image"])
    assert lst["same"].tolist() == [True, False, True, False] and lst["fold"].tolist() == ["1", "1", "2", "2"]
    from harness.data import integrity

    assert integrity.check(folder, ds.manifest())["status"] == "verified"


def test_tree_fetch_refuses_a_changed_file(tmp_path, lfw_upstream, monkeypatch):
    files, url = lfw_upstream
    card = lfw_card(tmp_path, files, url, monkeypatch)
    card.sha256["pairs.txt"] = "0" * 64
    with pytest.raises(DatasetError, match="checksum mismatch for .*pairs.txt"):
        data.fetch(card, tmp_path / "home", progress=False)


def test_unpinned_images_say_so(tmp_path, lfw_upstream, monkeypatch):
    files, url = lfw_upstream
    card = lfw_card(tmp_path, files, url, monkeypatch, pinned=False)
    with pytest.raises(DatasetError, match="not pinned to a public copy.*datasets init"):
        data.fetch(card, tmp_path / "home", progress=False)


def test_the_lfw_card_pins_its_pair_list_and_labels():
    card = data.get_card("lfw")
    assert card.labels == {"gender": "annotated"}
    assert {"pairs.txt", "labels/female_names.txt", "labels/male_names.txt"} <= set(card.sha256)
    for f in card.upstream["files"] + card.upstream["labels"]["gender"]:
        assert "/raw.githubusercontent.com/" in f["url"] and len(f["url"].split("/")[5]) == 40  # a commit
    assert any("race" in c.lower() for c in card.caveats)
