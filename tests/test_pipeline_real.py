"""End to end on the real frl-london images, checked against face_recognition computed independently."""

import json

import numpy as np
import pandas as pd
import pytest

from harness import config, pipeline
from harness.data.images import load_rgb
from harness.detect.dlib_detector import DlibDetector
from harness.embed.dlib_resnet import DlibResNet

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def reference(frl, face_recognition):
    """face_recognition's own encodings for every image: its loader, its detector, its encoder."""
    meta = pd.read_csv(frl / "metadata.csv", dtype=str)
    enc = {}
    for img in meta["image"]:
        faces = face_recognition.face_encodings(face_recognition.load_image_file(str(frl / img)))
        enc[img] = faces[0] if len(faces) == 1 else None
    return meta, enc


def test_embeddings_equal_face_recognition_bit_for_bit(frl, face_recognition):
    det, emb = DlibDetector("hog", upsample=1, landmarks="5"), DlibResNet(jitters=1)
    for img in ["images/001_neutral.jpg", "images/025_smiling.jpg", "images/136_neutral.jpg"]:
        rec = pipeline.acquire_image(str(frl / img), det, emb, "largest", 40_000_000)
        ref = face_recognition.face_encodings(face_recognition.load_image_file(str(frl / img)))
        assert rec["status"] == "ok" and len(ref) == 1
        assert np.array_equal(rec["embedding"], ref[0])
        # The stored box is face_recognition's face_locations box (css order top, right, bottom, left).
        top, right, bottom, left = face_recognition.face_locations(load_rgb(frl / img))[0]
        assert rec["box"] == [left, top, right, bottom]


def test_every_pair_distance_equals_face_recognition(real_run, reference, face_recognition):
    res, out, cfg = real_run
    meta, enc = reference
    assert all(v is not None for v in enc.values())  # every frl-london image has one face at upsample 1
    pairs = pd.read_csv(out / "pairs.csv")
    ref = np.array([face_recognition.face_distance([enc[e]], enc[p])[0]
                    for e, p in zip(pairs.enrol_image, pairs.probe_image)])
    assert np.abs(pairs.euclidean.to_numpy() - ref).max() < 1e-12


def test_group_rates_equal_an_independent_computation(real_run, reference):
    """Recompute per-group FMR/FNMR at distance 0.6 and at the 1e-3 threshold with plain loops."""
    res, out, cfg = real_run
    meta, enc = reference
    subj = meta.drop_duplicates("subject_id").set_index("subject_id")
    enrol = meta[meta.expression == "neutral"]
    probe = meta[meta.expression == "smiling"]
    rows = []
    for _, e in enrol.iterrows():
        for _, p in probe.iterrows():
            d = float(np.linalg.norm(enc[e.image] - enc[p.image]))
            rows.append((e.subject_id == p.subject_id, d, subj.loc[p.subject_id, "ethnicity"],
                         subj.loc[p.subject_id, "gender"]))
    ref = pd.DataFrame(rows, columns=["genuine", "d", "ethnicity", "gender"])
    imp = np.sort(ref.d[~ref.genuine].to_numpy())
    k = int(np.floor(1e-3 * len(imp) + 1e-9))
    results = json.loads((out / "results.json").read_text())
    thr = {t["id"]: t for t in results["thresholds"]}
    # The calibrated distance sits just below the (k+1)-th smallest impostor distance.
    assert thr["fmr=0.001"]["native"] == pytest.approx(imp[k], abs=1e-12)
    assert thr["fmr=0.001"]["native"] < imp[k]
    groups = pd.DataFrame(results["groups"])
    for tid, cut, strict in [("euclidean=0.6", 0.6, False), ("fmr=0.001", imp[k], True)]:
        for attr in ("gender", "ethnicity"):
            for g, sub in ref.groupby(attr):
                matched = (sub.d < cut) if strict else (sub.d <= cut)
                fm = int((matched & ~sub.genuine).sum())
                fnm = int((~matched & sub.genuine).sum())
                row = groups[(groups.threshold_id == tid) & (groups.slice == attr) & (groups.group == g)].iloc[0]
                assert (row.n_false_match, row.n_impostor) == (fm, int((~sub.genuine).sum())), (tid, attr, g)
                assert (row.n_false_non_match, row.n_genuine) == (fnm, int(sub.genuine.sum())), (tid, attr, g)


