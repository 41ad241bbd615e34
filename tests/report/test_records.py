"""results.json rows: NaN to null, +inf to null named in ``unbounded``, numpy scalars to Python — column at a time."""

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.report import _clean, _records


def row_by_row(frame):
    """The earlier implementation, kept as the reference."""
    out = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        inf = [k for k, v in row.items() if isinstance(v, (float, np.floating)) and math.isinf(v) and v > 0]
        rec = _clean(row)
        if inf:
            rec["unbounded"] = inf
        out.append(rec)
    return out


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([np.inf, -np.inf, np.nan, 0.0]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(floats, st.integers(-2**40, 2**40), st.booleans(),
                          st.one_of(st.none(), st.text(max_size=5)), st.one_of(st.none(), floats)),
                max_size=12))
def test_same_rows_as_row_by_row(rows):
    frame = pd.DataFrame(rows, columns=["f", "i", "b", "s", "mixed"])
    frame["mixed"] = frame["mixed"].astype(object)
    assert _records(frame) == row_by_row(frame)


def test_types_are_plain_python():
    frame = pd.DataFrame({"hi": [np.inf, 0.5], "n": np.array([3, 4], dtype=np.int64), "ok": [True, False],
                          "g": pd.array(["a", None], dtype="string")})
    got = _records(frame)
    assert got == [{"hi": None, "n": 3, "ok": True, "g": "a", "unbounded": ["hi"]},
                   {"hi": 0.5, "n": 4, "ok": False, "g": None}]
    assert all(type(v) in (float, int, bool, str, type(None), list) for r in got for v in r.values())


def test_edges():
    assert _records(pd.DataFrame({"a": []})) == []
    assert _records(pd.DataFrame(index=range(2))) == [{}, {}]
    nullable = pd.DataFrame({"k": pd.array([1, None], dtype="Int64")})
    assert _records(nullable) == row_by_row(nullable) == [{"k": 1}, {"k": None}]
