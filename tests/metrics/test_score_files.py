"""Score files read by 'facerisk metrics': every malformed file is one clear error, never a silent wrong rate."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd

import pytest

from harness.errors import DatasetError
from harness.metrics.interop import read_scores


def pairs_frame(n_subj=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_subj):
        for p in range(n_subj):
            rows.append({"enrol_subject": f"s{e}", "probe_subject": f"s{p}", "genuine": e == p,
                         "euclidean": rng.uniform(0.2, 0.5) if e == p else rng.uniform(0.45, 0.9),
                         "enrol_gender": "f" if e % 2 else "m", "probe_gender": "f" if p % 2 else "m",
                         "enrol_age": 20 + 7 * e, "probe_age": 20 + 7 * p,
                         "enrol_age_band": "[18, 30)" if e < 2 else "[30, 45)",
                         "probe_age_band": "[18, 30)" if p < 2 else "[30, 45)"})
    return pd.DataFrame(rows)


def write(tmp_path, frame, name="pairs.csv"):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.iloc[:0], "header only"),
    (lambda f: f[f.genuine], "only genuine"),
    (lambda f: f[~f.genuine], "only impostor"),
    (lambda f: f.assign(enrol_subject=[""] + list(f.enrol_subject[1:])), "row 2: empty enrol_subject"),
    (lambda f: f.assign(euclidean=[np.inf] + list(f.euclidean[1:])), "row 2: euclidean is not finite"),
    (lambda f: f.assign(euclidean=[-0.1] + list(f.euclidean[1:])), "cannot be negative"),
    (lambda f: f.assign(genuine=[True] * len(f)), "genuine is True but the subjects differ"),
    (lambda f: f.assign(genuine=[False] * len(f)), "genuine is False but the subjects are the same"),
    (lambda f: f.assign(genuine=["maybe"] * len(f)), "genuine must be"),
    (lambda f: f.drop(columns=["probe_subject"]), "missing column"),
])
def test_malformed_score_files_are_refused_naming_the_row(tmp_path, mutate, message):
    with pytest.raises(DatasetError, match=message):
        read_scores(write(tmp_path, mutate(pairs_frame())), "euclidean")


def test_cosine_outside_its_range_is_refused(tmp_path):
    f = pairs_frame().assign(cosine=1.5)
    with pytest.raises(DatasetError, match=r"\[-1, 1\]"):
        read_scores(write(tmp_path, f), "cosine")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300)


def test_metrics_without_acquisitions_reads_banded_columns(tmp_path):
    """A run's pairs.csv carries age_band only: this used to end in KeyError: 'age_band'."""
    f = pairs_frame().drop(columns=["enrol_age", "probe_age"])
    r = cli("metrics", str(write(tmp_path, f)), "--out", str(tmp_path / "out"), "--set", "metrics.bootstrap=20",
            "--set", "metrics.intersections=[[gender, age]]")
    assert r.returncode == 0, r.stderr
    groups = pd.read_csv(tmp_path / "out" / "groups.csv")
    assert {"gender", "age_band"} <= set(groups["slice"])


@pytest.mark.parametrize("content, message", [
    (None, "acquisitions file not found"),
    ("", "empty (no header line); it must be a run's acquisitions.csv"),
    ("role,subject_id,ok\n", "header only"),
    ("role,ok\nprobe,true\n", "missing column(s) subject_id"),
    ("role,subject_id,ok\nprobe,s1,perhaps\n", "row 2: ok must be"),
    # another run's people (hostile re-test: bootstrap's ValueError traceback)
    ("role,subject_id,ok\n" + "".join(f"probe,x{i},true\n" for i in range(6)),
     "6 of the 6 people in"),
    ("role,subject_id,ok\n" + "".join(f"probe,s{i},true\n" for i in range(5)), "(e.g. s5); give the acquisitions"),
])
def test_bad_acquisitions_files_are_one_line_errors(tmp_path, content, message):
    scores = write(tmp_path, pairs_frame())
    acq = tmp_path / "acq.csv"
    if content is not None:
        acq.write_text(content)
    r = cli("metrics", str(scores), "--acquisitions", str(acq), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("mutate, message", [
    # a repeated header: pandas reads the first 'euclidean' and renames the second 'euclidean.1', silently
    (lambda text: text.replace("euclidean", "genuine", 1), "'genuine' appear more than once in the header; keep one"),
    (lambda text: "", "empty (no header line); it must be a run's pairs.csv"),
    (lambda text: text.replace("genuine", "match", 1), "missing column(s) genuine; add them"),
    (lambda text: text.encode("utf-16").decode("latin-1"), "not UTF-8 text (UTF-16); re-save it as UTF-8"),
])
def test_score_file_form_errors_say_what_to_do(tmp_path, mutate, message):
    p = write(tmp_path, pairs_frame())
    p.write_bytes(mutate(p.read_text()).encode("latin-1"))
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_scores(p, "euclidean")


def test_one_sided_score_files_say_which_pairs_to_add(tmp_path):
    f = pairs_frame()
    with pytest.raises(DatasetError, match=r"only genuine pairs; .* add the impostor pairs \(genuine=false\)"):
        read_scores(write(tmp_path, f[f["genuine"]]), "euclidean")
    with pytest.raises(DatasetError, match=r"only impostor pairs; .* add the genuine pairs \(genuine=true\)"):
        read_scores(write(tmp_path, f[~f["genuine"]]), "euclidean")


def test_a_duplicated_pair_is_refused_not_counted_twice(tmp_path):
    f = pairs_frame()
    with pytest.raises(DatasetError, match="listed more than once"):
        read_scores(write(tmp_path, pd.concat([f, f.iloc[[0]]])), "euclidean")


def test_metrics_output_never_replaces_a_foreign_folder_and_leaves_nothing_partial(tmp_path):
    scores = write(tmp_path, pairs_frame())
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    r = cli("metrics", str(scores), "--out", str(mine), "--set", "metrics.bootstrap=20")
    assert r.returncode == 2 and "left untouched" in r.stderr and (mine / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "pairs.csv"]  # no temporary folder left
    r = cli("metrics", str(scores), "--out", str(tmp_path / "out"), "--set", "metrics.bootstrap=20")
    assert r.returncode == 0 and (tmp_path / "out" / "metrics.json").is_file()
    r = cli("metrics", str(scores), "--out", str(tmp_path / "out"), "--set", "metrics.bootstrap=20")
    assert r.returncode == 0  # an earlier metrics output is replaced whole
