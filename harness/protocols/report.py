"""Tables and an HTML fragment for what a protocol adds to a run (``provenance.protocol``).

Kept beside the protocols so the report stage needs one call each (see the lead's notes):
``write_tables(info, folder)`` for CSV files and ``html_section(info)`` for the page.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Optional

import pandas as pd


def tables(info: Optional[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The protocol's result tables by name (empty for the split and all protocols)."""
    res = (info or {}).get("results") or {}
    out: dict[str, pd.DataFrame] = {}
    if info and info.get("kind") == "pairs" and res:
        if res.get("accuracy"):
            out["lfw_folds"] = pd.DataFrame(res["accuracy"]["folds"])
        out["tar_at_far"] = pd.DataFrame(res.get("tar_at_far", []))
        if res.get("by_group"):
            out["accuracy_by_group"] = pd.DataFrame(
                [{"group": g, **{k: v for k, v in e.items() if k != "folds"}} for g, e in res["by_group"].items()])
    if info and info.get("kind") == "watchlist" and res:
        rows, flagged = [], []
        for t in res.get("thresholds", []):
            rows += [{"threshold_id": t["threshold_id"], "threshold": t["value"], **g} for g in t["groups"]]
            flagged += [{"threshold_id": t["threshold_id"], **f} for f in t["falsely_flagged"]]
        out["watchlist_groups"] = pd.DataFrame(rows)
        out["falsely_flagged"] = pd.DataFrame(flagged)
        out["gallery_sweep"] = pd.DataFrame(res.get("gallery_sweep", []))
    return out


def write_tables(info: Optional[dict[str, Any]], folder: Path) -> dict[str, str]:
    """Write :func:`tables` as ``protocol_<name>.csv`` in ``folder``; return {name: file name}."""
    files = {}
    for name, table in tables(info).items():
        files[f"protocol_{name}"] = f"protocol_{name}.csv"
        table.to_csv(Path(folder) / files[f"protocol_{name}"], index=False)
    return files


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def _table(df: pd.DataFrame, cols: list[tuple[str, str]], fmt: dict) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt.get(c, str)(r[c]))}</td>" for c, _ in cols) + "</tr>"
                   for _, r in df.iterrows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_section(info: Optional[dict[str, Any]]) -> str:
    """An HTML fragment (a <section>) with the source benchmark's own figures; '' when there are none."""
    if not info or not info.get("results"):
        return ""
    res, kind = info["results"], info.get("kind")
    parts = []
    if kind == "pairs":
        acc = res.get("accuracy")
        lost = (f"{res['n_lost_to_fta']} of {res['n_pairs']} listed pairs had an image that failed to acquire "
                f"({res['lost_same']} same-person, {res['lost_different']} different-person): "
                f"{res['lost_policy_means']}.")
        if acc:
            parts.append(f"<p>Benchmark accuracy (the pair list's own protocol): <b>{_pct(acc['mean'])} ± "
                         f"{_pct(acc['standard_error'])}</b> (mean ± standard error over {acc['n_folds']} folds; "
                         "each fold's threshold chosen on the other folds). " + html.escape(lost) + "</p>")
            t = tables(info)["lfw_folds"]
            parts.append(_table(t, [("fold", "fold"), ("n_pairs", "pairs"), ("n_lost", "lost to FTA"),
                                    ("accuracy", "accuracy"), ("threshold", "threshold (similarity)")],
                                {"accuracy": _pct, "threshold": lambda v: f"{v:.4f}"}))
        else:
            parts.append(f"<p>{html.escape(res.get('accuracy_note', ''))} {html.escape(lost)}</p>")
        by = tables(info).get("accuracy_by_group")
        if by is not None and "mean" in by:
            parts.append("<p>Per group of the list (each cross-validated over its own folds):</p>" + _table(
                by, [("group", "group"), ("n_pairs", "pairs"), ("n_lost_to_fta", "lost to FTA"), ("mean", "accuracy"),
                     ("standard_error", "standard error")], {"mean": _pct, "standard_error": _pct}))
        tar = tables(info)["tar_at_far"]
        if len(tar):
            parts.append(_table(tar, [("target_far", "target FAR"), ("far", "FAR"), ("tar", "TAR"),
                                      ("n_same", "same pairs"), ("n_different", "different pairs"), ("flag", "note")],
                                {"far": _pct, "tar": _pct, "target_far": lambda v: f"{v:g}"}))
        title = "Pair-list benchmark"
    elif kind == "watchlist":
        g = info.get("gallery", {})
        parts.append(f"<p>{res['n_searches']} probe searches ({res['n_probe_people']} people) against a gallery of "
                     f"{res['n_gallery_people']} people from {html.escape(str(g.get('dataset', '')))}; "
                     f"{res.get('probes_lost_to_fta', 0)} probe(s) lost to a failure to acquire made no search.</p>")
        t = tables(info)["watchlist_groups"]
        parts.append(_table(t, [("threshold_id", "threshold"), ("slice", "slice"), ("group", "group"),
                                ("n_searches", "searches"), ("fpir", "FPIR"), ("n_people_flagged", "people flagged"),
                                ("share_people_flagged", "share of group flagged"),
                                ("share_people_flagged_hi", "its upper bound"),
                                ("share_of_all_flagged", "share of all flagged"),
                                ("share_of_probe_people", "share of probes"), ("fnir", "FNIR")],
                            {k: _pct for k in ("fpir", "share_people_flagged", "share_people_flagged_hi",
                                               "share_of_all_flagged",
                                               "share_of_probe_people", "fnir")}))
        f = tables(info)["falsely_flagged"]
        if len(f):
            parts.append("<p>Falsely flagged probes (first 20): " + html.escape(", ".join(
                f"{r.probe_subject} ({r.threshold_id})" for r in f.head(20).itertuples())) + "</p>")
        title = "Watchlist"
    else:
        return ""
    return f'<section id="protocol"><h2>{title}</h2>{"".join(parts)}</section>'
