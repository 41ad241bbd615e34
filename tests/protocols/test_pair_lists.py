"""Bad pair lists: every one a clear error naming the line, or a counted, reported warning."""

import pandas as pd
import pytest

from harness.errors import DatasetError
from harness.protocols.pairs import read_pair_list

IMAGES = pd.Series([f"lfw/{n}/{n}_{i:04d}.jpg" for n in ("Ann_A", "Bob_B", "Cy_C") for i in (1, 2)])


def write(tmp_path, text, name="pairs.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_lfw_format_both_line_kinds_and_folds(tmp_path):
    text = "2\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t2\nBob_B 1 2\nCy_C 1 Ann_A 2\n"
    lst = read_pair_list(write(tmp_path, text), IMAGES)
    assert lst["same"].tolist() == [True, False, True, False]
    assert lst["fold"].tolist() == ["1", "1", "2", "2"]
    assert lst.loc[1, "image_b"] == "lfw/Bob_B/Bob_B_0002.jpg"


def test_csv_format(tmp_path):
    text = "image_a,image_b,same,fold\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,1,a\n" \
           "lfw/Ann_A/Ann_A_0001.jpg,lfw/Cy_C/Cy_C_0001.jpg,different,b\n"
    lst = read_pair_list(write(tmp_path, text, "p.csv"), IMAGES)
    assert lst["same"].tolist() == [True, False] and lst["fold"].tolist() == ["a", "b"]


@pytest.mark.parametrize("text, match", [
    ("1\t1\nAnn_A\t1\t3\nAnn_A\t1\tBob_B\t1\n", "line 2: image Ann_A_0003 is not in the data set"),
    ("1\t1\nAnn_A\t1\t1\nAnn_A\t1\tBob_B\t1\n", "line 2: image .* is paired with itself"),
    ("1\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t1\nBob_B\t1\t2\n", "line 4: outside the 1 fold"),
    ("2\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t1\n", "truncated"),
    ("1\t1\nAnn_A\t1\tBob_B\t1\nAnn_A\t1\t2\n", "line 2: a different-person line where fold 1 has its same"),
    ("image_a,image_b,same,fold\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,1,\n", "line 2: empty fold"),
    ("image_a,image_b,same\nlfw/Ann_A/Ann_A_0001.jpg,nope.jpg,1\n", "line 2: image 'nope.jpg' is not in"),
    ("image_a,image_b,same,fold\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,1,nan\n", "fold 'nan' is not"),
    ("image_a,image_b,same,fold\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,1,99999999999999999999\n",
     "is not a fold number"),
    ("image_a,image_b,same\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,maybe\n", "line 2: same = 'maybe'"),
])
def test_bad_lists_name_the_line(tmp_path, text, match):
    with pytest.raises(DatasetError, match=match):
        read_pair_list(write(tmp_path, text, "p.csv" if text.startswith("image_a") else "pairs.txt"), IMAGES)


def test_cli_stops_with_one_line_naming_the_line(tmp_path, capsys):
    import numpy as np

    from harness import cli
    from tests.conftest import write_dataset

    imgs = {img: np.zeros((8, 8, 3), dtype=np.uint8) for img in IMAGES}
    rows = [{"image": img, "subject_id": img.split("/")[1]} for img in IMAGES]
    root = write_dataset(tmp_path / "ds", rows, imgs)
    (root / "pairs.txt").write_text("1\t1\nAnn_A\t1\t1\nAnn_A\t1\tBob_B\t1\n")
    rc = cli.main(["run", "--dataset", str(root), "--set", "protocol.kind=pairs", "--reports-dir",
                   str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "pairs.txt: line 2: image 'lfw/Ann_A/Ann_A_0001.jpg' is paired with itself" in err[0]


def test_csv_group_column(tmp_path):
    text = "image_a,image_b,same,fold,group\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,1,1,x\n" \
           "lfw/Ann_A/Ann_A_0001.jpg,lfw/Cy_C/Cy_C_0001.jpg,0,1,\n"
    with pytest.raises(DatasetError, match="line 3: empty group"):
        read_pair_list(write(tmp_path, text, "p.csv"), IMAGES)
