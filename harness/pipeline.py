"""The one module that connects the stages.

``data -> (degrade) -> detect -> embed -> compare -> metrics -> report``

Stages never import each other; this module passes plain arrays and tables between them.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
from tqdm import tqdm

from harness import compare, data, detect, embed, executors, metrics, protocols, provenance
from harness.cache import AcquisitionCache, params_digest
from harness.config import RunConfig
from harness.data.images import load_rgb, sha256_file
from harness.errors import ConfigError, DatasetError, FaceriskError, ImageError
from harness.executors.local import die_with_parent, resolve_workers  # noqa: F401 - resolve_workers: old name
from harness.metrics.analysis import Analysis, analyse, resolve_slices

log = logging.getLogger("facerisk")

# --------------------------------------------------------------------------- acquisition (detect + embed)

_WORKER: dict[str, Any] = {}
_THREAD = threading.local()


def _make_backends(cfg: RunConfig):
    det = detect.make(cfg.detector.name, **cfg.detector.options())
    emb = embed.from_config(cfg.embedder)  # every embedder field is an option of the backend
    return det, emb


_die_with_parent = die_with_parent  # kept for callers of the old name


def _init_worker(cfg: RunConfig, capture=None, state: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    # Loaded models are kept per process (per thread on Dask workers) and reused while the model settings
    # are unchanged, so repeated acquisitions in one process (sweeps, benchmarks) pay the load once.
    state = _WORKER if state is None else state
    key = (repr(cfg.detector), repr(cfg.embedder))
    if state.get("key") != key:
        det, emb = _make_backends(cfg)
        det.load()
        emb.load()
        state.update(key=key, det=det, emb=emb, checked=None)
    state["cfg"] = cfg
    state["capture"] = capture
    return state


BOX_COLUMNS = data.dataset.BOX_COLUMNS


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre_inside(box, area) -> bool:
    l, t, r, b = area
    return l <= (box[0] + box[2]) / 2 <= r and t <= (box[1] + box[3]) / 2 <= b


def choose_face(faces: list, multi_face: str, annotated_box=None):
    """The face to embed, or (None, reason) when the policy says the image is a failure to acquire."""
    if annotated_box is not None:
        # A detection is the annotated face when its centre lies inside the annotated box (boxes from other
        # annotators are often looser or tighter than the detector's, so overlap alone would miss them);
        # of several such, the best overlapping.
        inside = [f for f in faces if _centre_inside(f.box, annotated_box)]
        if not inside:
            return None, "annotated_face_not_found"
        return max(inside, key=lambda f: _iou(f.box, annotated_box)), ""
    if len(faces) > 1 and multi_face != "largest":
        return None, f"multiple_faces:{len(faces)}"
    return max(faces, key=lambda f: f.area), ""  # stable: the first of equal areas, as detected


def acquire_image(path: str, det, emb, multi_face: str, max_pixels: int, capture=None,
                  landmarks: Optional[np.ndarray] = None, seed: int = 0, annotated_box=None) -> dict[str, Any]:
    """Load one image, (degrade it as a doorbell would,) find its face, embed it.

    Never raises for bad input: the record says why. With ``capture`` the clean photo is first
    rendered as the camera would record it, using the clean photo's ``landmarks`` to scale the face.

    Returns a record with ``status`` ok / fta / unreadable, ``reason``, ``n_faces``, the chosen
    face's ``box``, ``landmarks``, ``interocular_px``, ``embedding`` and per-stage seconds.
    """
    rec: dict[str, Any] = {"status": "ok", "reason": "", "n_faces": 0, "box": None, "score": None,
                           "interocular_px": None, "embedding": None, "landmarks": np.zeros((0, 2)),
                           "t_load": 0.0, "t_detect": 0.0, "t_embed": 0.0}
    t0 = time.perf_counter()
    try:
        img = load_rgb(path, max_pixels=max_pixels)
    except ImageError as exc:
        rec.update(status="unreadable", reason=exc.reason)
        return rec
    if capture is not None:
        from harness.degrade.capture import render_probe

        img, info = render_probe(img, landmarks, capture, seed)
        img = np.ascontiguousarray(img)  # dlib needs C-contiguous uint8
        rec["target_interocular_px"] = info["target_interocular_px"]
        if "face_box" in info:  # a whole frame: only a detection on the rendered face is the face
            annotated_box = info["face_box"]
        if "h264" in info:
            rec["h264_bps"] = info["h264"]["achieved_bps"]
    t1 = time.perf_counter()
    faces = det.detect(img)
    t2 = time.perf_counter()
    rec.update(t_load=t1 - t0, t_detect=t2 - t1, n_faces=len(faces), height=img.shape[0], width=img.shape[1])
    if not faces:
        rec.update(status="fta", reason="no_face")
        return rec
    face, why = choose_face(faces, multi_face, annotated_box)
    if capture is not None and annotated_box is not None:  # whole frame: detections on the porch are false ones
        rec["n_background_faces"] = sum(not _centre_inside(f.box, annotated_box) for f in faces)
        why = "no_face_in_face_box" if face is None else why
    if face is None:
        rec.update(status="fta", reason=why)
        return rec
    vec = np.asarray(emb.embed(img, face), dtype=np.float64)
    if vec.ndim != 1 or vec.size == 0 or not np.isfinite(vec).all():
        # A broken model (NaN/inf outputs) must not reach the comparisons: recorded, then stopped in run().
        rec.update(status="fta", reason="non_finite_template", t_embed=time.perf_counter() - t2)
        return rec
    rec.update(
        t_embed=time.perf_counter() - t2,
        box=[int(v) for v in face.box],
        score=float(face.score),
        interocular_px=face.interocular_px,
        landmarks=face.landmarks,
        embedding=vec,
    )
    return rec


def _worker_acquire(task: tuple, state: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    state = _WORKER if state is None else state
    path, landmarks, seed, box = task[:4]
    cfg = state["cfg"]
    return acquire_image(path, state["det"], state["emb"], cfg.detector.multi_face, cfg.dataset.max_pixels,
                         state.get("capture"), landmarks, seed, box)


def _acquire_task(ctx: dict[str, Any], task: tuple) -> dict[str, Any]:
    """One image's acquisition record in an executor's worker (see :mod:`harness.executors`).

    On a Dask worker (``ctx["models"]`` set) the worker first checks, once, that its own models are
    the ones the run is keyed on and that it sees the same image bytes, then writes the cache entry
    itself when the cache folder is visible to it (same machine or shared filesystem).
    """
    if ctx.get("models") is None:
        _init_worker(ctx["cfg"], ctx["capture"])
        return _worker_acquire(task)
    import socket

    state = getattr(_THREAD, "state", None)
    if state is None:
        state = _THREAD.state = {}
    cfg = ctx["cfg"]
    _init_worker(cfg, ctx["capture"], state)
    where = f"Dask worker on {socket.gethostname()}"
    if state.get("checked") != ctx["digest"]:
        mine = backend_provenance(cfg)
        if params_digest({"models": mine}) != params_digest({"models": ctx["models"]}):
            raise FaceriskError(f"{where}: its detector/embedder files differ from the client's ({mine}); install "
                                "the same facerisk version and model files on every worker")
        state["checked"] = ctx["digest"]
    path, _, _, _, key, sha = task
    if not sha.startswith("missing:"):
        try:
            same = sha256_file(Path(path)) == sha
        except OSError as exc:
            raise FaceriskError(f"{where}: cannot read {path} ({exc.strerror or exc}); every worker needs the "
                                "data set at the same path (a shared filesystem)") from None
        if not same:
            raise FaceriskError(f"{where}: {path} differs from the client's copy; every worker needs the same files")
    rec = _worker_acquire(task, state)
    rec.update(cached=False, sha256=sha, written_by_worker=False)
    root = ctx.get("cache_root")
    if root and rec["status"] != "unreadable" and Path(root).is_dir():
        cache = AcquisitionCache(Path(root))
        cache.put(key, rec)
        rec["written_by_worker"] = not cache.write_error
    return rec


def backend_provenance(cfg: RunConfig) -> dict[str, Any]:
    """Detector and embedder descriptions, including weight hashes (they key the cache)."""
    det, emb = _make_backends(cfg)
    if cfg.embedder.name == "onnx":
        emb.load()  # input size is known only once loaded
    return {"detector": {**det.provenance(), "multi_face": cfg.detector.multi_face}, "embedder": emb.provenance()}


def acquire_all(paths: list[Path], cfg: RunConfig, models: dict[str, Any], capture=None,
                landmarks: Optional[list] = None, desc: str = "detect+embed",
                shas: Optional[list[str]] = None, boxes: Optional[list] = None,
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Acquisition records for ``paths`` (cache first, then the model in worker processes).

    With ``capture``, each image is first degraded (``landmarks[i]``: the clean photo's landmarks);
    every capture parameter, including its seed, is part of the cache key.
    ``shas``: the images' sha256 when already known (the dataset manifest), so files are not hashed twice.
    ``boxes``: annotated face boxes (``multi_face: annotated``); each one is part of its image's cache key.
    Returns the records in input order and a stats dict (cache hits, workers, seconds).
    """
    cache = AcquisitionCache(Path(cfg.cache_dir) if cfg.cache_dir else None, enabled=cfg.use_cache)
    extra = {"capture": capture.to_dict()} if capture is not None else {}
    digest = params_digest({"models": models, "max_pixels": cfg.dataset.max_pixels, **extra})
    t0 = time.perf_counter()
    if shas is None:
        shas = [sha256_file(p) if p.is_file() else "missing:" + str(p) for p in paths]
    t_hash = time.perf_counter() - t0
    records: list[Optional[dict[str, Any]]] = [None] * len(paths)
    todo = []
    def key(i: int) -> str:
        box = None if boxes is None else boxes[i]
        return cache.key(shas[i] if box is None else f"{shas[i]}:box={list(box)}", digest)

    first: dict[str, int] = {}
    copies: dict[int, list[int]] = {}  # repeated content in one run is computed once, then shared
    for i, sha in enumerate(shas):
        k = key(i)
        rec = cache.get(k) if k not in first else None
        if rec is not None:
            rec["cached"] = True
            records[i] = rec
        elif k in first:
            copies.setdefault(first[k], []).append(i)
        else:
            first[k] = i
            todo.append(i)
    workers = 0
    t1 = time.perf_counter()
    if todo:
        base_seed = capture.seed if capture is not None else 0
        # Per-image seed from the image's content: the same photo degrades the same way in every run.
        tasks = [(str(paths[i]), None if landmarks is None else landmarks[i],
                  (base_seed * 1_000_003 + int(shas[i][:8], 16)) % 2**32 if not shas[i].startswith("missing") else 0,
                  None if boxes is None else boxes[i], key(i), shas[i])
                 for i in todo]
        ex = executors.make(cfg.scheduler, cfg.workers, len(todo))
        workers = ex.workers
        remote = ex.name != "local"
        ctx = {"cfg": cfg, "capture": capture, "models": models if remote else None, "digest": digest,
               "cache_root": str(cache.root) if remote and cache.enabled else None}
        bar = tqdm(total=len(todo), desc=desc if not remote else f"{desc} ({ex.workers} Dask workers)",
                   unit="img", disable=not cfg.progress)
        try:
            # Task keys are the cache keys: a cluster computes each (content, parameters) once.
            for n, rec in ex.run(_acquire_task, tasks, ctx, keys=[f"facerisk-acquire-{t[4]}" for t in tasks]):
                i = todo[n]
                written = rec.pop("written_by_worker", False)
                rec["cached"] = False
                rec["sha256"] = shas[i]
                # A fixed file has a new hash anyway: errors are not pinned. An entry a worker wrote where
                # this process can see it is not written again.
                if rec["status"] != "unreadable" and not (written and cache._path(key(i)).is_file()):
                    cache.put(key(i), rec)
                records[i] = rec
                for j in copies.get(i, ()):
                    records[j] = dict(rec)
                bar.update()
        finally:
            bar.close()
            ex.close()
    n_copies = sum(map(len, copies.values()))
    for i, rec in enumerate(records):
        rec["sha256"] = shas[i]
    stats = {
        "n_images": len(paths), "cache_hits": len(paths) - len(todo) - n_copies, "computed": len(todo),
        "duplicate_content": n_copies,
        "workers": workers, "cache_dir": str(cache.root), "params_digest": digest,
        "cache_discarded": cache.discarded, "cache_write_error": cache.write_error,
        "seconds_hash": t_hash, "seconds_acquire": time.perf_counter() - t1,
    }
    return records, stats  # type: ignore[return-value]


