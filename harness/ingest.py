"""Real doorbell clips: the second connector of the stages (video -> detect -> track -> embed -> match -> metrics).

Every frame is searched for faces; detections are tracked into visits; each visit is matched
against a gallery (a dataset's enrolment photos) under the ``best``, ``mean`` and ``any`` policies.
With a labels file (clip -> subject_id) the false match and false non-match rates are reported
per frame and per visit, per group of the visitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from harness import data
from harness.compare.visits import POLICIES, similarity, visit_scores
from harness.config import RunConfig
from harness.data.video import frames as read_frames
from harness.detect.track import frontalness, quality, sharpness, track
from harness.errors import DatasetError
from harness.metrics import Threshold, clopper_pearson, make_thresholds
from harness.metrics.groups import group_labels


@dataclass
class IngestResult:
    frames: pd.DataFrame        # one row per detected face per frame
    visits: pd.DataFrame        # one row per visit
    comparisons: pd.DataFrame   # visit/frame x gallery entry scores, per level and policy
    rates: pd.DataFrame         # per level (frame / visit:policy), threshold, group
    clips: pd.DataFrame         # one row per clip: frames decoded, faces, visits, codec
    thresholds: list[Threshold]


def _scan(clip: Path, det, emb, every: int) -> tuple[list[dict], dict]:
    from harness.data.video import probe

    info = probe(clip)
    rows, boxes_by_frame = [], []
    for idx, t, img in read_frames(clip, every):
        dets = det.detect(img)
        boxes_by_frame.append([d.box for d in dets])
        gray = img.mean(axis=2)
        for k, d in enumerate(dets):
            left, top, right, bottom = (max(0, v) for v in d.box)
            sharp = sharpness(gray[top:bottom, left:right])
            front = frontalness(d.landmarks)
            rows.append({"clip": clip.name, "frame": idx, "time_s": t, "det": k, "box": list(d.box),
                         "interocular_px": d.interocular_px, "sharpness": sharp, "frontalness": front,
                         "quality": quality(d.interocular_px, sharp, front), "template": emb.embed(img, d),
                         "frame_pos": len(boxes_by_frame) - 1})
    visits = track(boxes_by_frame)
    by_key = {(r["frame_pos"], r["det"]): r for r in rows}
    for v in visits:
        for f, d, _ in v.items:
            by_key[(f, d)]["visit"] = f"{clip.name}#{v.id}"
    info.update(clip=clip.name, frames_decoded=len(boxes_by_frame), faces=len(rows), visits=len(visits))
    return rows, info


def gallery_templates(cfg: RunConfig) -> tuple[pd.DataFrame, np.ndarray]:
    """The gallery: the enrolment photos of ``cfg.dataset`` acquired with the run's models (cached)."""
    from harness import protocols
    from harness.pipeline import _acq_table, _split, acquire_all, backend_provenance

    ds = data.resolve(cfg.dataset.name, home=cfg.dataset.data_home, download=cfg.dataset.download,
                      mirror=cfg.dataset.mirror, progress=cfg.progress,
                      per_image=protocols.start(cfg).per_image_columns(), subject_column=cfg.protocol.subject_column)
    frame = _split(ds, cfg)
    frame = frame[frame["role"] == "enrol"].reset_index(drop=True)
    records, _ = acquire_all([ds.path_of(i) for i in frame["image"]], cfg, backend_provenance(cfg), desc="gallery")
    acq = _acq_table(frame, records)
    ok = acq["ok"].to_numpy()
    return acq[ok].reset_index(drop=True), np.array([r["embedding"] for r, g in zip(records, ok) if g])


