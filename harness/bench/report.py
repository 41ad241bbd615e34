"""Merge several devices' bench.json into one table, latency plots and a self-contained HTML page.

Each row is one (device, model variant): latency percentiles, throughput, cold start, memory and
per-stage medians, beside the accuracy joined into that bench (``facerisk bench --run``) — or, when a
bench has none, the accuracy another bench of the same model variant carries. Where the model's
FLOPs and the device's peak are known, the embed stage is also given as a % of peak.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Optional

from harness.bench import result
from harness.bench.stages import STAGES
from harness.errors import FaceriskError


def _ms(v: Optional[float]) -> Optional[float]:
    return None if v is None else v * 1e3


def rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per bench document."""
    acc_by_variant: dict[str, dict] = {}
    for d in docs:
        if d.get("accuracy") and d["accuracy"].get("same_models"):
            acc_by_variant.setdefault(result.variant_key(d["provenance"]["models"]), d["accuracy"])
    out = []
    for d in docs:
        sc = d["scenarios"]
        variant = result.variant_key(d["provenance"]["models"])
        cpu = d["device"].get("cpu") or {}
        board = ((d["device"].get("raspberry_pi") or {}).get("board") or (d["device"].get("jetson") or {}).get("board")
                 or cpu.get("model"))
        r: dict[str, Any] = {"device": d["label"], "hardware": board, "arch": cpu.get("arch"),
                             "variant": variant, "detector": d["config"]["detector"],
                             "embedder": d["config"]["embedder"], "stage_split": d["provenance"]["stage_split"]}
        ss = (sc.get("single_stream") or {}).get("stages") or {}
        pipe = ss.get("pipeline") or {}
        for p in ("p50", "p90", "p99", "max"):
            r[f"latency_{p}_ms"] = _ms(pipe.get(p))
        r["latency_n"] = pipe.get("n")
        for st in STAGES[:-1]:
            r[f"{st}_p50_ms"] = _ms((ss.get(st) or {}).get("p50"))
        oh = (sc.get("single_stream") or {}).get("harness_overhead") or {}
        r["harness_overhead_p50_ms"] = _ms(oh.get("p50"))
        off = sc.get("offline") or {}
        r["offline_faces_per_s"] = off.get("faces_per_s")
        r["offline_workers"] = off.get("workers")
        cs = sc.get("cold_start") or {}
        r["cold_start_first_s"], r["cold_start_p50_s"] = cs.get("first"), cs.get("p50")
        ds = sc.get("doorbell_stream") or {}
        r["stream_fps"], r["stream_sustained_fps"] = ds.get("fps"), ds.get("sustained_fps")
        r["stream_dropped"] = f"{ds['dropped']}/{ds['frames']}" if ds else None
        r["stream_latency_p50_ms"] = _ms((ds.get("latency") or {}).get("p50"))
        r["peak_rss_mib"] = d["resources"]["peak_rss_mib"]
        r["model_mb"] = d["resources"]["model_bytes"] / 1e6
        r["throttled"] = d["conditions"]["throttled"]
        la = (d["conditions"].get("before") or {}).get("load_avg")
        r["load_avg_1m_before"] = la[0] if la else None  # other work on the device when the run began
        comp = d.get("compute") or {}
        r["embed_pct_core_peak"] = comp.get("single_stream_embed_pct_of_core_peak")
        r["offline_pct_device_peak"] = comp.get("offline_embed_pct_of_device_peak")
        r["peak_gflops"] = (comp.get("peak") or {}).get("gflops")
        acc = d.get("accuracy") if (d.get("accuracy") or {}).get("same_models") else acc_by_variant.get(variant)
        r["accuracy_from"] = None
        if acc:
            r["accuracy_from"] = acc.get("run_name") or acc.get("run")
            for row in acc.get("overall") or []:
                tid = row.get("threshold_id")
                r[f"fnmr@{tid}"] = row.get("fnmr")
                r[f"fmr@{tid}"] = row.get("fmr")
        r["warnings"] = len(d.get("warnings") or [])
        r["file"] = d.get("_path")
        out.append(r)
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and abs(v) < 0.01:
            return f"{v:.2e}"
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


TEXT_COLUMNS = ["device", "variant", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms",
                "detect_p50_ms", "embed_p50_ms", "offline_faces_per_s", "cold_start_first_s", "stream_sustained_fps",
                "stream_dropped", "peak_rss_mib", "embed_pct_core_peak", "throttled"]


