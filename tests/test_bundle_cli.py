"""Argument checks of ``facerisk bundle`` and ``facerisk diff`` (harness/bundle_cli.py): a user's file is never
overwritten, a damaged run or a bad option is one line before any work."""

import json
import zipfile

import pytest

from harness.cli import main


@pytest.fixture
def run(tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    (r / "results.json").write_text(json.dumps({"run_name": "r", "provenance": {}}))
    (r / "groups.csv").write_text("threshold_id,slice,group\n")
    return r


def _one_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bundle_never_overwrites_a_file_that_is_not_a_bundle(run, tmp_path, capsys):
    """Hostile re-test: bundle --out thesis.tex replaced the user's file with a zip."""
    mine = tmp_path / "thesis.tex"
    mine.write_text("mine")
    for extra in ([], ["--force"]):
        assert main(["bundle", str(run), "--out", str(mine), *extra]) == 2
        assert "exists and is not a facerisk bundle; it is left untouched" in _one_line(capsys)
        assert mine.read_text() == "mine"


def test_an_existing_bundle_is_replaced_only_with_force(run, tmp_path, capsys):
    out = tmp_path / "r.bundle.zip"
    assert main(["bundle", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    before = out.read_bytes()
    assert main(["bundle", str(run), "--out", str(out)]) == 2
    assert "a bundle already exists there; pass --force" in _one_line(capsys)
    assert out.read_bytes() == before
    assert main(["bundle", str(run), "--out", str(out), "--force"]) == 0
    with zipfile.ZipFile(out) as z:
        assert json.loads(z.read("MANIFEST.json"))["format"].startswith("facerisk-bundle/")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bundle_of_a_damaged_run_is_one_line_and_writes_nothing(run, tmp_path, capsys):
    """Hostile re-test: a results.json cut short was json's traceback, exit 1."""
    (run / "results.json").write_text("{")
    out = tmp_path / "b.zip"
    assert main(["bundle", str(run), "--out", str(out)]) == 2
    assert "damaged results.json" in _one_line(capsys)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("where, message", [
    ("no/such/b.zip", "does not exist; create it or choose another --out"),
    (".", "is a folder; give a file name"),
])
def test_bundle_out_must_be_a_file_in_an_existing_folder(run, tmp_path, capsys, where, message):
    assert main(["bundle", str(run), "--out", str(tmp_path / where)]) == 2
    assert message in _one_line(capsys)


def test_diff_refuses_a_negative_max_lines(run, capsys):
    assert main(["diff", str(run), str(run), "--max-lines", "-1"]) == 2
    assert "--max-lines -1: must be 0 (show all) or a positive number" in _one_line(capsys)
    assert main(["diff", str(run), str(run), "--max-lines", "0"]) == 0
