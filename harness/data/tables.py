"""One checked reader for every CSV file facerisk takes from a user.

Metadata, score files, acquisitions and ingest labels all pass through :func:`read_csv`, so each
failure reads the same way: the file named, what is wrong, and what to do (re-save as UTF-8, keep one
column of each name, add the missing columns). pandas' silent repairs (a repeated header renamed
``gender.1``) are refused here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from harness.errors import DatasetError, not_utf8


def read_csv(path: str | Path, form: str, required: Sequence[str] = (), what: str = "file",
             error: type[Exception] = DatasetError, **kwargs: Any) -> pd.DataFrame:
    """Read ``path`` as UTF-8 CSV with a header, refusing what would be read wrongly.

    Parameters
    ----------
    path : path-like
        The file.
    form : str
        What a good file looks like, for the messages (e.g. "a run's pairs.csv").
    required : sequence of str
        Columns that must be present.
    what : str
        What the file is, for "not found" (e.g. "score file").
    error : exception type
        Raised with the one-line message.
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype``, ``keep_default_na``, ``na_values``).

    Returns
    -------
    pandas.DataFrame
        With column names stripped of surrounding spaces.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: {what} not found" + ("" if not p.exists() else " (it is not a regular file)")
                    + f"; give the path of {form}")
    try:
        frame = pd.read_csv(p, encoding="utf-8", **kwargs)
        header = next(iter(pd.read_csv(p, dtype=str, header=None, nrows=1, encoding="utf-8").itertuples(
            index=False)), ())
    except UnicodeDecodeError:
        raise error(not_utf8(p)) from None
    except pd.errors.EmptyDataError:
        raise error(f"{p}: empty (no header line); it must be {form}") from None
    except pd.errors.ParserError as exc:
        raise error(f"{p}: cannot parse as CSV ({exc}); it must be comma-separated text like {form}") from None
    names = [str(c).strip() for c in header]
    dups = sorted({c for c in names if names.count(c) > 1})
    if dups:  # pandas would silently rename the second one 'x.1' and read the first
        raise error(f"{p}: column(s) {', '.join(map(repr, dups))} appear more than once in the header; "
                    "keep one of each")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise error(f"{p}: missing column(s) {', '.join(missing)}; add them ({form} has them)")
    return frame
