"""``facerisk compare RUN_A RUN_B``: is run B (e.g. an int8 model) worse, better or indistinguishable
from run A (e.g. its fp32 original), for every group?

Both runs are read at **A's thresholds** (the question an edge deployment asks: "I ship the
quantised model with the threshold I validated"). Per group, slice and threshold the change
``B - A`` in FMR, FNMR and FTA gets a **paired subject-bootstrap** interval: each replicate draws
people with replacement (stratified by group, as in :mod:`harness.metrics.bootstrap`) and the
*same* draw re-weights both runs, so the shared people's shared difficulty cancels and only the
models' difference remains. The verdict is ``worse`` when the interval lies above 0, ``better``
when below, ``indistinguishable`` when it spans 0 (or ``identical`` when no replicate differs).

People used to calibrate either model (``provenance.models.embedder.variant.calibration``, written
by ``facerisk models quantize``) are left out of both runs, so int8-static is judged on people it
never saw. Writes ``compare.json``, ``compare.csv`` and ``compare.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from harness.errors import FaceriskError
from harness.metrics import bootstrap as boot
from harness.metrics.groups import group_labels, slice_name
from harness.metrics.rates import rule_of_three, to_similarity

VERDICTS = ("worse", "better", "indistinguishable", "identical", "undefined")


@dataclass
class RunData:
    """What compare needs from one run directory."""

    name: str
    pairs: pd.DataFrame            # enrol_subject, probe_subject, genuine, euclidean/cosine
    acquisitions: pd.DataFrame     # subject_id, role, ok + attribute columns
    results: dict[str, Any] = field(default_factory=dict)
    root: Optional[Path] = None

    @property
    def embedder(self) -> dict[str, Any]:
        return ((self.results.get("provenance") or {}).get("models") or {}).get("embedder") or {}

    def calibration_subjects(self) -> list[str]:
        cal = (self.embedder.get("variant") or {}).get("calibration") or {}
        return [str(s) for s in cal.get("subjects") or []]


def load_run(path: str | Path, reports_dir: str | Path = "reports") -> RunData:
    """Read a run directory (or a run name under ``reports_dir``)."""
    p = Path(path)
    if not (p / "results.json").is_file() and (Path(reports_dir) / str(path) / "results.json").is_file():
        p = Path(reports_dir) / str(path)
    need = [p / "results.json", p / "pairs.csv", p / "acquisitions.csv"]
    missing = [q.name for q in need if not q.is_file()]
    if missing:
        raise FaceriskError(f"{p}: not a facerisk run directory (missing {', '.join(missing)}); pass the folder "
                            "'facerisk run' wrote (reports/<name>)")
    try:
        results = json.loads((p / "results.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise FaceriskError(f"{p / 'results.json'}: not valid JSON ({exc}); re-run 'facerisk run'") from None
    if not isinstance(results, dict) or not isinstance(results.get("thresholds"), list):
        raise FaceriskError(f"{p / 'results.json'}: not a facerisk results file (no thresholds list); re-run "
                            "'facerisk run' to rewrite it")
    from harness.data.tables import read_csv

    form = "the file 'facerisk run' writes (re-run it to rewrite the file)"
    pairs = read_csv(p / "pairs.csv", form, required=("genuine", "enrol_subject", "probe_subject"), error=FaceriskError,
                     dtype={"enrol_subject": str, "probe_subject": str}, keep_default_na=False, na_values=["", "NA"])
    acq = read_csv(p / "acquisitions.csv", form, required=("ok", "subject_id"), error=FaceriskError,
                   dtype={"subject_id": str}, keep_default_na=False, na_values=["", "NA"])
    for col, frame in (("genuine", pairs), ("ok", acq)):
        frame[col] = frame[col].astype(str).str.lower().isin(["true", "1"])
    return RunData(results.get("run_name") or p.name, pairs, acq, results, p)


def _subject_table(acq: pd.DataFrame, slices: Sequence[Sequence[str]], bins: dict) -> pd.DataFrame:
    """One row per subject with its attributes (numeric ones banded as in the run)."""
    from harness.metrics.groups import band

    subj = acq.drop_duplicates("subject_id").set_index("subject_id").copy()
    for attrs in slices:
        for a in attrs:
            if a not in subj.columns and a.endswith("_band") and a[:-5] in subj.columns and a[:-5] in bins:
                subj[a] = band(subj[a[:-5]], bins[a[:-5]])
    return subj


def _counts(run: RunData, kind: str, subjects: pd.Index, labels: pd.Series, thresholds: np.ndarray):
    """SubjectCounts and per-subject FTA counts of ``run`` on ``subjects``, at ``thresholds`` (similarity)."""
    pairs = run.pairs
    keep = pairs["enrol_subject"].isin(subjects) & pairs["probe_subject"].isin(subjects)
    pairs = pairs.loc[keep, ["enrol_subject", "probe_subject", "genuine", kind]].copy()
    pairs["score"] = to_similarity(pairs[kind].to_numpy(dtype=float), kind)
    acq = run.acquisitions[run.acquisitions["subject_id"].isin(subjects)]
    ok = acq[acq["ok"]]
    enrol_n = ok[ok["role"] == "enrol"].groupby("subject_id").size()
    probe_n = ok[ok["role"] == "probe"].groupby("subject_id").size()
    counts = boot.SubjectCounts.from_pairs(pairs, labels.reindex(subjects), enrol_n, probe_n, thresholds)
    probes = acq[acq["role"] == "probe"]
    n_probe = probes.groupby("subject_id").size().reindex(subjects).fillna(0).to_numpy(float)
    n_fta = (~probes["ok"]).groupby(probes["subject_id"]).sum().reindex(subjects).fillna(0).to_numpy(float)
    return counts, n_probe, n_fta


def _fta(m: np.ndarray, gidx: np.ndarray, n_groups: int, n_probe: np.ndarray, n_fta: np.ndarray) -> np.ndarray:
    G = np.zeros((len(gidx), n_groups))
    G[np.arange(len(gidx)), gidx] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((m * n_fta) @ G) / ((m * n_probe) @ G)


def _verdict(lo: float, hi: float, deltas: np.ndarray) -> str:
    finite = deltas[np.isfinite(deltas)]
    if not len(finite):
        return "undefined"
    if np.all(finite == 0):
        return "identical"
    if lo > 0:
        return "worse"
    if hi < 0:
        return "better"
    return "indistinguishable"


def compare(a: RunData, b: RunData, thresholds: Optional[list[dict]] = None, score: Optional[str] = None,
            slices: Optional[list[list[str]]] = None, bins: Optional[dict] = None, replicates: int = 1000,
            seed: int = 0, confidence: float = 0.95, min_subjects: int = 5,
            exclude: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per (threshold, slice, group, metric): A's and B's rates, B - A and its paired subject-bootstrap interval.

    Defaults come from A's results.json: thresholds (``value`` in similarity units), score, slices and bins.
    Returns the table and a summary dict (subjects used and left out, notes).
    """
    ra = a.results
    cfg_m = ((ra.get("provenance") or {}).get("config") or {}).get("metrics") or {}
    score = score or (ra.get("protocol") or {}).get("score") or cfg_m.get("score") or "euclidean"
    if score not in ("euclidean", "cosine"):
        raise FaceriskError(f"score {score!r}: compare reads the euclidean or cosine column of pairs.csv")
    thresholds = thresholds if thresholds is not None else ra.get("thresholds") or []
    if not thresholds:
        raise FaceriskError(f"{a.root}: results.json lists no thresholds; re-run 'facerisk run'")
    if any((t.get("score") or score) != score for t in thresholds):
        raise FaceriskError(f"{a.root}: thresholds are not in {score} units")
    protocol = ra.get("protocol") or {}
    if protocol.get("impostors", "all") != "all" or (b.results.get("protocol") or {}).get("impostors", "all") != "all":
        raise FaceriskError("compare supports the all-impostors protocol only (protocol.impostors=all), like the "
                            "subject bootstrap it uses")
    if protocol.get("group_side", "probe") != "probe":
        raise FaceriskError("compare reads groups on the probe side (metrics.group_side=probe)")
    bins = bins if bins is not None else cfg_m.get("bins") or {}
    if slices is None:
        slices = [s.split(" × ") for s in protocol.get("slices") or []]
    notes: list[str] = []
    for col in (score,):
        for run in (a, b):
            if col not in run.pairs.columns:
                raise FaceriskError(f"{run.root}: pairs.csv has no {col!r} column")
    common = sorted(set(a.acquisitions["subject_id"]) & set(b.acquisitions["subject_id"]))
    only = sorted(set(a.acquisitions["subject_id"]) ^ set(b.acquisitions["subject_id"]))
    if only:
        notes.append(f"{len(only)} people appear in only one run and are left out")
    left_out = sorted((set(exclude) | set(a.calibration_subjects()) | set(b.calibration_subjects())) & set(common))
    if left_out:
        notes.append(f"{len(left_out)} people used to calibrate a model (or excluded) are left out of both runs")
    subjects = pd.Index([s for s in common if s not in set(left_out)], name="subject_id")
    if len(subjects) < 2:
        why = (f" once the {len(left_out)} excluded or calibration people are left out" if left_out else "")
        raise FaceriskError(f"fewer than two people are common to both runs{why}; give two runs of the same dataset"
                            + (" and exclude fewer subjects (--exclude-subjects)" if exclude else ""))
    subj = _subject_table(a.acquisitions, slices, bins)
    t_vals = np.array([float(t["value"]) for t in thresholds])
    t_ids = [str(t["id"]) for t in thresholds]
    alpha = (1 - confidence) / 2
    rows = []
    rng_seed = seed
    for attrs in [[]] + [list(s) for s in slices]:
        missing = [c for c in attrs if c not in subj.columns]
        if missing:
            notes.append(f"slice {slice_name(attrs)} skipped: {', '.join(missing)} not in acquisitions.csv")
            continue
        labels = group_labels(subj.loc[subjects], attrs) if attrs else pd.Series("all", index=subjects)
        ca, pa, fa = _counts(a, score, subjects, labels, t_vals)
        cb, pb, fb = _counts(b, score, subjects, labels, t_vals)
        names = ca.group_names()
        gidx = np.searchsorted(names, ca.groups)
        one = np.ones((1, len(subjects)))
        pt_a, pt_b = ca.rates(one), cb.rates(one)
        fta_a, fta_b = _fta(one, gidx, len(names), pa, fa)[0], _fta(one, gidx, len(names), pb, fb)[0]
        rng = np.random.default_rng(rng_seed)
        d = {"fmr": [], "fnmr": [], "fta": []}
        for start in range(0, replicates, 200):  # one draw of people re-weights both runs: the pairing
            m = boot.resample(ca.groups, min(200, replicates - start), rng)
            ra_, rb_ = ca.rates(m), cb.rates(m)
            d["fmr"].append(rb_["fmr"] - ra_["fmr"])
            d["fnmr"].append(rb_["fnmr"] - ra_["fnmr"])
            d["fta"].append(_fta(m, gidx, len(names), pb, fb) - _fta(m, gidx, len(names), pa, fa))
        reps = {k: np.concatenate(v) if v else np.zeros((0, len(names), len(t_vals))) for k, v in d.items()}
        n_people = pd.Series(labels).value_counts()
        for gi, g in enumerate(names):
            for ti, tid in enumerate(t_ids):
                for metric in ("fmr", "fnmr", "fta"):
                    if metric == "fta":
                        if ti:  # FTA does not depend on the threshold: once per group
                            continue
                        va, vb = fta_a[gi], fta_b[gi]
                        ka, na = fa[gidx == gi].sum(), pa[gidx == gi].sum()
                        kb, nb = fb[gidx == gi].sum(), pb[gidx == gi].sum()
                        dr = reps["fta"][:, gi]
                    else:
                        num = "n_false_match" if metric == "fmr" else "n_false_non_match"
                        den = "n_impostor" if metric == "fmr" else "n_genuine"
                        va, vb = pt_a[metric][0, gi, ti], pt_b[metric][0, gi, ti]
                        ka, kb = pt_a[num][0, gi, ti], pt_b[num][0, gi, ti]
                        na, nb = pt_a[den][0, gi], pt_b[den][0, gi]
                        dr = reps[metric][:, gi, ti]
                    finite = dr[np.isfinite(dr)]
                    lo = float(np.quantile(finite, alpha)) if len(finite) else np.nan
                    hi = float(np.quantile(finite, 1 - alpha)) if len(finite) else np.nan
                    n_subj = int(n_people.get(g, 0))
                    verdict = _verdict(lo, hi, dr)
                    rows.append({
                        "threshold_id": tid if metric != "fta" else "any", "slice": slice_name(attrs) or "all",
                        "group": g, "metric": metric, "n_subjects": n_subj,
                        "status": "insufficient" if n_subj < min_subjects else "ok",
                        "a_errors": int(round(ka)), "a_trials": int(round(na)), "a_rate": va,
                        "a_rule3": rule_of_three(int(round(ka)), int(round(na))),
                        "b_errors": int(round(kb)), "b_trials": int(round(nb)), "b_rate": vb,
                        "b_rule3": rule_of_three(int(round(kb)), int(round(nb))),
                        "delta": vb - va if np.isfinite(va) and np.isfinite(vb) else np.nan,
                        "delta_lo": lo, "delta_hi": hi, "verdict": verdict,
                        "undefined_share": 1 - len(finite) / max(1, len(dr)),
                    })
    table = pd.DataFrame(rows)
    summary = {"a": a.name, "b": b.name, "score": score, "thresholds": thresholds, "n_subjects": len(subjects),
               "left_out_subjects": left_out, "replicates": replicates, "seed": seed, "confidence": confidence,
               "method": "paired subject bootstrap: one stratified draw of people re-weights both runs; "
                         "percentile interval of B - A", "notes": notes}
    return table, summary


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.2f}%"


