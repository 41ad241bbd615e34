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
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness import __version__
from harness.provenance import now_utc
from harness.compare import columnar
from harness.protocols import report as protocol_report
from harness.report import heat, labels, plots
from harness.report.brief import brief, pct

SCHEMA_VERSION = "1.1"
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
    """Rows as JSON objects under the 0/0 convention: NaN -> null; +inf -> null with the key listed
    in the row's ``unbounded`` array (JSON has no infinity, and an unbounded limit is never a number)."""
    names = [str(c) for c in frame.columns]
    if not names:
        return [{} for _ in range(len(frame))]
    columns, pos_inf = [], []
    for j in range(frame.shape[1]):
        s = frame.iloc[:, j]
        dt = s.dtype
        if isinstance(dt, np.dtype) and dt.kind in "fiub":  # column at a time: this was a tenth of a re-run
            a = s.to_numpy()
            vals = a.tolist()
            if dt.kind == "f":
                for i in np.flatnonzero(~np.isfinite(a)):
                    vals[i] = None
                pos_inf.append(np.isposinf(a))
            else:
                pos_inf.append(None)
        else:
            raw = s.astype(object).where(s.notna(), None).tolist()
            pos_inf.append(np.array([isinstance(v, (float, np.floating)) and math.isinf(v) and v > 0 for v in raw],
                                    dtype=bool))
            vals = [_clean(v) for v in raw]
        columns.append(vals)
    flagged = [(names[j], m) for j, m in enumerate(pos_inf) if m is not None and m.any()]
    out = []
    for i, row in enumerate(zip(*columns)):
        rec = dict(zip(names, row))
        inf = [k for k, m in flagged if m[i]]
        if inf:
            rec["unbounded"] = inf
        out.append(rec)
    return out


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
            "kind": getattr(p, "kind", "split"), "fusion": getattr(p, "fusion", "none"),
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
        "same_group": _records(a.same_group),
        "projection": {"rows": _records(a.projection), "assumptions": list(_projection_assumptions()),
                       "watchlist_sizes": list(res.config.projection.watchlist_sizes),
                       "visitors_per_day": res.config.projection.visitors_per_day},
        "multiplicity": _multiplicity(a.summaries, res.config.metrics),
        "conventions": CONVENTIONS,
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
        "provenance": {**res.provenance, "timings_s": timings,
                       # The process writing the report is the one the user started: its argv is the command.
                       "command": res.provenance.get("command") or {"argv": list(sys.argv), "cwd": os.getcwd()}},
        "attribution": res.dataset.card.attribution if res.dataset.card else None,
        "files": files,
    })


CONVENTIONS = {
    "no_trials": "a rate with no trials (0/0) is undefined: NaN in CSV, null in JSON, 'n/a (no trials)' on the page",
    "zero_over_zero": "a ratio or index of zero errors over zero errors is undefined (never 1): NaN / null / "
                      "'undefined'",
    "x_over_zero": "a ratio x/0 with x > 0 is unbounded: +inf in CSV, null with the key named in the row's "
                   "'unbounded' array in JSON, 'unbounded' on the page",
    "intervals": "fmr_ci_lo/hi and fnmr_ci_lo/hi (the headline) are subject-bootstrap percentile intervals widened to "
                 "the exact pair-level interval where that is wider; fmr_lo/hi, fnmr_lo/hi are pair-level "
                 "Clopper-Pearson; *_boot_lo/hi the bootstrap alone",
    "people": "n_people counts the people who produced trials; status (insufficient/small) is decided by it",
}


def _projection_assumptions():
    from harness.metrics.projection import ASSUMPTIONS

    return ASSUMPTIONS


def _multiplicity(summaries: pd.DataFrame, m) -> dict[str, Any]:
    n = int(summaries["n_tests"].iloc[0]) if len(summaries) and "n_tests" in summaries else 0
    return {"n_tests": n, "method": "Holm-Bonferroni over every fixed-group ratio test of the run",
            "headline_verdicts": "holm" if getattr(m, "holm", False) else "per-test",
            "statement": (f"{n} ratio tests; the highest and lowest groups are chosen after looking at the data, so at "
                          "95% each about 1 in 20 could read 'disparity' by chance. verdict_holm allows for that.")}


