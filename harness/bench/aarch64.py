"""dlib templates on aarch64, run for real under emulation, compared with x86-64's.

``make check-aarch64-templates`` does, on an x86-64 Debian/Ubuntu host:

1. ``root``: an arm64 Debian bookworm root made by ``debootstrap --foreign --arch=arm64`` (first stage:
   download and unpack, nothing executed), every downloaded package then unpacked with ``dpkg-deb -x``
   (the second stage would need binfmt_misc, which containers often lack);
2. ``wheels``: the same versions of dlib-bin, numpy and pillow as this venv, as their
   ``manylinux aarch64`` wheels from PyPI, unpacked into the root;
3. ``extract``: this file, run by the arm64 Python under ``qemu-aarch64-static -L ROOT`` and by this
   venv's Python, computes each image's detection, landmarks and template with exactly the dlib calls of
   ``harness.detect.dlib_detector`` + ``harness.embed.dlib_resnet`` (HOG, upsample 1, 5-point landmarks,
   1 jitter), reading the same model files;
4. ``compare``: bit-identical or not, how far, and whether any pair decision or per-group count at the
   0.6 distance changes; written to ``benchmarks/results/bench_aarch64_templates.json``.

Emulated timings are meaningless (TCG translation, not a Cortex core) and are not reported.
Only the standard library is imported at module level: the emulated interpreter has only dlib, numpy
and pillow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
WHEEL_PLATFORMS = ["manylinux2014_aarch64"] + [f"manylinux_2_{n}_aarch64" for n in range(17, 37)]


def build_root(root: Path) -> None:
    """arm64 Debian root: debootstrap first stage, then every downloaded .deb unpacked."""
    if (root / "usr/bin/python3.11").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    if not any((root / "var/cache/apt/archives").glob("*.deb")):  # first stage not run yet
        subprocess.run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
                        "--include=python3,libstdc++6,libgcc-s1", SUITE, str(root), MIRROR], check=True)
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)


def install_wheels(root: Path, target: Path, cache: Path) -> dict[str, str]:
    """The venv's dlib-bin, numpy and pillow versions as aarch64 wheels, unpacked into ``target``."""
    import importlib.metadata as md
    import zipfile

    pins = {n: md.version(n) for n in ("dlib-bin", "numpy", "pillow")}
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
           "--python-version=3.11", "--implementation=cp", "--dest", str(cache),
           *[f"--platform={p}" for p in WHEEL_PLATFORMS], *[f"{n}=={v}" for n, v in pins.items()]]
    subprocess.run(cmd, check=True)
    target.mkdir(parents=True, exist_ok=True)
    wheels = {}
    for whl in sorted(cache.glob("*aarch64*.whl")):
        with zipfile.ZipFile(whl) as z:
            z.extractall(target)
        wheels[whl.name] = _sha256(whl)
    return wheels


