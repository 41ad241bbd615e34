"""Human labels for raw identifiers, number formatting under the 0/0 convention, and the glossary.

Every page and sentence formats numbers through these functions, so "undefined" (0/0) and
"unbounded" (x/0) read the same everywhere (see :mod:`harness.metrics.disparity`).
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional

UNDEFINED = "undefined"
UNBOUNDED = "unbounded"
NO_TRIALS = "n/a (no trials)"

_WORDS = {
    "east_asian": "East Asian", "west_asian": "West Asian", "black": "Black", "white": "White",
    "female": "female", "male": "male", "unknown": "unknown", "all": "everyone",
}
_SLICES = {"age_band": "age band", "gender": "gender", "ethnicity": "ethnicity", "all": "everyone"}
SUMMARIES = {
    "fmr_max_min_ratio": "FMR, highest group ÷ lowest group",
    "fnmr_max_min_ratio": "FNMR, highest group ÷ lowest group",
    "fmr_max_geomean_ratio": "FMR, highest group ÷ geometric mean of groups",
    "fnmr_max_geomean_ratio": "FNMR, highest group ÷ geometric mean of groups",
    "fmr_gini": "Gini index of group FMRs",
    "fnmr_gini": "Gini index of group FNMRs",
    "fdr": "Fairness Discrepancy Rate (FDR)",
    "garbe": "GARBE (mean of the two Gini indices)",
    "inequity_rate": "Inequity rate",
}


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def group(label: Any) -> str:
    """``east_asian/white`` -> ``East Asian / White``; ``female × black`` -> ``female × Black``."""
    if _is_missing(label):
        return "unknown"
    parts = str(label).split(" × ")
    out = []
    for p in parts:
        out.append(" / ".join(_WORDS.get(w, w.replace("_", " ")) for w in p.split("/")))
    return " × ".join(out)


def slice_label(name: Any) -> str:
    """``age_band`` -> ``age band``; intersections keep their × sign."""
    return " × ".join(_SLICES.get(p, str(p).replace("_", " ")) for p in str(name).split(" × "))


def summary_label(name: str) -> str:
    return SUMMARIES.get(name, name.replace("_", " "))


def threshold_label(t: dict) -> str:
    """``fmr=0.01`` -> ``calibrated: FMR 1 in 100``; ``euclidean=0.6`` -> ``distance ≤ 0.6 (face_recognition default)``."""
    if t.get("kind") == "calibrated" and t.get("target_fmr"):
        return f"calibrated to FMR 1 in {round(1 / t['target_fmr']):,}"
    unit, cmp = ("distance", "≤") if t.get("score") == "euclidean" else ("cosine similarity", "≥")
    extra = " (face_recognition default)" if "face_recognition" in (t.get("source") or "") else ""
    return f"{unit} {cmp} {t.get('native'):g}{extra}"


def pct(x: Any, unbounded_ok: bool = False) -> str:
    """A rate as a percentage; ``n/a (no trials)`` for 0/0."""
    if _is_missing(x):
        return NO_TRIALS
    x = float(x)
    if math.isinf(x):
        return UNBOUNDED
    v = 100 * x
    if v == 0:
        return "0%"
    if v < 0.01:
        return f"{v:.2g}%"
    return f"{v:.2g}%" if v < 1 else (f"{v:.1f}%" if v < 99.95 else f"{v:.0f}%")


def ratio(x: Any) -> str:
    """A ratio or index: ``undefined`` for 0/0 (NaN), ``unbounded`` for x/0 (+inf)."""
    if _is_missing(x):
        return UNDEFINED
    x = float(x)
    if math.isinf(x):
        return UNBOUNDED
    if x != 1 and abs(x - 1) < 0.005:
        return f"{x:.4f}"  # do not print 1.0004 as "1": it decides a verdict
    return f"{x:.3g}"


def count(x: Any) -> str:
    if _is_missing(x):
        return "0"
    return f"{int(x):,}"


def interval(lo: Any, hi: Any, fmt=pct) -> str:
    """``lo – hi`` with the convention applied to each end; ``not computed`` when both are missing."""
    if _is_missing(lo) and _is_missing(hi):
        return "not computed"
    a = UNDEFINED if _is_missing(lo) else fmt(lo)
    b = UNDEFINED if _is_missing(hi) else fmt(hi)
    return f"{a} to {b}"


def per(x: Any, digits: int = 3) -> str:
    """A count-like expectation (false alerts): ``12.3``, ``0.041``."""
    if _is_missing(x):
        return NO_TRIALS
    x = float(x)
    if math.isinf(x):
        return UNBOUNDED
    if x == 0:
        return "0"
    return f"{x:,.{digits}g}" if x < 100 else f"{x:,.0f}"


#: Every term the report shows, in plain words. A test checks each abbreviation on the page is here.
GLOSSARY: dict[str, str] = {
    "FMR": "False match rate: the share of comparisons between two different people that the system wrongly "
           "calls a match. For someone whose doorbell footage is searched, that is how an innocent person becomes "
           "a suspect.",
    "same-group FMR": "FMR over comparisons between two different people of the same group only (demographically "
                      "matched impostors, as NIST reports it): how likely an innocent person of a group is to be "
                      "matched to someone who looks like them.",
    "all-impostor FMR": "FMR over comparisons with every other enrolled person, whatever their group; a data set's "
                        "group mix dilutes it.",
    "FNMR": "False non-match rate: the share of comparisons of two photos of the same person that the system wrongly "
            "rejects.",
    "FTA": "Failure to acquire: the share of searched (probe) photos in which no usable face was found.",
    "FTE": "Failure to enrol: the same for enrolment photos.",
    "FAR": "False accept rate (ISO/IEC 19795-1) = FMR × (1 − FTA).",
    "FRR": "False reject rate (ISO/IEC 19795-1) = FTA + FNMR × (1 − FTA).",
    "FPIR": "False positive identification rate: the share of searches by someone not on a watchlist that return "
            "somebody above the threshold.",
    "FNIR": "False negative identification rate: the share of searches by someone on the watchlist that do not "
            "return them as the top candidate above the threshold.",
    "CMC": "Cumulative match characteristic: the share of searches whose true mate is among the top k candidates.",
    "DET": "Detection error trade-off curve: FNMR against FMR as the threshold moves.",
    "GARBE": "Gini Aggregation Rate for Biometric Equitability: the mean of the Gini index of group FMRs and of "
             "group FNMRs; 0 means equal. Undefined when either index is.",
    "FDR": "Fairness Discrepancy Rate: 1 minus the mean of the largest gaps between groups' FMR and FNMR; 1 means equal.",
    "Gini index": "A measure of inequality between groups' rates from 0 (equal) to 1 (one group has all the errors).",
    "inequity rate": "The square root of (FMR highest ÷ lowest) × (FNMR highest ÷ lowest); 1 means equal.",
    "geometric mean": "The n-th root of the product of n groups' rates, used by NIST as the typical group.",
    "impostor pair": "Two photos of two different people.",
    "genuine pair": "Two photos of the same person.",
    "probe": "The photo being searched or checked: the person at the door.",
    "enrolment": "The stored reference photos the probes are compared with.",
    "threshold": "The score at which the system declares a match. One global threshold is used for every group.",
    "calibrated": "A threshold set on this run's clean impostor pairs so that overall FMR does not exceed a target.",
    "95% interval": "The range the true rate plausibly lies in. Unless labelled pair-level, intervals come from the "
                    "subject bootstrap, widened to the exact pair-level interval where that is wider.",
    "subject bootstrap": "Re-running the analysis on people drawn at random, with replacement, from each group: "
                         "people, not pairs of photos, are the unit of uncertainty, because every pair that shares "
                         "a person shares that person's face.",
    "pair-level interval": "Exact (Clopper–Pearson) binomial interval that treats every pair as independent; too "
                           "narrow when pairs share people, so shown only in the tables, labelled as such.",
    "Clopper–Pearson": "An exact binomial confidence interval.",
    "rule of 3": "With zero errors in N trials, the true rate is below 3/N with 95% confidence.",
    "upper bound": "The highest rate consistent with the data at 95% confidence.",
    "unbounded": "A ratio whose denominator group saw zero errors: the data cannot bound how many times higher the "
                 "other group's rate is (x/0). Shown as +inf in CSV files.",
    "undefined": "0/0: no trials, or no errors in either group of a ratio. Never shown as 0 or 1.",
    "verdict": "'disparity' when a ratio's 95% interval excludes 1 (equal rates), 'inconclusive' when it includes 1, "
               "'unbounded' or 'undefined' when no test is possible.",
    "Holm": "The Holm–Bonferroni correction: adjusts the verdicts for the number of comparisons made in the run.",
    "insufficient": "A group with fewer people producing trials than metrics.min_subjects: no claim can be made.",
    "small": "A group with fewer people producing trials than metrics.small_subjects: rates carry wide intervals.",
    "people": "The number of different people who produced the trials behind a rate (not the number listed).",
    "watchlist": "The gallery of people a doorbell network's searches are compared against.",
    "projection": "Arithmetic on measured rates under stated assumptions, not a measurement.",
    "simulated": "Produced by facerisk's capture model from ordinary photographs, not recorded by a camera.",
    "fingerprint": "The first 16 hex digits of the sha256 of this run's file manifest; 'facerisk bundle' and "
                   "'facerisk verify' check it.",
}


def abbreviations(text: str) -> set[str]:
    """Upper-case abbreviations (2–5 letters) used in ``text``."""
    return set(re.findall(r"\b[A-Z]{2,5}\b", text))


def require(value: Optional[Any], name: str) -> Any:
    """``value`` unless it is missing (None/NaN); for templates that need a bound."""
    if _is_missing(value):
        raise ValueError(f"{name} is missing")
    return value
