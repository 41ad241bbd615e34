"""Ingest on clips the simulator renders: a person walking towards the camera, day and night."""

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness import config
from harness.cli import main
from harness.data.video import VideoError, frames, probe
from harness.degrade import capture
from harness.degrade.clips import render_walk
from harness.detect.dlib_detector import DlibDetector
from harness.ingest import ingest


def test_video_errors_name_the_problem(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="zero-length"):
        probe(tmp_path / "empty.mp4")
    (tmp_path / "junk.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + b"nonsense" * 100)
    with pytest.raises(VideoError, match="junk.mkv"):
        list(frames(tmp_path / "junk.mkv"))
    with pytest.raises(VideoError, match="not found"):
        probe(tmp_path / "missing.mp4")


def test_unknown_codec_is_named(tmp_path):
    import av

    from harness.degrade.sensor import encode_h264

    imgs = [(np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8) for i in range(5)]
    encode_h264(imgs, str(tmp_path / "a.mp4"), 64, 64, 100_000, 5)
    with av.open(str(tmp_path / "a.mp4")) as src, av.open(str(tmp_path / "a.mkv"), "w", format="matroska") as dst:
        ost = dst.add_stream_from_template(src.streams.video[0])
        for pkt in src.demux(src.streams.video[0]):
            if pkt.dts is not None:
                pkt.stream = ost
                dst.mux(pkt)
    data = (tmp_path / "a.mkv").read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    (tmp_path / "unknown.mkv").write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_FACERISK/NONE"))  # same length
    with pytest.raises(VideoError, match="unknown or unsupported video codec"):
        list(frames(tmp_path / "unknown.mkv"))


def test_audio_only_file_has_no_video_stream(tmp_path):
    import av

    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as out:
        st = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for pkt in st.encode(frame):
            out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    with pytest.raises(VideoError, match="no video stream"):
        probe(path)


def test_truncated_clip_keeps_the_frames_before_the_damage(tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((320, 320, 3)) * 255).astype(np.uint8)
    cap = capture.load("doorbell-640x480-stream")
    path = tmp_path / "walk.mkv"
    render_walk(img, None, cap, tmp_path / "walk.mp4", distances=np.linspace(3, 1, 20))
    import av  # remux into Matroska, whose data can be cut mid-stream

    with av.open(str(tmp_path / "walk.mp4")) as src, av.open(str(path), "w", format="matroska") as dst:
        ost = dst.add_stream_from_template(src.streams.video[0])
        for pkt in src.demux(src.streams.video[0]):
            if pkt.dts is None:
                continue
            pkt.stream = ost
            dst.mux(pkt)
    data = path.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    got = []
    try:
        for i, t, f in frames(tmp_path / "cut.mkv"):
            got.append(i)
    except VideoError as exc:
        assert "cut.mkv" in str(exc)
    assert 0 < len(got) < 20


@pytest.fixture(scope="module")
def clips(frl, tmp_path_factory):
    out = tmp_path_factory.mktemp("clips")
    det = DlibDetector()
    rows = []
    for sid in ("001", "004"):
        img = np.asarray(Image.open(frl / f"images/{sid}_smiling.jpg").convert("RGB"))
        lm = det.detect(img)[0].landmarks
        for preset in ("doorbell-640x480-stream", "doorbell-1536p-night-ir"):
            cap = capture.load(preset)
            if preset.endswith("night-ir"):  # smaller frames keep the test quick; same lens and sensor model
                cap = cap.with_value("camera.width", 768).with_value("camera.height", 768)
            name = f"{sid}_{preset}.mp4"
            render_walk(img, lm, cap, out / name, distances=np.linspace(1.6, 0.8, 8))
            rows.append({"clip": name, "subject_id": sid, "in_gallery": True})
    blank = np.full((320, 320, 3), 120, np.uint8)
    render_walk(blank, None, capture.load("doorbell-640x480-stream"), out / "nobody.mp4", distances=[2.0] * 4)
    rows.append({"clip": "nobody.mp4", "subject_id": "999", "in_gallery": False})  # a stranger
    return out, pd.DataFrame(rows)


@pytest.mark.realdata
def test_ingest_finds_visits_and_reports_frame_and_visit_rates(clips, data_home, tmp_path):
    folder, labels = clips
    cfg = config.load(overrides=[f"dataset.data_home={data_home}", f"cache_dir={tmp_path / 'cache'}", "progress=false"])
    res = ingest(sorted(folder.glob("*.mp4")), cfg, labels)
    c = res.clips.set_index("clip")
    assert c.loc["nobody.mp4", "faces"] == 0 and c.loc["nobody.mp4", "visits"] == 0
    assert c.loc["001_doorbell-640x480-stream.mp4", "visits"] == 1
    v = res.visits.set_index("clip")
    assert v.loc["001_doorbell-640x480-stream.mp4", "visitor"] == "001"
    r = res.rates[(res.rates.slice == "all")].set_index(["level", "policy"])
    assert set(r.index) == {("frame", "frame"), ("visit", "best"), ("visit", "mean"), ("visit", "any")}
    # any-frame takes the max score over frames, so it can only add false matches to best-frame
    assert r.loc[("visit", "any"), "n_false_match"] >= r.loc[("visit", "best"), "n_false_match"]
    assert r.loc[("visit", "any"), "n_impostor"] == r.loc[("visit", "best"), "n_impostor"]
    genuine = res.comparisons[res.comparisons.genuine & (res.comparisons.level == "visit")]
    assert len(genuine) == 3 * len(res.visits)  # one mated gallery photo per visit, per policy
    assert set(res.rates.slice) >= {"all", "gender", "ethnicity"}


@pytest.mark.realdata
def test_ingest_cli(clips, data_home, tmp_path):
    folder, labels = clips
    labels.to_csv(tmp_path / "labels.csv", index=False)
    rc = main(["ingest", str(folder / "001_doorbell-640x480-stream.mp4"), "--labels", str(tmp_path / "labels.csv"),
               "--data-home", str(data_home), "--out", str(tmp_path / "out"), "-q",
               "--set", f"cache_dir={tmp_path / 'cache'}"])
    assert rc == 0
    for f in ("clips.csv", "frames.csv", "visits.csv", "comparisons.csv", "rates.csv", "ingest.json"):
        assert (tmp_path / "out" / f).is_file()
    assert main(["ingest", str(tmp_path / "none.mp4"), "--data-home", str(data_home), "-q",
                 "--set", f"cache_dir={tmp_path / 'cache'}"]) == 2


@pytest.mark.parametrize("content, message", [
    (b"", "empty (no header line); it must be a labels file"),
    (b"clip,subject_id\n", "header only"),
    (b"clip,subject_id,clip\na.mp4,001,b.mp4\n", "column(s) 'clip' appear more than once in the header"),
    (b"clip,who\na.mp4,001\n", "missing column(s) subject_id"),
    (b"clip,subject_id\na.mp4,001\nsub/a.mp4,004\n", "rows 2, 3: clip 'a.mp4' is listed more than once"),
    (b"clip,subject_id\na.mp4,\n", "row 2: empty subject_id"),
    ("clip,subject_id,name\na.mp4,001,Jos\u00e9\n".encode("latin-1"), "not UTF-8"),
    (b"clip,subject_id,in_gallery\na.mp4,001,perhaps\n", "in_gallery must be"),
])
def test_bad_labels_files_are_named_errors(tmp_path, content, message):
    from harness.errors import DatasetError
    from harness.ingest import read_labels

    (tmp_path / "l.csv").write_bytes(content)
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_labels(tmp_path / "l.csv")


def test_a_labelled_person_missing_from_the_gallery_is_refused():
    from harness.errors import DatasetError
    from harness.ingest import _check_label_ids

    labels = pd.DataFrame({"clip": ["a.mp4", "b.mp4"], "subject_id": ["001", "1"]})
    with pytest.raises(DatasetError, match="row 3: subject '1' is not in the gallery"):
        _check_label_ids(labels, {"001", "004"})
    _check_label_ids(labels.assign(in_gallery=[True, False]), {"001", "004"})  # a declared stranger is fine
    with pytest.raises(DatasetError, match="marked in_gallery=false but is in the gallery"):
        _check_label_ids(labels.assign(in_gallery=[False, False]), {"001", "004"})


def _clip(tmp_path):
    c = tmp_path / "c.mp4"
    c.write_bytes(b"\0" * 16)  # existence is checked before anything decodes it
    return c


def test_ingest_never_writes_into_a_user_folder_and_says_so_before_work(tmp_path, capsys):
    """Hostile re-test: ingest --out onto a folder holding the user's files was accepted (exit 0)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    rc = main(["ingest", str(_clip(tmp_path)), "--out", str(mine), "-q", "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert rc == 2 and "exists and is not a facerisk output folder; it is left untouched: choose another --out" in err
    assert err.count("\n") == 1 and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert not (tmp_path / "cache").exists()  # refused before the gallery was acquired


def test_ingest_cache_dir_is_checked_before_work(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    rc = main(["ingest", str(_clip(tmp_path)), "--out", str(tmp_path / "o"), "-q", "--cache-dir", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert rc == 2 and "cache_dir" in err and "--cache-dir DIR" in err and not (tmp_path / "o").exists()


def test_ingest_without_pyav_fails_before_the_gallery_is_acquired(tmp_path):
    """Hostile re-test: with PyAV missing, the gallery was acquired (into the default ~/.cache/facerisk) first."""
    import os
    import subprocess
    import sys

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        "import sys\nclass _Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'av' or name.startswith('av.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    r = subprocess.run([sys.executable, "-m", "harness", "ingest", str(_clip(tmp_path)), "--out",
                        str(tmp_path / "o"), "-q", "--cache-dir", str(tmp_path / "cache")],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(tmp_path / "site"), "HOME": str(tmp_path / "home")})
    assert r.returncode == 2 and "'av'" in r.stderr and "pip install 'av'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
    assert not (tmp_path / "cache").exists() and not (tmp_path / "o").exists() and not (tmp_path / "home").exists()


def test_a_clip_without_a_labels_row_is_refused_before_the_gallery_is_acquired(tmp_path, capsys):
    """Hostile re-test: the missing label was found only after the gallery and every clip were processed, and the
    message named neither the labels file nor the fix."""
    import time

    from harness.cli import main

    (tmp_path / "a.mp4").write_bytes(b"not decoded: the check comes first")
    (tmp_path / "who.csv").write_text("clip,subject_id\nother.mp4,001\n")
    t0 = time.perf_counter()
    rc = main(["ingest", str(tmp_path / "a.mp4"), "--labels", str(tmp_path / "who.csv"), "--out", str(tmp_path / "o"),
               "--cache-dir", str(tmp_path / "cache"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert f"{tmp_path / 'who.csv'}: no row for clip 'a.mp4'; add a row clip,subject_id for every clip given" in err
    assert time.perf_counter() - t0 < 10
    assert not any((tmp_path / "cache").rglob("*.npz"))  # nothing acquired
