"""``pairs``: a fixed list of pairs with folds, as LFW's ``pairs.txt`` and its successors ship.

Formats (``protocol.pairs_file``, relative to the data set folder):

- LFW ``pairs.txt``: a header ``FOLDS N`` (or ``N``: one fold), then per fold ``N`` same-person lines
  ``name  n1  n2`` and ``N`` different-person lines ``name1  n1  name2  n2`` (tab or space separated);
  image ``name``/``n`` is the metadata image whose file name is ``name_%04d`` (any extension, any folder).
- CSV with header ``image_a,image_b,same[,fold][,group]``: images as metadata.csv names them; ``same``
  is 1/0, true/false, yes/no or same/different; ``group`` (RFW / BFW style) labels each pair with the
  group it was drawn for, and the benchmark accuracy is then also given per group, each group's pairs
  cross-validated over their own folds, as RFW reports it.

Every listed pair is accounted for. A pair naming an image the data set lacks, an image paired with
itself, a line outside the declared folds, or an empty/unknown fold is an error naming the line. A
pair whose label disagrees with the subject ids (same person listed as different, or the reverse) is
an error, or with ``mislabelled: warn`` counted, listed and scored by its subject ids in the per-group
rates (the benchmark accuracy keeps the list's label). A pair listed twice is counted and warned about.
Pairs with an image that failed to acquire are counted per fold and scored per ``fta_pairs``
(harness.metrics.lfw); the per-group rates count the failures per image, as FTA.

Roles: images on the left of a pair are enrolled, those on the right are probes (an image on both
sides is acquired once and appears once per role).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import ConfigError, DatasetError
from harness.protocols.base import Protocol, acquired, listed_pairs, with_scores

TRUE = {"1", "true", "yes", "same", "y", "t"}
FALSE = {"0", "false", "no", "different", "diff", "n", "f"}


def _lfw_index(images: pd.Series) -> dict[tuple[str, int], str]:
    """(name, n) -> metadata image, for files named like LFW's ``Name_Surname_0001.jpg``."""
    out = {}
    for img in images:
        m = re.fullmatch(r"(.+)_(\d{4})", Path(img).stem)
        if m:
            out[(m.group(1), int(m.group(2)))] = img
    return out