def _pts(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:+.2f}"


def sentence(rows: pd.DataFrame, group: str, slice_: str, tid: str, a_name: str, b_name: str) -> str:
    """One sentence for one group at one threshold: each metric's verdict with its interval."""
    parts = []
    sub = rows[(rows["slice"] == slice_) & (rows["group"] == group)]
    n = int(sub["n_subjects"].max()) if len(sub) else 0
    for metric in ("fmr", "fnmr", "fta"):
        r = sub[(sub["metric"] == metric) & (sub["threshold_id"] == (tid if metric != "fta" else "any"))]
        if not len(r):
            continue
        r = r.iloc[0]
        if r["verdict"] == "identical":
            zero = ""
            if r["a_errors"] == 0 and r["a_trials"] > 0:
                zero = f", no errors in either (95% upper bound {_pct(r['a_rule3'])})"
            parts.append(f"{metric.upper()} identical ({_pct(r['a_rate'])}{zero})")
        elif r["verdict"] == "undefined":
            parts.append(f"{metric.upper()} undefined (no trials)")
        else:
            parts.append(f"{metric.upper()} {r['verdict']} ({_pct(r['b_rate'])} vs {_pct(r['a_rate'])}, change "
                         f"{_pts(r['delta'])} points [{_pts(r['delta_lo'])}, {_pts(r['delta_hi'])}])")
    label = "everyone" if slice_ == "all" else f"{slice_} = {group}"
    warn = " (too few people to conclude)" if n and len(sub) and (sub["status"] == "insufficient").any() else ""
    people = "1 person" if n == 1 else f"{n} people"
    return f"{label} ({people}){warn}, {b_name} vs {a_name} at {tid}: " + "; ".join(parts) + "."