def _img(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _render_plot(jobs: list, i: int) -> bytes:
    fn, args = jobs[i]
    return fn(*args)


class _Plots:
    """Plot calls collected while the page is assembled, then drawn together.

    Drawing the PNGs is most of a cached re-run's report time and each plot is independent, so they are
    drawn in the run's ``workers`` processes (forked: the inputs are inherited, only the PNG bytes travel back).
    Each call returns a placeholder that :meth:`fill` swaps for the image once drawn; the placeholder
    carries a per-page random nonce so no text from the data can be mistaken for one.
    """

    def __init__(self, cache=None) -> None:
        self.jobs: list = []
        self.nonce = os.urandom(8).hex()
        #: A :class:`harness.report.plotcache.PlotCache`, or None: then every plot is drawn.
        self.cache = cache

    def __call__(self, fn, *args) -> str:
        self.jobs.append((fn, args))
        return f"facerisk-plot-{self.nonce}-{len(self.jobs) - 1}-end"

    def fill(self, html: str, workers: int) -> str:
        from harness.executors.local import LocalPool, resolve_workers

        pngs, keys = {}, {}
        if self.cache is not None and self.cache.enabled:
            from harness.report.plotcache import plot_key

            for i, (fn, args) in enumerate(self.jobs):
                keys[i] = plot_key(fn, args)
                hit = self.cache.get(keys[i])
                if hit is not None:
                    pngs[i] = hit
        todo = [i for i in range(len(self.jobs)) if i not in pngs]
        if todo:
            with LocalPool(resolve_workers(workers, len(todo))) as pool:
                drawn = {todo[pos]: png for pos, png in pool.run(_render_plot, todo, self.jobs)}
            for i, png in drawn.items():
                if self.cache is not None:
                    self.cache.put(keys.get(i), png)
            pngs.update(drawn)
        for i, png in pngs.items():
            html = html.replace(f"facerisk-plot-{self.nonce}-{i}-end", _img(png))
        return html


def _plot_cache(cfg):
    from harness.report.plotcache import PlotCache, plot_cache_root

    return PlotCache(plot_cache_root(cfg.cache_dir), enabled=cfg.use_cache)


def _sub(frame: pd.DataFrame, **eq) -> pd.DataFrame:
    if not len(frame):
        return frame
    sel = np.ones(len(frame), dtype=bool)
    for k, v in eq.items():
        sel &= (frame[k] == v).to_numpy()
    return frame[sel]


def _group_rows(frame: pd.DataFrame, tlabel: dict[str, str]) -> list[dict[str, Any]]:
    """Per-group table rows, formatted (0/0 and x/0 convention), with human labels."""
    rows = []
    for r in _records(frame):
        rows.append({
            "threshold": tlabel.get(r["threshold_id"], r["threshold_id"]), "group": labels.group(r["group"]),
            "status": r["status"], "n_subjects": labels.count(r["n_subjects"]), "n_people": labels.count(r["n_people"]),
            "people_fmr": labels.count(r.get("n_people_fmr")), "people_fnmr": labels.count(r.get("n_people_fnmr")),
            "fm": f"{labels.count(r['n_false_match'])} / {labels.count(r['n_impostor'])}", "fmr": pct(r["fmr"]),
            "fmr_ci": labels.interval(r.get("fmr_ci_lo"), r.get("fmr_ci_hi")),
            "fmr_pair": labels.interval(r["fmr_lo"], r["fmr_hi"]),
            "fnm": f"{labels.count(r['n_false_non_match'])} / {labels.count(r['n_genuine'])}", "fnmr": pct(r["fnmr"]),
            "fnmr_ci": labels.interval(r.get("fnmr_ci_lo"), r.get("fnmr_ci_hi")),
            "fnmr_pair": labels.interval(r["fnmr_lo"], r["fnmr_hi"]),
            "fta": f"{pct(r['fta'])} ({labels.count(r['n_fta'])} / {labels.count(r['n_probe_images'])})",
            "far": pct(r["far"]), "frr": pct(r["frr"]),
        })
    return rows


def _same_rows(frame: pd.DataFrame, tlabel: dict[str, str]) -> list[dict[str, Any]]:
    return [{"threshold": tlabel.get(r["threshold_id"], r["threshold_id"]), "group": labels.group(r["group"]),
             "status": r["status"], "n_people": labels.count(r["n_people"]),
             "fm": f"{labels.count(r['n_false_match'])} / {labels.count(r['n_impostor'])}", "fmr": pct(r["fmr"]),
             "fmr_ci": labels.interval(r.get("fmr_ci_lo"), r.get("fmr_ci_hi")),
             "fmr_pair": labels.interval(r["fmr_lo"], r["fmr_hi"]),
             "fmr_all": f"{pct(r['fmr_all'])} ({labels.count(r['n_false_match_all'])} / "
                        f"{labels.count(r['n_impostor_all'])})"}
            for r in _records(frame)]


def _summary_rows(frame: pd.DataFrame, tlabel: dict[str, str], holm: bool) -> list[dict[str, Any]]:
    rows = []
    for r in _records(frame):
        unb = set(r.get("unbounded") or [])
        val = labels.UNBOUNDED if "value" in unb else labels.ratio(r["value"])
        lo = labels.UNBOUNDED if "lo" in unb else labels.ratio(r["lo"])
        hi = labels.UNBOUNDED if "hi" in unb else labels.ratio(r["hi"])
        groups = ""
        if r.get("max_group"):
            groups = labels.group(r["max_group"]) + (f" ÷ {labels.group(r['min_group'])}" if r.get("min_group") else "")
        rows.append({"threshold": tlabel.get(r["threshold_id"], r["threshold_id"]),
                     "summary": labels.summary_label(r["summary"]), "groups": groups, "value": val,
                     "interval": f"{lo} to {hi}" if r["lo"] is not None or "lo" in unb else "not computed",
                     "parity": f"{r['parity']:g}", "verdict": r["verdict"],
                     "verdict_holm": r.get("verdict_holm") or "", "n_groups": r["n_groups"],
                     "lead": (r.get("verdict_holm") if holm else r["verdict"]) or ""})
    return rows


def _html(results: dict[str, Any], res, fingerprint: str = "") -> str:
    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(["html"]))
    env.filters["pct"] = pct
    env.filters["group"] = labels.group
    groups = res.groups
    side = res.config.metrics.group_side
    a = res.analysis
    holm = bool(getattr(res.config.metrics, "holm", False))
    tlabel = {t.id: labels.threshold_label(t.to_dict()) for t in res.thresholds}
    plot = _Plots(_plot_cache(res.config))
    sections = []
    for attrs in res.slices:
        name = " × ".join(attrs)
        human = labels.slice_label(name)
        frame = groups[groups["slice"] == name]
        statuses = {labels.group(g): s for g, s in zip(frame["group"], frame["status"])}
        people = {labels.group(g): int(n) for g, n in zip(frame["group"], frame["n_people"])}
        any_fnm = bool((frame["n_false_non_match"] > 0).any())
        bands = _sub(a.det_bands, slice=name)
        det = None
        if any_fnm and len(bands):
            curves = {labels.group(g): tuple(sub[c].to_numpy() for c in ("fmr", "fnmr", "fmr_lo", "fmr_hi", "fnmr_lo",
                                                                        "fnmr_hi"))
                      for g, sub in bands.groupby("group")}
            det = plot(plots.det_band_plot, curves, statuses, res.thresholds, f"DET by {human}", people, tlabel)
        heatmaps = []
        for t in res.thresholds:
            cross = _sub(a.crossgroup, slice=name, threshold_id=t.id)
            if len(cross):
                heatmaps.append({"threshold": tlabel[t.id], **heat.table(cross, labels.group)})
        gal = _sub(a.gallery_size, slice=name, threshold_id=res.thresholds[-1].id) if res.thresholds else a.gallery_size
        sections.append({
            "name": human, "raw": name,
            "rows": _group_rows(frame, tlabel),
            "same": _same_rows(_sub(a.same_group, slice=name), tlabel),
            "fmr_plot": plot(plots.rate_bars, frame.assign(group=frame["group"].map(labels.group)), "fmr",
                             f"False match rate by {human}", tlabel),
            "det_plot": det, "no_fnm": not any_fnm,
            "heatmaps": heatmaps,
            "hist_plot": plot(plots.score_hist, res.pairs, attrs, side, res.config.metrics.score, res.thresholds,
                              tlabel, labels.group),
            "summaries": _summary_rows(_sub(a.summaries, slice=name), tlabel, holm),
            "pgt": _records(_sub(a.per_group_thresholds, slice=name)),
            "ident": _records(_sub(a.identification, slice=name)),
            "gallery_plot": plot(plots.gallery_size_plot, gal.assign(group=gal["group"].map(labels.group)),
                                 f"Watchlist false alarms by {human}\n({tlabel[res.thresholds[-1].id]})", people)
            if len(gal) and len(attrs) == 1 else None,
        })
    overall = _group_rows(groups[groups["slice"] == "all"], tlabel)
    proj_rows = []
    proj = a.projection
    if len(proj) and res.thresholds:
        t_last = res.thresholds[-1].id
        sg = a.same_group
        for r in _records(proj[(proj["threshold_id"] == t_last) & ~proj["slice"].str.contains("×")]):
            g = _sub(groups, threshold_id=t_last, slice=r["slice"], group=r["group"])
            s2 = _sub(sg, threshold_id=t_last, slice=r["slice"], group=r["group"])
            proj_rows.append({
                "who": "everyone" if r["slice"] == "all" else f"{labels.slice_label(r['slice'])}: "
                                                               f"{labels.group(r['group'])}",
                "status": g["status"].iloc[0] if len(g) else "ok", "order": (r["slice"] != "all", r["slice"],
                                                                             r["group"], r["watchlist_size"]),
                "watchlist": f"{r['watchlist_size']:,}", "people": r["n_people"], "method": r["method"],
                "per1000": labels.per(r["alerts_per_1000"]),
                "per1000_ci": labels.interval(r["alerts_per_1000_lo"], r["alerts_per_1000_hi"], labels.per),
                "perday": labels.per(r["alerts_per_day"]),
                "perday_ci": labels.interval(r["alerts_per_day_lo"], r["alerts_per_day_hi"], labels.per),
                "upper": labels.per(r["upper_alerts_per_1000"]),
                "measured_fmr": pct(g["fmr"].iloc[0]) if len(g) else "",
                "measured_same": pct(s2["fmr"].iloc[0]) if len(s2) else "—",
            })
        proj_rows.sort(key=lambda x: x.pop("order"))
    sweep_plots = []
    if res.sweep is not None and len(res.sweep):
        tid = res.thresholds[-1].id if res.thresholds else None  # the fixed threshold a deployment would use
        for attrs in [[]] + [x for x in res.slices if len(x) == 1]:
            name = " × ".join(attrs) or "all"
            sub = res.sweep.assign(group=res.sweep["group"].map(labels.group))
            sweep_plots.append({"name": labels.slice_label(name),
                                "img": plot(plots.sweep_plot, sub, name, tid, tlabel.get(tid, tid))})
    b = brief(results, a, groups, holm=holm)
    shown = {"FMR", "FNMR", "FTA", "FTE", "FAR", "FRR", "FPIR", "FNIR", "DET", "GARBE", "FDR"}
    glossary = sorted(labels.GLOSSARY.items(), key=lambda kv: kv[0].lower())
    html = env.get_template("report.html").render(
        r=results, brief=b["paragraphs"], cannot=b["cannot"], sections=sections, overall=overall,
        sweep_plots=sweep_plots, projection=proj_rows, glossary=glossary, shown=shown, fingerprint=fingerprint,
        tlabel=tlabel, holm=holm, protocol_html=protocol_report.html_section(res.provenance.get("protocol")),
        t_last=tlabel[res.thresholds[-1].id] if res.thresholds else "",
        provenance_json=json.dumps(results["provenance"], indent=2, default=str),
    )
    return plot.fill(html, res.config.workers)


