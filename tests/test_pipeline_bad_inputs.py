"""Bad inputs inside a dataset: each is a clear error or a failure to acquire counted per group."""

import io

import numpy as np
import pytest
from PIL import Image

from harness import config, pipeline
from harness.errors import DatasetError
from tests.conftest import write_dataset

pytestmark = pytest.mark.realdata


def face(frl, sid, expr):
    return np.asarray(Image.open(frl / f"images/{sid}_{expr}.jpg").convert("RGB"))


@pytest.fixture
def awkward(frl, tmp_path):
    """Six subjects; probes in awkward formats, one without a face, one with two faces."""
    sids = ["001", "004", "025", "043", "005", "006"]
    gender = {"001": "female", "004": "male", "025": "female", "043": "male", "005": "male", "006": "female"}
    rows, images = [], {}
    for sid in sids:
        images[f"{sid}_n.png"] = face(frl, sid, "neutral")
        rows.append({"image": f"{sid}_n.png", "subject_id": sid, "expression": "neutral", "gender": gender[sid]})
    smiling = {sid: face(frl, sid, "smiling") for sid in sids}
    rgba = np.dstack([smiling["001"], np.full(smiling["001"].shape[:2], 255, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(smiling["004"]).convert("CMYK").save(buf, "JPEG", quality=95)
    g16 = (np.asarray(Image.fromarray(smiling["025"]).convert("L")).astype(np.uint16) * 257)
    probes = {
        "001_s.png": Image.fromarray(rgba, "RGBA"),                      # PNG with alpha
        "004_s.jpg": buf.getvalue(),                                      # CMYK JPEG
        "025_s.png": Image.fromarray(g16),                                # 16-bit grayscale
        "043_s.png": np.full((320, 320, 3), 128, np.uint8),               # no face
        "005_s.png": np.concatenate([smiling["005"], face(frl, "127", "smiling")], axis=1),  # two faces
        "006_s.png": np.asarray(Image.fromarray(smiling["006"]).convert("L")),  # 8-bit grayscale
    }
    for name, content in probes.items():
        if isinstance(content, Image.Image):
            b = io.BytesIO()
            content.save(b, "PNG")
            content = b.getvalue()
        images[name] = content
        rows.append({"image": name, "subject_id": name[:3], "expression": "smiling", "gender": gender[name[:3]]})
    return write_dataset(tmp_path / "awkward", rows, images), tmp_path


def run(root, tmp, *extra):
    cfg = config.load(overrides=[f"dataset.name={root}", f"cache_dir={tmp / 'cache'}", "progress=false",
                                 "workers=1", "metrics.attributes=[gender]", "metrics.intersections=[]",
                                 "metrics.target_fmrs=[0.1]", *extra])
    return pipeline.run(cfg)


def test_awkward_formats_decode_and_failures_are_counted_per_group(awkward):
    root, tmp = awkward
    res = run(root, tmp)
    acq = res.acquisitions.set_index("image")
    for ok_img in ["001_s.png", "004_s.jpg", "025_s.png", "006_s.png"]:
        assert acq.loc[ok_img, "status"] == "ok", ok_img
    assert acq.loc["043_s.png", "status"] == "fta" and acq.loc["043_s.png", "reason"] == "no_face"
    # Two people in one probe: by default a failure to acquire, never silently the other person.
    assert acq.loc["005_s.png", "n_faces"] == 2 and acq.loc["005_s.png", "reason"] == "multiple_faces:2"
    male = res.groups[(res.groups.slice == "gender") & (res.groups.group == "male")].iloc[0]
    female = res.groups[(res.groups.slice == "gender") & (res.groups.group == "female")].iloc[0]
    assert (male.n_fta, male.n_probe_images) == (2, 3) and female.n_fta == 0
    assert male.frr >= male.fta == pytest.approx(2 / 3)
    # Subjects with no acquired probe have no genuine pair, and nobody was dropped silently.
    assert res.pairs.genuine.sum() == 4 and len(res.acquisitions) == 12
    assert res.provenance["acquisition"]["multi_face"]["images"] == 1
    assert res.provenance["acquisition"]["multi_face"]["by_group"]["gender"] == {"male": 1}
    assert any("more than one face" in w for w in res.warnings)


def test_largest_face_policy_is_still_available_and_warned(awkward):
    root, tmp = awkward
    res = run(root, tmp, "detector.multi_face=largest")
    acq = res.acquisitions.set_index("image")
    assert acq.loc["005_s.png", "status"] == "ok"
    assert any("more than one face" in w and "largest" in w for w in res.warnings)


def test_annotated_box_picks_the_intended_face(awkward):
    """005_s.png is subject 005 (left half) beside subject 127 (right half): the annotation chooses."""
    import pandas as pd

    root, tmp = awkward
    meta = pd.read_csv(root / "metadata.csv", dtype=str)
    w = 320  # loose boxes, as annotators draw them: the whole photo
    meta["face_left"], meta["face_top"], meta["face_right"], meta["face_bottom"] = 0, 0, w, w
    meta.to_csv(root / "metadata.csv", index=False)
    res = run(root, tmp, "detector.multi_face=annotated")
    acq = res.acquisitions.set_index("image")
    assert acq.loc["005_s.png", "status"] == "ok"
    g = res.pairs[(res.pairs.probe_image == "005_s.png") & res.pairs.genuine]
    assert len(g) == 1 and g.euclidean.iloc[0] < 0.6  # it embedded 005, not the bystander
    meta.loc[meta.image == "005_s.png", ["face_left", "face_right"]] = [w, 2 * w]  # the bystander's half
    meta.to_csv(root / "metadata.csv", index=False)
    res = run(root, tmp, "detector.multi_face=annotated")
    g = res.pairs[(res.pairs.probe_image == "005_s.png") & res.pairs.genuine]
    assert len(g) == 1 and g.euclidean.iloc[0] > 0.6  # a different face: the box is part of the cache key


def test_annotated_policy_without_boxes_is_a_clear_error(awkward):
    from harness.errors import ConfigError

    root, tmp = awkward
    with pytest.raises(ConfigError, match="needs metadata columns face_left"):
        run(root, tmp, "detector.multi_face=annotated")


def test_unreadable_image_stops_the_run_naming_the_file(awkward):
    root, tmp = awkward
    (root / "006_s.png").write_bytes((root / "006_s.png").read_bytes()[:300])  # truncate
    with pytest.raises(DatasetError, match=r"1 unreadable image.*006_s.png.*dataset.bad_images=fta"):
        run(root, tmp)
    res = run(root, tmp, "dataset.bad_images=fta")
    acq = res.acquisitions.set_index("image")
    assert acq.loc["006_s.png", "status"] == "unreadable"
    female = res.groups[(res.groups.slice == "gender") & (res.groups.group == "female")].iloc[0]
    assert female.n_fta == 1


def test_missing_split_value_is_a_clear_error(awkward):
    root, tmp = awkward
    with pytest.raises(DatasetError, match="no image has expression = 'frowning'"):
        run(root, tmp, "protocol.probe_value=frowning")


def test_repeated_content_is_computed_once(awkward, monkeypatch):
    """Two files with the same bytes: one model call, two identical records."""
    import shutil

    root, tmp = awkward
    shutil.copy(root / "006_n.png", root / "007_n.png")
    shutil.copy(root / "006_s.png", root / "007_s.png")
    import pandas as pd

    meta = pd.read_csv(root / "metadata.csv", dtype=str)
    extra = meta[meta.subject_id == "006"].assign(subject_id="007", image=lambda f: f.image.str.replace("006", "007"))
    pd.concat([meta, extra]).to_csv(root / "metadata.csv", index=False)
    res = run(root, tmp, "use_cache=false")
    acq = res.provenance["acquisition"]
    assert acq["duplicate_content"] == 2 and acq["computed"] == len(res.acquisitions) - 2
    a = res.acquisitions.set_index("image")
    assert a.loc["007_s.png", "interocular_px"] == a.loc["006_s.png", "interocular_px"]
    # ... and two people sharing one photo's bytes is said out loud (their impostor pair is a photo vs itself)
    assert any("byte-identical copies shared by different people" in w for w in res.warnings)