def _resources(run: RunData) -> dict[str, Any]:
    """Embedding speed (per computed image, from the run's own timings) and model file size."""
    from harness.modelfiles import dlib_model_dir

    r = run.results
    t = ((r.get("provenance") or {}).get("timings_s") or {})
    emb = run.embedder
    size = emb.get("file_size_bytes")
    path = (((r.get("provenance") or {}).get("config") or {}).get("embedder") or {}).get("path")
    if size is None:
        for name in (emb.get("weights") or {}):
            cands = [Path(path)] if path else []
            try:
                cands.append(dlib_model_dir() / name)
            except FaceriskError:
                pass
            hit = next((c for c in cands if c.is_file() and c.name == name), None)
            if hit is not None:
                size = hit.stat().st_size
    acq = run.acquisitions
    computed = acq[~acq["cached"].astype(str).str.lower().isin(["true", "1"])] if "cached" in acq else acq
    return {"run": run.name, "embedder": emb.get("name"), "precision": emb.get("precision"),
            "provider": emb.get("provider"), "model_size_bytes": size,
            "embed_s_per_image": t.get("per_image_embed_mean"), "n_images_timed": int(len(computed)),
            "machine": ((r.get("provenance") or {}).get("machine") or {}).get("cpu")}


def write(table: pd.DataFrame, summary: dict[str, Any], a: RunData, b: RunData, out: Path) -> dict[str, str]:
    """compare.json, compare.csv and compare.md in ``out``."""
    from harness.cache import atomic_write_text
    from harness.report import _clean, _records

    out.mkdir(parents=True, exist_ok=True)
    res = {"a": _resources(a), "b": _resources(b)}
    ea, eb = res["a"]["embed_s_per_image"], res["b"]["embed_s_per_image"]
    res["embed_speedup_b_over_a"] = (ea / eb) if ea and eb else None
    sa, sb = res["a"]["model_size_bytes"], res["b"]["model_size_bytes"]
    res["size_ratio_b_over_a"] = (sb / sa) if sa and sb else None
    lines = [f"# {b.name} vs {a.name}", "",
             f"Read at {a.name}'s thresholds ({summary['score']}); change = {b.name} − {a.name} in percentage "
             f"points, {int(summary['confidence'] * 100)}% paired subject-bootstrap interval "
             f"({summary['replicates']} replicates, {summary['n_subjects']} people).", ""]
    for n in summary["notes"]:
        lines.append(f"- note: {n}")
    if ea and eb:
        lines.append(f"- embedding time per image (alignment + model, as timed in each run; shared machine): "
                     f"{a.name} {1000 * ea:.1f} ms, {b.name} {1000 * eb:.1f} ms ({ea / eb:.2f}x)")
    else:
        lines.append("- embedding time: not measured in one of the runs (every image came from the cache)")
    if sa and sb:
        lines.append(f"- model file: {a.name} {sa / 1e6:.1f} MB, {b.name} {sb / 1e6:.1f} MB ({sb / sa:.2f}x)")
    lines.append("")
    for tid in [str(t["id"]) for t in summary["thresholds"]]:
        lines.append(f"## at {tid}")
        keys = table[table["threshold_id"] == tid][["slice", "group"]].drop_duplicates()
        for _, k in keys.iterrows():
            lines.append(f"- {sentence(table, k['group'], k['slice'], tid, a.name, b.name)}")
        lines.append("")
    table.to_csv(out / "compare.csv", index=False)
    doc = _clean({"a_dir": str(a.root), "b_dir": str(b.root), **summary, "resources": res, "rows": _records(table)})
    atomic_write_text(out / "compare.json", json.dumps(doc, indent=2, allow_nan=False))
    atomic_write_text(out / "compare.md", "\n".join(lines) + "\n")
    return {"json": "compare.json", "csv": "compare.csv", "markdown": "compare.md"}