def test_repeat_run_does_no_model_work(real_run, monkeypatch):
    res, out, cfg = real_run

    def boom(*a, **k):
        raise AssertionError("model called on a cached run")

    monkeypatch.setattr(DlibDetector, "detect", boom)
    monkeypatch.setattr(DlibResNet, "embed", boom)
    again = pipeline.run(cfg)
    assert again.provenance["acquisition"]["cache_hits"] == 204
    assert again.provenance["acquisition"]["computed"] == 0
    pd.testing.assert_frame_equal(again.groups, res.groups)


def test_no_cache_recomputes_the_same(real_run, data_home, tmp_path):
    res, out, cfg = real_run
    sub = config.load(overrides=[f"dataset.data_home={data_home}", "use_cache=false", "progress=false",
                                 "workers=1", "metrics.attributes=[gender]", "metrics.intersections=[]"])
    # one process, no cache: same answer as two processes through the cache
    again = pipeline.run(sub)
    a = again.groups.set_index(["threshold_id", "slice", "group"])
    b = res.groups.set_index(["threshold_id", "slice", "group"]).loc[a.index]
    pd.testing.assert_series_equal(a.n_false_match, b.n_false_match)
    assert again.provenance["acquisition"]["computed"] == 204


def test_provenance_is_complete(real_run):
    res, out, cfg = real_run
    prov = json.loads((out / "results.json").read_text())["provenance"]
    assert len(prov["models"]["embedder"]["weights"]["dlib_face_recognition_resnet_model_v1.dat"]) == 64
    assert prov["models"]["detector"]["upsample"] == 1
    assert prov["dataset"]["n_files"] == 205 and len(prov["dataset"]["manifest_sha256"]) == 64
    assert prov["config"]["metrics"]["target_fmrs"] == [0.01, 0.001]
    assert prov["packages"]["dlib-bin"] and prov["machine"]["cores_usable"] >= 1
    assert set(prov["timings_s"]) >= {"data", "acquire", "compare", "metrics", "per_image_detect_mean"}


def test_cnn_detector_finds_the_face(frl):
    det = DlibDetector("cnn", upsample=0, landmarks="5")
    faces = det.detect(load_rgb(frl / "images/001_neutral.jpg"))
    assert len(faces) == 1 and faces[0].interocular_px > 30
    assert det.provenance()["weights"]["mmod_human_face_detector.dat"]


def test_matched_impostors_end_to_end(real_run):
    """Demographically matched impostors: every impostor pair agrees on the chosen attributes."""
    res, out, cfg0 = real_run
    cfg = config.load(overrides=[f"dataset.data_home={cfg0.dataset.data_home}", f"cache_dir={cfg0.cache_dir}",
                                 "progress=false", "protocol.impostors=matched",
                                 "protocol.match_on=[gender, age_band]", "metrics.intersections=[]"])
    r = pipeline.run(cfg)
    imp = r.pairs[~r.pairs.genuine]
    assert len(imp) and (imp.enrol_gender == imp.probe_gender).all()
    assert (imp.enrol_age_band == imp.probe_age_band).all()
    assert r.pairs.genuine.sum() == 102 and len(imp) < 102 * 101
    # The subject bootstrap runs on matched impostors too (subject pairs restricted to equal match_on keys).
    assert not any("bootstrap skipped" in w for w in r.warnings)
    overall = r.groups[r.groups["slice"] == "all"]
    assert overall["fmr_boot_hi"].notna().all() and (overall["fmr_boot_hi"] >= overall["fmr"]).all()
    assert "matched" in r.thresholds[0].calibration_set
