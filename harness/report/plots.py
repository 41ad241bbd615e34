"""Plots for the HTML report, returned as PNG bytes (matplotlib, headless)."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402

from harness.metrics import det_curve  # noqa: E402
from harness.metrics.groups import group_labels  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _groups(pairs: pd.DataFrame, attrs: Sequence[str], side: str) -> np.ndarray:
    return group_labels(pairs, [f"{side}_{a}" for a in attrs]).to_numpy()


def det_plot(pairs: pd.DataFrame, attrs: Sequence[str], side: str, thresholds, statuses: dict[str, str],
             title: str) -> bytes:
    """DET curves per group on normal-deviate axes, with the global thresholds' overall FMR marked."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    labels = _groups(pairs, attrs, side)
    gen_all = pairs["genuine"].to_numpy()
    s = pairs["score"].to_numpy()
    for g in sorted(set(labels)):
        sel = labels == g
        gen, imp = s[sel & gen_all], s[sel & ~gen_all]
        if len(gen) == 0 or len(imp) == 0:
            continue
        _, fm, fnm = det_curve(gen, imp)
        # Rates of exactly 0 or 1 have no probit; clip to half a count so the curve stays visible.
        fm = np.clip(fm, 0.5 / len(imp), 1 - 0.5 / len(imp))
        fnm = np.clip(fnm, 0.5 / len(gen), 1 - 0.5 / len(gen))
        style = "--" if statuses.get(g) == "insufficient" else "-"
        ax.plot(norm.ppf(fm), norm.ppf(fnm), style, label=f"{g} ({statuses.get(g, '')})", lw=1.5)
    return _finish_det(fig, ax, thresholds, 5e-5, 5e-4, title)


