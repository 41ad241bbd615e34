"""Metrics stage: pure functions on score arrays and labels. Never imports models or datasets."""

from harness.metrics.groups import GROUP_COLUMNS, band, group_frame, max_min_ratio
from harness.metrics.rates import (
    Threshold,
    clopper_pearson,
    det_curve,
    eer,
    fmr,
    fnmr,
    fnmr_at_fmr,
    from_similarity,
    iso_far_frr,
    make_thresholds,
    roc_curve,
    rule_of_three,
    tar_at_far,
    threshold_at_fmr,
    to_similarity,
)

__all__ = [
    "GROUP_COLUMNS", "Threshold", "band", "clopper_pearson", "det_curve", "eer", "fmr", "fnmr", "fnmr_at_fmr", "roc_curve", "tar_at_far",
    "from_similarity", "group_frame", "iso_far_frr", "make_thresholds", "max_min_ratio", "rule_of_three", "threshold_at_fmr",
    "to_similarity",
]