def parse_lfw(text: str, images: pd.Series, where: str) -> pd.DataFrame:
    """LFW ``pairs.txt`` -> rows (line, image_a, image_b, same, fold)."""
    lines = [(n, ln.split()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        raise DatasetError(f"{where}: empty pair list")
    head = lines[0][1]
    try:
        nums = [int(x) for x in head]
    except ValueError:
        raise DatasetError(f"{where}: line {lines[0][0]}: the header must be 'FOLDS PAIRS_PER_CLASS' (e.g. '10 300') "
                           "or 'PAIRS_PER_CLASS'") from None
    if len(nums) == 2:
        n_folds, per = nums
    elif len(nums) == 1:
        n_folds, per = 1, nums[0]
    else:
        raise DatasetError(f"{where}: line {lines[0][0]}: the header must be 'FOLDS PAIRS_PER_CLASS' or "
                           "'PAIRS_PER_CLASS'")
    body = lines[1:]
    if n_folds < 1 or per < 1:
        raise DatasetError(f"{where}: line {lines[0][0]}: folds and pairs per class must be positive")
    if len(body) > 2 * per * n_folds:
        extra = body[2 * per * n_folds][0]
        raise DatasetError(f"{where}: line {extra}: outside the {n_folds} fold(s) of {2 * per} pairs the header "
                           f"declares (unknown fold); fix the header or remove the extra lines")
    if len(body) < 2 * per * n_folds:
        raise DatasetError(f"{where}: {len(body)} pair lines, but the header declares {n_folds} fold(s) of "
                           f"{2 * per} ({2 * per * n_folds}); the list is truncated")
    index = _lfw_index(images)
    rows = []
    for k, (n, parts) in enumerate(body):
        fold, pos = divmod(k, 2 * per)
        want_same = pos < per
        if len(parts) == 3:
            keys, same = [(parts[0], parts[1]), (parts[0], parts[2])], True
        elif len(parts) == 4:
            keys, same = [(parts[0], parts[1]), (parts[2], parts[3])], False
        else:
            raise DatasetError(f"{where}: line {n}: expected 'name n1 n2' or 'name1 n1 name2 n2', got "
                               f"{' '.join(parts)!r}")
        if same != want_same:
            raise DatasetError(f"{where}: line {n}: a {'same' if same else 'different'}-person line where fold "
                               f"{fold + 1} has its {'same' if want_same else 'different'}-person block")
        found = []
        for name, num in keys:
            try:
                img = index.get((name, int(num)))
            except ValueError:
                raise DatasetError(f"{where}: line {n}: image number {num!r} is not a number") from None
            if img is None:
                raise DatasetError(f"{where}: line {n}: image {name}_{int(num):04d} is not in the data set's "
                                   "metadata.csv (missing image); restore it or remove the pair")
            found.append(img)
        rows.append({"line": n, "image_a": found[0], "image_b": found[1], "same": same, "fold": str(fold + 1)})
    return pd.DataFrame(rows)


def parse_csv(text: str, images: pd.Series, where: str) -> pd.DataFrame:
    """CSV ``image_a,image_b,same[,fold]`` -> rows (line, image_a, image_b, same, fold)."""
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("image_a", "image_b", "same") if c not in cols]
    if missing:
        raise DatasetError(f"{where}: missing column(s) {', '.join(missing)}; a CSV pair list has the header "
                           "image_a,image_b,same[,fold]")
    known = set(images)
    rows = []
    for n, rec in enumerate(reader, 2):
        rec = {k.strip(): (v or "").strip() for k, v in rec.items() if k is not None}
        for side in ("image_a", "image_b"):
            if rec[side] not in known:
                raise DatasetError(f"{where}: line {n}: image {rec[side]!r} is not in the data set's metadata.csv "
                                   "(missing image); fix the path or remove the pair")
        flag = rec["same"].lower()
        if flag not in TRUE | FALSE:
            raise DatasetError(f"{where}: line {n}: same = {rec['same']!r}; write 1/0, true/false or same/different")
        fold = rec.get("fold", "") if "fold" in cols else "1"
        if not fold:
            raise DatasetError(f"{where}: line {n}: empty fold (unknown fold); give every pair a fold, or drop the "
                               "fold column")
        if _number_like(fold) and not (fold.isdigit() and len(fold) <= 6):  # 'nan', '1e20', '-1', '2.5'
            raise DatasetError(f"{where}: line {n}: fold {fold!r} is not a fold number (1, 2, ...) or name")
        if fold.isdigit():
            fold = str(int(fold))  # '01' and '1' are one fold
        row = {"line": n, "image_a": rec["image_a"], "image_b": rec["image_b"], "same": flag in TRUE, "fold": fold}
        if "group" in cols:  # RFW / BFW style: the list labels each pair with the group it belongs to
            if not rec.get("group"):
                raise DatasetError(f"{where}: line {n}: empty group; label every pair, or drop the group column")
            row["group"] = rec["group"]
        rows.append(row)
    if not rows:
        raise DatasetError(f"{where}: no pairs listed")
    return pd.DataFrame(rows)


def _number_like(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_pair_list(path: Path, images: pd.Series) -> pd.DataFrame:
    """Parse a pair list (format from its first line) and check it; see the module docstring."""
    if not path.is_file():
        raise DatasetError(f"{path}: pair list not found; set --set protocol.pairs_file=FILE (relative to the data "
                           "set folder)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    pairs = parse_csv(text, images, str(path)) if "image_a" in first else parse_lfw(text, images, str(path))
    selfie = pairs["image_a"] == pairs["image_b"]
    if selfie.any():
        n = int(pairs.loc[selfie, "line"].iloc[0])
        raise DatasetError(f"{path}: line {n}: image {pairs.loc[selfie, 'image_a'].iloc[0]!r} is paired with itself "
                           "(a same-person pair needs two different images); remove the line")
    return pairs


class PairsProtocol(Protocol):
    kind = "pairs"

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.list: pd.DataFrame = pd.DataFrame()

    def per_image_columns(self) -> list[str]:
        return list(self.p.per_image_columns)

    def roles(self, ds) -> pd.DataFrame:
        p = self.p
        if p.fusion != "none":
            raise ConfigError("protocol.fusion does not apply to the pairs protocol (each listed pair is two images); "
                              "leave protocol.fusion=none")
        path = Path(p.pairs_file) if Path(p.pairs_file).is_absolute() else ds.root / p.pairs_file
        lst = read_pair_list(path, ds.frame["image"])
        subj = ds.frame.set_index("image")["subject_id"]
        lst["subject_a"] = subj.reindex(lst["image_a"]).to_numpy()
        lst["subject_b"] = subj.reindex(lst["image_b"]).to_numpy()
        lst["mislabelled"] = (lst["subject_a"] == lst["subject_b"]) != lst["same"]
        bad = lst[lst["mislabelled"]]
        if len(bad):
            first = bad.iloc[0]
            what = "listed as the same person but their subject ids differ" if first["same"] else \
                "listed as different people but both are subject " + str(first["subject_a"])
            msg = (f"{path}: {len(bad)} mislabelled pair(s); first, line {first['line']}: {first['image_a']} and "
                   f"{first['image_b']} are {what}")
            if p.mislabelled == "error":
                raise DatasetError(msg + "; fix the list or metadata.csv, or count and report them with "
                                         "--set protocol.mislabelled=warn")
            self.notes.append(msg + " (counted; the per-group rates use the subject ids, the benchmark accuracy "
                                    "the list's labels)")
        unordered = pd.DataFrame({"a": lst[["image_a", "image_b"]].min(axis=1),
                                  "b": lst[["image_a", "image_b"]].max(axis=1)})
        dup = unordered.duplicated(keep="first")
        if dup.any():
            self.notes.append(f"{path}: {int(dup.sum())} pair(s) listed more than once (first, line "
                              f"{int(lst.loc[dup, 'line'].iloc[0])}); each listing is scored, as the list says")
        self.list = lst.reset_index(drop=True)
        self.info.update(pairs_file=str(path), n_listed=len(lst), n_same=int(lst["same"].sum()),
                         n_different=int((~lst["same"]).sum()), folds=sorted(lst["fold"].unique(), key=_fold_key),
                         n_mislabelled=int(len(bad)), mislabelled_lines=bad["line"].astype(int).tolist()[:50],
                         n_duplicates=int(dup.sum()), fta_pairs=p.fta_pairs)
        frame = ds.frame.set_index("image", drop=False)
        enrol = frame.loc[list(dict.fromkeys(lst["image_a"]))].assign(role="enrol")
        probe = frame.loc[list(dict.fromkeys(lst["image_b"]))].assign(role="probe")
        unused = len(ds.frame) - len(set(lst["image_a"]) | set(lst["image_b"]))
        self.info["images_not_in_any_pair"] = int(unused)
        return pd.concat([enrol, probe], ignore_index=True)

    def pairs(self, acq: pd.DataFrame, records: list[dict[str, Any]], slices) -> pd.DataFrame:
        attrs = self.attributes(acq, slices)
        enrol, et = acquired(acq, records, "enrol")
        probe, pt = acquired(acq, records, "probe")
        e_pos = pd.Series(np.arange(len(enrol)), index=enrol["image"].to_numpy())
        p_pos = pd.Series(np.arange(len(probe)), index=probe["image"].to_numpy())
        li = e_pos.reindex(self.list["image_a"]).to_numpy()
        ri = p_pos.reindex(self.list["image_b"]).to_numpy()
        keep = ~(np.isnan(li) | np.isnan(ri))
        pairs = listed_pairs(enrol, probe, et, pt, li[keep].astype(int), ri[keep].astype(int), attrs)
        kept = self.list[keep].reset_index(drop=True)
        pairs.insert(5, "fold", kept["fold"].to_numpy())
        pairs.insert(6, "listed_same", kept["same"].to_numpy())
        pairs.insert(7, "line", kept["line"].to_numpy())
        return with_scores(pairs, self.cfg.metrics.score)

    def calibration_set(self, ds_name: str) -> str:
        return f"{ds_name} (clean photos): the different-person pairs of {Path(self.p.pairs_file).name} that were scored"

    def outputs(self, pairs: pd.DataFrame, acq: pd.DataFrame, thresholds) -> dict[str, Any]:
        """The source benchmark's own figures, beside facerisk's per-group rates; see harness.metrics.lfw."""
        return benchmark_figures(self.list, pairs, self.p.fta_pairs, [t.target_fmr for t in thresholds
                                                                      if t.target_fmr is not None] or [1e-2, 1e-3])


def _fold_key(f: str):
    return (0, int(f)) if str(f).isdigit() else (1, str(f))


def benchmark_figures(listing: pd.DataFrame, pairs: pd.DataFrame, lost_policy: str, far_targets) -> dict[str, Any]:
    """Fold accuracies, mean ± standard error, TAR at FAR, and the pairs lost to FTA, for one pair list."""
    from harness.metrics import lfw

    scored = pairs.set_index("line")["score"] if len(pairs) else pd.Series(dtype=float)
    score = scored.reindex(listing["line"]).to_numpy(dtype=np.float64)
    lost = np.isnan(score)
    same = listing["same"].to_numpy(dtype=bool)
    folds = listing["fold"].astype(str).to_numpy()
    lost_rows = listing[lost]
    out: dict[str, Any] = {
        "n_pairs": int(len(listing)), "n_lost_to_fta": int(lost.sum()),
        "lost_same": int((lost & same).sum()), "lost_different": int((lost & ~same).sum()),
        "lost_policy": lost_policy,
        "lost_policy_means": ("a lost pair is scored as 'different' (wrong for same-person pairs)"
                              if lost_policy == "reject" else "lost pairs are left out of the accuracy"),
        "lost_lines": lost_rows["line"].astype(int).tolist()[:100],
        "tar_at_far": lfw.tar_at_far(score, same, far_targets, lost, lost_policy),
    }
    if len(set(folds)) >= 2:
        out["accuracy"] = lfw.fold_accuracies(score, same, folds, lost, lost_policy)
    else:
        out["accuracy"] = None
        out["accuracy_note"] = "one fold: LFW-style accuracy (threshold chosen on the other folds) needs two or more"
    if "group" in listing.columns:
        groups = listing["group"].astype(str).to_numpy()
        out["by_group"] = {}
        for g in sorted(set(groups)):
            sel = groups == g
            entry: dict[str, Any] = {"n_pairs": int(sel.sum()), "n_lost_to_fta": int((lost & sel).sum())}
            if len(set(folds[sel])) >= 2:
                acc = lfw.fold_accuracies(score[sel], same[sel], folds[sel], lost[sel], lost_policy)
                entry.update(mean=acc["mean"], standard_error=acc["standard_error"], n_folds=acc["n_folds"],
                             folds=acc["folds"])
            else:
                entry["note"] = "fewer than two folds in this group: no cross-validated accuracy"
            out["by_group"][g] = entry
    return out
