"""``all``: every image against every other image of the data set (NIST-style mated / non-mated comparisons).

Roles: every image is both enrolled and a probe (it appears in the acquisition table once per role,
acquired once; failures to acquire are counted on the probe rows, once per image).
Pairs are unordered: each pair of images is compared once (the comparators are symmetric), its
``enrol`` side being the image listed first in metadata.csv.

- mated: same person, different image: every one.
- non-mated: different people: every one (``nonmated_sample: 0``), or a seeded uniform sample of
  ``nonmated_sample`` pairs without replacement (seed = the run's ``seed``; both recorded).
- ``impostors: matched`` keeps only non-mated pairs whose two people agree on ``match_on``.

On a data set with two images per person (a split protocol's enrolment and probe image), the mated
pairs are exactly the split protocol's genuine pairs, and the non-mated pairs are the split's
impostor pairs plus those between two enrolment images and between two probe images.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.errors import ConfigError
from harness.protocols.base import Protocol, acquired, listed_pairs, with_scores


def unordered_pairs(subjects: np.ndarray, sample: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Index pairs (i < j) of mated and (all or ``sample``) non-mated comparisons among ``subjects``.

    Returns (i, j, info); info has n_mated, n_nonmated_total, n_nonmated (kept) and the sampling.
    """
    subjects = np.asarray(subjects)
    n = len(subjects)
    codes = pd.factorize(subjects)[0]
    order = np.argsort(codes, kind="stable")
    # mated: within each person, every pair of their images
    mi, mj = [], []
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for grp in np.split(order, bounds):
        if len(grp) > 1:
            a, b = np.triu_indices(len(grp), 1)
            x, y = np.sort(np.stack([grp[a], grp[b]]), axis=0)
            mi.append(x), mj.append(y)
    mi = np.concatenate(mi) if mi else np.zeros(0, dtype=int)
    mj = np.concatenate(mj) if mj else np.zeros(0, dtype=int)
    sizes = np.bincount(codes) if n else np.zeros(0, dtype=int)
    total_nonmated = n * (n - 1) // 2 - int((sizes * (sizes - 1) // 2).sum())
    info: dict[str, Any] = {"n_mated": int(len(mi)), "n_nonmated_total": int(total_nonmated)}
    if not sample or sample >= total_nonmated:
        i, j = np.triu_indices(n, 1)
        keep = codes[i] != codes[j]
        ni, nj = i[keep], j[keep]
        info["nonmated_sampling"] = "all"
    else:
        rng = np.random.default_rng(seed)
        chosen: set = set()
        while len(chosen) < sample:  # rejection sampling: never enumerates the n² pairs
            need = int((sample - len(chosen)) * 1.3) + 16
            a, b = rng.integers(0, n, need), rng.integers(0, n, need)
            ok = (a != b) & (codes[a] != codes[b])
            for x, y in zip(np.minimum(a, b)[ok], np.maximum(a, b)[ok]):
                chosen.add((int(x), int(y)))
                if len(chosen) == sample:
                    break
        arr = np.array(sorted(chosen), dtype=int).reshape(-1, 2)
        ni, nj = arr[:, 0], arr[:, 1]
        info["nonmated_sampling"] = {"method": "uniform without replacement over unordered non-mated pairs",
                                     "n": int(sample), "seed": int(seed)}
    info["n_nonmated"] = int(len(ni))
    i = np.concatenate([mi, ni]).astype(int)
    j = np.concatenate([mj, nj]).astype(int)
    srt = np.lexsort((j, i))
    return i[srt], j[srt], info


class AllPairsProtocol(Protocol):
    kind = "all"

    def per_image_columns(self) -> list[str]:
        return list(self.p.per_image_columns)

    def roles(self, ds) -> pd.DataFrame:
        if self.p.fusion != "none":
            raise ConfigError("protocol.fusion applies to the split and watchlist protocols; the all protocol "
                              "compares images, so leave protocol.fusion=none")
        if self.p.nonmated_sample < 0:
            raise ConfigError("protocol.nonmated_sample must be 0 (every non-mated pair) or a number of pairs")
        frame = ds.frame.copy()
        frame["_order"] = np.arange(len(frame))
        both = pd.concat([frame.assign(role="enrol"), frame.assign(role="probe")], ignore_index=True)
        self.info.update(order="unordered: each pair of images once, the earlier metadata row on the enrol side",
                         impostors=self.p.impostors)
        return both.sort_values(["_order", "role"], kind="stable").drop(columns="_order").reset_index(drop=True)

    def pairs(self, acq: pd.DataFrame, records: list[dict[str, Any]], slices) -> pd.DataFrame:
        attrs = self.attributes(acq, slices)
        # Pairs are drawn over every image; a pair is scored when its enrol-side image was acquired as an
        # enrolment and its probe-side image as a probe (under a capture model only probes are degraded).
        # Pairs with a failure to acquire are not scored, as in the split protocol: the failures are
        # counted per image as FTA / FTE.
        images = acq.loc[acq["role"] == "probe", ["image", "subject_id"]].reset_index(drop=True)
        enrol, et = acquired(acq, records, "enrol")
        probe, pt = acquired(acq, records, "probe")
        i, j, info = unordered_pairs(images["subject_id"].to_numpy(), self.p.nonmated_sample, self.cfg.seed)
        e_pos = pd.Series(np.arange(len(enrol)), index=enrol["image"].to_numpy())
        p_pos = pd.Series(np.arange(len(probe)), index=probe["image"].to_numpy())
        li = e_pos.reindex(images["image"].to_numpy()[i]).to_numpy()
        ri = p_pos.reindex(images["image"].to_numpy()[j]).to_numpy()
        keep = ~(np.isnan(li) | np.isnan(ri))
        info["pairs_with_fta"] = int((~keep).sum())
        self.info.update(info)
        pairs = with_scores(listed_pairs(enrol, probe, et, pt, li[keep].astype(int), ri[keep].astype(int), attrs),
                            self.cfg.metrics.score)
        if self.p.impostors == "matched":
            same = np.ones(len(pairs), dtype=bool)
            for a in self.p.match_on:
                same &= (pairs[f"enrol_{a}"].astype(str) == pairs[f"probe_{a}"].astype(str)).to_numpy()
            pairs = pairs[pairs["genuine"].to_numpy() | same].reset_index(drop=True)
        return pairs

    def calibration_set(self, ds_name: str) -> str:
        how = "all" if not self.p.nonmated_sample else f"a seeded sample of {self.p.nonmated_sample:,}"
        return f"{ds_name} (clean photos): {how} non-mated pairs of the all-images protocol ({self.p.impostors})"