def main(args) -> int:
    """Run ``facerisk compare`` (parsed by :mod:`harness.compare_cli`)."""
    if args.replicates < 100:
        raise FaceriskError("--replicates must be at least 100 for percentile intervals")
    from harness.rundir import check_out_folder

    a, b = load_run(args.run_a, args.reports_dir), load_run(args.run_b, args.reports_dir)
    out = check_out_folder(Path(args.out) if args.out else Path(args.reports_dir) / f"compare_{a.name}_vs_{b.name}",
                           "--out")
    ma = ((a.results.get("provenance") or {}).get("dataset") or {}).get("manifest_sha256")
    mb = ((b.results.get("provenance") or {}).get("dataset") or {}).get("manifest_sha256")
    if ma and mb and ma != mb:
        raise FaceriskError(f"{a.root} and {b.root} ran on different data (dataset manifests differ); give two "
                            "runs of the same dataset")
    conf = ((a.results.get("provenance") or {}).get("config") or {}).get("metrics", {}).get("confidence", 0.95)
    table, summary = compare(a, b, replicates=args.replicates, seed=args.seed, confidence=conf,
                             exclude=[str(s) for s in args.exclude_subjects])
    write(table, summary, a, b, out)
    overall = table[(table["slice"] == "all")]
    for tid in [str(t["id"]) for t in summary["thresholds"]]:
        print(sentence(overall, "all", "all", tid, a.name, b.name))
    flagged = table[(table["verdict"] == "worse") & (table["status"] == "ok")]
    print(f"{len(flagged)} group/threshold/metric cells worse, "
          f"{int(((table['verdict'] == 'better') & (table['status'] == 'ok')).sum())} better; see {out / 'compare.md'}")
    return 0