def write(res, reports_dir: str | Path, name: str | None = None) -> Path:
    """Write the run directory and return its path."""
    from harness.rundir import run_dir, staging_dir

    reports_dir = Path(reports_dir)
    name = name or res.config.name or default_name(res.config)
    res.config.name = name
    final = run_dir(reports_dir, name)  # validated: a direct child that is absent or an earlier run
    reports_dir.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(reports_dir, name)  # also removes what a killed earlier run of this name left
    try:
        files = {"pairs": "pairs.csv", "groups": "groups.csv", "disparity": "disparity.csv",
                 "acquisitions": "acquisitions.csv", "report": "report.html", "results": "results.json"}
        keep = [c for c in res.pairs.columns if c != "score"]
        aggregate_only = (res.provenance.get("pairs") or {}).get("aggregate_only", False)
        if aggregate_only:  # compare.aggregate_above_pairs: counts only, never a multi-gigabyte pairs.csv
            from harness.metrics.groups import group_labels

            del files["pairs"]
            files.update(columnar.write_aggregates(tmp, res.pairs, res.thresholds, res.slices,
                                                   res.config.metrics.group_side, group_labels))
        else:
            res.pairs[keep].to_csv(tmp / files["pairs"], index=False)  # full precision: recomputable
        if not len(res.analysis.projection):
            from harness.metrics.projection import project

            pc, m = res.config.projection, res.config.metrics
            res.analysis.projection = project(res.pairs, res.thresholds, res.slices, pc.watchlist_sizes,
                                              pc.visitors_per_day, m.bootstrap, res.config.seed, m.confidence)
        files.update(write_tables(res.analysis, tmp))
        files.update(protocol_report.write_tables(res.provenance.get("protocol"), tmp))  # pairs/watchlist figures
        if res.sweep is not None:
            files["sweep"] = "sweep.csv"
            res.sweep.to_csv(tmp / files["sweep"], index=False)
        res.acquisitions.to_csv(tmp / files["acquisitions"], index=False)
        # Large runs also get columnar copies (pyarrow, the 'parquet' extra): a CSV of millions of pairs is slow.
        files.update(columnar.write_tables(tmp, {"pairs": None if aggregate_only else res.pairs[keep],
                                                 "acquisitions": res.acquisitions}))
        results = build_results(res, files)
        (tmp / files["results"]).write_text(json.dumps(results, indent=2, allow_nan=False), encoding="utf-8")
        from harness.report.bundle import fingerprint

        fp = fingerprint(tmp)  # every file but report.html, which prints it
        (tmp / files["report"]).write_text(_html(results, res, fp), encoding="utf-8")
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
                       ("same_group", a.same_group), ("projection", a.projection),
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
