"""bench.json: schema validation, atomic writing, loading errors, joining a run's accuracy."""

from __future__ import annotations

import copy
import json
import sys

import pytest

from harness.bench import result, runner
from harness.errors import FaceriskError


@pytest.fixture(scope="module")
def doc(image_dir):
    opts = runner.BenchOptions(detector="null", embedder="null", images=str(image_dir), sample=3, warmup=1,
                               count=4, scenarios=["single-stream"], label="unit")
    return runner.run(opts, log=lambda *_: None)


def test_document_validates_and_keeps_raw_samples(doc, tmp_path):
    p = result.write(doc, tmp_path / "a" / "bench.json")
    back = result.load(p)
    stages = back["scenarios"]["single_stream"]["stages"]
    assert stages["pipeline"]["samples"] == sorted(stages["pipeline"]["samples"]) and stages["pipeline"]["n"] == 4
    assert back["provenance"]["stage_split"] == "embed" and len(back["provenance"]["images"]) == 3
    assert back["provenance"]["git"]["commit"] and back["device"]["cpu"]["cores_usable"] >= 1
    assert back["resources"]["peak_rss_mib"] > 10 and back["resources"]["model_bytes"] == 0
    assert back["label"] == "unit" and back["accuracy"] is None


def test_invalid_document_names_the_field(doc, tmp_path):
    bad = copy.deepcopy(doc)
    bad["scenarios"]["single_stream"]["stages"]["pipeline"].pop("p99")
    with pytest.raises(FaceriskError, match="scenarios/single_stream/stages/pipeline.*p99"):
        result.write(bad, tmp_path / "bench.json")
    assert not (tmp_path / "bench.json").exists()


def test_failed_write_leaves_the_earlier_file(doc, tmp_path, monkeypatch):
    """A write that fails part-way (file size limit: works as root too) keeps the earlier bench.json."""
    import resource

    p = result.write(doc, tmp_path / "bench.json")
    before = p.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # No bytecode writes while the limit holds: a truncated .pyc would break later imports.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))  # Python ignores SIGXFSZ: writes raise EFBIG
    try:
        with pytest.raises(FaceriskError, match="cannot write the bench result"):
            result.write(doc, p)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["bench.json"]  # no temp file left behind


def test_load_errors(tmp_path):
    with pytest.raises(FaceriskError, match="no bench.json"):
        result.load(tmp_path)
    (tmp_path / "bench.json").write_text("{}")
    with pytest.raises(FaceriskError, match="not a bench result"):
        result.load(tmp_path / "bench.json")
    (tmp_path / "bench.json").write_text("{oops")
    with pytest.raises(FaceriskError, match="not readable JSON"):
        result.load(tmp_path)


def _results_json(tmp_path, models):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({
        "run_name": "r1", "provenance": {"models": models, "dataset": {"name": "frl-london"}},
        "groups": [{"slice": "all", "group": "all", "threshold_id": "fmr=0.001", "fmr": 0.001, "fnmr": 0.02,
                    "fta": 0.0}, {"slice": "gender", "group": "female", "threshold_id": "fmr=0.001"}]}))
    return run


def test_accuracy_join_same_and_different_models(doc, tmp_path):
    models = doc["provenance"]["models"]
    acc = result.accuracy_from_run(_results_json(tmp_path, models), models)
    assert acc["same_models"] and acc["overall"][0]["fnmr"] == 0.02 and len(acc["overall"]) == 1
    other = copy.deepcopy(models)
    other["embedder"]["name"] = "dlib-resnet-v1"
    acc = result.accuracy_from_run(tmp_path / "run", other)
    assert not acc["same_models"] and "embedder.name" in acc["differences"][0]
    with pytest.raises(FaceriskError, match="no results.json"):
        result.accuracy_from_run(tmp_path / "nowhere", models)
