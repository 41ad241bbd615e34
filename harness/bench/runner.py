"""Run the chosen scenarios on this machine and assemble one bench.json document."""

from __future__ import annotations

import resource
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from harness import __version__, provenance
from harness.bench import fingerprint as fp
from harness.bench import peaks, scenarios
from harness.bench.result import SCHEMA_VERSION, accuracy_from_run
from harness.bench.stages import FramePipeline, Scorer, load_backends, model_files
from harness.errors import ConfigError, DatasetError

SCENARIOS = ("single-stream", "offline", "cold-start", "doorbell-stream")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class BenchOptions:
    """Everything a bench run depends on (recorded in bench.json as ``config``)."""

    detector: str = "dlib-hog"
    embedder: str = "dlib-resnet-v1"
    detector_options: dict = field(default_factory=dict)
    embedder_options: dict = field(default_factory=dict)
    scenarios: list = field(default_factory=lambda: ["single-stream", "offline", "cold-start", "doorbell-stream"])
    images: Optional[str] = None      # folder of images; None: a sample of the dataset
    dataset: str = "frl-london"
    data_home: Optional[str] = None
    sample: int = 20
    warmup: int = 5
    count: Optional[int] = 50
    duration_s: Optional[float] = None
    workers: int = 0                  # offline: 0 = every usable core
    batch: int = 8
    offline_count: Optional[int] = None  # default: 2 x the sample
    cold_repeats: int = 3
    capture: Optional[str] = None     # capture preset for the optional capture stage (single-stream)
    stream_preset: str = "doorbell-1080p-day"
    stream_frames: int = 30
    score: str = "euclidean"
    threshold: Optional[float] = None
    label: Optional[str] = None
    run: Optional[str] = None         # a run directory whose accuracy is joined

    def validate(self) -> "BenchOptions":
        bad = [s for s in self.scenarios if s not in SCENARIOS]
        if bad or not self.scenarios:
            raise ConfigError(f"--scenarios {','.join(self.scenarios)}: choose from {', '.join(SCENARIOS)}")
        for name, v, lo in (("--sample", self.sample, 1), ("--warmup", self.warmup, 0), ("--batch", self.batch, 1),
                            ("--cold-repeats", self.cold_repeats, 1), ("--stream-frames", self.stream_frames, 2),
                            ("--workers", self.workers, 0)):
            if v < lo:
                raise ConfigError(f"{name} {v}: must be at least {lo}")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"--count {self.count}: must be at least 1")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"--duration {self.duration_s}: must be positive")
        if self.score not in ("euclidean", "cosine"):
            raise ConfigError(f"--score {self.score}: choose euclidean or cosine")
        return self


def sample_images(opts: BenchOptions) -> tuple[list[Path], str]:
    """``opts.sample`` images, spread evenly over the folder or dataset (sorted, deterministic)."""
    if opts.images:
        root = Path(opts.images).expanduser()
        if not root.is_dir():
            raise DatasetError(f"--images {opts.images}: not a folder of images")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        source = str(root)
        if not files:
            raise DatasetError(f"--images {opts.images}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it")
    else:
        from harness import data

        ds = data.resolve(opts.dataset, home=opts.data_home, download=False)
        files = [ds.root / p for p in sorted(ds.frame["image"])]
        source = f"dataset {ds.name} ({ds.root})"
    n = min(opts.sample, len(files))
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)], source


def _threads() -> dict[str, Any]:
    os_threads = None
    text = fp.read_text("/proc/self/status")
    for line in (text or "").splitlines():
        if line.startswith("Threads:"):
            os_threads = int(line.split()[1])
    return {"os_threads": os_threads, "python_threads": threading.active_count(),
            "cores_usable": provenance.usable_cores()}


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # KiB on Linux


