"""bench.json: build, validate against ``bench.schema.json``, write atomically, read back with clear errors.

The schema is documented field by field in ``reports/BENCH_SCHEMA.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import FaceriskError

SCHEMA_VERSION = "bench/1.0"
SCHEMA_FILE = Path(__file__).with_name("bench.schema.json")


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def validate(doc: dict[str, Any], where: str = "bench.json") -> None:
    """Raise FaceriskError naming the first field that breaks the schema."""
    import jsonschema

    try:
        jsonschema.validate(doc, schema())
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise FaceriskError(f"{where}: not a valid bench result at {path}: {exc.message}") from None


def _clean(obj: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to null."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj


def write(doc: dict[str, Any], path: str | Path) -> Path:
    """Validate and write ``doc`` atomically (a failed write leaves any earlier file untouched)."""
    from harness.cache import atomic_write_text

    doc = _clean(doc)
    validate(doc, str(path))
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=False))
    except OSError as exc:
        raise FaceriskError(f"{path}: cannot write the bench result ({exc.strerror or exc}); free space or "
                            "choose another --out") from None
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate one bench.json."""
    p = Path(path)
    if p.is_dir():
        p = p / "bench.json"
    if not p.is_file():
        raise FaceriskError(f"{path}: no bench.json there (write one with 'facerisk bench --out FILE')")
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FaceriskError(f"{p}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        raise FaceriskError(f"{p}: not a bench result of schema {SCHEMA_VERSION} "
                            f"(found {doc.get('schema_version') if isinstance(doc, dict) else type(doc).__name__})")
    validate(doc, str(p))
    doc["_path"] = str(p)
    return doc


def variant_key(models: dict[str, Any]) -> str:
    """A model variant: detector + embedder names with their parameters and weight hashes (short)."""
    import hashlib

    blob = json.dumps(models, sort_keys=True, default=str)
    det, emb = models.get("detector", {}), models.get("embedder", {})
    return f"{det.get('name')}+{emb.get('name')}#{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def accuracy_from_run(run_dir: str | Path, bench_models: dict[str, Any]) -> dict[str, Any]:
    """The overall accuracy rows of a run's results.json, and whether its models are the bench's models.

    Match is decided on the detector and embedder names and their weight hashes (parameters that
    differ, e.g. upsample, are listed); a mismatch is reported, not hidden.
    """
    p = Path(run_dir)
    f = p / "results.json" if p.is_dir() else p
    if not f.is_file():
        raise FaceriskError(f"--run {run_dir}: no results.json there (a run directory from 'facerisk run')")
    try:
        res = json.loads(f.read_text())
    except json.JSONDecodeError as exc:
        raise FaceriskError(f"{f}: not readable JSON ({exc})") from None
    models = (res.get("provenance") or {}).get("models") or {}
    diffs = []
    for side in ("detector", "embedder"):
        a, b = models.get(side) or {}, bench_models.get(side) or {}
        for k in sorted(set(a) | set(b)):
            if k in ("multi_face",):
                continue
            if a.get(k) != b.get(k):
                diffs.append(f"{side}.{k}: run {a.get(k)!r} vs bench {b.get(k)!r}")
    overall = [g for g in res.get("groups", []) if g.get("slice") == "all"]
    rows = [{k: g.get(k) for k in ("threshold_id", "fmr", "fmr_lo", "fmr_hi", "fnmr", "fnmr_lo", "fnmr_hi", "fta",
                                    "n_subjects", "n_genuine", "n_impostor")} for g in overall]
    return {"run": str(f), "run_name": res.get("run_name"), "dataset": ((res.get("provenance") or {}).get("dataset")
                                                                        or {}).get("name"),
            "same_models": not diffs, "differences": diffs, "overall": rows,
            "capture": (res.get("capture") or {}).get("name") if isinstance(res.get("capture"), dict) else None}
