"""Report stage: write a run directory (results.json, CSV tables, self-contained report.html).

The run directory is assembled in a temporary sibling and renamed into place, so a killed
run never leaves a half-written report under the final name.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness import __version__
from harness.provenance import now_utc
from harness.report import plots
from harness.report.brief import brief, pct

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf to null, numpy scalars to Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if obj is pd.NA:
        return None
    return obj


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _clean(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


def build_results(res, files: dict[str, str]) -> dict[str, Any]:
    """The results.json document (schema: harness/report/results.schema.json, doc: reports/SCHEMA.md)."""
    acq = res.acquisitions
    pairs = res.pairs
    reasons = acq.loc[~acq["ok"], "reason"].value_counts().to_dict()
    timings = dict(res.timings)
    for stage in ("load", "detect", "embed"):
        col = acq.loc[~acq["cached"], f"t_{stage}"]
        timings[f"per_image_{stage}_mean"] = float(col.mean()) if len(col) else None
    p = res.config.protocol
    a = res.analysis
    return _clean({
        "schema_version": SCHEMA_VERSION,
        "facerisk_version": __version__,
        "created_utc": now_utc(),
        "run_name": res.config.name,
        "protocol": {
            "split_column": p.split_column, "enrol_value": p.enrol_value, "probe_value": p.probe_value,
            "impostors": p.impostors, "match_on": p.match_on if p.impostors == "matched" else [],
            "group_side": res.config.metrics.group_side, "score": res.config.metrics.score,
            "n_enrol_images": int((acq["role"] == "enrol").sum()),
            "n_probe_images": int((acq["role"] == "probe").sum()),
            "n_subjects": int(acq["subject_id"].nunique()),
            "n_genuine": int(pairs["genuine"].sum()), "n_impostor": int((~pairs["genuine"]).sum()),
            "slices": [" × ".join(s) for s in res.slices],
        },
        "acquisition": {
            "n_images": len(acq), "n_failed": int((~acq["ok"]).sum()), "failure_reasons": reasons,
            "interocular_px_median": float(acq["interocular_px"].dropna().median()) if acq["ok"].any() else None,
        },
        "thresholds": [t.to_dict() for t in res.thresholds],
        "groups": _records(res.groups),
        "disparity": _records(res.disparity),
        "summaries": _records(a.summaries),
        "cross_group": _records(a.crossgroup),
        "per_group_thresholds": _records(a.per_group_thresholds),
        "identification": {
            "searches": _records(a.identification),
            "gallery_size": _records(a.gallery_size),
            "cmc": _records(a.cmc),
        },
        "bootstrap": {"replicates": res.config.metrics.bootstrap, "seed": res.config.seed,
                      "method": "subject-clustered, stratified by group, percentile intervals"},
        "capture": res.provenance.get("capture"),
        "sweep": _records(res.sweep) if res.sweep is not None else None,
        "warnings": res.warnings,
        "provenance": {**res.provenance, "timings_s": timings},
        "attribution": res.dataset.card.attribution if res.dataset.card else None,
        "files": files,
    })


def _img(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _html(results: dict[str, Any], res) -> str:
    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(["html"]))
    env.filters["pct"] = pct
    groups = res.groups
    side = res.config.metrics.group_side
    sections = []
    for attrs in res.slices:
        name = " × ".join(attrs)
        frame = groups[groups["slice"] == name]
        statuses = dict(zip(frame["group"], frame["status"]))
        a = res.analysis
        bands = a.det_bands[a.det_bands["slice"] == name] if len(a.det_bands) else a.det_bands
        if len(bands):
            curves = {g: tuple(sub[c].to_numpy() for c in ("fmr", "fnmr", "fmr_lo", "fmr_hi", "fnmr_lo", "fnmr_hi"))
                      for g, sub in bands.groupby("group")}
            det = plots.det_band_plot(curves, statuses, res.thresholds, f"DET by {name} (bands: subject bootstrap)")
        else:
            det = plots.det_plot(res.pairs, attrs, side, res.thresholds, statuses, f"DET by {name}")
        heat_tid = res.thresholds[0].id
        cross = a.crossgroup[(a.crossgroup["slice"] == name) & (a.crossgroup["threshold_id"] == heat_tid)] \
            if len(a.crossgroup) else a.crossgroup
        sections.append({
            "name": name,
            "rows": _records(frame),
            "fmr_plot": _img(plots.rate_bars(frame, "fmr", f"False match rate by {name}")),
            "det_plot": _img(det),
            "heatmap": _img(plots.heatmap(cross, f"Cross-group FMR by {name} at {heat_tid}")) if len(cross) else None,
            "hist_plot": _img(plots.score_hist(res.pairs, attrs, side, res.config.metrics.score, res.thresholds)),
            "summaries": _records(a.summaries[a.summaries["slice"] == name]) if len(a.summaries) else [],
            "pgt": _records(a.per_group_thresholds[a.per_group_thresholds["slice"] == name])
            if len(a.per_group_thresholds) else [],
            "ident": _records(a.identification[a.identification["slice"] == name]) if len(a.identification) else [],
            "gallery_plot": _img(plots.gallery_size_plot(
                a.gallery_size[(a.gallery_size["slice"] == name) & (a.gallery_size["threshold_id"] == heat_tid)],
                f"Watchlist false alarms by {name} at {heat_tid}")) if len(a.gallery_size) and len(attrs) == 1 else None,
        })
    overall = _records(groups[groups["slice"] == "all"])
    sweep_plots = []
    if res.sweep is not None and len(res.sweep):
        tid = res.thresholds[-1].id if res.thresholds else None  # the fixed threshold a deployment would use
        for attrs in [[]] + [a for a in res.slices if len(a) == 1]:
            name = " × ".join(attrs) or "all"
            sweep_plots.append({"name": name, "img": _img(plots.sweep_plot(res.sweep, name, tid))})
    return env.get_template("report.html").render(
        r=results, brief=brief(results, groups), sections=sections, overall=overall, sweep_plots=sweep_plots,
        provenance_json=json.dumps(results["provenance"], indent=2, default=str),
    )


def write(res, reports_dir: str | Path, name: str | None = None) -> Path:
    """Write the run directory and return its path."""
    from harness.rundir import run_dir

    reports_dir = Path(reports_dir)
    name = name or res.config.name or default_name(res.config)
    res.config.name = name
    final = run_dir(reports_dir, name)  # validated: a direct child that is absent or an earlier run
    reports_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=reports_dir, prefix=f".{name}."))
    try:
        files = {"pairs": "pairs.csv", "groups": "groups.csv", "disparity": "disparity.csv",
                 "acquisitions": "acquisitions.csv", "report": "report.html", "results": "results.json"}
        keep = [c for c in res.pairs.columns if c != "score"]
        res.pairs[keep].to_csv(tmp / files["pairs"], index=False)  # full precision: recomputable
        files.update(write_tables(res.analysis, tmp))
        if res.sweep is not None:
            files["sweep"] = "sweep.csv"
            res.sweep.to_csv(tmp / files["sweep"], index=False)
        res.acquisitions.to_csv(tmp / files["acquisitions"], index=False)
        results = build_results(res, files)
        (tmp / files["results"]).write_text(json.dumps(results, indent=2, allow_nan=False), encoding="utf-8")
        (tmp / files["report"]).write_text(_html(results, res), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report is meant to be shared
        old = None
        if final.exists():
            old = reports_dir / f".{name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_tables(a, folder: Path) -> dict[str, str]:
    """Write every non-empty table of an :class:`~harness.metrics.analysis.Analysis` as CSV."""
    files = {}
    for key, table in (("groups", a.groups), ("disparity", a.disparity), ("summaries", a.summaries),
                       ("cross_group", a.crossgroup), ("per_group_thresholds", a.per_group_thresholds),
                       ("identification", a.identification), ("gallery_size", a.gallery_size), ("cmc", a.cmc),
                       ("det_bands", a.det_bands)):
        if len(table):
            files[key] = f"{key}.csv"
            table.to_csv(Path(folder) / files[key], index=False)
    return files


def default_name(cfg) -> str:
    from harness.rundir import default_name as _default

    return _default(cfg)