def run(opts: BenchOptions, log=print) -> dict[str, Any]:
    """Run every scenario in ``opts`` and return the bench document (not yet written)."""
    import numpy as np

    from harness.data.images import load_rgb, sha256_file

    opts.validate()
    warnings: list[str] = []
    images, source = sample_images(opts)
    b = load_backends(opts.detector, opts.embedder, opts.detector_options, opts.embedder_options)
    before = fp.conditions()
    device = fp.fingerprint()  # after loading: the runtimes in use report their providers
    models = {"detector": b.detector.provenance(), "embedder": b.embedder.provenance()}
    files = sorted({p for be in (b.detector, b.embedder) for p in model_files(be)})
    mfiles = [{"name": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files]
    split = "align+embed" if b.split else "embed"
    if not b.split:
        warnings.append(f"{opts.embedder}: no align()/infer() split; alignment is timed inside the embed stage")

    # Setup (untimed): each image's clean landmarks (the capture stage scales faces by them) and the
    # gallery the compare stage searches (the sample's own templates).
    setup = FramePipeline(b)
    landmarks, gallery = [], []
    for p in images:
        _, out = setup.run(p)
        landmarks.append(out.get("landmarks"))
        if out["template"] is not None:
            gallery.append(out["template"])
    if not gallery:
        warnings.append("no face found in any sample image: compare stage not measured")
    scorer = Scorer(np.array(gallery), opts.score, opts.threshold) if gallery else None
    cap = None
    if opts.capture:
        from harness.degrade import capture

        cap = capture.load(opts.capture)
    pipe = FramePipeline(b, scorer, cap)
    spec = {"detector": opts.detector, "embedder": opts.embedder, "detector_options": opts.detector_options,
            "embedder_options": opts.embedder_options}
    res: dict[str, Any] = {}
    tegra = fp.Tegrastats()
    with tegra:
        if "single-stream" in opts.scenarios:
            log(f"bench: single-stream ({opts.warmup} warm-up, "
                f"{f'{opts.duration_s:g} s' if opts.duration_s else f'{opts.count} frames'})")
            res["single_stream"] = scenarios.single_stream(pipe, [str(p) for p in images], opts.warmup,
                                                           opts.count, opts.duration_s, landmarks)
            res["single_stream"]["capture"] = cap.to_dict() if cap else None
            if cap:
                warnings.append(f"capture stage: simulated with preset {cap.name}")
        if "offline" in opts.scenarios:
            workers = opts.workers or provenance.usable_cores()
            n = opts.offline_count or 2 * len(images)
            log(f"bench: offline ({n} images, {workers} workers, batches of {opts.batch})")
            res["offline"] = scenarios.offline(spec, images, n, workers, opts.batch)
        if "cold-start" in opts.scenarios:
            log(f"bench: cold start ({opts.cold_repeats} fresh processes)")
            res["cold_start"] = scenarios.cold_start(spec, str(images[0]), opts.cold_repeats)
        if "doorbell-stream" in opts.scenarios:
            with tempfile.TemporaryDirectory(prefix="facerisk-bench-") as tmp:
                clip = Path(tmp) / "walk.mp4"
                face = load_rgb(images[0])
                log(f"bench: doorbell stream (rendering {opts.stream_frames} frames of {opts.stream_preset})")
                info = scenarios.render_clip(face, landmarks[0], opts.stream_preset, opts.stream_frames, clip)
                res["doorbell_stream"] = scenarios.doorbell_stream(pipe, clip, info["fps"])
                res["doorbell_stream"]["clip"] = info
            warnings.append("doorbell stream: the clip is simulated (harness.degrade), not recorded by a camera")
    after = fp.conditions()
    verdict = fp.throttle_verdict(before, after)
    if verdict["throttled"]:
        warnings.append("device throttled during the run: " + "; ".join(verdict["reasons"]))

    flops = peaks.MODEL_FLOPS.get(opts.embedder)
    peak = peaks.device_peak(device)
    compute: dict[str, Any] = {"model_flops": flops["flops"] if flops else None,
                               "flops_source": flops["how"] if flops else None, "peak": peak}
    if flops and peak:
        ss = res.get("single_stream", {}).get("stages", {}).get("embed")
        if ss and ss["p50"]:
            compute["single_stream_embed_pct_of_core_peak"] = peaks.percent_of_peak(
                flops["flops"], ss["p50"], peak.get("per_core_gflops"))
        off = res.get("offline")
        if off and off.get("faces_per_s"):
            compute["offline_embed_pct_of_device_peak"] = peaks.percent_of_peak(
                flops["flops"], 1.0 / off["faces_per_s"], peak.get("gflops"))
    accuracy = accuracy_from_run(opts.run, models) if opts.run else None
    if accuracy and not accuracy["same_models"]:
        warnings.append(f"--run {opts.run}: models differ from the bench's ({'; '.join(accuracy['differences'])})")
    cfg = asdict(opts)
    cfg["images"] = {"source": source, "n": len(images)}
    return {
        "schema_version": SCHEMA_VERSION,
        "facerisk_version": __version__,
        "created_utc": provenance.now_utc(),
        "label": opts.label or device["hostname"] or "device",
        "config": cfg,
        "provenance": {"git": provenance.git_state(), "packages": provenance.package_versions(),
                       "models": models, "model_files": mfiles, "stage_split": split,
                       "images": [{"name": p.name, "sha256": sha256_file(p)} for p in images]},
        "device": device,
        "conditions": {"before": before, "after": after, "throttled": verdict["throttled"],
                       "throttle_reasons": verdict["reasons"], "throttle_source": verdict["source"],
                       "tegrastats": tegra.samples},
        "resources": {"peak_rss_mib": _rss_mib(resource.RUSAGE_SELF),
                      "peak_rss_children_mib": _rss_mib(resource.RUSAGE_CHILDREN),
                      "threads": _threads(), "model_bytes": sum(f["bytes"] for f in mfiles), "load_s": b.load_s},
        "scenarios": res,
        "compute": compute,
        "accuracy": accuracy,
        "warnings": warnings,
        "remote": None,
    }
