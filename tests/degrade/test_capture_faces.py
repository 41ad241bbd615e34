"""On real faces: the detected face size follows the lens model; FTA and FNMR rise with distance."""

import numpy as np
import pytest
from PIL import Image

from harness import config, pipeline
from harness.degrade import capture
from harness.detect.dlib_detector import DlibDetector

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("preset", ["doorbell-1080p-day", "doorbell-1536p-night-ir"])
def test_detected_face_size_matches_the_lens_formula(frl, preset):
    det = DlibDetector()
    img = np.asarray(Image.open(frl / "images/001_smiling.jpg").convert("RGB"))
    lm = det.detect(img)[0].landmarks
    cap = capture.load(preset)
    seen = 0
    for d in (1.5, 2.0):
        out, info = capture.render_probe(img, lm, cap.with_value("distance", d))
        faces = det.detect(out)
        if faces:
            seen += 1
            assert faces[0].interocular_px == pytest.approx(info["target_interocular_px"], rel=0.10)
    assert seen >= 1


def test_distance_sweep_raises_fta_and_fnmr(real_run):
    res, out, cfg0 = real_run
    cfg = config.load(overrides=[f"dataset.data_home={cfg0.dataset.data_home}", f"cache_dir={cfg0.cache_dir}",
                                 "progress=false", "workers=2", "metrics.bootstrap=0",
                                 "capture.preset=doorbell-1080p-day", "capture.sweep=distance=1,4",
                                 "metrics.attributes=[gender, ethnicity]", "metrics.intersections=[]"])
    r = pipeline.run(cfg)
    sw = r.sweep
    overall = sw[(sw.slice == "all") & (sw.threshold_id == "euclidean=0.6")].set_index("value")
    assert overall.loc[4.0, "fta"] > overall.loc[1.0, "fta"]
    assert overall.loc[4.0, "fnmr"] >= overall.loc[1.0, "fnmr"]
    assert overall.loc[1.0, "target_interocular_px"] > 3 * overall.loc[4.0, "target_interocular_px"]
    # Thresholds stay the clean-calibrated ones at every step.
    assert [t.id for t in r.thresholds] == [t.id for t in res.thresholds]
    assert [t.value for t in r.thresholds] == [t.value for t in res.thresholds]
    assert set(sw.slice) == {"all", "gender", "ethnicity"}
    assert r.provenance["capture"]["name"] == "doorbell-1080p-day"