def text_table(rs: list[dict[str, Any]], columns: list[str] = TEXT_COLUMNS) -> str:
    cells = [columns] + [[_fmt(r.get(c)) for c in columns] for r in rs]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plots(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(title, base64 PNG): pipeline latency ECDF per device, per-stage box plots, stream latency ECDF."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # device labels are data, not mathtext
    import matplotlib.pyplot as plt
    import numpy as np

    def cdf(samples_of, xlabel: str, ylabel: str, title: str, with_n: bool) -> None:
        """One step plot of each device's sorted latency samples (ms, log axis), if any device has them."""
        fig, ax = plt.subplots(figsize=(7, 4))
        any_line = False
        for d in docs:
            s = samples_of(d)
            if s and s["samples"]:
                x = np.asarray(s["samples"]) * 1e3
                label = f"{d['label']} (n={len(x)})" if with_n else d["label"]
                ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=label)
                any_line = True
        if any_line:
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            figs.append((title, _png(fig)))
        plt.close(fig)

    figs = []
    cdf(lambda d: ((d["scenarios"].get("single_stream") or {}).get("stages") or {}).get("pipeline"),
        "single-stream latency per frame, ms (log)", "fraction of frames ≤ x",
        "Single-stream latency distribution (whole pipeline)", with_n=True)

    stage_docs = [(d, (d["scenarios"].get("single_stream") or {}).get("stages") or {}) for d in docs]
    stages = [s for s in STAGES if any(s in st for _, st in stage_docs)]
    if stages:
        fig, axes = plt.subplots(1, len(stages), figsize=(2.3 * len(stages), 3.6), squeeze=False)
        for ax, st in zip(axes[0], stages):
            data = [np.asarray(sd[st]["samples"]) * 1e3 if st in sd else np.array([np.nan]) for _, sd in stage_docs]
            ax.boxplot([x[np.isfinite(x)] if np.isfinite(x).any() else [0] for x in data], whis=(1, 99),
                       showfliers=True, flierprops={"markersize": 2})
            ax.set_xticks(range(1, len(docs) + 1), [d["label"] for d, _ in stage_docs], rotation=45, ha="right",
                          fontsize=7)
            ax.set_title(st, fontsize=9)
            ax.set_yscale("log")
        axes[0][0].set_ylabel("ms (log); whiskers p1–p99")
        fig.tight_layout()
        figs.append(("Per-stage latency (single-stream)", _png(fig)))
        plt.close(fig)

    cdf(lambda d: (d["scenarios"].get("doorbell_stream") or {}).get("latency"),
        "doorbell stream: frame arrival to decision, ms (log)", "fraction of processed frames ≤ x",
        "Doorbell stream latency (simulated clip, real-time playback)", with_n=False)
    return figs


def _html(rs: list[dict[str, Any]], docs: list[dict[str, Any]], figs: list[tuple[str, str]]) -> str:
    cols = [c for c in rs[0].keys() if c not in ("file",) and any(r.get(c) is not None for r in rs)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rs)
    peaks_rows = "".join(
        f"<tr><td>{html.escape(d['label'])}</td><td>{html.escape(str((d['compute'].get('peak') or {}).get('name')))}"
        f"</td><td>{_fmt((d['compute'].get('peak') or {}).get('gflops'))}</td>"
        f"<td>{html.escape(str((d['compute'].get('peak') or {}).get('source')))}</td></tr>" for d in docs)
    flops = next((d["compute"] for d in docs if d["compute"].get("model_flops")), None)
    warn = "".join(f"<li><b>{html.escape(d['label'])}</b>: {html.escape(w)}</li>" for d in docs for w in d["warnings"])
    imgs = "".join(f"<h3>{html.escape(t)}</h3><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
                   for t, b in figs)
    fl = (f"<p>Model FLOPs per template: {flops['model_flops'] / 1e9:.3f} GFLOP ({html.escape(flops['flops_source'])})."
          "</p>") if flops else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>facerisk device benchmarks</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}th{{background:#eee}}img{{max-width:100%}}</style></head><body>
<h1>Device benchmarks</h1>
<p>{len(docs)} bench file(s). Latencies in ms from sorted raw samples (nearest-rank percentiles); single-stream is
one frame at a time after warm-up; offline is faces/s on all cores; cold start is process start to first template;
the doorbell clip is <b>simulated</b> (capture model) and played in real time. Accuracy columns come from the run
joined with <code>facerisk bench --run</code> for the same model variant.</p>
<table><tr>{head}</tr>{body}</table>
<h2>Compute peaks</h2>{fl}<table><tr><th>device</th><th>peak</th><th>GFLOPS (FP32)</th><th>source</th></tr>{peaks_rows}</table>
<p>% of peak = model FLOPs / latency / peak: single-stream embed against one core's peak, offline against the whole device.</p>
<h2>Distributions</h2>{imgs}
<h2>Warnings</h2><ul>{warn or '<li>none</li>'}</ul>
</body></html>"""


def write(paths: list[str], out: Path) -> dict[str, Any]:
    """Load every bench file, write bench_report.{csv,html} into ``out``; return the paths and the text table."""
    import csv

    from harness.cache import atomic_write_text

    if not paths:
        raise FaceriskError("facerisk report: give at least one bench.json")
    docs = [result.load(p) for p in paths]
    rs = rows(docs)
    out.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for r in rs for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rs:
        w.writerow(r)
    atomic_write_text(out / "bench_report.csv", buf.getvalue())
    atomic_write_text(out / "bench_report.html", _html(rs, docs, plots(docs)))
    return {"csv": out / "bench_report.csv", "html": out / "bench_report.html", "rows": rs,
            "table_text": text_table(rs)}
