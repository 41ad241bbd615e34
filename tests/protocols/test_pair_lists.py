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
    ("image_a,image_b,same\nlfw/Ann_A/Ann_A_0001.jpg,lfw/Ann_A/Ann_A_0002.jpg,maybe\n", "line 2: same = 'maybe'"),
])
def test_bad_lists_name_the_line(tmp_path, text, match):
    with pytest.raises(DatasetError, match=match):
        read_pair_list(write(tmp_path, text, "p.csv" if text.startswith("image_a") else "pairs.txt"), IMAGES)
