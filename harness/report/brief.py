"""A plain-language brief of a run, for readers who will not read the tables."""

from __future__ import annotations

import math

import pandas as pd


def pct(x: float) -> str:
    """A rate as a percentage with sensible precision."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    v = 100 * x
    if v == 0:
        return "0%"
    return f"{v:.2g}%" if v < 1 else f"{v:.1f}%"


def one_in(x: float) -> str:
    if not x or math.isnan(x):
        return "none"
    return f"about 1 in {round(1 / x):,}"


def brief(results: dict, groups: pd.DataFrame) -> list[str]:
    """Paragraphs (plain text) summarising the run's main findings and their limits."""
    out = []
    model = results["provenance"]["models"]["embedder"]["name"]
    ds = results["provenance"]["dataset"]["name"]
    proto = results["protocol"]
    out.append(
        f"We compared {proto['n_impostor']:,} pairs of photos of two different people and "
        f"{proto['n_genuine']:,} pairs of the same person from the {ds} face set, using the face-matching "
        f"model {model}. A false match is when the model says two different people are the same person: "
        "for someone whose doorbell footage is searched, that is how an innocent person becomes a suspect."
    )
    cap = results.get("capture")
    if cap:
        out.append(
            f"The photos being searched were first turned into what a doorbell camera would record "
            f"({cap['name']}: subject at {cap['subject']['distance']:g} m, "
            f"{'infrared night mode' if cap['sensor']['ir'] else str(cap['sensor']['lux']) + ' lux'}, "
            f"{cap['codec']['kind']} compression); the enrolment photos stayed clean."
        )
    tid0 = results["thresholds"][0]["id"] if results["thresholds"] else None
    # Headlines use single attributes: their groups are larger than the intersections' (which the tables show).
    single = ~groups["slice"].str.contains("×") & (groups["slice"] != "all") & (groups["status"] != "insufficient")
    fta = groups[(groups["threshold_id"] == tid0) & single & (groups["n_probe_images"] > 0)]
    overall_fta = groups[(groups["threshold_id"] == tid0) & (groups["slice"] == "all")]
    if len(fta) and len(overall_fta) and overall_fta.iloc[0]["fta"] > 0:
        hi = fta.loc[fta["fta"].idxmax()]
        same = fta[fta["slice"] == hi["slice"]]
        lo = same.loc[same["fta"].idxmin()]
        out.append(
            f"In {pct(overall_fta.iloc[0]['fta'])} of the searched photos no face was found at all. "
            f"This failure was most common for {hi['slice']} = {hi['group']}: {pct(hi['fta'])} "
            f"(95% interval {pct(hi['fta_lo'])} to {pct(hi['fta_hi'])}, {int(hi['n_subjects'])} people), against "
            f"{pct(lo['fta'])} for {lo['group']}. A face that is never found cannot be matched, rightly or wrongly; "
            "it also means the system works unequally well for different people."
        )
    for t in results["thresholds"]:
        tid = t["id"]
        overall = groups[(groups["threshold_id"] == tid) & (groups["slice"] == "all")].iloc[0]
        how = (f"calibrated on the clean photos so that {one_in(t['target_fmr'])} comparisons of different "
               "people match overall"
               if t["kind"] == "calibrated" else f"{t['source']}")
        unit = "distance" if t["score"] == "euclidean" else "cosine similarity"
        cmp = "≤" if t["score"] == "euclidean" else "≥"
        text = (f"At threshold {tid} ({unit} {cmp} {t['native']:.3f}; {how}), "
                f"{pct(overall['fmr'])} of different-person comparisons were wrongly called a match "
                f"({int(overall['n_false_match'])} of {int(overall['n_impostor']):,}) and "
                f"{pct(overall['fnmr'])} of same-person comparisons were wrongly rejected.")
        sub = groups[(groups["threshold_id"] == tid) & single & (groups["n_impostor"] > 0)]
        if len(sub) and sub["fmr"].max() == 0:
            text += " No group had a false match at this threshold."
        elif len(sub):
            hi = sub.loc[sub["fmr"].idxmax()]
            same = sub[sub["slice"] == hi["slice"]]  # compare like with like: one slice
            lo = same.loc[same["fmr"].idxmin()]
            text += (f" The highest false match rate was for {hi['slice']} = {hi['group']}: {pct(hi['fmr'])} "
                     f"(95% interval {pct(hi['fmr_lo'])} to {pct(hi['fmr_hi'])}, {int(hi['n_subjects'])} people)")
            if lo["fmr"] > 0:
                text += (f", {hi['fmr'] / lo['fmr']:.1f} times the lowest, {lo['slice']} = {lo['group']} "
                         f"({pct(lo['fmr'])}).")
            else:
                text += (f"; for {lo['slice']} = {lo['group']} no false match was seen "
                         f"(at most {pct(lo['fmr_hi'])} with 95% confidence).")
        out.append(text)
    out.append(
        "Every rate comes with a 95% interval: the range the true rate plausibly lies in given how few people "
        "were tested. Groups marked 'small' have wide intervals; groups marked 'insufficient' have too few people "
        "to support any claim and are shown only for completeness."
    )
    caveats = (results["provenance"]["dataset"].get("card") or {}).get("caveats") or []
    if caveats:
        out.append("Limits of this data: " + " ".join(caveats))
    return out
