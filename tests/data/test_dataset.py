"""metadata.csv validation: each problem is one error naming the CSV row and the fix."""

import numpy as np
import pytest

from harness.data import open_dataset
from harness.data.dataset import Dataset
from harness.errors import DatasetError
from tests.conftest import write_dataset

IMG = np.zeros((8, 8, 3), np.uint8)


def rows(**over):
    base = [
        {"image": "a1.png", "subject_id": "a", "gender": "f", "expression": "neutral"},
        {"image": "a2.png", "subject_id": "a", "gender": "f", "expression": "smiling"},
        {"image": "b1.png", "subject_id": "b", "gender": "m", "expression": "neutral"},
    ]
    return base


def make(tmp_path, rs, files=("a1.png", "a2.png", "b1.png")):
    return write_dataset(tmp_path / "ds", rs, {f: IMG for f in files})


def test_valid_dataset_opens(tmp_path):
    ds = open_dataset(str(make(tmp_path, rows())))
    assert len(ds.frame) == 3 and ds.subject_attributes == ["gender"]


def test_missing_metadata(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="metadata.csv not found"):
        open_dataset(str(tmp_path / "empty"))


def test_missing_column(tmp_path):
    rs = [{k: v for k, v in r.items() if k != "subject_id"} for r in rows()]
    with pytest.raises(DatasetError, match="missing required column.*subject_id"):
        open_dataset(str(make(tmp_path, rs)))


def test_bad_path_names_the_row(tmp_path):
    rs = rows()
    rs[2]["image"] = "nope/b1.png"
    with pytest.raises(DatasetError, match=r"row 4: image file 'nope/b1.png' not found"):
        open_dataset(str(make(tmp_path, rs)))


def test_path_outside_the_folder(tmp_path):
    rs = rows()
    rs[0]["image"] = "../../etc/passwd"
    with pytest.raises(DatasetError, match="row 2: .*must be relative and inside"):
        open_dataset(str(make(tmp_path, rs)))


def test_duplicate_rows(tmp_path):
    rs = rows() + [rows()[0]]
    with pytest.raises(DatasetError, match="rows 2, 5: the same image"):
        open_dataset(str(make(tmp_path, rs)))


def test_empty_subject_id(tmp_path):
    rs = rows()
    rs[1]["subject_id"] = ""
    with pytest.raises(DatasetError, match="row 3: empty subject_id"):
        open_dataset(str(make(tmp_path, rs)))


def test_inconsistent_subject_attributes(tmp_path):
    rs = rows()
    rs[1]["gender"] = "m"
    with pytest.raises(DatasetError, match="rows 2, 3: subject a has inconsistent gender"):
        open_dataset(str(make(tmp_path, rs)))


def test_missing_markers_are_na_not_a_category(tmp_path):
    rs = rows()
    for r in rs[:2]:
        r["gender"] = "NA"
    ds = open_dataset(str(make(tmp_path, rs)))
    assert ds.frame["gender"].isna().sum() == 2


def test_manifest_hash_changes_with_any_byte(tmp_path):
    root = make(tmp_path, rows())
    ds = open_dataset(str(root))
    h1 = Dataset.manifest_hash(ds.manifest())
    (root / "b1.png").write_bytes((root / "b1.png").read_bytes() + b"\0")
    assert Dataset.manifest_hash(ds.manifest()) != h1


@pytest.mark.realdata
def test_frl_london_shared_copy_validates(frl):
    ds = open_dataset(str(frl))
    assert len(ds.frame) == 204 and ds.frame["subject_id"].nunique() == 102


def test_duplicated_header_is_refused_not_renamed(tmp_path):
    root = make(tmp_path, rows())
    text = (root / "metadata.csv").read_text().splitlines()
    text[0] = text[0] + ",gender"
    (root / "metadata.csv").write_text("\n".join([text[0]] + [t + ",x" for t in text[1:]]) + "\n")
    with pytest.raises(DatasetError, match="'gender' appear more than once"):
        open_dataset(str(root))


def test_latin1_metadata_is_named(tmp_path):
    root = make(tmp_path, rows())
    (root / "metadata.csv").write_bytes((root / "metadata.csv").read_text().replace("f,", "f\u00e9,").encode("latin-1"))
    with pytest.raises(DatasetError, match=r"not UTF-8 text \(perhaps Latin-1\).*iconv -f latin1"):
        open_dataset(str(root))


def test_utf16_metadata_gets_the_utf16_conversion(tmp_path):
    """Hostile re-test: a UTF-16 file was told to convert from Latin-1, which garbles it."""
    root = make(tmp_path, rows())
    (root / "metadata.csv").write_bytes((root / "metadata.csv").read_text().encode("utf-16"))
    with pytest.raises(DatasetError, match=r"not UTF-8 text \(UTF-16\).*iconv -f utf-16 -t utf-8"):
        open_dataset(str(root))


def test_dataset_arguments_that_are_not_datasets_say_what_they_are(tmp_path):
    from harness.data import resolve

    root = make(tmp_path, rows())
    with pytest.raises(DatasetError, match="give the folder that holds metadata.csv"):
        resolve(str(root / "metadata.csv"))
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetError, match="no metadata.csv in this folder"):
        resolve(str(tmp_path / "bare"))
    with pytest.raises(DatasetError, match="not a dataset folder"):
        resolve(str(tmp_path / "no" / "such"))
    with pytest.raises(DatasetError, match="unknown dataset 'nosuchname'"):
        resolve("nosuchname")


def test_control_characters_in_labels_are_refused(tmp_path):
    rs = rows()
    rs[1]["gender"] = "f\x1b[31m"
    with pytest.raises(DatasetError, match="row 3: column 'gender' holds a control character"):
        open_dataset(str(make(tmp_path, rs)))


def test_an_image_path_that_is_a_folder_says_so(tmp_path):
    root = make(tmp_path, rows())
    (root / "a1.png").unlink()
    (root / "a1.png").mkdir()
    with pytest.raises(DatasetError, match="is a folder, not an image file"):
        open_dataset(str(root))
