"""Claim templates: the only way the brief states a number.

Each template names the fields it REQUIRES — the bound that keeps the sentence honest (an interval,
an upper bound, a count of people, a verdict). Rendering without one raises :class:`ClaimError`,
so a sentence can never claim more than its interval: "no errors" needs its upper bound, a ratio its
interval and verdict, a rate its counts and people, a capture sentence the word "simulated" and the
preset's assumptions.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Any


class ClaimError(ValueError):
    """A claim template was used without a field it requires (or a rate template for a zero)."""


def _missing(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


@dataclass(frozen=True)
class Template:
    """A sentence with ``{fields}``; ``required`` must be present, non-empty and not NaN."""

    name: str
    text: str
    required: tuple[str, ...]
    must_contain: tuple[str, ...] = ()

    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.text) if f}

    def render(self, **values: Any) -> str:
        for f in self.required:
            if _missing(values.get(f)):
                raise ClaimError(f"claim {self.name!r} needs {f!r} (its bound); got {values.get(f)!r}")
        missing = self.fields() - set(values)
        if missing:
            raise ClaimError(f"claim {self.name!r}: no value for {', '.join(sorted(missing))}")
        out = self.text.format(**values)
        for word in self.must_contain:
            if word not in out:
                raise ClaimError(f"claim {self.name!r} must contain {word!r}")
        return out


def _check_nonzero(values: dict) -> None:
    if values.get("k") in (0, "0"):
        raise ClaimError("a zero count must use the 'zero' template, which states the upper bound")


RATE = Template(
    "rate",
    "{what} was {rate} for {who} ({k} of {n} {unit}, from {people} people; 95% interval {lo} to {hi}{how})",
    ("rate", "k", "n", "people", "lo", "hi"),
)
ZERO = Template(
    "zero",
    "no {error} was seen for {who} in {n} {unit} from {people} people, which does not mean it never happens: "
    "the rate could be as high as {hi} (95% upper bound{how})",
    ("n", "people", "hi"),
)
RATIO = Template(
    "ratio",
    "{hi_group}'s {metric} was {ratio} times {lo_group}'s (95% interval {lo} to {hi}, subject bootstrap; "
    "verdict: {verdict}{verdict_note})",
    ("ratio", "lo", "hi", "verdict"),
)
RATIO_UNBOUNDED = Template(
    "ratio-unbounded",
    "{lo_group} had no {error} in {n} {unit} from {people} people (its rate could be as high as {zero_hi}, 95% "
    "upper bound), so how many times higher {hi_group}'s rate is "
    "cannot be bounded (the ratio is unbounded, and gets no parity verdict); dividing by {lo_group}'s 3/N upper "
    "bound instead gives {ratio3} times, the smallest ratio consistent with that zero count ({hi_group}'s own "
    "uncertainty not included)",
    ("n", "people", "ratio3", "zero_hi"),
)
CAPTURE = Template(
    "capture",
    "Every figure below is for simulated doorbell captures: the searched photos were rendered by facerisk's capture "
    "model ({preset}: {settings}) from ordinary photographs, not recorded by a camera. Simulated, under these "
    "assumptions: {assumptions}. The enrolment photos stayed clean.",
    ("preset", "settings", "assumptions"),
    must_contain=("simulated",),
)
PROJECTION = Template(
    "projection",
    "Projected, not measured (arithmetic on the measured per-person rates): if every visitor were searched against "
    "a watchlist of {n} people, about {per1000} in 1,000 searches of {who} would raise a false alert (95% interval "
    "{lo} to {hi}; {method}, from {people} people) — {perday} false alerts a day at {visitors} visitors a day. "
    "Assumptions: {assumptions}",
    ("per1000", "lo", "hi", "people", "assumptions", "method"),
    must_contain=("Projected",),
)
TEMPLATES = (RATE, ZERO, RATIO, RATIO_UNBOUNDED, CAPTURE, PROJECTION)


def rate(**values: Any) -> str:
    """:data:`RATE`, refusing a zero count (use :func:`zero`)."""
    _check_nonzero(values)
    return RATE.render(**values)


def zero(**values: Any) -> str:
    return ZERO.render(**values)


def ratio(**values: Any) -> str:
    return RATIO.render(**values)


def ratio_unbounded(**values: Any) -> str:
    return RATIO_UNBOUNDED.render(**values)


def capture(**values: Any) -> str:
    return CAPTURE.render(**values)


def projection(**values: Any) -> str:
    return PROJECTION.render(**values)