def _finish_det(fig, ax, thresholds, fmr_floor: float, fnmr_floor: float, title: str) -> bytes:
    """Probit axes, threshold markers and labels shared by the DET plots."""
    ticks = np.array([1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5])
    for t in thresholds:
        if t.achieved_fmr and t.achieved_fmr > 0:
            x = norm.ppf(max(t.achieved_fmr, fmr_floor))
            ax.axvline(x, color="grey", lw=0.8, ls=":")
            ax.text(x, norm.ppf(0.4), t.id, rotation=90, fontsize=7, color="grey")
    ax.set_xticks(norm.ppf(ticks), [f"{v:g}" for v in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{v:g}" for v in ticks])
    ax.set_xlim(norm.ppf(fmr_floor), norm.ppf(0.6))
    ax.set_ylim(norm.ppf(fnmr_floor) - 0.05, norm.ppf(0.6))
    ax.set_xlabel("False match rate (FMR)")
    ax.set_ylabel("False non-match rate (FNMR)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def score_hist(pairs: pd.DataFrame, attrs: Sequence[str], side: str, score_name: str, thresholds) -> bytes:
    """Genuine and impostor score distributions per group (raw score units)."""
    labels = _groups(pairs, attrs, side)
    groups = sorted(set(labels))
    n = len(groups)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.4 * rows), squeeze=False, sharex=True)
    raw = pairs[score_name].to_numpy()
    gen_all = pairs["genuine"].to_numpy()
    bins = np.linspace(np.nanmin(raw), np.nanmax(raw), 50)
    for ax, g in zip(axes.ravel(), groups):
        sel = labels == g
        ax.hist(raw[sel & ~gen_all], bins=bins, density=True, alpha=0.6, label="impostor", color="tab:red")
        ax.hist(raw[sel & gen_all], bins=bins, density=True, alpha=0.6, label="genuine", color="tab:blue")
        for t in thresholds:
            ax.axvline(t.native, color="k", lw=0.7, ls=":")
        ax.set_title(f"{g} (n={int(sel.sum())})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.supxlabel(score_name, fontsize=8)
    fig.tight_layout()
    return _png(fig)


def rate_bars(frame: pd.DataFrame, rate: str, title: str) -> bytes:
    """Per-group rate with its confidence interval at each threshold (log scale), zero shown at the rule-of-3 bound."""
    thresholds = list(dict.fromkeys(frame["threshold_id"]))
    groups = list(dict.fromkeys(frame["group"]))
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(groups) + 2), 3.6))
    width = 0.8 / max(1, len(thresholds))
    for k, tid in enumerate(thresholds):
        sub = frame[frame["threshold_id"] == tid].set_index("group").reindex(groups)
        x = np.arange(len(groups)) + (k - (len(thresholds) - 1) / 2) * width
        v = sub[rate].to_numpy(dtype=float)
        lo = sub[f"{rate}_lo"].to_numpy(dtype=float)
        hi = sub[f"{rate}_hi"].to_numpy(dtype=float)
        shown = np.where(v > 0, v, np.nan)
        ax.errorbar(x, shown, yerr=[np.nan_to_num(shown - lo), np.nan_to_num(hi - shown)], fmt="o", ms=4,
                    capsize=2, label=tid)
        zero = v == 0
        ax.scatter(x[zero], hi[zero], marker="v", s=18, color=ax.lines[-1].get_color())
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(groups)), groups, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(rate.upper())
    ax.set_title(title + "  (▼ = zero errors seen; marker at the upper CI bound)", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    return _png(fig)


def det_band_plot(curves: dict, statuses: dict[str, str], thresholds, title: str) -> bytes:
    """DET per group with subject-bootstrap bands. ``curves[g]`` = (fmr, fnmr, fmr_lo, fmr_hi, fnmr_lo, fnmr_hi)
    over a threshold grid; rates are clipped to (1e-5, 0.6) for the probit axes."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    lo_clip, hi_clip = 5e-5, 0.6
    fnmr_floor = 5e-4  # FNMR of 0 is drawn on this floor (bottom edge) rather than vanishing

    def z(v, floor=lo_clip):
        return norm.ppf(np.clip(np.asarray(v, dtype=float), floor, hi_clip))

    for g, (fm, fnm, fm_lo, fm_hi, fnm_lo, fnm_hi) in sorted(curves.items()):
        style = "--" if statuses.get(g) == "insufficient" else "-"
        (line,) = ax.plot(z(fm), z(fnm, fnmr_floor), style, lw=1.4, label=f"{g} ({statuses.get(g, '')})")
        xs = np.r_[z(fm_lo), z(fm_hi)[::-1]]
        ys = np.r_[z(fnm_lo, fnmr_floor), z(fnm_hi, fnmr_floor)[::-1]]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if statuses.get(g) != "insufficient":
            ax.fill(xs[ok], ys[ok], color=line.get_color(), alpha=0.15, lw=0)
    return _finish_det(fig, ax, thresholds, lo_clip, fnmr_floor, title)


def heatmap(long: pd.DataFrame, title: str) -> bytes:
    """Cross-group FMR (enrolled group rows × probe group columns), log colour scale, counts annotated."""
    from matplotlib.colors import LogNorm

    fmr = long.pivot(index="enrol_group", columns="probe_group", values="fmr")
    k = long.pivot(index="enrol_group", columns="probe_group", values="n_false_match")
    n = long.pivot(index="enrol_group", columns="probe_group", values="n_impostor")
    vals = fmr.to_numpy(dtype=float)
    pos = vals[np.isfinite(vals) & (vals > 0)]
    vmin = pos.min() if len(pos) else 1e-4
    vmax = max(pos.max(), vmin * 10) if len(pos) else 1e-1
    fig, ax = plt.subplots(figsize=(1.1 * len(fmr.columns) + 2.5, 0.7 * len(fmr.index) + 1.8))
    im = ax.imshow(np.where(vals > 0, vals, np.nan), cmap="viridis", norm=LogNorm(vmin=vmin, vmax=vmax))
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            ax.text(j, i, f"{int(k.iloc[i, j])}/{int(n.iloc[i, j])}", ha="center", va="center", fontsize=6,
                    color="white" if not (vals[i, j] > 0) or vals[i, j] < np.sqrt(vmin * vmax) else "black")
    ax.set_xticks(range(len(fmr.columns)), fmr.columns, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(fmr.index)), fmr.index, fontsize=7)
    ax.set_xlabel("probe group (person at the camera)")
    ax.set_ylabel("enrolled group")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="FMR (blank: no false match)")
    return _png(fig)


def gallery_size_plot(frame: pd.DataFrame, title: str) -> bytes:
    """FPIR against watchlist size per group: empirical points and the extrapolated curve."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for g, sub in frame.groupby("group"):
        (line,) = ax.plot(sub["gallery_size"], sub["fpir_extrapolated"], "-", lw=1.2, label=f"{g}")
        ax.fill_between(sub["gallery_size"], sub["fpir_extrapolated"], sub["fpir_extrapolated_upper"],
                        color=line.get_color(), alpha=0.12)
        emp = sub.dropna(subset=["fpir_empirical"])
        ax.plot(emp["gallery_size"], emp["fpir_empirical"], "o", ms=4, color=line.get_color())
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("watchlist (gallery) size")
    ax.set_ylabel("chance an innocent passer-by is flagged (FPIR)")
    ax.set_title(title + "\n(points: measured; line and band: extrapolated from each person's observed FMR up to "
                 "its 95% upper bound)", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def sweep_plot(frame: pd.DataFrame, slice_name: str, threshold_id: str) -> bytes:
    """FTA, FNMR and FMR per group along a sweep axis, with exact 95% intervals, plus face size."""
    sub = frame[(frame["slice"] == slice_name) & (frame["threshold_id"] == threshold_id)]
    axis = sub["axis"].iloc[0]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    for g, part in sub.groupby("group"):
        part = part.sort_values("value")
        ls = "--" if (part["status"] == "insufficient").all() else "-"
        for ax, rate in zip(axes[:3], ("fta", "fnmr", "fmr")):
            v = part[rate].to_numpy(dtype=float)
            lo = part[f"{rate}_lo"].to_numpy(dtype=float)
            hi = part[f"{rate}_hi"].to_numpy(dtype=float)
            (line,) = ax.plot(part["value"], v, ls, marker="o", ms=3, label=g)
            if ls == "-":
                ax.fill_between(part["value"], lo, hi, color=line.get_color(), alpha=0.12)
    for ax, rate in zip(axes[:3], ("FTA (no face found)", "FNMR (true match missed)", "FMR (false match)")):
        ax.set_xlabel(axis)
        ax.set_title(rate, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=7)
    sizes = sub.drop_duplicates("value").sort_values("value")
    axes[3].plot(sizes["value"], sizes["target_interocular_px"], "k-", label="lens model")
    axes[3].plot(sizes["value"], sizes["detected_interocular_px"], "o", color="tab:orange", label="detected (median)")
    axes[3].set_xlabel(axis)
    axes[3].set_title("face size: inter-ocular pixels", fontsize=9)
    axes[3].grid(alpha=0.3)
    axes[3].legend(fontsize=7)
    fig.suptitle(f"{slice_name} at {threshold_id} (bands: 95% Clopper–Pearson)", fontsize=10)
    fig.tight_layout()
    return _png(fig)
