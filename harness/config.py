"""One typed configuration for a run, loadable from YAML/TOML and overridable from the CLI.

Every field has a default, so ``RunConfig()`` is the documented default run
(frl-london, dlib HOG + ResNet, enrol neutral vs probe smiling).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from harness.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass
class DatasetConfig:
    """Which labelled face set to use and where its files are."""

    name: str = "frl-london"
    #: Folder holding one sub-folder per dataset; None means $FACERISK_DATA_HOME or the user cache.
    data_home: Optional[str] = None
    #: Download the public original when the folder is absent.
    download: bool = True
    #: Hosting base URL to download from instead of the card's upstream (a mirror).
    mirror: Optional[str] = None
    #: What to do with an unreadable image: stop with an error, or count it as a failure to acquire.
    bad_images: Literal["error", "fta"] = "error"
    #: Largest image (pixels) decoded; larger headers are refused as decompression bombs.
    max_pixels: int = 40_000_000
    #: Run on files that differ from the folder's pinned checksums (fetch manifest or SHA256SUMS), listing them
    #: in the results, instead of stopping.
    allow_modified: bool = False


@dataclass
class DetectorConfig:
    """Face detection and landmarking (the acquisition stage)."""

    #: A backend of harness.detect.REGISTRY ('facerisk models list'): dlib-hog, dlib-cnn, blazeface-short,
    #: blazeface-full, haar, null.
    name: str = "dlib-hog"
    #: Times the image is upsampled before detection (dlib detectors; face_recognition's default is 1).
    upsample: int = 1
    #: What an image with several faces means. fta (default): a failure to acquire with reason, since embedding
    #: the wrong person would turn a genuine pair into a false non-match or an impostor pair into a false match;
    #: annotated: the face whose centre lies in the metadata's face_left/face_top/face_right/face_bottom box;
    #: largest: face_recognition's habit (may embed a bystander; counted and warned about).
    multi_face: Literal["fta", "annotated", "largest"] = "fta"
    #: dlib landmark model used for alignment: 5-point (face_recognition's "small") or 68-point. Detectors
    #: that are not dlib's (blazeface-*, haar) run this shape predictor inside their own box.
    landmarks: Literal["5", "68"] = "5"
    #: Inference runtime of the BlazeFace models: LiteRT (the .tflite) or onnxruntime (its conversion).
    runtime: Literal["litert", "onnxruntime"] = "litert"
    #: BlazeFace candidate score threshold; None: MediaPipe's 0.5.
    min_score: Optional[float] = None
    #: BlazeFace on whole frames: 1 = the whole image (MediaPipe's way); N > 1 = N overlapping square tiles
    #: across the short side, each run separately, faces merged (for small faces in wide frames).
    tiles: int = 1

    def options(self) -> dict[str, Any]:
        """Keyword options for ``harness.detect.make(self.name, ...)``: the fields this backend takes.

        A field set away from its default for a backend that does not take it is an error, not ignored.
        """
        from harness import detect

        if self.name not in detect.REGISTRY:
            raise ConfigError(f"detector.name: {self.name!r} is not one of {', '.join(map(repr, detect.REGISTRY))}")
        accepted = detect.options(self.name)
        out = {}
        for f in dataclasses.fields(self):
            if f.name in ("name", "multi_face"):
                continue
            value = getattr(self, f.name)
            if f.name in accepted:
                out[f.name] = value
            elif value != f.default:
                raise ConfigError(f"detector.{f.name}={value!r} does not apply to detector {self.name!r} "
                                  f"(it takes: {', '.join(accepted) or 'no options'}); remove the setting")
        return out


@dataclass
class EmbedderConfig:
    """Face embedding (template extraction)."""

    name: str = "dlib-resnet-v1"
    #: Jitters per face (face_recognition's num_jitters); >1 averages re-sampled chips.
    jitters: int = 1
    #: Path of an ONNX model file, for name: onnx.
    path: Optional[str] = None
    #: Model card (name or YAML file) saying how to feed the ONNX file; None: the card matching the file.
    card: Optional[str] = None
    #: onnxruntime execution provider: cpu, cuda, tensorrt, openvino, coreml (or a full provider name).
    provider: str = "cpu"
    #: onnxruntime intra-op threads per worker process (0: onnxruntime's default).
    threads: int = 1
    #: Aligned chips per onnxruntime call (a model with a fixed batch axis uses its own).
    batch_size: int = 32
    #: onnxruntime graph optimisation level.
    graph_optimization: Literal["disable", "basic", "extended", "all"] = "all"
    #: Allow an eyes-only ArcFace alignment from dlib 5-point landmarks (they have no mouth corners).
    partial_landmarks: bool = False


@dataclass
class ProtocolConfig:
    """Which images are compared with which (harness/protocols/: one module per kind; README "Protocols")."""

    #: split: enrolment split vs probe split of one data set; pairs: a pair-list file (LFW pairs.txt or CSV);
    #: all: every image against every other; watchlist: probes searched against a gallery of other people.
    kind: Literal["split", "pairs", "all", "watchlist"] = "split"
    #: Metadata column that splits enrolment from probe images (split; watchlist: which probe-set images search).
    split_column: str = "expression"
    enrol_value: str = "neutral"
    probe_value: str = "smiling"
    #: split: keep only people with at least one image on each side (others are listed in the results).
    both_sides_only: bool = False
    #: all: every enrolled subject against every other subject's probe;
    #: matched: only impostors of the same group on ``match_on`` (NIST's demographically matched).
    impostors: Literal["all", "matched"] = "all"
    match_on: list[str] = field(default_factory=lambda: ["gender", "ethnicity"])
    #: Metadata column naming the person (renamed to subject_id when read).
    subject_column: str = "subject_id"
    #: Columns that describe an image, not a person, so may differ across one person's images (the split
    #: column is always one).
    per_image_columns: list[str] = field(default_factory=list)
    #: Several enrolment images of one person: none (each image is its own template), best (a probe's score
    #: against a person is its best over their images) or mean (one template: the mean embedding).
    fusion: Literal["none", "best", "mean"] = "none"
    #: pairs: the pair list, relative to the data set folder (LFW pairs.txt, or CSV image_a,image_b,same[,fold]).
    pairs_file: str = "pairs.txt"
    #: pairs: a pair with an image that failed to acquire is scored as a non-match ("reject": it counts against
    #: same-person pairs, for different-person ones) or left out of the accuracy ("exclude"); counted either way.
    fta_pairs: Literal["reject", "exclude"] = "reject"
    #: pairs: a pair listed as same/different whose subject ids say otherwise: stop (error) or count and warn.
    mislabelled: Literal["error", "warn"] = "error"
    #: all: non-mated pairs: 0 = every one; N = a seeded sample of N (the sample and seed are recorded).
    nonmated_sample: int = 0
    #: watchlist: the gallery's data set (card name or folder); None: the probe data set itself.
    gallery_dataset: Optional[str] = None
    #: watchlist: gallery images are those with gallery_column = gallery_value (None: every image).
    gallery_column: Optional[str] = None
    gallery_value: Optional[str] = None
    #: watchlist: also enrol the probes' own split_column = enrol_value images (mated searches, for FNIR).
    mated: bool = False
    #: watchlist: thresholds calibrated so that this share of non-mated searches raises an alarm.
    target_fpirs: list[float] = field(default_factory=lambda: [1e-2])
    #: watchlist: gallery sizes (people) swept by seeded subsampling; empty: 10, 100, ... up to the gallery.
    gallery_sizes: list[int] = field(default_factory=list)


@dataclass
class CompareConfig:
    """How a run keeps its comparisons (harness/compare/columnar.py)."""

    #: A run with more pairs than this writes no pair table (no pairs.csv or pairs.parquet), only what the rates
    #: and the subject bootstrap need: pair_counts.csv (pairs per slice, group, genuine and score bucket on a
    #: 0.01 similarity grid plus the run's thresholds) and subject_pair_counts.csv (pairs per subject pair at each
    #: threshold); results.json provenance.pairs and the warnings say so. 10 million pairs is about 1.5 GB of
    #: CSV. null: always write pairs.csv; 0: always aggregate.
    aggregate_above_pairs: Optional[int] = 10_000_000


@dataclass
class MetricsConfig:
    """Which thresholds and groups the error rates are read at."""

    #: Comparison score used for decisions: euclidean distance (face_recognition) or cosine similarity.
    score: Literal["euclidean", "cosine"] = "euclidean"
    #: Target FMRs for thresholds calibrated on all impostor pairs of the run.
    target_fmrs: list[float] = field(default_factory=lambda: [1e-2, 1e-3])
    #: Fixed thresholds in the score's own units (distance 0.6 is face_recognition's default tolerance).
    fixed_thresholds: list[float] = field(default_factory=lambda: [0.6])
    #: Attributes to slice by (metadata columns); missing ones are skipped with a warning.
    attributes: list[str] = field(default_factory=lambda: ["gender", "ethnicity", "age"])
    #: Intersections, each a list of attributes.
    intersections: list[list[str]] = field(default_factory=lambda: [["gender", "ethnicity"]])
    #: Numeric attributes are cut into bands at these edges (left-closed).
    bins: dict[str, list[float]] = field(default_factory=lambda: {"age": [18, 30, 45, 120]})
    #: Which side of an impostor pair decides its group: the probe (the person passing the camera).
    group_side: Literal["probe", "enrol"] = "probe"
    #: Confidence level of the Clopper-Pearson intervals.
    confidence: float = 0.95
    #: Groups with fewer subjects than this are marked "insufficient".
    min_subjects: int = 5
    #: Groups with fewer subjects than this are marked "small" (rates shown, with wide intervals).
    small_subjects: int = 30
    #: Subject-bootstrap replicates for rate and disparity intervals (0 turns the bootstrap off).
    bootstrap: int = 1000
    #: Lead with Holm-adjusted disparity verdicts (over every ratio test of the run) instead of per-test ones.
    holm: bool = False
    #: Re-fit calibrated thresholds inside every bootstrap replicate, so intervals carry threshold uncertainty
    #: (costs about 4·target·N + 50 thresholds per replicate; see harness.metrics.bootstrap.recalibrated_intervals).
    recalibrate: bool = False


@dataclass
class ProjectionConfig:
    """Operational projection (harness/metrics/projection.py): arithmetic on measured rates, not a measurement."""

    #: Watchlist sizes a doorbell network's searches are projected against.
    watchlist_sizes: list[int] = field(default_factory=lambda: [100, 1000])
    #: Visitors per day across the network (one search each).
    visitors_per_day: float = 100.0


@dataclass
class CaptureConfig:
    """Doorbell capture simulation applied to the probe side (enrolment stays clean)."""

    #: Built-in preset name (see 'facerisk capture list') or a preset YAML file; None: probes as photographed.
    preset: Optional[str] = None
    #: Parameter overrides by dotted path, e.g. {"subject.distance": 3, "codec.kind": "none"}; each value is
    #: checked against the capture model's own field (number, text or true/false) when the config is loaded.
    set: dict[str, Any] = field(default_factory=dict)
    #: A sweep along one axis, "AXIS=START:STOP:STEP" or "AXIS=V1,V2,...", e.g. "distance=0.5:6:0.5".
    sweep: Optional[str] = None
    seed: int = 0
    #: What a probe is: crop, the face's sensor-pixel neighbourhood (fast; fair to detectors that scan at the
    #: image's own scale, too kind to those that resize their whole input, such as BlazeFace); whole, the
    #: whole sensor frame through the same sensor and codec (slower: the codec encodes whole frames).
    frame: Literal["crop", "whole"] = "crop"
    #: Behind the face in whole frames: porch (procedural wall, door, lamp, step) or grey.
    background: Literal["porch", "grey"] = "porch"


@dataclass
class RunConfig:
    """A whole run: dataset, pipeline, protocol, metrics and outputs."""

    name: Optional[str] = None
    #: Folder under which the run directory is written.
    reports_dir: str = "reports"
    #: Content-addressed cache of acquisitions; None means the user cache dir.
    cache_dir: Optional[str] = None
    use_cache: bool = True
    #: Worker processes for detection and embedding; 0 means one per available core.
    workers: int = 0
    #: Where acquisition runs: None, this machine's worker processes; "local", a Dask LocalCluster started for
    #: the run; or a running Dask scheduler's address (tcp://HOST:PORT). Dask needs pip install 'facerisk[dask]'.
    scheduler: Optional[str] = None
    seed: int = 0
    progress: bool = True
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (recorded in results provenance)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Range:
    """Allowed values of one numeric setting (bounds inclusive unless open), and how the error says so."""

    lo: float = -math.inf
    hi: float = math.inf
    open_lo: bool = False
    open_hi: bool = False
    text: str = ""

    def holds(self, v: float) -> bool:
        return (self.lo < v if self.open_lo else self.lo <= v) and (v < self.hi if self.open_hi else v <= self.hi)


#: Upper bounds on settings that multiply the cost of a run (beyond them a run would not finish).
MAX_JITTERS = 100
MAX_BOOTSTRAP = 100_000
_SEED = Range(0, 2**32 - 1, text="a whole number from 0 to 4294967295")
_COUNT = 10**12  # a bound on any count of things (pairs, pixels, people): far beyond any real run

#: Every numeric setting's allowed range, by dotted path (list items share their list's entry; ``.*`` covers
#: every key of a mapping). _check applies it to each number as it is read (one mechanism: a number too large
#: for a float, a 5,000-digit integer and an out-of-range value all get the same one-line message with the
#: range); tests/test_config.py fails if a numeric field has no entry. Cross-field checks stay in validate().
RANGES: dict[str, Range] = {
    "seed": _SEED,
    "capture.seed": _SEED,
    "workers": Range(0, 4096, text="0 (one per core) or a number of worker processes up to 4096"),
    "dataset.max_pixels": Range(1, _COUNT, text="a positive number of pixels (default 40000000)"),
    "detector.upsample": Range(0, 4, text="from 0 to 4"),
    "detector.min_score": Range(0, 1, True, True, "a probability in (0, 1)"),
    "detector.tiles": Range(1, 8, text="from 1 (the whole image) to 8"),
    "embedder.jitters": Range(1, MAX_JITTERS, text=f"from 1 to {MAX_JITTERS} (each jitter is one more network pass)"),
    "embedder.threads": Range(0, 1024, text="0 (onnxruntime's default) or a number of threads up to 1024"),
    "embedder.batch_size": Range(1, 65536, text="a number of chips per call from 1 to 65536"),
    "protocol.nonmated_sample": Range(0, _COUNT, text="0 (every non-mated pair) or a number of pairs to sample"),
    "protocol.target_fpirs": Range(0, 1, True, True, "a rate in (0, 1), e.g. [1e-2]"),
    "protocol.gallery_sizes": Range(1, _COUNT, text="a positive number of people"),
    "compare.aggregate_above_pairs": Range(0, _COUNT, text="a number of pairs >= 0 (0: always aggregate), or null "
                                                           "to always write pairs.csv"),
    "metrics.target_fmrs": Range(0, 1, True, True, "a rate in (0, 1), e.g. [1e-3]"),
    "metrics.fixed_thresholds": Range(-1e6, 1e6, text="a distance >= 0 (euclidean) or a similarity in [-1, 1] "
                                                      "(cosine), e.g. [0.6]"),
    "metrics.bins.*": Range(-1e12, 1e12, text="a finite bin edge"),
    "metrics.confidence": Range(0.5, 1, True, True, "a confidence level in (0.5, 1), e.g. 0.95"),
    "metrics.min_subjects": Range(1, _COUNT, text="at least 1"),
    "metrics.small_subjects": Range(1, _COUNT, text="at least 1"),
    "metrics.bootstrap": Range(0, MAX_BOOTSTRAP, text=f"0 (off) or a number of replicates up to {MAX_BOOTSTRAP:,}"),
    "projection.watchlist_sizes": Range(1, _COUNT, text="a positive number of people"),
    "projection.visitors_per_day": Range(0, _COUNT, text="a number of visitors >= 0"),
    "capture.set.*": Range(-1e12, 1e12, text="a finite value (the preset's own checks follow)"),
}


def range_of(where: str) -> Optional[Range]:
    """The :data:`RANGES` entry of a setting's path (``metrics.target_fmrs[1]``, ``metrics.bins.age[0]``)."""
    path = re.sub(r"\[\d+\]", "", where)
    if path in RANGES:
        return RANGES[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        wild = ".".join(parts[:i]) + ".*"
        if wild in RANGES:
            return RANGES[wild]
    return None


class HugeNumber:
    """A number too large to hold: a YAML integer with more digits than Python converts (4,300), or a float
    beyond 1.8e308. Kept as its text, so the setting it was given for can be named in the error (instead of
    PyYAML's traceback, or inf)."""

    def __init__(self, text: str):
        self.text = text.strip()

    def __repr__(self) -> str:
        digits = self.text.lstrip("+-")
        return f"a {len(digits):,}-digit number" if digits.isdigit() else repr(self.text)


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"a {len(str(abs(value))):,}-digit number"
    return repr(value)


def _in_range(value: Any, where: str) -> Any:
    """Check a number (or a :class:`HugeNumber`) against its setting's range; return it as read."""
    rng = range_of(where)
    fix = f"must be {rng.text}" if rng else "use a smaller number"
    if isinstance(value, HugeNumber):
        raise ConfigError(f"{where}: {value!r} is out of range; {fix}")
    try:
        f = float(value)
    except OverflowError:  # an int beyond a float (10**400)
        raise ConfigError(f"{where}: {_shown(value)} is out of range; {fix}") from None
    if not math.isfinite(f):  # no setting of facerisk means anything at nan or inf
        raise ConfigError(f"{where}: expected a finite number, got {value!r}; {fix}")
    if rng is not None and not rng.holds(f):
        raise ConfigError(f"{where}: {_shown(value)} is out of range; {fix}")
    return value


def _check(value: Any, tp: Any, where: str) -> Any:
    """Coerce ``value`` to the annotated type ``tp`` or raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(value, inner[0], where)
    if origin is Literal:
        if value not in args and not isinstance(value, bool) and isinstance(value, (int, float)) \
                and str(value) in args:
            value = str(value)  # YAML reads `landmarks: 5` as a number; the choice is the text "5"
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _check(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a section (mapping), got {value!r}")
        return _build(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, HugeNumber):
            return _in_range(value, where)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return _in_range(value, where)
    if tp is float:
        if isinstance(value, str):  # PyYAML reads 1e-3 (no dot) as text
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if not math.isfinite(number):  # 1e400 as text: name it as written, not as inf
                    _in_range(HugeNumber(value) if value.strip().lstrip("+-")[:1].isdigit() else number, where)
                return float(_in_range(number, where))
        if isinstance(value, HugeNumber):
            return _in_range(value, where)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(_in_range(value, where))
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:  # keys can be any YAML value ('?' alone parses as {None: None}): show them as written
        import difflib

        hints = [f"did you mean {where + '.' if where else ''}{close[0]}?" for k in sorted(unknown, key=repr)
                 if (close := difflib.get_close_matches(str(k), sorted(names), n=1, cutoff=0.6))]
        raise ConfigError(
            f"{where or 'config'}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}; "
            + (" ".join(hints) + " " if hints else "") + f"use one of: {', '.join(sorted(names))}"
        )
    kwargs = {k: _check(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> RunConfig:
    """Build a validated :class:`RunConfig` from nested plain data."""
    cfg = _build(RunConfig, data or {}, "")
    validate(cfg)
    return cfg


def validate(cfg: RunConfig) -> None:
    """Cross-field checks that types and :data:`RANGES` alone cannot express."""
    cfg.detector.options()  # the name is registered and every set option applies to it
    if not cfg.metrics.target_fmrs and not cfg.metrics.fixed_thresholds:
        raise ConfigError("metrics.target_fmrs and metrics.fixed_thresholds are both empty: no threshold to read "
                          "rates at; set e.g. --set metrics.target_fmrs=[1e-3]")
    lo, hi = (0.0, math.inf) if cfg.metrics.score == "euclidean" else (-1.0, 1.0)
    for t in cfg.metrics.fixed_thresholds:
        if not math.isfinite(t) or not lo <= t <= hi:
            raise ConfigError(f"metrics.fixed_thresholds: {t} is not a {cfg.metrics.score} threshold "
                              f"({'a finite distance >= 0' if hi == math.inf else 'a similarity in [-1, 1]'})")
    for attr, edges in cfg.metrics.bins.items():
        if len(edges) < 2 or any(not math.isfinite(e) for e in edges) or \
                any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"metrics.bins.{attr}: {edges} must be at least two finite, strictly increasing edges")
    if cfg.metrics.small_subjects < cfg.metrics.min_subjects:
        raise ConfigError("metrics.small_subjects must be >= metrics.min_subjects")
    if cfg.scheduler is not None:
        from harness.executors.dask_cluster import check_address

        check_address(cfg.scheduler)
    check_capture(cfg)
    if cfg.protocol.enrol_value == cfg.protocol.probe_value:
        raise ConfigError("protocol.enrol_value and protocol.probe_value must differ")


def check_capture(cfg: RunConfig) -> None:
    """Load the capture preset and apply capture.set and every sweep value now, so a bad axis or value
    (``nosuchaxis=1``, ``light=-5``, ``bitrate=0``) is refused before any image is acquired, not at its sweep step."""
    c = cfg.capture
    sweep = parse_sweep(c.sweep) if c.sweep is not None else None
    if c.preset is None:
        if c.set or c.sweep or c.frame != "crop":
            raise ConfigError("capture.set / capture.frame / --sweep need a capture preset: add --capture NAME "
                              "(facerisk capture list) or --capture FILE.yaml")
        return
    from harness.degrade import capture as cap_mod

    cap = cap_mod.load(c.preset)
    for key, value in c.set.items():
        try:
            cap = cap.with_value(key, value)
        except ConfigError as exc:
            raise ConfigError(f"capture.set.{key}: {exc}") from None
    if sweep is None:
        return
    axis, values = sweep
    path = cap_mod.ALIASES.get(axis, axis)
    if axis not in cap_mod.ALIASES and "." not in path:
        raise ConfigError(f"--sweep {c.sweep!r}: unknown axis {axis!r}; use one of {', '.join(cap_mod.ALIASES)} "
                          "or a capture parameter as section.field (e.g. subject.head_yaw_deg)")
    for v in values:
        try:
            cap.with_value(axis, v)
        except ConfigError as exc:
            raise ConfigError(f"--sweep {c.sweep!r}: {axis}={v:g}: {exc}; use values the capture model "
                              "accepts") from None


MAX_SWEEP_STEPS = 60


def parse_sweep(spec: str) -> tuple[str, list[float]]:
    """``"distance=0.5:6:0.5"`` (inclusive range) or ``"bitrate=250,500,1000"`` -> (axis, values)."""
    if "=" not in spec:
        raise ConfigError(f"sweep {spec!r}: write AXIS=START:STOP:STEP or AXIS=V1,V2,...")
    axis, rng = spec.split("=", 1)
    try:
        if ":" in rng:
            parts = rng.split(":")
            if len(parts) != 3:
                raise ConfigError(f"sweep {spec!r}: write AXIS=START:STOP:STEP (three numbers)")
            start, stop, step = (float(x) for x in parts)
            if not all(math.isfinite(v) for v in (start, stop, step)):
                raise ConfigError(f"sweep {spec!r}: START, STOP and STEP must be finite numbers")
            if step <= 0 or stop < start:
                raise ConfigError(f"sweep {spec!r}: need STOP >= START and STEP > 0")
            n = int(round((stop - start) / step)) + 1
            if n > MAX_SWEEP_STEPS:  # counted before any list is built: 0.5:1e8:1e-6 must not eat memory
                raise ConfigError(f"sweep {spec!r}: {n:,} steps; at most {MAX_SWEEP_STEPS} (use a larger STEP)")
            values = [round(start + i * step, 10) for i in range(n)]
        else:
            values = [float(x) for x in rng.split(",") if x.strip()]
            if not all(math.isfinite(v) for v in values):
                raise ConfigError(f"sweep {spec!r}: values must be finite numbers")
    except ValueError:
        raise ConfigError(f"sweep {spec!r}: values must be numbers") from None
    if not values or len(values) > MAX_SWEEP_STEPS:
        raise ConfigError(f"sweep {spec!r}: between 1 and {MAX_SWEEP_STEPS} steps")
    return axis.strip(), values


_SECTIONS = {f.name for f in dataclasses.fields(RunConfig) if dataclasses.is_dataclass(f.type)
             or (isinstance(f.type, str) and f.type.endswith("Config"))}


def load_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML or TOML config file into plain data."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"{p}: cannot parse config ({_short(exc)}); fix the TOML syntax") from None
        except ValueError:  # an integer of more than 4,300 digits: no setting takes one
            raise ConfigError(f"{p}: a number has more digits than any setting allows; use a number in the "
                              "setting's range (see facerisk run --help and README 'Configuration')") from None
    else:
        data = read_yaml(p, "config") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections")
    for key, value in data.items():
        if key in _SECTIONS and not isinstance(value, dict):
            raise ConfigError(f"{p}: {key} must be a section (key: value lines under it), got {value!r}")
    return data


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # unhashable keys are refused by the base constructor, with its own message
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice (line {seen[key] + 1} and line {key_node.start_mark.line + 1}); "
                            "keep one", None)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, lambda lo, n: _strict_mapping(lo, n))


def _int_or_huge(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """PyYAML's int, or a :class:`HugeNumber` for one beyond Python's 4,300-digit conversion limit (PyYAML would
    raise a bare ValueError that names neither the file nor the setting)."""
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        return HugeNumber(str(node.value))


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int_or_huge)


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` that also refuses duplicated keys (a setting given twice must not silently lose one)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass: no Python tags


def read_yaml(path: str | os.PathLike, what: str = "file") -> Any:
    """Parse a YAML file safely (no Python tags, no duplicated keys); any failure is one ConfigError naming the file."""
    p = Path(path)
    try:
        return safe_yaml(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: {what} is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"{p}: cannot parse {what} (nested too deeply); write at most a few levels of "
                          "sections and lists") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: cannot parse {what} ({_short(exc)}){_yaml_fix(exc)}") from None


def _yaml_fix(exc: yaml.YAMLError) -> str:
    """The fix for a YAML error: a Python tag is refused by design, anything else is a syntax mistake."""
    if "python/" in str(exc) or "!!" in str(getattr(exc, "problem", "") or ""):
        return "; remove the !! tag: facerisk reads plain YAML only (no Python objects)"
    return "; fix the YAML syntax at the line shown"


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``section.key=value`` override; the value is parsed as YAML (so 1e-3, [a, b], true work)."""
    if "=" not in assignment:
        raise ConfigError(f"override {assignment!r} must look like section.key=value")
    key, raw = assignment.split("=", 1)
    try:
        value = safe_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        if raw.strip()[:1] in ("[", "{"):  # meant as a list or mapping: say why it did not parse
            raise ConfigError(f"override {assignment!r}: cannot parse the value ({_short(exc)}); write e.g. "
                              "key=[1e-3, 1e-4] or key={a: 1}") from None
        value = raw
    parts = key.strip().split(".")
    if not all(p.strip() for p in parts):
        raise ConfigError(f"override {assignment!r}: the key {key.strip()!r} has an empty part; write "
                          "section.key=value, e.g. --set metrics.bootstrap=2000")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {assignment!r}: {part} is not a section")
    node[parts[-1]] = value


def load(path: str | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load a config file (optional), apply CLI overrides, validate."""
    data = load_file(path) if path else {}
    for o in overrides or []:
        apply_override(data, o)
    return from_dict(data)
