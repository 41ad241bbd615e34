"""Evidence bundles: one archive per run that a third party can check and recompute.

``facerisk bundle RUN`` writes ``RUN.bundle.zip`` holding

- ``run/``: every file of the run directory (results.json, every CSV, report.html);
- ``config.json`` (the resolved configuration), ``dataset.json`` (dataset name, manifest sha256 and
  the sha256 of every image used, from acquisitions.csv), ``models.json`` (detector and embedder
  provenance with weight hashes), ``environment.json`` (packages, machine, git state of the run and
  of the bundling process), ``command.json`` (the exact command line of the run, as recorded in
  ``provenance.command`` by the process that wrote the report, and of ``facerisk bundle``);
- ``MANIFEST.json``: the sha256 of every other member and the run's fingerprint.

``facerisk verify BUNDLE`` re-checks every hash (a changed byte fails, naming the file), checks the
fingerprint printed in report.html, and recomputes every metrics table from the bundled
``pairs.csv`` and ``acquisitions.csv`` through the metrics functions, reporting every difference.
``facerisk diff A B`` lists every setting and number that differs between two runs or bundles.

The *fingerprint* is the first 16 hex digits of the sha256 of the sorted ``sha256  name`` lines of
the run's files other than report.html (which prints it, so cannot be part of it).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

from harness.errors import FaceriskError

MANIFEST = "MANIFEST.json"
RUN = "run/"
FINGERPRINT_EXCLUDE = frozenset({"report.html"})
#: Tables recomputed by verify, and the columns that identify a row (for diff).
TABLE_KEYS: dict[str, list[str]] = {
    "groups": ["threshold_id", "slice", "group"],
    "disparity": ["threshold_id", "slice", "metric"],
    "summaries": ["threshold_id", "slice", "summary"],
    "same_group": ["threshold_id", "slice", "group"],
    "cross_group": ["threshold_id", "slice", "enrol_group", "probe_group"],
    "per_group_thresholds": ["threshold_id", "slice", "group"],
    "identification": ["threshold_id", "slice", "group"],
    "gallery_size": ["threshold_id", "slice", "group", "gallery_size"],
    "cmc": ["slice", "group", "rank"],
    "det_bands": ["slice", "group", "threshold"],
    "projection": ["threshold_id", "slice", "group", "watchlist_size"],
}
#: Results keys that change between identical runs (time, machine load, cache state).
VOLATILE = ("created_utc", "provenance.timings_s", "provenance.acquisition", "provenance.capture_acquisition",
            "provenance.command", "provenance.machine", "files")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint_of(hashes: dict[str, str]) -> str:
    """Fingerprint of a run from ``{file name: sha256}`` (report.html left out)."""
    lines = "".join(f"{h}  {n}\n" for n, h in sorted(hashes.items()) if n not in FINGERPRINT_EXCLUDE)
    return sha256_bytes(lines.encode())[:16]


def fingerprint(folder: str | Path) -> str:
    """Fingerprint of a run directory (every regular file but report.html)."""
    folder = Path(folder)
    return fingerprint_of({p.name: sha256_bytes(p.read_bytes()) for p in sorted(folder.iterdir())
                           if p.is_file() and p.name not in FINGERPRINT_EXCLUDE})


def _run_dir(path: str | Path) -> Path:
    p = Path(path)
    if not (p / "results.json").is_file():
        raise FaceriskError(f"{p}: not a run directory (no results.json); pass reports/<name>")
    return p


def _environment() -> dict[str, Any]:
    from harness import __version__, provenance

    return {"facerisk": __version__, "python": sys.version, "platform": platform.platform(),
            "packages": provenance.package_versions(), "git": provenance.git_state()}


def bundle(run: str | Path, out: Optional[str | Path] = None) -> Path:
    """Write the evidence bundle of a run directory; returns the archive's path."""
    run = _run_dir(run)
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    prov = results.get("provenance") or {}
    members: dict[str, bytes] = {}
    for p in sorted(run.iterdir()):
        if p.is_file():
            members[RUN + p.name] = p.read_bytes()
    images = []
    acq = run / "acquisitions.csv"
    if acq.is_file():
        frame = pd.read_csv(acq, dtype=str, keep_default_na=False)
        if {"image", "sha256"} <= set(frame.columns):
            images = [{"image": i, "sha256": s} for i, s in zip(frame["image"], frame["sha256"])]
    dataset = dict(prov.get("dataset") or {})
    dataset["images"] = images
    extra = {
        "config.json": prov.get("config"),
        "dataset.json": dataset,
        "models.json": prov.get("models"),
        "environment.json": {"run": {"packages": prov.get("packages"), "machine": prov.get("machine"),
                                     "git": prov.get("git")}, "bundle": _environment()},
        "command.json": {"run": prov.get("command"),
                         "bundle": {"argv": list(sys.argv), "cwd": os.getcwd()}},
    }
    for name, doc in extra.items():
        members[name] = (json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n").encode()
    run_hashes = {n[len(RUN):]: sha256_bytes(b) for n, b in members.items() if n.startswith(RUN)}
    manifest = {"format": "facerisk-bundle/1", "run_name": results.get("run_name"),
                "fingerprint": fingerprint_of(run_hashes),
                "files": {n: sha256_bytes(b) for n, b in sorted(members.items())}}
    out = Path(out) if out else run.parent / f"{run.name}.bundle.zip"
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(members.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data)
        z.writestr(zipfile.ZipInfo(MANIFEST, date_time=(2000, 1, 1, 0, 0, 0)),
                   json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- reading bundles


def read_members(path: str | Path) -> tuple[dict[str, bytes], list[str]]:
    """Every member of a bundle (zip archive or extracted folder) and read problems, by member name."""
    p = Path(path)
    problems: list[str] = []
    members: dict[str, bytes] = {}
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                members[f.relative_to(p).as_posix()] = f.read_bytes()
        return members, problems
    if not p.is_file():
        raise FaceriskError(f"{p}: no such bundle; make one with 'facerisk bundle reports/<name>'")
    try:
        z = zipfile.ZipFile(p)
    except zipfile.BadZipFile as exc:
        raise FaceriskError(f"{p}: not a readable bundle archive ({exc})") from None
    with z:
        for info in z.infolist():
            try:
                members[info.filename] = z.read(info)
            except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError: a changed byte in this member
                problems.append(f"{info.filename}: cannot be read back ({exc}): the file was changed")
    return members, problems


@dataclass
class Verification:
    """What ``facerisk verify`` found: problems (hash/fingerprint), table differences, notes."""

    problems: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_files: int = 0
    recomputed_tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


def verify(path: str | Path, recompute: bool = True) -> Verification:
    """Re-check every hash of a bundle and recompute its tables from the bundled score file."""
    v = Verification()
    members, v.problems = read_members(path)
    if MANIFEST not in members:
        v.problems.append(f"{MANIFEST}: missing (not a facerisk bundle)")
        return v
    try:
        manifest = json.loads(members[MANIFEST])
    except ValueError as exc:
        v.problems.append(f"{MANIFEST}: not valid JSON ({exc}): the file was changed")
        return v
    listed = manifest.get("files") or {}
    for name, want in sorted(listed.items()):
        if name not in members:
            if not any(p.startswith(name + ":") for p in v.problems):
                v.problems.append(f"{name}: listed in the manifest but missing from the bundle")
            continue
        got = sha256_bytes(members[name])
        v.checked_files += 1
        if got != want:
            v.problems.append(f"{name}: sha256 {got[:12]}… differs from the manifest's {want[:12]}…: the file was "
                              "changed")
    for name in sorted(set(members) - set(listed) - {MANIFEST}):
        v.problems.append(f"{name}: in the bundle but not in the manifest")
    run_files = {n[len(RUN):]: b for n, b in members.items() if n.startswith(RUN)}
    fp = fingerprint_of({n: sha256_bytes(b) for n, b in run_files.items()})
    if fp != manifest.get("fingerprint"):
        v.problems.append(f"{MANIFEST}: fingerprint {manifest.get('fingerprint')} does not match the run files ({fp})")
    report = run_files.get("report.html", b"")
    if report and fp.encode() not in report:
        v.problems.append(f"{RUN}report.html: does not carry the run's fingerprint {fp}")
    if recompute and "results.json" in run_files and "pairs.csv" in run_files:
        try:
            _recompute(run_files, v)
        except (ValueError, KeyError) as exc:
            v.problems.append(f"{RUN}pairs.csv: tables could not be recomputed ({exc})")
    return v


def recompute_tables(pairs_csv: bytes, acq_csv: Optional[bytes], results: dict,
                     matched_bootstrap: Optional[bool] = None, recalibrate: Optional[bool] = None
                     ) -> dict[str, pd.DataFrame]:
    """Every metrics table of a run, recomputed from its score file with its own settings and thresholds.

    ``matched_bootstrap`` / ``recalibrate``: whether the run bootstrapped its matched-impostor pairs and
    re-fitted thresholds per replicate (read off its files by :func:`verify`; default: from its config).
    """
    from harness import config as config_mod
    from harness.metrics.analysis import analyse, resolve_slices
    from harness.metrics.interop import acquisitions_from_pairs, read_scores
    from harness.metrics.projection import project
    from harness.metrics.rates import Threshold

    cfg_dict = dict((results.get("provenance") or {}).get("config") or {})
    cfg = config_mod.from_dict(_known_config(cfg_dict))
    m = cfg.metrics
    import tempfile

    from harness.errors import DatasetError

    with tempfile.TemporaryDirectory(prefix="facerisk-verify-") as d:
        (Path(d) / "pairs.csv").write_bytes(pairs_csv)
        try:
            pairs = read_scores(Path(d) / "pairs.csv", m.score)
        except DatasetError as exc:  # a changed score file is a verification finding (exit 1), not bad input
            raise ValueError(str(exc).replace(str(Path(d) / "pairs.csv") + ": ", "")) from None
    warns: list[str] = []
    if acq_csv is not None:
        acq = pd.read_csv(io.BytesIO(acq_csv), dtype={"subject_id": str}, keep_default_na=False, na_values=["", "NA"])
        acq["ok"] = acq["ok"].astype(str).str.lower().isin(["true", "1"])
    else:
        attrs_raw = [c[len("probe_"):] for c in pairs.columns if c.startswith("probe_") and c != "probe_subject"
                     and not c.endswith("_band") and c != "probe_image"]
        acq = acquisitions_from_pairs(pairs, attrs_raw)
    _, slices = resolve_slices(pairs, m.attributes, m.intersections, m.bins, warns, prefixes=("probe_", "enrol_"))
    resolve_slices(acq, [a for a in m.attributes if a in acq.columns], [], m.bins, [])
    fields = set(Threshold.__dataclass_fields__)
    thresholds = [Threshold(**{k: v for k, v in t.items() if k in fields}) for t in results["thresholds"]]
    a = analyse(pairs, acq, thresholds, slices, side=m.group_side, confidence=m.confidence,
                min_subjects=m.min_subjects, small_subjects=m.small_subjects, replicates=m.bootstrap,
                seed=cfg.seed, impostors=cfg.protocol.impostors,
                match_on=cfg.protocol.match_on if matched_bootstrap in (None, True) else (),
                recalibrate=bool(getattr(m, "recalibrate", False)) if recalibrate is None else recalibrate)
    a.projection = project(pairs, thresholds, slices, cfg.projection.watchlist_sizes,
                           cfg.projection.visitors_per_day, m.bootstrap, cfg.seed, m.confidence)
    return {k: getattr(a, attr) for k, attr in TABLE_ATTRS.items()}


TABLE_ATTRS = {"groups": "groups", "disparity": "disparity", "summaries": "summaries", "same_group": "same_group",
               "cross_group": "crossgroup", "per_group_thresholds": "per_group_thresholds",
               "identification": "identification", "gallery_size": "gallery_size", "cmc": "cmc",
               "det_bands": "det_bands", "projection": "projection"}


def _known_config(data: dict) -> dict:
    """Drop config keys this version does not know (a bundle from a newer facerisk), keep the rest."""
    import dataclasses

    from harness.config import RunConfig

    def prune(obj, d):
        out = {}
        for k, v in (d or {}).items():
            if not hasattr(obj, k):
                continue
            default = getattr(obj, k)
            out[k] = prune(default, v) if dataclasses.is_dataclass(default) and isinstance(v, dict) else v
        return out

    return prune(RunConfig(), data)


def _csv_roundtrip(frame: pd.DataFrame) -> pd.DataFrame:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    buf.seek(0)
    return pd.read_csv(buf, keep_default_na=False, na_values=[""])


def compare_tables(name: str, bundled: pd.DataFrame, fresh: pd.DataFrame, rtol: float = 1e-9,
                   limit: int = 20) -> list[str]:
    """Differences between a bundled CSV table and its recomputation, cell by cell (as CSV reads them)."""
    out = []
    if list(bundled.columns) != list(fresh.columns):
        missing = [c for c in fresh.columns if c not in bundled.columns]
        extra = [c for c in bundled.columns if c not in fresh.columns]
        out.append(f"{name}: columns differ (missing {missing}, unexpected {extra})")
        return out
    if len(bundled) != len(fresh):
        return [f"{name}: {len(bundled)} rows bundled, {len(fresh)} recomputed"]
    n_diff = 0
    for col in bundled.columns:
        a, b = bundled[col], fresh[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = (np.isclose(x, y, rtol=rtol, atol=0) | (np.isnan(x) & np.isnan(y))
                    | (np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y))))
        else:
            same = ((a.astype(str) == b.astype(str)) | (a.isna() & b.isna())).to_numpy()
        for i in np.flatnonzero(~same):
            n_diff += 1
            if n_diff <= limit:
                out.append(f"{name}: row {i + 2} column {col}: bundled {a.iloc[i]!r}, recomputed {b.iloc[i]!r}")
    if n_diff > limit:
        out.append(f"{name}: … {n_diff - limit} more differing cells")
    return out


def _recompute(run_files: dict[str, bytes], v: Verification) -> None:
    results = json.loads(run_files["results.json"])
    from harness import __version__, provenance

    made = ((results.get("provenance") or {}).get("git") or {}).get("commit")
    now = provenance.git_state().get("commit")
    if made and now and made != now:
        v.notes.append(f"the run was made at commit {made[:12]} and is recomputed with commit {now[:12]}: a difference "
                       "may come from a change of code, not of data")
    if results.get("facerisk_version") != __version__:
        v.notes.append(f"made with facerisk {results.get('facerisk_version')}, recomputed with {__version__}")
    # Mirror what the run did (its files say), so a version of the pipeline that did not pass an option
    # is recomputed the same way rather than reported as different.
    header = run_files.get("groups.csv", b"").split(b"\n", 1)[0].decode()
    fresh = recompute_tables(run_files["pairs.csv"], run_files.get("acquisitions.csv"), results,
                             matched_bootstrap="summaries.csv" in run_files, recalibrate="fmr_recal_lo" in header)
    for name, frame in fresh.items():
        fname = f"{name}.csv"
        if fname not in run_files:
            if len(frame):
                v.differences.append(f"{RUN}{fname}: missing, but recomputation gives {len(frame)} rows")
            continue
        bundled = pd.read_csv(io.BytesIO(run_files[fname]), keep_default_na=False, na_values=[""])
        v.differences.extend(f"{RUN}{d}" for d in compare_tables(fname, bundled, _csv_roundtrip(frame)))
        v.recomputed_tables.append(fname)
    if "sweep.csv" in run_files:
        v.notes.append("sweep.csv is not recomputed: each sweep step's scores need the images and models")


# --------------------------------------------------------------------------- diff


def load_results(path: str | Path) -> dict:
    """results.json of a run directory or a bundle."""
    p = Path(path)
    if not p.exists():
        raise FaceriskError(f"{p}: not found (give a run directory, e.g. reports/<name>, or a bundle .zip)")
    for f in (p / "results.json", p / RUN / "results.json"):
        if p.is_dir() and f.is_file():
            return _parse_results(f.read_bytes(), f)
    if p.is_dir():
        raise FaceriskError(f"{p}: not a run directory or an unpacked bundle (no results.json)")
    members, problems = read_members(p)
    if RUN + "results.json" not in members:
        raise FaceriskError(f"{p}: neither a run directory nor a bundle (no results.json)")
    return _parse_results(members[RUN + "results.json"], f"{p}:{RUN}results.json")


def _parse_results(blob: bytes, where) -> dict:
    try:
        doc = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FaceriskError(f"{where}: damaged results.json ({type(exc).__name__}); rerun or restore it") from None
    if not isinstance(doc, dict):
        raise FaceriskError(f"{where}: results.json is not a facerisk results document")
    return doc


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list) and obj and not all(isinstance(x, dict) for x in obj):
        out[prefix] = obj
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = obj
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _records_by_key(records: Iterable[dict], keys: list[str]) -> dict[tuple, dict]:
    return {tuple(r.get(k) for k in keys): r for r in records or []}