def _sha256(p: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(images: list[str], model_dir: str, out: str) -> None:
    """Detections, landmarks and templates, with the harness's dlib calls (run on either architecture)."""
    import platform

    import dlib
    import numpy as np
    from PIL import Image, ImageOps

    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(os.path.join(model_dir, "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(os.path.join(model_dir, "dlib_face_recognition_resnet_model_v1.dat"))
    recs = []
    for p in images:
        with Image.open(p) as im:
            im.load()
            img = np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.uint8))
        rects, scores, _ = det.run(img, 1, 0.0)
        rec = {"image": p, "n_faces": len(rects)}
        if len(rects):
            i = max(range(len(rects)), key=lambda k: (rects[k].right() - rects[k].left()) *
                    (rects[k].bottom() - rects[k].top()))
            shape = sp(img, rects[i])
            pts = [(shape.part(j).x, shape.part(j).y) for j in range(shape.num_parts)]
            r = rects[i]
            rebuilt = dlib.full_object_detection(dlib.rectangle(r.left(), r.top(), r.right(), r.bottom()),
                                                 dlib.points([dlib.point(x, y) for x, y in pts]))
            vec = np.asarray(net.compute_face_descriptor(img, rebuilt, 1), dtype=np.float64)
            rec.update(box=[r.left(), r.top(), r.right(), r.bottom()], score=float(scores[i]), landmarks=pts,
                       template=vec.tolist(), template_hex=vec.tobytes().hex())
        recs.append(rec)
    doc = {"machine": platform.machine(), "python": sys.version.split()[0], "dlib": dlib.__version__,
           "dlib_build": {k: getattr(dlib, k, None) for k in ("USE_AVX_INSTRUCTIONS", "DLIB_USE_BLAS", "DLIB_USE_LAPACK",
                                                               "DLIB_USE_CUDA")},
           "numpy": np.__version__, "records": recs}
    with open(out, "w") as f:
        json.dump(doc, f)


def _groups(images: list[str], frl: Path) -> dict[str, dict[str, str]]:
    import csv

    with open(frl / "metadata.csv", newline="") as f:
        rows = {str(frl / r["image"]): r for r in csv.DictReader(f)}
    return {p: rows.get(p, {}) for p in images}


def compare(x86: dict, arm: dict, frl: Path, threshold: float = 0.6) -> dict:
    """Bit-identity, distances between the two builds' templates, and pair decisions / per-group counts."""
    import numpy as np

    xr, ar = x86["records"], arm["records"]
    assert [r["image"] for r in xr] == [r["image"] for r in ar]
    same_faces = sum(r1["n_faces"] == r2["n_faces"] and r1.get("box") == r2.get("box") for r1, r2 in zip(xr, ar))
    same_lm = sum(r1.get("landmarks") == r2.get("landmarks") for r1, r2 in zip(xr, ar))
    both = [(r1, r2) for r1, r2 in zip(xr, ar) if "template" in r1 and "template" in r2]
    bit = sum(r1["template_hex"] == r2["template_hex"] for r1, r2 in both)
    diffs = np.array([np.abs(np.array(r1["template"]) - np.array(r2["template"])).max() for r1, r2 in both])
    l2 = np.array([np.linalg.norm(np.array(r1["template"]) - np.array(r2["template"])) for r1, r2 in both])
    groups = _groups([r1["image"] for r1, _ in both], frl)
    ids = [groups[r1["image"]].get("subject_id") for r1, _ in both]
    tx = np.array([r1["template"] for r1, _ in both])
    ta = np.array([r2["template"] for _, r2 in both])
    dx = np.linalg.norm(tx[:, None] - tx[None], axis=2)
    da = np.linalg.norm(ta[:, None] - ta[None], axis=2)
    iu = np.triu_indices(len(both), 1)
    genuine = np.array([ids[i] == ids[j] for i, j in zip(*iu)])
    mx, ma = dx[iu] <= threshold, da[iu] <= threshold
    flips = int((mx != ma).sum())
    margin = float(np.abs(dx[iu] - threshold).min()) if len(iu[0]) else None
    per_group: dict[str, dict[str, int]] = {}
    for k, (i, j) in enumerate(zip(*iu)):
        g = f"{groups[both[i][0]['image']].get('gender', '?')} x {groups[both[i][0]['image']].get('ethnicity', '?')}"
        c = per_group.setdefault(g, {"genuine": 0, "false_non_match_x86": 0, "false_non_match_arm": 0,
                                     "impostor": 0, "false_match_x86": 0, "false_match_arm": 0})
        if genuine[k]:
            c["genuine"] += 1
            c["false_non_match_x86"] += int(not mx[k])
            c["false_non_match_arm"] += int(not ma[k])
        else:
            c["impostor"] += 1
            c["false_match_x86"] += int(mx[k])
            c["false_match_arm"] += int(ma[k])
    changed = [g for g, c in per_group.items() if c["false_non_match_x86"] != c["false_non_match_arm"]
               or c["false_match_x86"] != c["false_match_arm"]]
    differing = [{"image": Path(r1["image"]).name, "x86_64": {k: r1.get(k) for k in ("n_faces", "box", "score")},
                  "aarch64": {k: r2.get(k) for k in ("n_faces", "box", "score")},
                  "landmarks_max_px": (int(np.abs(np.array(r1["landmarks"]) - np.array(r2["landmarks"])).max())
                                       if r1.get("landmarks") and r2.get("landmarks") else None),
                  "template_l2": (float(np.linalg.norm(np.array(r1["template"]) - np.array(r2["template"])))
                                  if "template" in r1 and "template" in r2 else None)}
                 for r1, r2 in zip(xr, ar) if r1.get("box") != r2.get("box") or r1.get("landmarks") != r2.get("landmarks")]
    return {"images": len(xr), "same_detections": same_faces, "differing_detections": differing, "same_landmarks": same_lm,
            "templates_compared": len(both), "bit_identical_templates": bit,
            "max_abs_difference": float(diffs.max()) if len(diffs) else None,
            "max_l2_between_builds": float(l2.max()) if len(l2) else None,
            "median_l2_between_builds": float(np.median(l2)) if len(l2) else None,
            "max_pair_distance_change": float(np.abs(dx[iu] - da[iu]).max()) if len(iu[0]) else None,
            "pairs": int(len(iu[0])), "genuine_pairs": int(genuine.sum()), "decision_flips_at_0.6": flips,
            "closest_pair_to_threshold": margin, "per_group_counts_changed": changed,
            "per_group_counts": per_group,
            "grouping": "all pairs among the compared images (every image against every other), grouped by the "
                        "first image's gender x ethnicity; threshold = face_recognition's 0.6"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["all", "extract"])
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/facerisk/aarch64"))
    ap.add_argument("--data-home", default=os.environ.get("FACERISK_DATA_HOME"))
    ap.add_argument("--subjects", type=int, default=24, help="frl-london people, every image of each (default 24)")
    ap.add_argument("--out", default="benchmarks/results/bench_aarch64_templates.json")
    ap.add_argument("--model-dir")
    ap.add_argument("--list")
    ap.add_argument("--result")
    ap.add_argument("--reuse", action="store_true", help="reuse earlier extractions of the same images")
    a = ap.parse_args(argv)
    if a.action == "extract":
        extract(Path(a.list).read_text().split("\n"), a.model_dir, a.result)
        return 0
    from harness.modelfiles import dlib_model_dir

    if not a.data_home or not (Path(a.data_home) / "frl-london/metadata.csv").is_file():
        print("check-aarch64-templates: set FACERISK_DATA_HOME to the folder holding frl-london/", file=sys.stderr)
        return 2
    for tool in ("debootstrap", "qemu-aarch64-static", "dpkg-deb"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            print(f"check-aarch64-templates: {tool} missing (apt-get install -y debootstrap qemu-user-static)",
                  file=sys.stderr)
            return 2
    work = Path(a.work)
    root = work / "root"
    frl = Path(a.data_home) / "frl-london"
    t0 = time.time()
    build_root(root)
    wheels = install_wheels(root, root / "opt/facerisk-wheels", work / "wheels")
    # Whole people (every image of each), evenly spaced over the sorted subject ids: genuine pairs exist.
    import csv

    with open(frl / "metadata.csv", newline="") as f:
        meta = sorted(csv.DictReader(f), key=lambda r: (r["subject_id"], r["image"]))
    subjects = sorted({r["subject_id"] for r in meta})
    step = max(1, len(subjects) // a.subjects)
    chosen = set(subjects[::step][:a.subjects])
    images = [str(frl / r["image"]) for r in meta if r["subject_id"] in chosen]
    lst = work / "images.txt"
    lst.write_text("\n".join(images))
    model_dir = a.model_dir or str(dlib_model_dir())
    here = str(Path(__file__).resolve())
    x86_out, arm_out = work / "x86_64.json", work / "aarch64.json"
    def done(out: Path) -> bool:  # --reuse: an earlier extraction of exactly these images
        return a.reuse and out.is_file() and [r["image"] for r in json.loads(out.read_text())["records"]] == images

    if not done(x86_out):
        subprocess.run([sys.executable, here, "extract", "--list", str(lst), "--model-dir", model_dir, "--result",
                        str(x86_out)], check=True)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "opt/facerisk-wheels"), "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", "HOME": str(work)}
    t1 = time.time()
    reused = done(arm_out)
    if not reused:
        subprocess.run(["qemu-aarch64-static", "-L", str(root), str(root / "usr/bin/python3.11"), here, "extract",
                        "--list", str(lst), "--model-dir", model_dir, "--result", str(arm_out)], check=True, env=env)
    x86, arm = json.loads(x86_out.read_text()), json.loads(arm_out.read_text())
    if arm["machine"] != "aarch64":
        print(f"check-aarch64-templates: emulated interpreter reports {arm['machine']!r}", file=sys.stderr)
        return 1
    res = compare(x86, arm, frl)
    # The standalone extraction is the harness's computation: check on a few images, bit for bit.
    from harness.bench.stages import FramePipeline, load_backends

    pipe = FramePipeline(load_backends("dlib-hog", "dlib-resnet-v1"))
    checked = [r for r in x86["records"][:4] if "template_hex" in r]
    res["x86_extraction_equals_harness_templates"] = {
        "images": len(checked),
        "bit_identical": sum(pipe.run(r["image"])[1]["template"].tobytes().hex() == r["template_hex"] for r in checked)}
    from harness.bench.fingerprint import cpu_probe

    doc = {"what": "dlib-bin templates on aarch64 (qemu-user emulation of a Debian bookworm arm64 root) vs x86-64, "
                   "same images, same dlib calls as harness dlib-hog + dlib-resnet-v1 (upsample 1, 5-point, 1 jitter)",
           "command": "make check-aarch64-templates", "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "x86_64": {k: v for k, v in x86.items() if k != "records"} | {"cpu": cpu_probe()["model"]},
           "aarch64": {k: v for k, v in arm.items() if k != "records"} | {
               "root": f"debootstrap --foreign --arch=arm64 --variant=minbase {SUITE} (+ dpkg-deb -x of every package)",
               "emulator": subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True,
                                          text=True).stdout.splitlines()[0], "wheels": wheels},
           "result": res,
           "timing_note": "emulated: timings are meaningless and not reported as Raspberry Pi figures "
                          + (f"(emulated extraction took {time.time() - t1:.0f} s wall for {len(images)} images)"
                             if not reused else "(extraction reused from an earlier run: --reuse)"),
           "raspberry_pi_32_bit": "dlib-bin publishes no armv7l (32-bit) wheel, so on 32-bit Raspberry Pi OS pip would "
                                  "compile dlib from source (hours, needs cmake and ~2 GB of memory): install Raspberry "
                                  "Pi OS 64-bit (Pi 3/4/5/Zero 2 W run it) and use the aarch64 wheels tested here",
           "total_s": time.time() - t0}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=1))
    print(json.dumps(res | {"per_group_counts": "..."}, indent=1))
    print(f"aarch64 templates: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
