"""``watchlist``: probes from one data set searched against a gallery of other people from another.

Roles: the probes are the run's data set images with ``split_column = probe_value`` (every image when
the data set has no such column); the gallery (enrolled) is ``protocol.gallery_dataset`` (every
image, or those with ``gallery_column = gallery_value``), or, with no gallery data set, the run's own
images with ``gallery_column = gallery_value`` (a column assigning people to the gallery). The two must hold different people, which is
checked by subject id (ids shared by both sets are an error: rename them, or they would silently turn
strangers into mates). With ``mated: true`` the probes' own ``split_column = enrol_value`` images are
enrolled too, so searches are mated and FNIR is measured; otherwise every search is non-mated.

Pairs: every gallery template against every probe (``fusion`` as in split). Beside facerisk's usual
per-group rates (FMR by comparison), :func:`harness.metrics.watchlist.summary` gives FPIR / FNIR per probe
group, the number and share of people falsely flagged and the list of falsely flagged probes, at the run's
thresholds and at thresholds calibrated to each ``target_fpirs``, and FPIR as the gallery grows (seeded
nested subsets of its people).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.errors import ConfigError, DatasetError
from harness.protocols.base import Protocol, acquired, cross_pairs

PREFIX = "gallery"


class WatchlistProtocol(Protocol):
    kind = "watchlist"

    def per_image_columns(self) -> list[str]:
        return list(dict.fromkeys([self.p.split_column, *( [self.p.gallery_column] if self.p.gallery_column else []),
                                   *self.p.per_image_columns]))

    def roles(self, ds) -> pd.DataFrame:
        from harness import data
        from harness.data import integrity

        p, d = self.p, self.cfg.dataset
        if not p.gallery_dataset and p.gallery_column is None:
            raise ConfigError("protocol.kind=watchlist needs a gallery: protocol.gallery_dataset (a card name or folder "
                              "holding the gallery's people, e.g. --set protocol.gallery_dataset=/data/arrest-photos), "
                              "or protocol.gallery_column/gallery_value selecting other people of this data set")
        if (p.gallery_column is None) != (p.gallery_value is None):
            raise ConfigError("protocol.gallery_column and protocol.gallery_value go together (or leave both unset "
                              "to enrol every gallery image)")
        for t in p.target_fpirs:
            if not 0 < t < 1:
                raise ConfigError(f"protocol.target_fpirs: {t} is not a rate in (0, 1)")
        if any(n < 1 for n in p.gallery_sizes):
            raise ConfigError("protocol.gallery_sizes must be positive numbers of people")
        same_set = not p.gallery_dataset
        if same_set:  # one data set: a column says which people form the gallery (checked disjoint below)
            gal = ds
            checked = {"status": "same data set as the probes"}
        else:
            gal = data.resolve(p.gallery_dataset, home=d.data_home, download=d.download, mirror=None,
                               progress=self.cfg.progress, per_image=self.per_image_columns(),
                               subject_column=p.subject_column)
            if gal.root.resolve() == ds.root.resolve():
                raise DatasetError(f"protocol.gallery_dataset {p.gallery_dataset!r} is the probe data set itself; "
                                   "leave it unset and choose the gallery's people with protocol.gallery_column")
            checked = integrity.check(gal.root, gal.manifest(), d.allow_modified)
        frame = ds.frame
        if p.split_column in frame.columns:
            probes = frame[frame[p.split_column] == p.probe_value]
            if probes.empty:
                raise DatasetError(f"{ds.root / 'metadata.csv'}: no image has {p.split_column} = {p.probe_value!r} "
                                   "(the watchlist's probes)")
            chosen = f"{p.split_column} = {p.probe_value}"
        else:
            probes, chosen = frame, "every image"
        g = gal.frame
        if p.gallery_column is not None:
            if p.gallery_column not in g.columns:
                raise DatasetError(f"{gal.root / 'metadata.csv'}: protocol.gallery_column {p.gallery_column!r} is "
                                   f"not a column (columns: {', '.join(g.columns)})")
            g = g[g[p.gallery_column] == p.gallery_value]
            if g.empty:
                raise DatasetError(f"{gal.root / 'metadata.csv'}: no image has {p.gallery_column} = "
                                   f"{p.gallery_value!r} (the gallery)")
        shared = sorted(set(probes["subject_id"].astype(str)) & set(g["subject_id"].astype(str)))
        if shared:
            raise DatasetError(f"subject id(s) {', '.join(shared[:5])}{' ...' if len(shared) > 5 else ''} appear in "
                               f"both the probe set ({ds.root}) and the gallery ({gal.root}); a watchlist gallery "
                               "must hold other people (give them distinct ids), or use protocol.mated=true to "
                               "enrol the probes' own images")
        if not same_set:
            g = g.assign(image=[f"@{PREFIX}/{img}" for img in g["image"]])
        g = g.assign(role="enrol", _set="gallery")
        parts = [probes.assign(role="probe", _set="probe"), g]
        if p.mated:
            if p.split_column not in frame.columns:
                raise ConfigError(f"protocol.mated needs the probes' enrolment images: {p.split_column!r} "
                                  "(protocol.split_column) is not a column of the probe set")
            mates = frame[(frame[p.split_column] == p.enrol_value) & frame["subject_id"].isin(probes["subject_id"])]
            if mates.empty:
                raise DatasetError(f"{ds.root / 'metadata.csv'}: protocol.mated: no probe person has an image with "
                                   f"{p.split_column} = {p.enrol_value!r}")
            parts.append(mates.assign(role="enrol", _set="mated"))
        both = pd.concat(parts, ignore_index=True)
        # The run's data set now names the gallery's files too (as @gallery/<path>), so every file is hashed,
        # cached and recorded like the probes'.
        if not same_set:
            ds.extra_roots[PREFIX] = gal.root
            ds.frame = pd.concat([frame, g.drop(columns=["role", "_set"])], ignore_index=True)
        self.info.update(
            probes={"dataset": ds.name, "root": str(ds.root), "images": chosen, "n_images": int(len(probes)),
                    "n_people": int(probes["subject_id"].nunique())},
            gallery={"dataset": gal.name, "root": str(gal.root), "n_images": int(len(g)),
                     "n_people": int(g["subject_id"].nunique()),
                     "images": "every image" if p.gallery_column is None else f"{p.gallery_column} = {p.gallery_value}",
                     "manifest_sha256": None if same_set else data.Dataset.manifest_hash(gal.manifest()),
                     "integrity": checked,
                     "card": gal.card.summary() if gal.card else None},
            mated=p.mated, n_mated_entries=int(sum(len(x) for x in parts[2:])), target_fpirs=list(p.target_fpirs),
            people_disjoint_by_id=True)
        if checked["status"] == "unverified":
            self.notes.append(f"gallery data set not verified: {checked['note']}")
        return both.drop(columns="_set")

    def pairs(self, acq: pd.DataFrame, records: list[dict[str, Any]], slices) -> pd.DataFrame:
        attrs = self.attributes(acq, slices)
        self._slices = [list(s) for s in slices]
        enrol, et = acquired(acq, records, "enrol")
        probe, pt = acquired(acq, records, "probe")
        return cross_pairs(self, enrol, et, probe, pt, attrs)

    def check(self, pairs: pd.DataFrame) -> None:
        if pairs["genuine"].all() or not len(pairs):
            raise DatasetError("the watchlist protocol produced no non-mated searches; check the gallery")
        if not pairs["genuine"].any():
            self.notes.append("watchlist without mated entries: every search is non-mated, so FNMR / FNIR are not "
                              "measured (protocol.mated=true enrols the probes' own images)")

    def calibration_set(self, ds_name: str) -> str:
        return f"{ds_name} probes vs the {self.info['gallery']['dataset']} gallery (clean photos): non-mated pairs"

    def outputs(self, pairs: pd.DataFrame, acq: pd.DataFrame, thresholds) -> dict[str, Any]:
        from harness.metrics import watchlist

        slices = getattr(self, "_slices", [])
        out = watchlist.summary(pairs, [(t.id, t.value) for t in thresholds], slices, self.p.target_fpirs,
                                self.p.gallery_sizes or None, self.cfg.seed, self.cfg.metrics.confidence)
        probes = acq[acq["role"] == "probe"]
        out["probes_lost_to_fta"] = int((~probes["ok"].astype(bool)).sum())
        gal = acq[acq["role"] == "enrol"]
        out["gallery_images_lost_to_fte"] = int((~gal["ok"].astype(bool)).sum())
        return out
