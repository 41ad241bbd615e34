"""The onnx backend on dlib's converted ResNet, fed as its model card says, against dlib itself."""

import numpy as np
import pytest

pytestmark = pytest.mark.realdata
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from harness.embed.dlib_convert import convert

    return convert(tmp_path_factory.mktemp("models"))


def test_card_is_found_by_file_name_and_templates_match_dlib(frl, converted):
    from harness.data.images import load_rgb
    from harness.detect.dlib_detector import DlibDetector
    from harness.embed import make

    det, onnx_emb, dlib_emb = DlibDetector("hog", landmarks="5"), make("onnx", path=str(converted)), \
        make("dlib-resnet-v1")
    prov = onnx_emb.provenance()
    assert prov["card"]["name"] == "dlib-resnet-v1-onnx"
    assert prov["alignment"]["template"] == "dlib-chip" and prov["input_size"] == [150, 150]
    assert prov["precision"] == "fp32" and prov["batch_axis"] == "dynamic"
    images = sorted((frl / "images").glob("*.jpg"))[:4]
    chips, want = [], []
    for p in images:
        img = load_rgb(p)
        face = max(det.detect(img), key=lambda f: f.area)
        chips.append(onnx_emb.align(img, face))
        want.append(dlib_emb.embed(img, face))
        got = onnx_emb.embed(img, face)
        assert float(got @ want[-1] / np.linalg.norm(got) / np.linalg.norm(want[-1])) >= 0.9999
    batched = onnx_emb.infer(np.stack(chips))  # one batch of four = four single calls
    np.testing.assert_allclose(batched, np.array(want), atol=1e-4)
