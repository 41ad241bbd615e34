"""``--detector a,b:key=value``: entries, their own options, and one-line refusals."""

import pytest

from harness.compare_detectors import parse_detectors
from harness.errors import ConfigError


def test_entries_carry_their_own_detector_options():
    got = parse_detectors("dlib-hog, dlib-cnn-onnx:upsample=0")
    assert [lab for lab, _, _ in got] == ["dlib-hog", "dlib-cnn-onnx:upsample=0"]
    assert got[1][1] == "dlib-cnn-onnx"
    assert got[1][2] == ["detector.name='dlib-cnn-onnx'", "detector.upsample=0"]
    assert parse_detectors("blazeface-full:runtime=onnxruntime:tiles=3")[0][2][1:] == [
        "detector.runtime=onnxruntime", "detector.tiles=3"]


@pytest.mark.parametrize("text,match", [("dlib-hog,,haar", "empty entry"), ("haar:min_size=20", "key one of"),
                                        ("haar:upsample", "key=value"), ("haar,haar", "given twice")])
def test_bad_entries_are_refused_naming_the_fix(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_detectors(text)