# --------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    """Everything a report needs; written out by :mod:`harness.report`."""

    config: RunConfig
    dataset: data.Dataset
    acquisitions: pd.DataFrame
    pairs: pd.DataFrame
    thresholds: list[metrics.Threshold]
    analysis: Analysis
    slices: list[list[str]]
    provenance: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sweep: Optional[pd.DataFrame] = None

    @property
    def groups(self) -> pd.DataFrame:
        return self.analysis.groups

    @property
    def disparity(self) -> pd.DataFrame:
        return self.analysis.disparity


def _split(ds: data.Dataset, cfg: RunConfig) -> pd.DataFrame:
    """Metadata rows with their role (enrol / probe), as ``cfg.protocol.kind`` assigns them (harness/protocols/)."""
    proto = protocols.for_run(cfg)
    frame = proto.roles(ds)
    proto.warn_text_bins(frame)
    return frame


def _acq_table(frame: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """The metadata rows plus what acquisition found in each image."""
    acq = frame.copy()
    acq["ok"] = [r["status"] == "ok" for r in records]
    for col in ("status", "reason", "n_faces", "interocular_px", "sha256", "cached"):
        acq[col] = [r[col] for r in records]
    acq["detector_score"] = [r["score"] for r in records]
    if any("target_interocular_px" in r for r in records):
        acq["target_interocular_px"] = [r.get("target_interocular_px") for r in records]
    if any("n_background_faces" in r for r in records):  # whole frames: false detections on the background
        acq["n_background_faces"] = [r.get("n_background_faces") for r in records]
    for stage in ("load", "detect", "embed"):
        acq[f"t_{stage}"] = [r[f"t_{stage}"] for r in records]
    return acq


def _pairs(acq: pd.DataFrame, records: list[dict[str, Any]], cfg: RunConfig, slices) -> pd.DataFrame:
    """Score the protocol's pairs of acquired templates (harness/protocols/: split, pairs, all, watchlist)."""
    return protocols.for_run(cfg).pairs(acq, records, slices)


def _annotated_boxes(frame: pd.DataFrame, cfg: RunConfig) -> Optional[list]:
    """Per-image annotated face boxes for ``multi_face: annotated`` (None otherwise)."""
    if cfg.detector.multi_face != "annotated":
        return None
    missing = [c for c in BOX_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"detector.multi_face=annotated needs metadata columns {', '.join(BOX_COLUMNS)} "
                          f"(missing: {', '.join(missing)}); use detector.multi_face=fta instead")
    if cfg.capture.preset:
        raise ConfigError("detector.multi_face=annotated applies to photos as annotated; under --capture the face "
                          "moves, so use detector.multi_face=fta")
    boxes = frame[list(BOX_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = boxes.isna().any(axis=1) | (boxes["face_right"] <= boxes["face_left"]) | \
        (boxes["face_bottom"] <= boxes["face_top"])
    if bad.any():
        row = frame.index[bad.to_numpy()][0]
        raise DatasetError(f"metadata.csv image {frame.loc[row, 'image']}: face box must be four numbers with "
                           "right > left and bottom > top")
    return [tuple(float(v) for v in r) for r in boxes.itertuples(index=False)]


def _multi_face_summary(acq: pd.DataFrame, slices, warns: list[str]) -> dict[str, Any]:
    """How many images showed several faces, overall and per group (recorded and warned, never silent)."""
    multi = acq["n_faces"].fillna(0).astype(int) > 1
    out: dict[str, Any] = {"images": int(multi.sum()), "by_group": {}}
    if not multi.any():
        return out
    for s in slices:
        if all(a in acq.columns for a in s):
            key = " × ".join(s)
            counts = acq[multi].groupby([acq.loc[multi, a].astype(str) for a in s]).size()
            out["by_group"][key] = {(k if isinstance(k, str) else " × ".join(k)): int(v) for k, v in counts.items()}
    policy = "counted as failures to acquire" if "multiple_faces" in " ".join(acq["reason"].astype(str)) else \
        "the largest (or annotated) face was embedded"
    warns.append(f"{out['images']} image(s) showed more than one face ({policy}); per group: "
                 + "; ".join(f"{k}: {v}" for k, v in list(out["by_group"].items())[:2]))
    return out


def load_capture(cfg: RunConfig):
    """The configured capture model (preset + overrides), or None."""
    from harness.degrade import capture as cap_mod

    c = cfg.capture
    if c.preset is None:
        if c.set or c.sweep or c.frame != "crop":
            raise ConfigError("capture.set / capture.frame / --sweep need a capture preset (--capture NAME or "
                              "FILE.yaml)")
        return None
    cap = cap_mod.load(c.preset)
    for key, value in c.set.items():
        cap = cap.with_value(key, value)
    if c.frame != "crop":
        cap = cap.with_value("frame", c.frame).with_value("background", c.background)
    return cap.with_value("seed", c.seed) if c.seed else cap


def _degraded(frame, records, paths, cfg, models, cap, desc):
    """Probe records re-acquired through the capture model; enrolment records kept clean."""
    probe_idx = [i for i, r in enumerate(frame["role"]) if r == "probe"]
    lms = [records[i]["landmarks"] if len(records[i]["landmarks"]) else None for i in probe_idx]
    deg, stats = acquire_all([paths[i] for i in probe_idx], cfg, models, capture=cap, landmarks=lms, desc=desc,
                             shas=[records[i]["sha256"] for i in probe_idx])
    out = list(records)
    for i, r in zip(probe_idx, deg):
        out[i] = r
    return out, stats


def default_slices(m, frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Attributes and intersections to slice by: the user's choice, or, where they kept the defaults, the
    default ones this data set has (so a set without ethnicity gets no warning about a slice it never asked for)."""
    from harness.config import MetricsConfig

    d = MetricsConfig()
    attrs = m.attributes if m.attributes != d.attributes else [a for a in d.attributes if a in frame.columns]
    inter = m.intersections if m.intersections != d.intersections else \
        [i for i in d.intersections if all(a in frame.columns for a in i)]
    return attrs, inter


def _warn_shared_bytes(frame: pd.DataFrame, shas: list[str], cfg: RunConfig, warns: list[str]) -> None:
    """Say when different people share byte-identical image files: their impostor pairs score as one photo."""
    subject = cfg.protocol.subject_column if cfg.protocol.subject_column in frame.columns else "subject_id"
    owners = pd.DataFrame({"sha": shas, "subject": frame[subject].astype(str).to_numpy(),
                           "image": frame["image"].to_numpy()})
    per = owners.groupby("sha")["subject"].nunique()
    shared = per[per > 1]
    if len(shared):
        ex = owners[owners["sha"] == shared.index[0]]["image"].tolist()[:2]
        warns.append(f"{len(shared)} image file(s) are byte-identical copies shared by different people (e.g. "
                     f"{' and '.join(ex)}): their impostor pairs compare a photo with itself; check the data set")


def _say(cfg: RunConfig, message: str) -> None:
    """A progress line on stderr for stages without a bar (quiet with progress=false)."""
    if cfg.progress:
        tqdm.write(f"facerisk: {message}", file=sys.stderr)


def run(cfg: RunConfig) -> RunResult:
    """Run the whole benchmark described by ``cfg`` and return its results (not yet written).

    Thresholds are always calibrated on the clean photos; a capture model then degrades the probe
    side and every rate (and every sweep step) is read at those same global thresholds.
    With a Dask scheduler, every stage shares one cluster (``local``: one LocalCluster per run).
    """
    with executors.run_scope(cfg.scheduler, cfg.workers):
        return _run(cfg)


def _run(cfg: RunConfig) -> RunResult:
    from harness.rundir import preflight

    timings: dict[str, float] = {}
    warns: list[str] = []
    # Names, folders and every setting are checked before the data or a model is touched.
    preflight(cfg)
    AcquisitionCache(Path(cfg.cache_dir) if cfg.cache_dir else None, enabled=cfg.use_cache).check_writable()
    cap = load_capture(cfg)
    t = time.perf_counter()
    proto = protocols.start(cfg)
    ds = data.resolve(cfg.dataset.name, home=cfg.dataset.data_home, download=cfg.dataset.download,
                      mirror=cfg.dataset.mirror, progress=cfg.progress, per_image=proto.per_image_columns(),
                      subject_column=cfg.protocol.subject_column)
    frame = _split(ds, cfg)
    manifest = ds.manifest()
    from harness.data import integrity

    checked = integrity.check(ds.root, manifest, cfg.dataset.allow_modified)
    if checked["status"] == "unverified":
        warns.append(f"data set not verified: {checked['note']}")
    elif checked["status"] == "modified":
        warns.append(f"{len(checked['changed'])} file(s) differ from {checked['source']} and were used as they are "
                     f"(dataset.allow_modified): {', '.join(checked['changed'][:3])}")
    timings["data"] = time.perf_counter() - t

    t = time.perf_counter()
    models = backend_provenance(cfg)
    paths = [ds.path_of(img) for img in frame["image"]]
    digests = dict(manifest)
    records, acq_stats = acquire_all(paths, cfg, models, shas=[digests[img] for img in frame["image"]],
                                     boxes=_annotated_boxes(frame, cfg))
    timings["acquire"] = time.perf_counter() - t
    if acq_stats["cache_write_error"]:
        warns.append(f"the acquisition cache could not be written ({acq_stats['cache_write_error']}): results are "
                     "complete, but the next run recomputes them")
    if acq_stats["cache_discarded"]:
        warns.append(f"{acq_stats['cache_discarded']} damaged cache entr(y/ies) were removed and recomputed")

    broken = sum(r["reason"] == "non_finite_template" for r in records)
    if broken:
        raise ConfigError(
            f"the embedder {models['embedder'].get('name', cfg.embedder.name)} produced non-finite templates "
            f"(NaN or inf) for {broken} of {len(records)} images; the model file ({cfg.embedder.path or 'built in'}) "
            "is broken or fed the wrong input: check it against its card"
        )
    _warn_shared_bytes(frame, [digests[img] for img in frame["image"]], cfg, warns)
    bad = [(img, r["reason"]) for img, r in zip(frame["image"], records) if r["status"] == "unreadable"]
    if bad and cfg.dataset.bad_images == "error":
        listed = "; ".join(f"{img}: {why}" for img, why in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise DatasetError(
            f"{len(bad)} unreadable image(s) in {ds.root}: {listed}{more}; fix or remove them, or count them "
            "as failures to acquire with --set dataset.bad_images=fta"
        )

    m, p = cfg.metrics, cfg.protocol
    attrs, slices = resolve_slices(frame, *default_slices(m, frame), m.bins, warns)
    t = time.perf_counter()
    clean_acq = _acq_table(frame, records)
    multi_faces = _multi_face_summary(clean_acq, slices, warns)
    for role in ("enrol", "probe"):
        got = clean_acq[clean_acq["role"] == role]
        if not got["ok"].any():
            why = ", ".join(f"{k}: {v}" for k, v in got["reason"].value_counts().items())
            raise DatasetError(
                f"{ds.root}: no {role} image was acquired by {cfg.detector.name} (all {len(got)} failed: {why}), so "
                "no threshold can be calibrated; check the images, or try --upsample 2 or another --detector"
            )
    clean_pairs = _pairs(clean_acq, records, cfg, slices)
    proto.check(clean_pairs)  # no impostor (or, where needed, no genuine) pair: a clear error
    warns.extend(proto.notes)
    timings["compare"] = time.perf_counter() - t
    calib = proto.calibration_set(ds.name)
    thresholds = metrics.make_thresholds(clean_pairs.loc[~clean_pairs["genuine"], "score"].to_numpy(), m.target_fmrs,
                                         m.fixed_thresholds, m.score, calib, warns)

    acq, pairs = clean_acq, clean_pairs
    capture_stats = None
    if cap is not None:
        t = time.perf_counter()
        deg_records, capture_stats = _degraded(frame, records, paths, cfg, models, cap, f"capture {cap.name}")
        acq = _acq_table(frame, deg_records)
        pairs = _pairs(acq, deg_records, cfg, slices)
        timings["capture"] = time.perf_counter() - t
        if not len(pairs):
            warns.append("no probe was acquired under this capture: every rate is undefined, FTA is 100%")

    t = time.perf_counter()
    _say(cfg, f"metrics: {len(pairs):,} pairs, {len(slices)} slices, {len(thresholds)} thresholds, "
              f"{m.bootstrap:,} subject-bootstrap replicates ...")
    analysis = analyse(pairs, acq, thresholds, slices, side=m.group_side, confidence=m.confidence,
                       min_subjects=m.min_subjects, small_subjects=m.small_subjects, replicates=m.bootstrap,
                       seed=cfg.seed, impostors=p.impostors, match_on=p.match_on, recalibrate=m.recalibrate)
    warns.extend(analysis.notes)
    timings["metrics"] = time.perf_counter() - t
    _say(cfg, f"metrics: done in {timings['metrics']:.1f} s")

    sweep = None
    if cfg.capture.sweep:
        t = time.perf_counter()
        sweep = run_sweep(frame, records, paths, cfg, models, cap, thresholds, slices)
        timings["sweep"] = time.perf_counter() - t

    # Past compare.aggregate_above_pairs the report keeps aggregates only (harness/compare/columnar.py).
    kept = compare.columnar.pair_outputs(len(pairs), cfg.compare.aggregate_above_pairs)
    warns.extend([kept["note"]] if kept["aggregate_only"] else [])
    prov = {
        "config": cfg.to_dict(),
        "git": provenance.git_state(),
        "packages": provenance.package_versions(),
        "machine": provenance.machine(),
        "models": models,
        "dataset": {
            "name": ds.name,
            "root": str(ds.root),
            "manifest_sha256": data.Dataset.manifest_hash(manifest),
            "n_files": len(manifest),
            "integrity": checked,
            "card": ds.card.summary() if ds.card else None,
        },
        "capture": cap.to_dict() if cap is not None else None,
        "seeds": {"run": cfg.seed, "bootstrap": cfg.seed, "capture": cap.seed if cap is not None else None},
        "acquisition": {**acq_stats, "multi_face": multi_faces},
        "capture_acquisition": capture_stats,
        "pairs": kept,  # pairs.csv, or aggregate-only outputs
        # What the protocol did and the source benchmark's own figures (LFW folds, watchlist alarms).
        "protocol": {**proto.describe(), "results": proto.outputs(pairs, acq, thresholds)},
    }
    return RunResult(cfg, ds, acq, pairs, thresholds, analysis, slices, prov, timings, warns, sweep)


def run_sweep(frame, records, paths, cfg: RunConfig, models, cap, thresholds, slices) -> pd.DataFrame:
    """Per-group FTA, FMR and FNMR (exact intervals) at the fixed global thresholds along one capture axis."""
    from harness.config import parse_sweep

    axis, values = parse_sweep(cfg.capture.sweep)
    m = cfg.metrics
    rows = []
    for v in values:
        cap_v = cap.with_value(axis, v)
        deg, _ = _degraded(frame, records, paths, cfg, models, cap_v, f"{axis}={v:g}")
        acq = _acq_table(frame, deg)
        pairs = _pairs(acq, deg, cfg, slices)
        if not len(pairs):
            pairs = pd.DataFrame({"score": [], "genuine": []}).astype({"genuine": bool})
            for a in {a for s in slices for a in s}:
                pairs[f"{m.group_side}_{a}"] = pd.Series(dtype=object)
        g = metrics.group_frame(pairs, acq, thresholds, slices, side=m.group_side, confidence=m.confidence,
                                min_subjects=m.min_subjects, small_subjects=m.small_subjects)
        probes = acq[acq["role"] == "probe"]
        g.insert(0, "axis", axis)
        g.insert(1, "value", v)
        g["target_interocular_px"] = float(probes["target_interocular_px"].dropna().median()) \
            if "target_interocular_px" in probes else np.nan
        g["detected_interocular_px"] = float(probes.loc[probes["ok"], "interocular_px"].median()) \
            if probes["ok"].any() else np.nan
        rows.append(g)
    return pd.concat(rows, ignore_index=True)
