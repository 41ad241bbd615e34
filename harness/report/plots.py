"""Plots for the HTML report, returned as PNG bytes (matplotlib, headless).

Made to be read on a phone (390 px wide) and in print: large type, the colour-blind-safe Okabe–Ito
palette (with distinct markers and line styles, so nothing depends on colour alone), units on every
axis, sample sizes in every legend, zero cells drawn visibly.
"""

from __future__ import annotations

import importlib.util
import io
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtri  # the normal quantile; scipy.stats takes 0.5 s to import

from harness.metrics import det_curve
from harness.metrics.groups import group_labels

#: Okabe & Ito (2008) colour-blind-safe palette (black last: reserved for thresholds).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "-.", (0, (6, 2)), (0, (1, 1.5))]
INSUFFICIENT = {"ls": (0, (2, 2)), "lw": 0.9, "alpha": 0.7}  # thin and faint: too few people for a claim
IMPOSTOR, GENUINE = "#D55E00", "#0072B2"  # vermillion and blue: distinguishable in every colour vision type


def pyplot():
    """matplotlib.pyplot, headless, with the report's style; imported on first use.

    Deferred because the import costs about a second and a re-run whose plots all come from the plot
    cache draws nothing.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as mpl_pyplot

    if not getattr(mpl_pyplot, "_facerisk_style", False):
        mpl_pyplot.rcParams.update({
            "font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
            "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO[:7]),
            "figure.dpi": 110,
            # Group labels and file names are data: a '$' in one must print as a '$', never start mathtext.
            "text.parse_math": False,
        })
        mpl_pyplot._facerisk_style = True
    return mpl_pyplot


class _Pyplot:
    """Stands for ``matplotlib.pyplot`` in this module until a plot is drawn (see :func:`pyplot`)."""

    def __getattr__(self, name: str):
        return getattr(pyplot(), name)


plt = _Pyplot()

# pyplot itself is deferred, but a missing matplotlib must still fail here, before any work, with the CLI's one line
if importlib.util.find_spec("matplotlib") is None:
    raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # zlib level 1, not 6: the eleven plots render 11% faster for 6% more bytes (5.50 s vs 6.16 s, 0.74 vs 0.70 MiB)
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return buf.getvalue()


def _style(i: int) -> dict:
    return {"color": OKABE_ITO[i % 7], "marker": MARKERS[i % len(MARKERS)]}


def _groups(pairs: pd.DataFrame, attrs: Sequence[str], side: str) -> np.ndarray:
    return group_labels(pairs, [f"{side}_{a}" for a in attrs]).to_numpy()


def _label_thresholds(ax, xs: list[tuple[float, str]], y_frac: float = 0.97) -> None:
    """Vertical threshold lines labelled at staggered heights so close labels do not overlap."""
    xs = sorted(xs)
    lo, hi = ax.get_xlim()
    span = hi - lo or 1.0
    last = -np.inf
    level = 0
    for x, text in xs:
        ax.axvline(x, color="black", lw=0.9, ls=":")
        level = level + 1 if (x - last) / span < 0.12 else 0
        last = x
        ax.text(x, y_frac - 0.09 * level, " " + text, transform=ax.get_xaxis_transform(), fontsize=8,
                va="top", ha="left", color="black",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})


def det_plot(pairs: pd.DataFrame, attrs: Sequence[str], side: str, thresholds, statuses: dict[str, str],
             title: str) -> bytes:
    """DET curves per group on normal-deviate axes, with the global thresholds' overall FMR marked."""
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    labels = _groups(pairs, attrs, side)
    gen_all = pairs["genuine"].to_numpy()
    s = pairs["score"].to_numpy()
    for i, g in enumerate(sorted(set(labels))):
        sel = labels == g
        gen, imp = s[sel & gen_all], s[sel & ~gen_all]
        if len(gen) == 0 or len(imp) == 0:
            continue
        _, fm, fnm = det_curve(gen, imp)
        # Rates of exactly 0 or 1 have no probit; clip to half a count so the curve stays visible.
        fm = np.clip(fm, 0.5 / len(imp), 1 - 0.5 / len(imp))
        fnm = np.clip(fnm, 0.5 / len(gen), 1 - 0.5 / len(gen))
        style = INSUFFICIENT if statuses.get(g) == "insufficient" else {"ls": LINESTYLES[i % len(LINESTYLES)], "lw": 1.6}
        ax.plot(ndtri(fm), ndtri(fnm), color=OKABE_ITO[i % 7],
                label=f"{g} ({len(imp):,} impostor / {len(gen):,} genuine pairs)", **style)
    return _finish_det(fig, ax, thresholds, 5e-5, 5e-4, title)


