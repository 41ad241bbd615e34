"""group_labels builds each distinct label once; it must give exactly the row-by-row join it replaced."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.metrics.groups import SEP, UNKNOWN, group_labels


def _row_by_row(frame, columns):
    parts = [frame[c].astype(object).where(frame[c].notna(), UNKNOWN).astype(str) for c in columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + SEP + p
    return out


_values = st.one_of(st.none(), st.sampled_from(["Black", "White", "", "unknown", "a × b", "18-29"]),
                    st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=False, width=16), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.lists(_values, min_size=k, max_size=k), min_size=0, max_size=40))))
def test_same_labels_as_the_row_by_row_join(case):
    k, rows = case
    cols = [f"c{i}" for i in range(k)]
    frame = pd.DataFrame(rows, columns=cols, index=np.arange(len(rows)) * 3 + 7)  # an index that is not 0..n-1
    got = group_labels(frame, cols)
    assert got.index.equals(frame.index)
    assert list(got) == list(_row_by_row(frame, cols))


def test_string_and_categorical_columns_with_missing_values():
    frame = pd.DataFrame({"race": pd.array(["Black", None, "White", "Black"], dtype="string"),
                          "gender": pd.Categorical(["woman", "man", None, "woman"])})
    assert list(group_labels(frame, ["race", "gender"])) == [
        f"Black{SEP}woman", f"unknown{SEP}man", f"White{SEP}unknown", f"Black{SEP}woman"]


def test_many_columns_with_many_values_do_not_overflow():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.integers(0, 10**6, 500) for i in range(8)})
    cols = list(frame.columns)
    assert list(group_labels(frame, cols)) == list(_row_by_row(frame, cols))
