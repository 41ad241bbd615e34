"""Evidence bundle: verify passes untouched, fails naming the file when one byte changes; diff names changes."""

import json
import shutil
import zipfile

import pytest

from harness.report import bundle as b

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def bundled(real_run, tmp_path_factory):
    res, out, cfg = real_run
    return b.bundle(out, tmp_path_factory.mktemp("bundle") / "run.bundle.zip")


def test_untouched_bundle_verifies_and_every_table_recomputes(bundled):
    v = b.verify(bundled)
    assert v.ok, v.problems + v.differences
    assert {"groups.csv", "summaries.csv", "same_group.csv", "projection.csv", "cross_group.csv",
            "gallery_size.csv"} <= set(v.recomputed_tables)
    names = zipfile.ZipFile(bundled).namelist()
    for member in ("config.json", "dataset.json", "models.json", "environment.json", "command.json",
                   "MANIFEST.json", "run/results.json", "run/pairs.csv", "run/report.html"):
        assert member in names
    dataset = json.loads(zipfile.ZipFile(bundled).read("dataset.json"))
    assert len(dataset["images"]) == 204 and len(dataset["manifest_sha256"]) == 64
    assert json.loads(zipfile.ZipFile(bundled).read("command.json"))["run"]["argv"]


def _rewrite(src, dst, member, mutate):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, mutate(data) if info.filename == member else data)


def test_one_changed_byte_in_any_member_fails_naming_that_file(bundled, tmp_path):
    def flip(data: bytes) -> bytes:
        i = len(data) // 2
        return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]

    members = [n for n in zipfile.ZipFile(bundled).namelist() if n != "MANIFEST.json"]
    assert len(members) >= 15
    for member in members:
        bad = tmp_path / "bad.zip"
        _rewrite(bundled, bad, member, flip)
        v = b.verify(bad, recompute=False)
        assert not v.ok and any(p.startswith(member + ":") for p in v.problems), (member, v.problems)
    # The manifest itself: a changed byte breaks its hashes or its JSON, and verify says so.
    _rewrite(bundled, tmp_path / "m.zip", "MANIFEST.json", flip)
    assert not b.verify(tmp_path / "m.zip", recompute=False).ok


def test_a_byte_changed_inside_the_archive_names_the_member(bundled, tmp_path):
    """Flip a byte in the archive file itself (inside a member's compressed data)."""
    bad = tmp_path / "raw.zip"
    shutil.copy(bundled, bad)
    z = zipfile.ZipFile(bad)
    info = z.getinfo("run/pairs.csv")
    z.close()
    raw = bytearray(bad.read_bytes())
    pos = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    raw[pos] ^= 0x01
    bad.write_bytes(bytes(raw))
    v = b.verify(bad, recompute=False)
    assert not v.ok and any(p.startswith("run/pairs.csv") for p in v.problems), v.problems


def test_a_recomputed_difference_is_reported_by_cell(bundled, tmp_path):
    """Edit groups.csv and re-seal the manifest: hashes pass, recomputation catches it."""
    folder = tmp_path / "x"
    zipfile.ZipFile(bundled).extractall(folder)
    groups = folder / "run" / "groups.csv"
    text = groups.read_text().splitlines()
    cells = text[1].split(",")
    col = text[0].split(",").index("n_false_match")
    cells[col] = str(int(cells[col]) + 1)
    text[1] = ",".join(cells)
    groups.write_text("\n".join(text) + "\n")
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"]["run/groups.csv"] = b.sha256_bytes(groups.read_bytes())
    hashes = {n[4:]: h for n, h in manifest["files"].items() if n.startswith("run/")}
    manifest["fingerprint"] = b.fingerprint_of(hashes)
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    v = b.verify(folder)
    assert any("groups.csv: row 2 column n_false_match" in d for d in v.differences), v.differences
    assert any("report.html" in p and "fingerprint" in p for p in v.problems)


def test_an_edited_score_file_that_no_longer_parses_is_a_finding_not_bad_input(bundled, tmp_path):
    """Hostile re-test: a bundle folder whose pairs.csv was edited (a genuine pair flipped) made verify exit 2
    with a message naming a temporary file; it is a verification failure naming run/pairs.csv."""
    folder = tmp_path / "x"
    zipfile.ZipFile(bundled).extractall(folder)
    pairs = folder / "run" / "pairs.csv"
    lines = pairs.read_text().splitlines()
    col = lines[0].split(",").index("genuine")
    for i, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[col] == "True":
            cells[col] = "False"
            lines[i] = ",".join(cells)
            break
    pairs.write_text("\n".join(lines) + "\n")
    v = b.verify(folder)
    assert not v.ok
    assert any(p.startswith("run/pairs.csv: sha256") for p in v.problems), v.problems
    assert any(p.startswith("run/pairs.csv: tables could not be recomputed (row ") and "facerisk-verify-" not in p
               for p in v.problems), v.problems


def test_diff_lists_exactly_the_changed_settings(real_run, tmp_path):
    res, out, cfg = real_run
    a = json.loads((out / "results.json").read_text())
    bdoc = json.loads(json.dumps(a))
    bdoc["provenance"]["config"]["capture"]["preset"] = "doorbell-1536p-night-ir"
    bdoc["provenance"]["config"]["name"] = "night"
    bdoc["groups"][0]["fmr"] = 0.5
    bdoc["created_utc"] = "later"
    d = b.diff(a, bdoc)
    assert d["settings"] == ["capture.preset: None → 'doorbell-1536p-night-ir'", "name: 'default' → 'night'"]
    assert len(d["groups"]) == 1 and "fmr" in d["groups"][0]
    assert "volatile" in d and set(d) == {"settings", "groups", "volatile"}
    assert b.diff(a, json.loads(json.dumps(a))) == {}


def test_cli_bundle_verify_diff(real_run, bundled, tmp_path, capsys):
    from harness.cli import main

    res, out, cfg = real_run
    assert main(["verify", str(bundled), "--no-recompute"]) == 0
    assert "verify: OK" in capsys.readouterr().out
    assert main(["diff", str(out), str(bundled)]) == 0
    assert "no setting or number differs" in capsys.readouterr().out
    assert main(["bundle", str(tmp_path / "nope")]) == 2


def test_diff_names_a_damaged_results_file(tmp_path):
    from harness.errors import FaceriskError
    from harness.report.bundle import load_results

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text("{not json")
    with pytest.raises(FaceriskError, match="damaged results.json"):
        load_results(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FaceriskError, match="not a run directory"):
        load_results(tmp_path / "empty")
