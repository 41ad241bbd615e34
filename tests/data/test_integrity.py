"""Run-time integrity of local data sets pinned by SHA256SUMS (as the shared frl-london copy ships)."""

import hashlib
import shutil

import pytest

from harness import config, pipeline
from harness.data import integrity
from harness.errors import DatasetError


def test_sums_file_paths_relative_to_images_are_understood(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"a")
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(b'a').hexdigest()}  a.jpg\n")
    source, pins = integrity.pins(tmp_path)
    assert source == "SHA256SUMS" and pins == {"images/a.jpg": hashlib.sha256(b"a").hexdigest()}


def test_a_sums_file_inside_images_pins_the_set_and_a_change_is_refused(tmp_path):
    """Hostile re-test: `cd images && sha256sum * > SHA256SUMS` pinned nothing, so a replaced probe ran, exit 0."""
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"a")
    (tmp_path / "images" / "SHA256SUMS").write_text(f"{hashlib.sha256(b'a').hexdigest()}  a.jpg\n")
    source, pins = integrity.pins(tmp_path)
    assert source == "images/SHA256SUMS" and pins == {"images/a.jpg": hashlib.sha256(b"a").hexdigest()}
    assert integrity.check(tmp_path, [("images/a.jpg", hashlib.sha256(b"a").hexdigest())])["status"] == "verified"
    with pytest.raises(DatasetError, match=r"images/a.jpg: changed since it was pinned in .*images/SHA256SUMS"):
        integrity.check(tmp_path, [("images/a.jpg", hashlib.sha256(b"b").hexdigest())])


def test_a_malformed_sums_file_is_named(tmp_path):
    (tmp_path / "SHA256SUMS").write_text("not a checksum line\n")
    with pytest.raises(DatasetError, match="SHA256SUMS: line 1"):
        integrity.pins(tmp_path)


def test_an_unpinned_folder_is_reported_unverified(tmp_path):
    rec = integrity.check(tmp_path, [("metadata.csv", "0" * 64)])
    assert rec["status"] == "unverified" and "cannot be checked" in rec["note"]


@pytest.mark.realdata
def test_a_swapped_probe_in_a_pinned_copy_stops_the_run_before_any_model_work(frl, tmp_path):
    copy = tmp_path / "frl-copy"
    shutil.copytree(frl, copy)
    shutil.copy(copy / "images" / "002_smiling.jpg", copy / "images" / "001_smiling.jpg")  # another person
    base = [f"dataset.name={copy}", f"cache_dir={tmp_path / 'c'}", f"reports_dir={tmp_path / 'r'}", "progress=false"]
    with pytest.raises(DatasetError, match=r"001_smiling.jpg: changed since it was pinned in .*SHA256SUMS"):
        pipeline.run(config.load(overrides=base))
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*.npz"))


@pytest.mark.realdata
def test_the_shared_copy_verifies(frl):
    from harness import data

    ds = data.open_dataset(str(frl))
    rec = integrity.check(frl, ds.manifest())
    assert rec["status"] == "verified" and rec["n_pinned"] == 204 and rec["unpinned"] == 1  # metadata.csv
