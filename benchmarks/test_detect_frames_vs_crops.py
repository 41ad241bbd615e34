"""Whole sensor frames vs face crops: what the crop shortcut costs, per detector and group (simulated).

Every frl-london probe (smiling) is rendered by the doorbell-1080p-day capture model at each
distance as the face's neighbourhood (``render_probe``, the crop ``facerisk run --capture`` uses)
and as the whole 1920x1080 sensor frame (``render_frame``), over a procedural porch (wall
texture, door, frame, a lamp) and over render_frame's flat grey. BlazeFace is also run with
``tiles=3`` (overlapping square tiles, the region strategy small-face detectors use on wide frames). The codec is switched off in both modes, so the difference is the
crop alone (H.264 on 1080p frames would dominate the run time). A detection on a whole frame counts
only if its centre lies in the rendered face's box (anything else is a false detection, not the
person). Same seeds per image in both modes.

    make bench ARGS="-k frames_vs_crops"      # FACERISK_BENCH_DISTANCES=1,2,3,4,5 (default)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.degrade.scene import porch

DISTANCES = [float(x) for x in os.environ.get("FACERISK_BENCH_DISTANCES", "1,2,3,4,5").split(",")]
#: (label, registry name, options, modes): crop = the face's neighbourhood; frame-porch / frame-grey = the whole
#: sensor frame over the procedural porch / a flat mid-grey background (render_frame's default).
DETECTORS = [("dlib-hog", "dlib-hog", {}, ("crop", "frame-porch")),
             ("blazeface-full", "blazeface-full", {}, ("crop", "frame-grey", "frame-porch")),
             ("blazeface-full-tiles3", "blazeface-full", {"tiles": 3}, ("frame-grey", "frame-porch"))]


@pytest.fixture(scope="module")
def probes(frl):
    from harness import data, detect
    from harness.data.images import load_rgb

    ds = data.open_dataset(str(frl))
    rows = ds.frame[ds.frame["expression"] == "smiling"].reset_index(drop=True)
    hog = detect.make("dlib-hog")
    shas = dict(ds.manifest())
    out = []
    for r in rows.itertuples(index=False):
        img = load_rgb(ds.path_of(r.image))
        faces = hog.detect(img)
        lm = max(faces, key=lambda f: f.area).landmarks if faces else None
        out.append((r.subject_id, r.ethnicity, r.gender, img, lm, int(shas[r.image][:8], 16)))
    return out


def _inside(box, face_box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return face_box[0] <= cx <= face_box[2] and face_box[1] <= cy <= face_box[3]


def test_frames_vs_crops(probes):
    from harness import detect
    from harness.degrade import capture
    from harness.metrics import fta_compare

    base = capture.load("doorbell-1080p-day").with_value("codec.kind", "none")
    bg = porch(base.camera.height, base.camera.width)  # the porch of capture frame=whole (seed 0)
    dets = {label: (detect.make(name, **opts), modes) for label, name, opts, modes in DETECTORS}
    for d, _ in dets.values():
        d.load()
    rows, seconds = [], {f"{n}/{m}": 0.0 for n, (_, modes) in dets.items() for m in modes}
    for dist in DISTANCES:
        cap = base.with_value("distance", dist)
        for sid, eth, gender, img, lm, seed in probes:
            crop, _ = capture.render_probe(img, lm, cap, seed)
            frame, info = capture.render_frame(img, lm, cap, np.random.default_rng(seed), background=bg)
            grey, _ = capture.render_frame(img, lm, cap, np.random.default_rng(seed))
            inputs = {"crop": crop, "frame-porch": frame, "frame-grey": grey}
            for n, (d, modes) in dets.items():
                for mode in modes:
                    t0 = time.perf_counter()
                    faces = d.detect(np.ascontiguousarray(inputs[mode]))
                    seconds[f"{n}/{mode}"] += time.perf_counter() - t0
                    ok = bool(faces) if mode == "crop" else any(_inside(f.box, info["face_box"]) for f in faces)
                    rows.append({"detector": n, "mode": mode, "distance": dist, "subject_id": sid,
                                 "ethnicity": eth, "gender": gender, "ok": ok, "n_faces": len(faces)})
    per = pd.DataFrame(rows)
    sweeps = {}
    for (n, mode), part in per.groupby(["detector", "mode"], sort=False):
        recs = []
        for dist, step in part.groupby("distance"):
            for sl in ("all", "ethnicity"):
                groups = [("all", step)] if sl == "all" else list(step.groupby("ethnicity"))
                for g, gp in groups:
                    recs.append({"axis": "distance", "value": dist, "threshold_id": "-", "slice": sl, "group": g,
                                 "n_probe_images": len(gp), "n_fta": int((~gp["ok"]).sum()),
                                 "n_people_fta": gp["subject_id"].nunique(),
                                 "status": "ok" if gp["subject_id"].nunique() >= 30 else "small"})
        sweeps[f"{n}/{mode}"] = pd.DataFrame(recs)
    table = fta_compare.fta_by_detector(sweeps)
    cross = fta_compare.crossings(table)
    dest = Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results"))
    dest.mkdir(parents=True, exist_ok=True)
    table.to_csv(dest / "detect_frames_vs_crops.csv", index=False)
    doc = {"what": "simulated: FTA per group, whole 1920x1080 frames vs face crops, doorbell-1080p-day, codec off",
           "distances_m": DISTANCES, "n_probes": len(probes),
           "detectors": [{"label": lb, "name": n, "options": o, "modes": list(m)} for lb, n, o, m in DETECTORS],
           "provenance": {n: {k: v for k, v in d.provenance().items() if k in ("runtime", "version", "tiling",
                                                                             "upsample", "library")}
                          for n, (d, _) in dets.items()},
           "frame_rule": "a whole-frame detection counts only if its centre is inside the rendered face box",
           "background": "procedural porch (harness/degrade/scene.py: porch)",
           "detect_seconds": {k: round(v, 1) for k, v in seconds.items()},
           "false_detections_on_frames": {f"{n}/{m}": int(((g["n_faces"] > 0) & ~g["ok"]).sum())
                                          for (n, m), g in per[per["mode"] != "crop"].groupby(["detector", "mode"])},
           "fta": json.loads(table.to_json(orient="records")), "crossings": json.loads(cross.to_json(orient="records")),
           "command": 'make bench ARGS="-k frames_vs_crops"', "load_average_1min": os.getloadavg()[0]}
    (dest / "detect_frames_vs_crops.json").write_text(json.dumps(doc, indent=2))
    summary = table[table["slice"] == "ethnicity"].pivot_table(index=["detector", "group"], columns="value",
                                                               values="fta")
    print(summary.round(2).to_string())
    assert len(table) and set(table["detector"]) == set(sweeps)