def _rates(comp: pd.DataFrame, thresholds, attrs: Sequence[str], confidence: float) -> pd.DataFrame:
    rows = []
    slices = [[]] + [[a] for a in attrs]
    for (level, policy), part in comp.groupby(["level", "policy"]):
        for sl in slices:
            labels = group_labels(part, [f"visitor_{a}" for a in sl]).to_numpy() if sl else np.full(len(part), "all")
            for g in sorted(set(labels)):
                sub = part[labels == g]
                imp = sub.loc[~sub["genuine"], "score"].to_numpy()
                gen = sub.loc[sub["genuine"], "score"].to_numpy()
                for t in thresholds:
                    fm, fnm = int((imp >= t.value).sum()), int((gen < t.value).sum())
                    lo, hi = clopper_pearson(fm, len(imp), confidence)
                    rows.append({"level": level, "policy": policy, "threshold_id": t.id, "slice": " × ".join(sl) or "all",
                                 "group": g, "n_impostor": len(imp), "n_false_match": fm,
                                 "fmr": fm / len(imp) if len(imp) else np.nan, "fmr_lo": lo, "fmr_hi": hi,
                                 "n_genuine": len(gen), "n_false_non_match": fnm,
                                 "fnmr": fnm / len(gen) if len(gen) else np.nan})
    return pd.DataFrame(rows)


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read and check a labels file (columns clip, subject_id, optional attributes and ``in_gallery``).

    Refused with the row named: not UTF-8, empty, missing columns, a clip listed twice (its rates would
    count twice), an empty subject id.
    """
    from harness.data.tables import read_csv

    p = Path(path)
    labels = read_csv(p, "a labels file (columns clip, subject_id, attributes...)", required=("clip", "subject_id"),
                      what="labels file", dtype=str, keep_default_na=False)
    if labels.empty:
        raise DatasetError(f"{p}: no rows (the file has a header only)")
    labels["clip"] = labels["clip"].str.strip().map(lambda c: Path(c).name)
    labels["subject_id"] = labels["subject_id"].str.strip()
    dup = labels["clip"].duplicated(keep=False)
    if dup.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(dup.to_numpy())[:6])
        raise DatasetError(f"{p}: rows {rows}: clip {labels.loc[dup, 'clip'].iloc[0]!r} is listed more than once; "
                           "keep one row per clip (its visits would otherwise be counted twice)")
    empty = labels["subject_id"] == ""
    if empty.any():
        raise DatasetError(f"{p}: row {int(np.flatnonzero(empty.to_numpy())[0]) + 2}: empty subject_id")
    if "in_gallery" in labels.columns:
        flag = labels["in_gallery"].str.strip().str.lower().map({"true": True, "1": True, "yes": True,
                                                                 "false": False, "0": False, "no": False})
        if flag.isna().any():
            raise DatasetError(f"{p}: row {int(np.flatnonzero(flag.isna().to_numpy())[0]) + 2}: in_gallery must be "
                               "true/false")
        labels["in_gallery"] = flag.astype(bool)
    return labels


def _check_label_ids(labels: pd.DataFrame, gallery_ids: set[str]) -> None:
    # A typo in an id ('1' for '001') would turn the visitor's true match into a false match: refuse it,
    # unless the row says the visitor is a stranger (not enrolled), whose visits are impostor searches only.
    stranger = labels["in_gallery"] == False if "in_gallery" in labels.columns else \
        pd.Series(False, index=labels.index)  # noqa: E712 - element-wise
    absent = ~labels["subject_id"].isin(gallery_ids) & ~stranger
    if absent.any():
        i = int(np.flatnonzero(absent.to_numpy())[0])
        raise DatasetError(
            f"labels row {i + 2}: subject {labels['subject_id'].iloc[i]!r} is not in the gallery; fix the id, or "
            "mark a visitor who is not enrolled with a column in_gallery=false"
        )
    wrongly = labels["subject_id"].isin(gallery_ids) & stranger
    if wrongly.any():
        i = int(np.flatnonzero(wrongly.to_numpy())[0])
        raise DatasetError(f"labels row {i + 2}: subject {labels['subject_id'].iloc[i]!r} is marked in_gallery=false "
                           "but is in the gallery")


def ingest(clips: Sequence[str | Path], cfg: RunConfig, labels: Optional[pd.DataFrame] = None,
           thresholds: Optional[list[Threshold]] = None, every: int = 1) -> IngestResult:
    """Detect, track and match every clip; with ``labels`` (columns clip, subject_id), compute rates."""
    from harness.pipeline import _init_worker, _WORKER

    paths = [Path(c) for c in clips]
    gal_acq, gal = gallery_templates(cfg)
    if not len(gal):
        raise DatasetError("the gallery has no acquired face; check the dataset and the enrolment split")
    if labels is not None:
        _check_label_ids(labels, set(gal_acq["subject_id"].astype(str)))
    m = cfg.metrics
    if thresholds is None:
        thresholds = make_thresholds(np.array([]), [], m.fixed_thresholds, m.score, "")
    _init_worker(cfg)
    det, emb = _WORKER["det"], _WORKER["emb"]
    all_rows, infos = [], []
    for clip in tqdm(paths, desc="ingest clips", unit="clip", disable=not cfg.progress):
        rows, info = _scan(clip, det, emb, every)
        all_rows += rows
        infos.append(info)
    frames_df = pd.DataFrame([{k: v for k, v in r.items() if k not in ("template", "frame_pos")} for r in all_rows])
    templates = np.array([r["template"] for r in all_rows]) if all_rows else np.zeros((0, gal.shape[1]))

    visit_rows, comp = [], []
    label_of = dict(zip(labels["clip"], labels["subject_id"].astype(str))) if labels is not None else {}
    subj_attrs = gal_acq.drop_duplicates("subject_id").set_index("subject_id")
    # Categorical attributes of the visitor (numeric ones such as age are left to full runs).
    attrs = [a for a in m.attributes if a in gal_acq.columns and a not in m.bins]
    for col in [c for c in (labels.columns if labels is not None else []) if c not in ("clip", "subject_id")]:
        if col not in attrs:
            attrs.append(col)

    def visitor(clip_name):
        sid = label_of.get(clip_name)
        out = {"visitor": sid}
        for a in attrs:
            val = None
            if labels is not None and a in labels.columns:
                val = labels.loc[labels["clip"] == clip_name, a].iloc[0]
            elif sid is not None and sid in subj_attrs.index:
                val = subj_attrs.loc[sid, a]
            out[f"visitor_{a}"] = val
        return out

    gal_ids = gal_acq["subject_id"].astype(str).to_numpy()
    if len(frames_df):
        sims = similarity(templates, gal, m.score)
        for i, r in frames_df.iterrows():
            who = visitor(r["clip"])
            for j in range(len(gal)):
                comp.append({"level": "frame", "policy": "frame", "unit": f"{r['clip']}@{r['frame']}#{r['det']}",
                             "gallery_image": gal_acq["image"].iloc[j], "gallery_subject": gal_ids[j],
                             "score": sims[i, j], "genuine": who["visitor"] == gal_ids[j], **who})
        if "visit" not in frames_df.columns:  # faces were found but none was tracked into a visit
            frames_df["visit"] = None
        for vid, part in frames_df.dropna(subset=["visit"]).groupby("visit"):
            idx = part.index.to_numpy()
            clip_name = part["clip"].iloc[0]
            who = visitor(clip_name)
            visit_rows.append({"visit": vid, "clip": clip_name, "frames": len(idx), "first_frame": int(part["frame"].min()),
                               "last_frame": int(part["frame"].max()), "best_quality": float(part["quality"].max()),
                               "max_interocular_px": float(part["interocular_px"].max()), **who})
            for policy in POLICIES:
                s = visit_scores(templates[idx], part["quality"].to_numpy(), gal, m.score, policy)
                for j in range(len(gal)):
                    comp.append({"level": "visit", "policy": policy, "unit": vid, "gallery_image": gal_acq["image"].iloc[j],
                                 "gallery_subject": gal_ids[j], "score": s[j], "genuine": who["visitor"] == gal_ids[j], **who})
    comp_df = pd.DataFrame(comp)
    clips_df = pd.DataFrame(infos)
    if labels is not None:
        for c in clips_df["clip"]:
            if c not in label_of:
                raise DatasetError(f"labels: no row for clip {c!r}; add a row clip,subject_id for it")
    rates = _rates(comp_df[comp_df["visitor"].notna()], thresholds, attrs, m.confidence) \
        if labels is not None and len(comp_df) else pd.DataFrame()
    return IngestResult(frames_df, pd.DataFrame(visit_rows), comp_df, rates, clips_df, thresholds)


def write(res: IngestResult, out: Path) -> dict[str, str]:
    """Write the ingest tables as CSV (and a small JSON summary)."""
    import json

    from harness.cache import atomic_write_text
    from harness.provenance import machine, now_utc

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, table in (("clips", res.clips), ("frames", res.frames), ("visits", res.visits),
                        ("comparisons", res.comparisons), ("rates", res.rates)):
        files[name] = f"{name}.csv"
        table.to_csv(out / files[name], index=False)
    summary = {"created_utc": now_utc(), "machine": machine(), "thresholds": [t.to_dict() for t in res.thresholds],
               "clips": res.clips.to_dict(orient="records"), "files": files,
               "policies": {"best": "highest-quality frame only", "mean": "mean template of the visit",
                            "any": "match if any frame matches (max score)"}}
    atomic_write_text(out / "ingest.json", json.dumps(summary, indent=2, default=str))
    return files
