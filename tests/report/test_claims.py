"""Claim templates refuse to render without their bound; the brief built from them cannot overclaim."""

import math
import re

import pandas as pd
import pytest

from harness.report import claims, labels

FULL = {
    "rate": dict(what="the FMR", rate="3%", who="g", k="3", n="100", unit="pairs", people="7", lo="1%", hi="9%", how=""),
    "zero": dict(error="false match", who="g", n="100", unit="pairs", people="7", hi="3.6%", how=""),
    "ratio": dict(hi_group="a", lo_group="b", metric="FMR", ratio="4", lo="1.2", hi="9", verdict="disparity",
                  verdict_note=""),
    "ratio-unbounded": dict(lo_group="b", hi_group="a", error="false match", n="90", unit="pairs", people="10",
                            ratio3="2.05", zero_hi="0.36%"),
    "capture": dict(preset="night", settings="2 m", assumptions="grey conversion of visible-light photos"),
    "projection": dict(n="1,000", who="visitors", per1000="12", lo="3", hi="30", method="extrapolated",
                       people="13", perday="1.2", visitors="100", assumptions="arithmetic on measured rates"),
}


@pytest.mark.parametrize("template", claims.TEMPLATES, ids=lambda t: t.name)
def test_every_template_renders_with_all_its_fields(template):
    assert template.render(**FULL[template.name])
    assert set(template.required) <= template.fields()


@pytest.mark.parametrize("template", claims.TEMPLATES, ids=lambda t: t.name)
def test_every_template_refuses_to_render_without_each_bound(template):
    for field in template.required:
        for bad in (None, float("nan"), ""):
            values = dict(FULL[template.name], **{field: bad})
            with pytest.raises(claims.ClaimError, match=field):
                template.render(**values)


def test_a_zero_cannot_be_stated_as_a_rate():
    with pytest.raises(claims.ClaimError, match="zero"):
        claims.rate(**dict(FULL["rate"], k="0"))
    text = claims.zero(**FULL["zero"])
    assert "as high as 3.6%" in text and "upper bound" in text


def test_capture_claims_say_simulated():
    assert "simulated" in claims.capture(**FULL["capture"])
    broken = claims.Template("x", "A doorbell recorded {preset}", ("preset",), must_contain=("simulated",))
    with pytest.raises(claims.ClaimError, match="simulated"):
        broken.render(preset="night")


def test_labels_follow_the_zero_convention():
    assert labels.ratio(float("inf")) == "unbounded" and labels.ratio(float("nan")) == "undefined"
    assert labels.pct(float("nan")) == "n/a (no trials)" and labels.pct(0.0) == "0%"
    assert labels.group("east_asian/white") == "East Asian / White"
    assert labels.slice_label("age_band") == "age band"
    assert labels.threshold_label({"kind": "calibrated", "target_fmr": 0.001}) == "calibrated to FMR 1 in 1,000"


SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def brief_sentences(paragraphs):
    return [s for p in paragraphs for s in SENTENCE.split(p)]


def top_level_clauses(sentence: str) -> list[str]:
    """Split at semicolons outside parentheses (a claim's bracket holds its counts and interval)."""
    out, depth, cur = [], 0, ""
    for ch in sentence:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur]


def check_brief_rules(b, simulated: bool) -> None:
    """The overclaiming rules, checked on generated text (used on real runs below and in test_report)."""
    for s in brief_sentences(b["paragraphs"]):
        for clause in top_level_clauses(s):
            if re.search(r"\d%", clause) and ("was" in clause or "no " in clause) and "interval" not in clause \
                    and "upper bound" not in clause and "with all impostors" not in clause.lower() \
                    and "no face was found" not in clause.lower():
                pytest.fail(f"a rate without its interval: {clause!r}")
        if re.search(r"\bno (same-group )?false (non-)?match\b", s) and "no group" not in s:
            assert "as high as" in s and "upper bound" in s, s
        if re.search(r"\btimes\b", s) and "threshold" not in s:
            assert "interval" in s or "unbounded" in s, s
            assert "verdict" in s, s
        if re.search(r"\d%", s) and "interval" in s and "times" not in s:
            assert "people" in s, s
    text = " ".join(b["paragraphs"])
    if simulated:
        assert "simulated" in text.lower()
        assert "grey conversion" in text or "lux" in text
    assert b["cannot"], "a 'what this run cannot tell you' list is required"


@pytest.mark.realdata
def test_brief_of_the_real_run_obeys_the_rules(real_run):
    from harness.report.brief import brief

    res, out, cfg = real_run
    import json

    results = json.loads((out / "results.json").read_text())
    b = brief(results, res.analysis, res.groups)
    check_brief_rules(b, simulated=False)
    text = " ".join(b["paragraphs"])
    # Leads with same-group risk, states the projection as a projection, and says what cannot be known.
    assert "own group" in text and "same-group false match rate" in text
    assert "Projected, not measured" in text
    assert any("FNMR disparity is unmeasurable" in c for c in b["cannot"])
    assert "Multiplicity" in text



@pytest.mark.realdata
def test_brief_of_a_capture_run_says_simulated_in_every_rate_paragraph(real_run):
    """With a capture preset, every paragraph stating a rate says 'simulated', and the IR assumption is stated."""
    import json

    from harness.degrade.capture import load
    from harness.report.brief import brief

    res, out, cfg = real_run
    results = json.loads((out / "results.json").read_text())
    results["capture"] = load("doorbell-1536p-night-ir").to_dict()
    results["sweep"] = [{"axis": "distance", "value": v} for v in (1.0, 3.0)]
    b = brief(results, res.analysis, res.groups)
    check_brief_rules(b, simulated=True)
    for p in b["paragraphs"]:
        if re.search(r"\d of [\d,]+ ", p) or "sweep" in p or "Projected" in p:  # paragraphs stating rates
            assert "simulated" in p.lower(), p
    assert any("grey conversion of visible-light photos" in p for p in b["paragraphs"])
    assert any("face crops" in p for p in b["paragraphs"])
    assert any("real doorbell camera" in c for c in b["cannot"])
