"""Detector comparison output: one table, one plot and the distances at which FTA passes 10% / 50%.

Input: the tables of :mod:`harness.metrics.fta_compare`. Written into one folder as
``detectors_fta.csv`` (every detector x group x sweep value), ``detectors_crossings.csv``,
``detectors_fta.json`` (both, plus what was run), ``detectors_fta.png`` and ``detectors.html``.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import pandas as pd

from harness.report.plots import _png, pyplot

plt = pyplot()  # headless, in the report's style (a '$' in a label stays text)


def fta_plot(table: pd.DataFrame, slice_name: str, levels: Sequence[float] = (0.10, 0.50),
             title: Optional[str] = None) -> bytes:
    """One panel per detector: FTA per group of ``slice_name`` along the sweep, with interval bands."""
    sub = table[table["slice"] == slice_name]
    dets = list(dict.fromkeys(sub["detector"]))
    if not dets:
        raise ValueError(f"no rows for slice {slice_name!r}")
    fig, axes = plt.subplots(1, len(dets), figsize=(3.4 * len(dets) + 0.6, 3.4), sharey=True, squeeze=False)
    groups = list(dict.fromkeys(sub["group"]))
    colours = {g: plt.get_cmap("tab10")(i % 10) for i, g in enumerate(groups)}
    for ax, det in zip(axes[0], dets):
        part = sub[sub["detector"] == det]
        for g in groups:
            p = part[part["group"] == g].sort_values("value")
            if not len(p):
                continue
            weak = (p["status"] == "insufficient").all()
            n = int(p["n_people"].max())
            ax.plot(p["value"], p["fta"], "--" if weak else "-", marker="o", ms=2.5, color=colours[g],
                    label=f"{g} (n={n})")
            if not weak:
                ax.fill_between(p["value"], p["fta_lo"], p["fta_hi"], color=colours[g], alpha=0.12, lw=0)
        for lv in levels:
            ax.axhline(lv, color="grey", lw=0.8, ls=":")
        ax.set_title(det, fontsize=9)
        ax.set_xlabel(str(part["axis"].iloc[0]))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("FTA (no face found)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.suptitle(title or f"FTA by {slice_name} per detector (bands: 95% intervals on people; "
                 f"dotted: {', '.join(f'{lv:.0%}' for lv in levels)})", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _fmt(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:g}"


def crossing_sentences(cross: pd.DataFrame, slice_name: str) -> list[str]:
    """Plain sentences: at which sweep value each group's FTA passes each level, per detector."""
    out = []
    sub = cross[cross["slice"] == slice_name]
    for det, part in sub.groupby("detector", sort=False):
        bits = []
        for lv, lvpart in part.groupby("level", sort=True):
            items = []
            for r in lvpart.itertuples(index=False):
                if r.note.startswith("one step"):
                    items.append(f"{r.group}: {r.note[len('one step only: '):]}")
                elif math.isnan(r.first_value):
                    items.append(f"{r.group}: {r.note}")
                else:
                    latest = f"beyond {r.last_value:g}" if math.isnan(r.latest) else _fmt(r.latest)
                    rng = f" (intervals allow {_fmt(r.earliest)} to {latest})" if r.earliest != r.latest else ""
                    items.append(f"{r.group}: {r.axis} {_fmt(r.first_value)}{rng}")
            bits.append(f"FTA ≥ {lv:.0%} — " + "; ".join(items))
        out.append(f"{det}: " + " | ".join(bits))
    return out


def write(table: pd.DataFrame, cross: pd.DataFrame, out: str | Path, meta: dict[str, Any],
          slices: Sequence[str] = ("ethnicity",)) -> dict[str, str]:
    """Write the comparison files into ``out``; returns name -> file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": "detectors_fta.csv", "crossings": "detectors_crossings.csv", "json": "detectors_fta.json",
             "plot": "detectors_fta.png", "html": "detectors.html"}
    table.to_csv(out / files["table"], index=False)
    cross.to_csv(out / files["crossings"], index=False)
    shown = [s for s in slices if s in set(table["slice"])] or ["all"]
    png = fta_plot(table, shown[0])
    (out / files["plot"]).write_bytes(png)

    def clean(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records"))

    doc = {**meta, "simulated": True, "slices_plotted": shown, "fta": clean(table), "crossings": clean(cross),
           "sentences": {s: crossing_sentences(cross, s) for s in shown}}
    (out / files["json"]).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    extra = "".join(f'<h2>{html.escape(s)}</h2><img src="data:image/png;base64,'
                    f'{base64.b64encode(fta_plot(table, s)).decode()}">' for s in shown[1:])
    rows = "".join("<li>" + html.escape(s) + "</li>" for s in crossing_sentences(cross, shown[0]))
    pivot = table[table["slice"] == shown[0]].pivot_table(index=["detector", "group"], columns="value", values="fta")
    page = (f"<!doctype html><meta charset=utf-8><title>FTA by detector</title>"
            f"<h1>Failure to acquire by detector ({html.escape(str(meta.get('capture', '')))}, simulated capture)</h1>"
            f"<p>{html.escape(str(meta.get('command', '')))}</p>"
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            f"<h2>Where each group's FTA passes 10% and 50%</h2><ul>{rows}</ul>{extra}"
            f"<h2>FTA ({html.escape(shown[0])})</h2>{pivot.to_html(float_format=lambda v: f'{v:.0%}')}")
    (out / files["html"]).write_text(page, encoding="utf-8")
    return files
