"""A sweep step where every probe is a failure to acquire has no pairs: the studies say so, no crash."""

import pandas as pd

from harness.metrics import crossgroup
from harness.metrics.analysis import _identification

EMPTY = pd.DataFrame({"score": pd.Series(dtype=float), "genuine": pd.Series(dtype=bool),
                      "probe_ethnicity": pd.Series(dtype=object), "probe_image": pd.Series(dtype=object),
                      "enrol_image": pd.Series(dtype=object)})


def test_per_group_thresholds_of_no_impostor_pair_is_empty():
    assert crossgroup.per_group_thresholds(EMPTY, ["ethnicity"], 1e-3).empty


def test_identification_of_no_pair_is_skipped_with_a_note():
    notes = []
    out = _identification(EMPTY, [], [["ethnicity"]], "all", notes, 0)
    assert all(f.empty for f in out) and "no probe was acquired" in notes[0]
