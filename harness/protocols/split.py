"""``split``: one data set's enrolment split against its probe split (facerisk's default protocol).

Roles: images with ``split_column = enrol_value`` are enrolled, those with ``= probe_value`` are
probes, others are not used. Pairs: every acquired enrolment template against every acquired probe
template (``impostors: matched`` keeps only same-group impostors); genuine when the subject ids agree.
Several images per person on either side are allowed; ``fusion`` says how enrolment images combine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.errors import DatasetError
from harness.protocols.base import Protocol, acquired, cross_pairs


def assign_roles(frame: pd.DataFrame, column: str, enrol_value: str, probe_value: str, csv) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` is the enrol or probe value, with ``role`` set."""
    if column not in frame.columns:
        raise DatasetError(
            f"{csv}: protocol.split_column {column!r} is not a column "
            f"(columns: {', '.join(frame.columns)}); set --set protocol.split_column=COLUMN"
        )
    frame = frame.copy()
    role = pd.Series(pd.NA, index=frame.index, dtype=object)
    role[frame[column] == enrol_value] = "enrol"
    role[frame[column] == probe_value] = "probe"
    for value, name in ((enrol_value, "enrol"), (probe_value, "probe")):
        if not (role == name).any():
            present = ", ".join(map(repr, sorted(frame[column].dropna().astype(str).unique())[:8]))
            raise DatasetError(f"{csv}: no image has {column} = {value!r} ({name} set is empty; values present: "
                               f"{present})")
    frame["role"] = role
    return frame[frame["role"].notna()].reset_index(drop=True)


class SplitProtocol(Protocol):
    kind = "split"

    def roles(self, ds) -> pd.DataFrame:
        p = self.p
        suggested = (ds.card.protocol or {}).get("kind") if ds.card else None
        if suggested and suggested != "split" and p.split_column not in ds.frame.columns:
            raise DatasetError(f"{ds.name}: its card's protocol is {suggested!r} and it has no {p.split_column!r} "
                               f"column to split on; run with --set protocol.kind={suggested}")
        frame = assign_roles(ds.frame, p.split_column, p.enrol_value, p.probe_value, ds.root / "metadata.csv")
        if p.both_sides_only:
            sides = frame.groupby("subject_id")["role"].nunique()
            one_sided = sorted(sides[sides < 2].index.astype(str))
            frame = frame[frame["subject_id"].isin(sides[sides == 2].index)].reset_index(drop=True)
            self.info["dropped_one_sided_subjects"] = one_sided
            if one_sided:
                self.notes.append(f"protocol.both_sides_only: {len(one_sided)} person(s) with images on one side "
                                  f"only were left out (listed in provenance.protocol): {', '.join(one_sided[:5])}")
        self.info.update(split_column=p.split_column, enrol_value=p.enrol_value, probe_value=p.probe_value,
                         impostors=p.impostors)
        return frame

    def pairs(self, acq: pd.DataFrame, records: list[dict[str, Any]], slices) -> pd.DataFrame:
        attrs = self.attributes(acq, slices)
        enrol, et = acquired(acq, records, "enrol")
        probe, pt = acquired(acq, records, "probe")
        return cross_pairs(self, enrol, et, probe, pt, attrs)

    def calibration_set(self, ds_name: str) -> str:
        p = self.p
        return f"{ds_name} (clean photos): {p.impostors} impostor pairs, {p.enrol_value} enrolment vs " \
               f"{p.probe_value} probes"