def diff(a: dict, b: dict) -> dict[str, list[str]]:
    """Every setting and number that differs between two results documents, by section.

    Sections: ``settings`` (the resolved configuration), ``thresholds``, ``protocol``, ``capture``,
    ``models``, ``dataset``, one per table (rows matched by their identifying columns), and
    ``volatile`` (creation time, timings, cache statistics: they differ between identical runs).
    """
    out: dict[str, list[str]] = {}

    def section(name, x, y, skip=()):
        fx, fy = _flatten(x) if x is not None else {}, _flatten(y) if y is not None else {}
        lines = []
        for k in sorted(set(fx) | set(fy)):
            if any(k.startswith(s) for s in skip):
                continue
            if k not in fx:
                lines.append(f"{k}: (absent) → {fy[k]!r}")
            elif k not in fy:
                lines.append(f"{k}: {fx[k]!r} → (absent)")
            elif not _same(fx[k], fy[k]):
                lines.append(f"{k}: {fx[k]!r} → {fy[k]!r}")
        if lines:
            out[name] = lines

    pa, pb = a.get("provenance") or {}, b.get("provenance") or {}
    section("settings", pa.get("config"), pb.get("config"))
    section("thresholds", {t["id"]: t for t in a.get("thresholds") or []},
            {t["id"]: t for t in b.get("thresholds") or []})
    section("protocol", a.get("protocol"), b.get("protocol"))
    section("acquisition", a.get("acquisition"), b.get("acquisition"))
    section("capture", a.get("capture"), b.get("capture"))
    section("models", pa.get("models"), pb.get("models"))
    section("dataset", pa.get("dataset"), pb.get("dataset"))
    section("packages", pa.get("packages"), pb.get("packages"))
    for table, keys in TABLE_KEYS.items():
        ra, rb = _table(a, table), _table(b, table)
        ka, kb = _records_by_key(ra, keys), _records_by_key(rb, keys)
        lines = []
        for key in sorted(set(ka) | set(kb), key=str):
            label = " / ".join(str(x) for x in key)
            if key not in ka:
                lines.append(f"[{label}]: only in B")
                continue
            if key not in kb:
                lines.append(f"[{label}]: only in A")
                continue
            for col in sorted(set(ka[key]) | set(kb[key])):
                x, y = ka[key].get(col), kb[key].get(col)
                if not _same(x, y):
                    lines.append(f"[{label}] {col}: {x!r} → {y!r}")
        if lines:
            out[table] = lines
    vol = []
    for k in VOLATILE:
        x, y = _get(a, k), _get(b, k)
        if not _same(x, y):
            vol.append(k)
    if vol:
        out["volatile"] = [f"{k} differs (expected between runs)" for k in vol]
    return out


def _get(doc: dict, dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _table(doc: dict, name: str) -> list[dict]:
    if name in ("gallery_size", "cmc"):
        return (doc.get("identification") or {}).get(name) or []
    if name == "identification":
        return (doc.get("identification") or {}).get("searches") or []
    if name == "projection":
        return (doc.get("projection") or {}).get("rows") or []
    return doc.get(name) or []
