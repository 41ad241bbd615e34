"""The protocols end to end on frl-london (dlib HOG + ResNet), sharing one acquisition cache."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness import pipeline
from harness.errors import DatasetError
from tests.protocols.conftest import linked_set

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def split_run(run_cfg):
    return pipeline.run(run_cfg())


def test_all_images_protocol_counts_against_split(split_run, run_cfg):
    """Two images per person: mated pairs are the split's genuine pairs; non-mated pairs are the split's
    impostors (neutral vs smiling) plus the neutral-neutral and smiling-smiling ones."""
    res = pipeline.run(run_cfg("protocol.kind=all"))
    split, allp = split_run.pairs, res.pairs
    n = split["enrol_subject"].nunique()  # 102 people, 204 images
    assert int(allp["genuine"].sum()) == int(split["genuine"].sum()) == n
    assert int((~split["genuine"]).sum()) == n * (n - 1)
    assert int((~allp["genuine"]).sum()) == n * (n - 1) + 2 * (n * (n - 1) // 2)
    # the pairs that coincide score identically (each unordered pair once, in either orientation)
    key = lambda df: df.apply(lambda r: tuple(sorted((r.enrol_image, r.probe_image))), axis=1)  # noqa: E731
    a = allp.assign(k=key(allp)).set_index("k")["euclidean"]
    s = split.assign(k=key(split)).set_index("k")["euclidean"]
    assert np.array_equal(a.reindex(s.index).to_numpy(), s.to_numpy())
    info = res.provenance["protocol"]
    assert info["n_mated"] == n and info["nonmated_sampling"] == "all"
    # every image is acquired once, and appears once as enrolment and once as probe
    assert res.provenance["acquisition"]["computed"] == 0
    assert (res.acquisitions["role"] == "probe").sum() == 2 * n


def test_all_images_seeded_nonmated_sample(run_cfg):
    res = pipeline.run(run_cfg("protocol.kind=all", "protocol.nonmated_sample=2000", "seed=7"))
    assert int((~res.pairs["genuine"]).sum()) == 2000 and int(res.pairs["genuine"].sum()) == 102
    samp = res.provenance["protocol"]["nonmated_sampling"]
    assert samp["n"] == 2000 and samp["seed"] == 7
    again = pipeline.run(run_cfg("protocol.kind=all", "protocol.nonmated_sample=2000", "seed=7"))
    assert again.pairs["enrol_image"].tolist() == res.pairs["enrol_image"].tolist()


@pytest.fixture(scope="module")
def halves(frl, frl_meta, tmp_path_factory):
    """frl-london split into two disjoint halves of people, as two folders of symbolic links."""
    root = tmp_path_factory.mktemp("halves")
    ids = sorted(frl_meta["subject_id"].unique())
    a = linked_set(frl, root / "probes", frl_meta[frl_meta["subject_id"].isin(ids[::2])])
    b = linked_set(frl, root / "gallery", frl_meta[frl_meta["subject_id"].isin(ids[1::2])])
    return a, b


def test_watchlist_strangers_gallery(halves, run_cfg):
    a, b = halves
    res = pipeline.run(run_cfg("protocol.kind=watchlist", f"protocol.gallery_dataset='{b}'",
                               "protocol.gallery_column=expression", "protocol.gallery_value=neutral",
                               dataset=str(a)))
    assert not res.pairs["genuine"].any()
    assert len(res.pairs) == 51 * 51  # 51 smiling probes x 51 neutral strangers
    out = res.provenance["protocol"]["results"]
    assert out["n_searches"] == 51 and out["n_gallery_people"] == 51
    by_id = {t["threshold_id"]: t for t in out["thresholds"]}
    t = by_id["euclidean=0.6"]
    # independent count: a probe is falsely flagged when any stranger is within distance 0.6
    closest = res.pairs.groupby("probe_image")["euclidean"].min()
    flagged = set(closest[closest <= 0.6].index)
    assert {f["probe_image"] for f in t["falsely_flagged"]} == flagged
    overall = next(g for g in t["groups"] if g["slice"] == "all")
    assert overall["n_false_alarms"] == len(flagged) and overall["fpir"] == len(flagged) / 51
    gender = [g for g in t["groups"] if g["slice"] == "gender"]
    assert sum(g["n_searches"] for g in gender) == 51
    assert sum(g["n_people_flagged"] for g in gender) == overall["n_people_flagged"]
    fp = by_id["fpir=0.01"]
    assert next(g for g in fp["groups"] if g["slice"] == "all")["fpir"] <= 0.01
    sweep = pd.DataFrame(out["gallery_sweep"])
    s = sweep[sweep["threshold_id"] == "euclidean=0.6"].sort_values("gallery_people")
    assert s["gallery_people"].tolist() == [10, 51] and s["fpir"].is_monotonic_increasing
    assert any("every search is non-mated" in w for w in res.warnings)


def test_watchlist_refuses_shared_ids(frl, halves, run_cfg):
    a, _ = halves
    with pytest.raises(DatasetError, match="appear in both the probe set"):
        pipeline.run(run_cfg("protocol.kind=watchlist", f"protocol.gallery_dataset='{frl}'", dataset=str(a)))


def test_watchlist_with_mated_entries(halves, run_cfg):
    a, b = halves
    res = pipeline.run(run_cfg("protocol.kind=watchlist", f"protocol.gallery_dataset='{b}'", "protocol.mated=true",
                               dataset=str(a)))
    assert int(res.pairs["genuine"].sum()) == 51
    t = next(t for t in res.provenance["protocol"]["results"]["thresholds"] if t["threshold_id"] == "euclidean=0.6")
    overall = next(g for g in t["groups"] if g["slice"] == "all")
    assert overall["n_mated_searches"] == 51 and 0 <= overall["fnir"] <= 1


@pytest.fixture(scope="module")
def lfw_tree(frl, frl_meta, tmp_path_factory):
    """frl-london laid out as LFW ships: one sub-folder per person, Name_0001.jpg, plus one faceless image."""
    root = tmp_path_factory.mktemp("lfwtree") / "tree"
    meta = frl_meta.assign(subject_id="P" + frl_meta["subject_id"])
    num = {"neutral": 1, "smiling": 2}
    tree = linked_set(frl, root, meta,
                      layout=lambda r: f"{r.subject_id}/{r.subject_id}_{num[r.expression]:04d}.jpg")
    (tree / "Blank").mkdir()
    Image.new("RGB", (250, 250), (128, 128, 128)).save(tree / "Blank" / "Blank_0001.jpg")
    Image.new("RGB", (250, 250), (90, 90, 90)).save(tree / "Blank" / "Blank_0002.jpg")
    m = pd.read_csv(tree / "metadata.csv", dtype=str)
    extra = pd.DataFrame([{**m.iloc[0].to_dict(), "image": f"Blank/Blank_000{i}.jpg", "subject_id": "Blank",
                           "expression": ["neutral", "smiling"][i - 1]} for i in (1, 2)])
    pd.concat([m, extra]).to_csv(tree / "metadata.csv", index=False)
    people = sorted(meta["subject_id"].unique())
    lines, csv = ["10\t5"], ["image_a,image_b,same,fold"]
    rng = np.random.default_rng(0)
    for f in range(10):
        same = people[f * 5:(f + 1) * 5]
        if f == 0:
            same = ["Blank"] + same[1:]  # a pair lost to a failure to acquire
        for p in same:
            lines.append(f"{p}\t1\t2")
            csv.append(f"{p}/{p}_0001.jpg,{p}/{p}_0002.jpg,1,{f + 1}")
        for _ in range(5):
            x, y = rng.choice(len(people), 2, replace=False)
            lines.append(f"{people[x]}\t1\t{people[y]}\t2")
            csv.append(f"{people[x]}/{people[x]}_0001.jpg,{people[y]}/{people[y]}_0002.jpg,0,{f + 1}")
    (tree / "pairs.txt").write_text("\n".join(lines) + "\n")
    (tree / "pairs.csv").write_text("\n".join(csv) + "\n")
    return tree


@pytest.mark.parametrize("policy", ["reject", "exclude"])
def test_pairs_protocol_on_a_folder_tree_lfw_and_csv_formats(lfw_tree, run_cfg, policy):
    runs = {fmt: pipeline.run(run_cfg("protocol.kind=pairs", f"protocol.pairs_file=pairs.{fmt}",
                                      f"protocol.fta_pairs={policy}", "metrics.attributes=[gender]",
                                      "metrics.intersections=[]", dataset=str(lfw_tree)))
            for fmt in ("txt", "csv")}
    txt, csv = (runs[k].provenance["protocol"]["results"] for k in ("txt", "csv"))
    assert txt["n_pairs"] == 100 and txt["n_lost_to_fta"] == 1 and txt["lost_same"] == 1
    assert txt["lost_lines"] == [2]
    acc = txt["accuracy"]
    assert acc["n_folds"] == 10 and acc["lost_policy"] == policy
    assert [f["accuracy"] for f in acc["folds"]] == [f["accuracy"] for f in csv["accuracy"]["folds"]]
    assert acc["folds"][0]["n_scored"] == (10 if policy == "reject" else 9)
    folds = np.array([f["accuracy"] for f in acc["folds"]])
    assert acc["mean"] == pytest.approx(folds.mean())
    assert acc["standard_error"] == pytest.approx(folds.std(ddof=1) / np.sqrt(10))
    res = runs["txt"]
    assert len(res.pairs) == 99 and set(res.pairs["fold"]) == {str(i) for i in range(1, 11)}
    # per-group rates come from the same pairs; the faceless images are counted as FTA
    overall = res.groups[(res.groups["slice"] == "all")].iloc[0]
    assert overall["n_fta"] >= 1
    assert set(res.groups.loc[res.groups["slice"] == "gender", "group"]) >= {"female", "male"}


def test_mislabelled_pair_is_an_error_or_a_counted_warning(lfw_tree, run_cfg, tmp_path):
    text = (lfw_tree / "pairs.csv").read_text().splitlines()
    first_diff = next(i for i, ln in enumerate(text) if ln.endswith(",0,1"))
    a = text[first_diff].split(",")[0]
    text[first_diff] = f"{a},{a.replace('_0001', '_0002')},0,1"  # the same person, listed as different
    (lfw_tree / "bad.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DatasetError, match="1 mislabelled pair.*listed as different people"):
        pipeline.run(run_cfg("protocol.kind=pairs", "protocol.pairs_file=bad.csv", dataset=str(lfw_tree)))
    res = pipeline.run(run_cfg("protocol.kind=pairs", "protocol.pairs_file=bad.csv", "protocol.mislabelled=warn",
                               dataset=str(lfw_tree)))
    assert res.provenance["protocol"]["n_mislabelled"] == 1
    assert any("mislabelled" in w for w in res.warnings)


def test_watchlist_within_one_data_set(frl, frl_meta, tmp_path, run_cfg):
    """No gallery data set: a column assigns people to the probe side or the gallery."""
    ids = sorted(frl_meta["subject_id"].unique())
    side = frl_meta["subject_id"].map(lambda s: "probe" if s in set(ids[::2]) else "gallery")
    root = linked_set(frl, tmp_path / "one", frl_meta.assign(side=side))
    res = pipeline.run(run_cfg("protocol.kind=watchlist", "protocol.split_column=side", "protocol.probe_value=probe",
                               "protocol.gallery_column=side", "protocol.gallery_value=gallery", dataset=str(root)))
    assert len(res.pairs) == 102 * 102 and not res.pairs["genuine"].any()  # 102 probe images x 102 gallery images
    assert set(res.pairs["probe_subject"]).isdisjoint(res.pairs["enrol_subject"])
