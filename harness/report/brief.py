"""A plain-language brief of a run, generated from the numbers through claim templates.

Rules (each enforced by :mod:`harness.report.claims` and tested):

- every rate comes with its counts, the number of people who produced it and its 95% interval
  (subject bootstrap, widened to the exact pair-level interval where wider);
- a zero is never "no errors" without its upper bound;
- a ratio is never stated without its interval and verdict (an unbounded one says so);
- every sentence about a capture preset says "simulated" and states the preset's assumptions;
- the brief leads with the same-group (demographically matched) FMR: how likely an innocent
  person of a group is to be matched to someone who looks like them;
- a "what this run cannot tell you" list and a multiplicity statement close it.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import pandas as pd

from harness.report import claims, labels
from harness.report.labels import count, per, pct

#: Re-exported for templates and older callers.
__all__ = ["brief", "pct", "one_in", "capture_assumptions"]


def one_in(x: float) -> str:
    if not x or math.isnan(x):
        return "none"
    return f"about 1 in {round(1 / x):,}"


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def capture_assumptions(cap: dict) -> list[str]:
    """What the capture simulation assumes, in plain words (every capture sentence carries these)."""
    out = ["probes are face crops rendered from posed, evenly lit studio photographs, not frames from a video "
           "of someone walking up to a door",
           f"the camera model (lens, {cap['subject']['distance']:g} m distance, motion blur, sensor noise, "
           f"{cap['codec']['kind']} compression) is arithmetic, not a recording"]
    if cap["sensor"].get("ir"):
        out.append("infrared night mode is a grey conversion of visible-light photos: real near-infrared skin "
                   "reflectance, which differs between people, is not modelled")
    else:
        out.append(f"light is modelled as {cap['sensor'].get('lux')} lux on the face")
    return out


def _rate_sentence(row: Any, rate: str, who: str, what: str, error: str) -> str:
    """A rate claim (or a zero claim with its upper bound) from one row of groups / same_group."""
    k_col, n_col, unit, ppl = {
        "fmr": ("n_false_match", "n_impostor", "different-person comparisons", "n_people_fmr"),
        "fnmr": ("n_false_non_match", "n_genuine", "same-person comparisons", "n_people_fnmr"),
        "fta": ("n_fta", "n_probe_images", "searched photos", "n_people_fta"),
    }[rate]
    people = row.get(ppl, row.get("n_people"))
    n = int(_f(row.get(n_col)) or 0)
    if n == 0:
        return f"{what} for {who}: {labels.NO_TRIALS} — nobody in the group produced such a comparison"
    lo, hi = row.get(f"{rate}_ci_lo", row.get(f"{rate}_lo")), row.get(f"{rate}_ci_hi", row.get(f"{rate}_hi"))
    k = int(row.get(k_col))
    if k == 0:
        who = "anyone" if who == "everyone" else who
        return claims.zero(error=error, who=who, n=count(n), unit=unit, people=count(people), hi=pct(hi), how="")
    return claims.rate(what=what, rate=pct(row.get(rate)), who=who, k=count(k), n=count(n), unit=unit,
                       people=count(people), lo=pct(lo), hi=pct(hi), how="")


def _threshold_phrase(t: dict) -> str:
    unit = "distance" if t["score"] == "euclidean" else "cosine similarity"
    cmp = "≤" if t["score"] == "euclidean" else "≥"
    if t["kind"] == "calibrated":
        return (f"the threshold calibrated to FMR 1 in {round(1 / t['target_fmr']):,} ({unit} {cmp} {t['native']:.3f}, "
                "set on the clean photos)")
    return f"the fixed threshold {unit} {cmp} {t['native']:g} ({t['source']})"


def _who(row) -> str:
    return f"{labels.slice_label(row['slice'])} = {labels.group(row['group'])}"


def _headline_slice(same: pd.DataFrame, tid: str) -> Optional[pd.DataFrame]:
    """Single-attribute slice whose usable group has the highest same-group FMR at ``tid``."""
    if not len(same):
        return None
    s = same[(same["threshold_id"] == tid) & ~same["slice"].str.contains("×") & (same["status"] != "insufficient")
             & (same["n_impostor"] > 0)]
    if not len(s):
        return None
    top = s.loc[s["fmr"].idxmax()]
    return s[s["slice"] == top["slice"]]


def brief(results: dict, a, groups: pd.DataFrame, holm: bool = False) -> dict[str, list[str]]:
    """``{"paragraphs": [...], "cannot": [...]}``: the brief and what this run cannot tell you."""
    out: list[str] = []
    cannot: list[str] = []
    model = results["provenance"]["models"]["embedder"]["name"]
    ds = results["provenance"]["dataset"]["name"]
    proto = results["protocol"]
    out.append(
        f"We compared {proto['n_impostor']:,} pairs of photos of two different people and {proto['n_genuine']:,} "
        f"pairs of the same person ({proto['n_subjects']:,} people) from the {ds} face set, using the face-matching "
        f"model {model}. A false match is when the model says two different people are the same person: for someone "
        "whose doorbell footage is searched, that is how an innocent person becomes a suspect."
    )
    cap = results.get("capture")
    if cap:
        settings = (f"subject at {cap['subject']['distance']:g} m, "
                    f"{'infrared night mode' if cap['sensor']['ir'] else str(cap['sensor']['lux']) + ' lux'}, "
                    f"{cap['codec']['kind']} compression")
        out.append(claims.capture(preset=cap["name"], settings=settings,
                                  assumptions="; ".join(capture_assumptions(cap))))
        sweep = results.get("sweep") or []
        if sweep:
            values = sorted({r["value"] for r in sweep})
            out.append(f"A sweep of simulated captures along {sweep[0]['axis']} ({', '.join(f'{v:g}' for v in values)}) "
                       "is shown below, every step simulated under the same assumptions and read at the same "
                       "thresholds, calibrated on the clean photos.")
        cannot.append("How a real doorbell camera performs: these probes are simulated from studio photographs "
                      f"({cap['name']}); treat the figures as a stress test of the model, not a field measurement.")
    sim = " (simulated captures)" if cap else ""
    thresholds = results["thresholds"]
    if not thresholds:
        return {"paragraphs": out, "cannot": cannot}
    overall = groups[groups["slice"] == "all"].set_index("threshold_id")
    single = ~groups["slice"].str.contains("×") & (groups["slice"] != "all") & (groups["status"] != "insufficient")
    tid0 = thresholds[0]["id"]

    # FTA is produced by everyone with a probe image (n_people_fta), including those whose face was never
    # found, so its headline uses that count, not the status (which counts people who produced pairs).
    min_people = int(((results["provenance"].get("config") or {}).get("metrics") or {}).get("min_subjects", 5))
    single_any = ~groups["slice"].str.contains("×") & (groups["slice"] != "all")
    people_fta = groups["n_people_fta"] if "n_people_fta" in groups else groups["n_subjects"]
    fta = groups[(groups["threshold_id"] == tid0) & single_any & (people_fta >= min_people)
                 & (groups["n_probe_images"] > 0)]
    if len(fta) and tid0 in overall.index and overall.loc[tid0, "n_fta"] > 0:
        hi = fta.loc[fta["fta"].idxmax()]
        lo = fta[fta["slice"] == hi["slice"]].loc[lambda f: f["fta"].idxmin()]
        out.append(
            f"No face was found at all in {pct(overall.loc[tid0, 'fta'])} of the searched photos{sim} "
            f"({count(overall.loc[tid0, 'n_fta'])} of {count(overall.loc[tid0, 'n_probe_images'])}). "
            + _rate_sentence(hi, "fta", _who(hi), "The failure rate", "failure to acquire")
            + "; against it, " + _rate_sentence(lo, "fta", _who(lo), "the failure rate", "failure to acquire")
            + ". A face that is never found cannot be matched, rightly or wrongly; every rate below comes only from "
              "the people whose faces were found, and says how many they were."
        )

    same = getattr(a, "same_group", pd.DataFrame())
    summaries = getattr(a, "summaries", pd.DataFrame())
    disparity = getattr(a, "disparity", pd.DataFrame())
    any_fnm = False
    for t in thresholds:
        tid = t["id"]
        if tid not in overall.index:
            continue
        o = overall.loc[tid].to_dict()
        o["threshold_id"] = tid
        any_fnm = any_fnm or int(o["n_false_non_match"]) > 0
        text = (f"At {_threshold_phrase(t)}{sim}: overall, "
                + _rate_sentence(o, "fmr", "everyone", "the false match rate", "false match") + "; "
                + _rate_sentence(o, "fnmr", "everyone", "the false non-match rate", "false non-match") + ".")
        head = _headline_slice(same, tid)
        if head is not None and head["fmr"].max() == 0:
            big = head.loc[head["n_impostor"].idxmax()]
            text += (" No group had a same-group false match at this threshold. For the group with the most "
                     "comparisons, " + _rate_sentence(big, "fmr", _who(big), "the same-group false match rate",
                                                      "same-group false match")
                     + "; smaller groups' upper bounds are higher (tables below).")
            text += " " + _ratio_sentence(summaries, disparity, tid, big["slice"], holm, groups)
        elif head is not None:
            top = head.loc[head["fmr"].idxmax()]
            low = head.loc[head["fmr"].idxmin()]
            text += (" How likely is an innocent person to be matched to someone of their own group, who looks like "
                     "them? Highest: " + _rate_sentence(top, "fmr", _who(top),
                                                                     "the same-group false match rate",
                                                                     "same-group false match")
                     + f"; with all impostors, whatever their group, it was {pct(top['fmr_all'])} "
                       f"({count(top['n_false_match_all'])} of {count(top['n_impostor_all'])}), diluted by the data "
                       "set's group mix. Lowest: "
                     + _rate_sentence(low, "fmr", _who(low), "the same-group false match rate",
                                      "same-group false match") + ".")
            text += " " + _ratio_sentence(summaries, disparity, tid, top["slice"], holm, groups)
        out.append(text)

    proj = getattr(a, "projection", pd.DataFrame())
    if len(proj):
        t_last = thresholds[-1]["id"]
        n_max = int(proj["watchlist_size"].max())
        p = proj[(proj["threshold_id"] == t_last) & (proj["watchlist_size"] == n_max)]
        head = _headline_slice(same, t_last)
        rows = [p[p["slice"] == "all"]]
        if head is not None:
            g = head.loc[head["fmr"].idxmax()]
            rows.append(p[(p["slice"] == g["slice"]) & (p["group"] == g["group"])])
        for r in rows:
            if not len(r):
                continue
            r = r.iloc[0]
            who = "visitors" if r["slice"] == "all" else f"visitors of {_who(r)}"
            out.append(claims.projection(
                n=f"{n_max:,}", who=who, per1000=per(r["alerts_per_1000"]), lo=per(r["alerts_per_1000_lo"]),
                hi=per(r["alerts_per_1000_hi"]), method=(
                    "exact over watchlists drawn from the gallery measured here" if r["method"] == "measured"
                    else f"extrapolated beyond the {int(r['gallery_measured'])} gallery entries measured"),
                people=count(r["n_people"]), perday=per(r["alerts_per_day"]),
                visitors=per(r["visitors_per_day"]),
                assumptions="; ".join(_projection_assumptions()) + f"; at {labels.threshold_label(thresholds[-1])}"
                            + (" and simulated captures" if cap else "") + "."))
        if (proj["method"] == "extrapolated").any():
            cannot.append(f"False alerts on watchlists larger than the {int(proj['gallery_measured'].min())} entries "
                          "measured here are extrapolated under an independence assumption; the upper columns of the "
                          "projection table show how high they could be if each person's true rate is at its 95% "
                          "upper bound.")

    # What this run cannot tell you.
    if not any_fnm:
        cannot.append("Whether some groups are falsely rejected more than others: no same-person comparison was "
                      "rejected at any threshold, so FNMR disparity is unmeasurable here (every FNMR ratio is "
                      "undefined), not zero.")
    flagged = [t["id"] for t in thresholds if "below-3/N" in (t.get("flags") or [])]
    if flagged:
        cannot.append(f"Rates below 3/N are not measured: the thresholds {', '.join(flagged)} target an FMR under "
                      "three false matches in the calibration set, so they rest on a couple of scores.")
    cannot.append("Rates far below one in the number of comparisons of a group: a group's rate below about 3/N "
                  "(N its comparisons, in the tables) cannot be told apart from zero.")
    tiny = groups[(groups["status"] == "insufficient") & (groups["threshold_id"] == tid0)]
    if len(tiny):
        names = ", ".join(f"{labels.group(r.group)} ({int(r.n_people)} of {int(r.n_subjects)} listed people "
                          "produced comparisons)" for r in tiny.itertuples())
        cannot.append(f"Anything about groups with too few people who produced trials: {names}. They are shown for "
                      "completeness and left out of every comparison.")
    if "fmr_recal_lo" not in groups.columns:
        cannot.append("How uncertain the thresholds themselves are: calibrated thresholds are fitted on this run's "
                      "own impostor pairs and held fixed in every bootstrap replicate, so intervals do not carry "
                      "threshold uncertainty (set metrics.recalibrate=true to re-fit them in every replicate).")
    cannot.append("Anything about people, cameras or groups not in this data set.")
    caveats = (results["provenance"]["dataset"].get("card") or {}).get("caveats") or []
    cannot.extend(caveats)

    n_tests = int(summaries["n_tests"].iloc[0]) if len(summaries) and "n_tests" in summaries else 0
    if n_tests:
        out.append(
            f"Multiplicity: the highest and lowest groups were picked after looking at the data, and this run makes "
            f"{n_tests} ratio comparisons (slices × thresholds × rates). At 95% each, about 1 in 20 of them could "
            "read 'disparity' by chance alone. "
            + ("Verdicts here are Holm-adjusted for all of them." if holm else
               "The tables also give Holm-adjusted verdicts, which allow for that; use those when quoting a "
               "single finding out of many.")
        )
    out.append(
        "Every rate comes with a 95% interval: the range the true rate plausibly lies in given how few people were "
        "tested. Intervals resample people (a subject bootstrap), because every comparison that shares a person "
        "shares that person's face; where the exact pair-level interval is wider (always when no error was seen) "
        "it is used instead. Groups marked 'small' have wide intervals; groups marked 'insufficient' have too few "
        "people to support any claim."
    )
    return {"paragraphs": out, "cannot": cannot}


def _projection_assumptions() -> list[str]:
    from harness.metrics.projection import ASSUMPTIONS

    return list(ASSUMPTIONS)


def _ratio_sentence(summaries: pd.DataFrame, disparity: pd.DataFrame, tid: str, slice_name: str, holm: bool,
                    groups: pd.DataFrame) -> str:
    """All-impostor FMR highest ÷ lowest for the slice, always with its interval and verdict."""
    if not len(summaries):
        return "No ratio between groups is given: the subject bootstrap was not run."
    s = summaries[(summaries["threshold_id"] == tid) & (summaries["slice"] == slice_name)
                  & (summaries["summary"] == "fmr_max_min_ratio")]
    if not len(s):
        return "No ratio between groups is given: fewer than two groups had enough people."
    s = s.iloc[0]
    verdict = s["verdict_holm"] if holm and "verdict_holm" in s else s["verdict"]
    if verdict == "undefined":
        return ("No group had a false match, so no ratio between groups exists (0/0 is undefined, not equality); "
                "the zero-count statements above give each group's upper bound.")
    hi_g, lo_g = labels.group(s["max_group"]), labels.group(s["min_group"])
    if verdict == "unbounded":
        d = disparity[(disparity["threshold_id"] == tid) & (disparity["slice"] == slice_name)
                      & (disparity["metric"] == "fmr_max_min_ratio")]
        d = d.iloc[0] if len(d) else {}
        g = groups[(groups["threshold_id"] == tid) & (groups["slice"] == slice_name)
                   & (groups["group"] == s["min_group"])]
        zero_hi = g.iloc[0].get("fmr_ci_hi", g.iloc[0]["fmr_hi"]) if len(g) else None
        return "With all impostors, " + claims.ratio_unbounded(zero_hi=pct(zero_hi) if zero_hi is not None else None,
            lo_group=lo_g, hi_group=hi_g, error="false match", n=count(d.get("min_trials")),
            unit="different-person comparisons", people=count(d.get("min_people")),
            ratio3=labels.ratio(d.get("ratio_rule3"))) + "."
    note = ", Holm-adjusted" if holm else ""
    if verdict == "inconclusive":
        note += ": the interval includes 1, so equal rates cannot be ruled out"
    elif verdict == "disparity" and not holm and s.get("verdict_holm") == "inconclusive":
        note += ", but inconclusive after the Holm adjustment for the run's many comparisons"
    return "With all impostors, " + claims.ratio(
        hi_group=hi_g, lo_group=lo_g, metric="false match rate", ratio=labels.ratio(s["value"]),
        lo=labels.ratio(s["lo"]), hi=labels.ratio(s["hi"]), verdict=verdict, verdict_note=note) + "."