def _people(k) -> str:
    return f"{k} {'person' if k == 1 else 'people'}" if isinstance(k, (int, np.integer)) else f"{k} people"


def _finish_det(fig, ax, thresholds, fmr_floor: float, fnmr_floor: float, title: str,
                tlabel: Optional[dict] = None) -> bytes:
    """Probit axes, threshold markers and labels shared by the DET plots."""
    ticks = np.array([1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5])
    ax.set_xticks(ndtri(ticks), [f"{v:g}" for v in ticks])
    ax.set_yticks(ndtri(ticks), [f"{v:g}" for v in ticks])
    ax.set_xlim(ndtri(fmr_floor), ndtri(0.6))
    ax.set_ylim(ndtri(fnmr_floor) - 0.05, ndtri(0.6))
    marks = [(ndtri(max(t.achieved_fmr, fmr_floor)), (tlabel or {}).get(t.id, t.id)) for t in thresholds
             if t.achieved_fmr and t.achieved_fmr > 0]
    _label_thresholds(ax, marks)
    ax.set_xlabel("False match rate (share of impostor pairs, probit scale)")
    ax.set_ylabel("False non-match rate\n(share of genuine pairs, probit scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
    return _png(fig)


def _empty_plot(text: str) -> bytes:
    fig, ax = plt.subplots(figsize=(5.6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    return _png(fig)


def score_hist(pairs: pd.DataFrame, attrs: Sequence[str], side: str, score_name: str, thresholds,
               tlabel: Optional[dict] = None, relabel: Callable[[str], str] = str) -> bytes:
    """Genuine and impostor score distributions per group (score units), thresholds marked and named.

    Used instead of a DET curve when no group had a false non-match (a DET is then a flat line):
    the gap between the genuine scores and the thresholds shows how far from failing they were.
    """
    if not len(pairs):  # every probe a failure to acquire: nothing was scored, and the page says so
        return _empty_plot("No pairs were scored: every probe was a failure to acquire.")
    labels = _groups(pairs, attrs, side)
    groups = sorted(set(labels))
    n = len(groups)
    cols = min(2, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.6, 2.5 * rows + 0.6), squeeze=False, sharex=True)
    raw = pairs[score_name].to_numpy()
    gen_all = pairs["genuine"].to_numpy()
    bins = np.linspace(np.nanmin(raw), np.nanmax(raw), 40) if len(raw) else np.linspace(0, 1, 40)
    for ax, g in zip(axes.ravel(), groups):
        sel = labels == g
        ni, ng = int((sel & ~gen_all).sum()), int((sel & gen_all).sum())
        # One step outline per histogram (ax.stairs), not ax.hist's one rectangle per bin: the same picture,
        # a tenth of the artists to lay out and draw.
        with np.errstate(invalid="ignore", divide="ignore"):  # a group without pairs: an empty panel
            imp_d = np.histogram(raw[sel & ~gen_all], bins=bins, density=True)[0]
            gen_d = np.histogram(raw[sel & gen_all], bins=bins, density=True)[0]
        ax.stairs(np.nan_to_num(imp_d), bins, fill=True, alpha=0.55, color=IMPOSTOR, lw=0,
                  label=f"impostor (n={ni:,})")
        ax.stairs(np.nan_to_num(gen_d), bins, baseline=0, lw=1.8, color=GENUINE, label=f"genuine (n={ng:,})")
        for k, t in enumerate(thresholds):
            ax.axvline(t.native, color="black", lw=0.9, ls=LINESTYLES[(k + 1) % len(LINESTYLES)])
        ax.set_title(relabel(g), fontsize=10)
        ax.set_yticks([])
        ax.legend(fontsize=8, loc="upper right", frameon=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    unit = ("Euclidean distance between face embeddings (lower = more alike)" if score_name == "euclidean"
            else "cosine similarity of face embeddings (higher = more alike)")
    handles = [plt.Line2D([], [], color="black", lw=0.9, ls=LINESTYLES[(k + 1) % len(LINESTYLES)],
                          label=f"{(tlabel or {}).get(t.id, t.id)} ({t.native:.3f})") for k, t in enumerate(thresholds)]
    fig.supxlabel(unit, fontsize=10)
    fig.supylabel("share of pairs (density)", fontsize=10)
    fig.tight_layout()
    # Threshold key above the panels, clear of the shared x label.
    fig.legend(handles=handles, loc="lower center", ncol=1, frameon=False, fontsize=9, title="thresholds",
               bbox_to_anchor=(0.5, 1.0))
    return _png(fig)


def rate_bars(frame: pd.DataFrame, rate: str, title: str, tlabel: Optional[dict] = None) -> bytes:
    """Per-group rate with its 95% interval at each threshold (log scale); zero drawn at its upper bound (▼)."""
    thresholds = list(dict.fromkeys(frame["threshold_id"]))
    groups = list(dict.fromkeys(frame["group"]))
    fig, ax = plt.subplots(figsize=(5.6, 0.42 * len(groups) * max(1, len(thresholds)) / 1.6 + 2.2))
    height = 0.8 / max(1, len(thresholds))
    lo_col = f"{rate}_ci_lo" if f"{rate}_ci_lo" in frame else f"{rate}_lo"
    hi_col = f"{rate}_ci_hi" if f"{rate}_ci_hi" in frame else f"{rate}_hi"
    for k, tid in enumerate(thresholds):
        sub = frame[frame["threshold_id"] == tid].set_index("group").reindex(groups)
        y = np.arange(len(groups)) + (k - (len(thresholds) - 1) / 2) * height
        v = sub[rate].to_numpy(dtype=float)
        lo = sub[lo_col].to_numpy(dtype=float)
        hi = sub[hi_col].to_numpy(dtype=float)
        st = _style(k)
        shown = np.where(v > 0, v, np.nan)
        ax.errorbar(shown, y, xerr=[np.nan_to_num(shown - np.maximum(lo, 1e-12)), np.nan_to_num(hi - shown)],
                    fmt=st["marker"], color=st["color"], ms=5, capsize=2, lw=1.2,
                    label=(tlabel or {}).get(tid, tid))
        zero = v == 0
        ax.scatter(hi[zero], y[zero], marker="<", s=40, facecolors="white", edgecolors=st["color"], lw=1.4, zorder=3)
    ax.set_xscale("log")
    # Lower ends at 0 have no place on a log axis: start a decade below the smallest plotted value.
    vals = pd.to_numeric(pd.concat([frame[rate], frame[hi_col]]), errors="coerce")
    floor = float(vals[vals > 0].min()) / 10 if (vals > 0).any() else 1e-4
    ax.set_xlim(left=floor)
    n = frame.drop_duplicates("group").set_index("group")
    ppl = n["n_people_fmr"] if "n_people_fmr" in n else n.get("n_people", n.get("n_subjects"))

    def who(g):
        k = int(ppl.get(g, 0))
        return f"{g} ({k} {'person' if k == 1 else 'people'})"

    ax.set_yticks(np.arange(len(groups)), [who(g) for g in groups])
    ax.invert_yaxis()
    ax.set_xlabel(f"{rate.upper()} (share of {'impostor' if rate == 'fmr' else 'genuine'} pairs, log scale)")
    ax.set_title(title + "\n(bars: 95% interval; open ◁: no error seen, drawn at the upper bound)", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, ncol=1)
    return _png(fig)


def det_band_plot(curves: dict, statuses: dict[str, str], thresholds, title: str,
                  people: Optional[dict] = None, tlabel: Optional[dict] = None) -> bytes:
    """DET per group with subject-bootstrap bands. ``curves[g]`` = (fmr, fnmr, fmr_lo, fmr_hi, fnmr_lo, fnmr_hi)
    over a threshold grid; rates are clipped for the probit axes."""
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    lo_clip, hi_clip = 5e-5, 0.6
    fnmr_floor = 5e-4  # FNMR of 0 is drawn on this floor (bottom edge) rather than vanishing

    def z(v, floor=lo_clip):
        return ndtri(np.clip(np.asarray(v, dtype=float), floor, hi_clip))

    for i, (g, (fm, fnm, fm_lo, fm_hi, fnm_lo, fnm_hi)) in enumerate(sorted(curves.items())):
        label = f"{g} ({_people((people or {}).get(g, '?'))}; {statuses.get(g, '')})"
        style = INSUFFICIENT if statuses.get(g) == "insufficient" else {"ls": LINESTYLES[i % len(LINESTYLES)], "lw": 1.6}
        (line,) = ax.plot(z(fm), z(fnm, fnmr_floor), color=OKABE_ITO[i % 7], label=label, **style)
        xs = np.r_[z(fm_lo), z(fm_hi)[::-1]]
        ys = np.r_[z(fnm_lo, fnmr_floor), z(fnm_hi, fnmr_floor)[::-1]]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if statuses.get(g) != "insufficient":
            ax.fill(xs[ok], ys[ok], color=line.get_color(), alpha=0.15, lw=0)
    return _finish_det(fig, ax, thresholds, lo_clip, fnmr_floor, title, tlabel)


def gallery_size_plot(frame: pd.DataFrame, title: str, people: Optional[dict] = None) -> bytes:
    """FPIR against watchlist size per group: measured points (exact expectation) and the extrapolated band."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for i, (g, sub) in enumerate(frame.groupby("group")):
        st = _style(i)
        k = (people or {}).get(g)
        label = f"{g} ({_people(k)})" if k is not None else str(g)
        (line,) = ax.plot(sub["gallery_size"], sub["fpir_extrapolated"], ls=LINESTYLES[i % 4], color=st["color"],
                          lw=1.4, label=label)
        ax.fill_between(sub["gallery_size"], sub["fpir_extrapolated"], sub["fpir_extrapolated_upper"],
                        color=line.get_color(), alpha=0.12)
        emp = sub.dropna(subset=["fpir_empirical"])
        ax.plot(emp["gallery_size"], emp["fpir_empirical"], st["marker"], ms=6, color=line.get_color())
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("watchlist size (gallery entries, log scale)")
    ax.set_ylabel("FPIR: share of innocent\nvisitors flagged")
    ax.set_title(title + "\n(markers: measured; line to band edge: extrapolated)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, ncol=2)
    return _png(fig)


_AXIS_UNITS = {"distance": "subject distance (m)", "subject.distance": "subject distance (m)",
               "light": "light on the face (lux)", "sensor.lux": "light on the face (lux)",
               "bitrate": "H.264 bitrate (kbit/s)", "codec.bitrate_kbps": "H.264 bitrate (kbit/s)"}


def sweep_plot(frame: pd.DataFrame, slice_name: str, threshold_id: str, threshold_label: str = "") -> bytes:
    """FTA, FNMR and FMR per group along a sweep axis, with exact 95% intervals, plus face size (2 × 2 grid)."""
    sub = frame[(frame["slice"] == slice_name) & (frame["threshold_id"] == threshold_id)]
    axis = sub["axis"].iloc[0]
    xlabel = _AXIS_UNITS.get(axis, axis)
    fig, axes = plt.subplots(2, 2, figsize=(6.4, 6.2), sharex=True)
    axes = axes.ravel()
    for i, (g, part) in enumerate(sub.groupby("group")):
        part = part.sort_values("value")
        weak = (part["status"] == "insufficient").all()
        ls = INSUFFICIENT["ls"] if weak else LINESTYLES[i % 4]
        ppl = int(part["n_people_fta"].max()) if "n_people_fta" in part else int(part["n_subjects"].max())
        for ax, rate in zip(axes[:3], ("fta", "fnmr", "fmr")):
            v = part[rate].to_numpy(dtype=float)
            lo = part[f"{rate}_lo"].to_numpy(dtype=float)
            hi = part[f"{rate}_hi"].to_numpy(dtype=float)
            (line,) = ax.plot(part["value"], v, ls=ls, marker=MARKERS[i % len(MARKERS)], color=OKABE_ITO[i % 7],
                              ms=4, label=f"{g} ({_people(ppl)}{', insufficient' if weak else ''})")
            if not weak:
                ax.fill_between(part["value"], lo, hi, color=line.get_color(), alpha=0.12)
    for ax, rate in zip(axes[:3], ("FTA: no face found", "FNMR: true match missed", "FMR: false match")):
        ax.set_title(rate, fontsize=10)
        ax.set_ylabel("share (0–1)")
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylim(-0.02, 1.02)
    sizes = sub.drop_duplicates("value").sort_values("value")
    axes[3].plot(sizes["value"], sizes["target_interocular_px"], "k-", label="lens model")
    axes[3].plot(sizes["value"], sizes["detected_interocular_px"], "o", color=OKABE_ITO[0], label="detected (median)")
    axes[3].set_title("face size", fontsize=10)
    axes[3].set_ylabel("inter-ocular distance (px)")
    axes[3].grid(alpha=0.3)
    axes[3].legend(fontsize=8)
    for ax in axes[2:]:
        ax.set_xlabel(xlabel)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", bbox_to_anchor=(0.5, -0.02 - 0.035 * len(names)), frameon=False,
               ncol=1, fontsize=9)
    fig.suptitle(f"Simulated captures: {slice_name} at {threshold_label or threshold_id}\n"
                 "(bands: 95% pair-level Clopper–Pearson)", fontsize=10)
    fig.tight_layout()
    return _png(fig)
