"""Cross-group FMR as an HTML table with coloured cells (the NIST FRVT heatmap, without drawing a picture).

A table reads as well as the picture did, its numbers can be copied and searched, it scales with the
page, and it costs nothing to make (the 12 heatmap PNGs of the default run took 2 s of a 7 s re-run).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import pandas as pd

from harness.report.labels import count, interval, pct

#: Sequential light-to-dark ramp (ColorBrewer YlOrRd, 9 classes; readable in every colour vision type):
#: a darker cell had more false matches.
RAMP = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"]
ZERO_BG = "#dcdcdc"  # a measured zero: grey, unlike any colour on the ramp
NO_PAIRS_BG = "#ffffff"


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    def lin(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def text_colour(bg: str) -> str:
    """Black or white, whichever contrasts more with ``bg`` (one of them always reaches 4.5:1)."""
    lum = _luminance(bg)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def ramp_colour(value: float, vmin: float, vmax: float) -> str:
    """The ramp's colour for ``value`` on a log scale from ``vmin`` (lightest) to ``vmax`` (darkest)."""
    if vmax <= vmin:
        return RAMP[len(RAMP) // 2]
    x = (math.log(value) - math.log(vmin)) / (math.log(vmax) - math.log(vmin))
    return RAMP[min(len(RAMP) - 1, max(0, int(x * len(RAMP))))]


def table(long: pd.DataFrame, relabel: Callable[[Any], str] = str) -> dict[str, Any]:
    """Rows (enrolled groups) × columns (probe groups) of cells ready for the template.

    ``long`` is one slice and threshold of :func:`harness.metrics.crossgroup.cross_group_fmr`'s frame. Each cell
    has the FMR, "false matches / impostor pairs", the pair-level 95% interval (as a tooltip) and its colours;
    the colour scale (log) runs from this table's lowest non-zero FMR over at least a decade, as the former
    heatmap's did, so that rates close to each other are not painted far apart.
    """
    fmr = long["fmr"].to_numpy(dtype=float)
    pos = fmr[(fmr > 0) & ~pd.isna(fmr)]
    vmin = float(pos.min()) if len(pos) else 1e-4
    vmax = float(max(pos.max(), vmin * 10)) if len(pos) else 1e-1
    cols = sorted(set(long["probe_group"]))
    cells = {(r.enrol_group, r.probe_group): r for r in long.itertuples(index=False)}
    rows = []
    for e in sorted(set(long["enrol_group"])):
        out = []
        for p in cols:
            r = cells.get((e, p))
            n = 0 if r is None or pd.isna(r.n_impostor) else int(r.n_impostor)
            if n == 0:
                out.append({"rate": "no pairs", "counts": "", "tip": "no impostor pairs", "bg": NO_PAIRS_BG,
                            "fg": text_colour(NO_PAIRS_BG)})
                continue
            k = int(r.n_false_match)
            bg = ramp_colour(float(r.fmr), vmin, vmax) if k else ZERO_BG
            out.append({"rate": pct(r.fmr), "counts": f"{count(k)} / {count(n)}", "bg": bg, "fg": text_colour(bg),
                        "tip": f"95% pair-level interval {interval(r.fmr_lo, r.fmr_hi)}"})
        rows.append({"group": relabel(e), "cells": out})
    key = [{"bg": c, "fg": text_colour(c)} for c in RAMP]
    return {"cols": [relabel(c) for c in cols], "rows": rows, "key": key, "lo": pct(vmin), "hi": pct(vmax),
            "zero_bg": ZERO_BG, "zero_fg": text_colour(ZERO_BG), "any_positive": bool(len(pos))}
