"""`facerisk bench` and `facerisk report` end to end (null backends on synthetic images: seconds, not minutes)."""

from __future__ import annotations

import json

import pytest

from harness.bench import result
from harness.cli import main


@pytest.fixture(scope="module")
def two_benches(image_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("benches")
    common = ["bench", "--detector", "null", "--embedder", "null", "--images", str(image_dir), "--sample", "3",
              "--warmup", "1", "--count", "5"]
    assert main(common + ["--label", "all-four", "--scenarios", "single-stream,offline,cold-start,doorbell-stream",
                          "--workers", "2", "--offline-count", "6", "--cold-repeats", "1",
                          "--stream-preset", "doorbell-640x480-stream", "--stream-frames", "4",
                          "--out", str(out / "a" / "bench.json")]) == 0
    assert main(common + ["--label", "second", "--scenarios", "single-stream", "--capture", "doorbell-640x480-stream",
                          "--out", str(out / "b" / "bench.json")]) == 0
    return out / "a" / "bench.json", out / "b" / "bench.json"


def test_bench_writes_every_scenario(two_benches, capsys):
    a = result.load(two_benches[0])
    sc = a["scenarios"]
    assert set(sc) == {"single_stream", "offline", "cold_start", "doorbell_stream"}
    assert sc["offline"]["images"] == 6 and sc["offline"]["workers"] == 2
    assert sc["doorbell_stream"]["frames"] == 4 and sc["doorbell_stream"]["clip"]["simulated"] is True
    assert sc["cold_start"]["n"] == 1
    assert any("simulated" in w for w in a["warnings"])
    b = result.load(two_benches[1])
    assert "capture" in b["scenarios"]["single_stream"]["stages"]  # the optional simulated capture stage
    assert b["config"]["capture"] == "doorbell-640x480-stream"


def test_report_merges_devices(two_benches, tmp_path, capsys):
    assert main(["report", str(two_benches[0]), str(two_benches[1].parent), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "all-four" in text and "second" in text
    html = (tmp_path / "bench_report.html").read_text()
    assert "all-four" in html and "second" in html and html.count("data:image/png;base64,") >= 2
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained
    rows = (tmp_path / "bench_report.csv").read_text().splitlines()
    assert len(rows) == 3 and "latency_p50_ms" in rows[0]


def test_report_joins_accuracy_of_the_same_variant(two_benches, tmp_path, capsys):
    doc = json.loads(two_benches[0].read_text())
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({
        "run_name": "acc-run", "provenance": {"models": doc["provenance"]["models"]},
        "groups": [{"slice": "all", "threshold_id": "fmr=0.01", "fmr": 0.01, "fnmr": 0.25, "fta": 0.0}]}))
    doc["accuracy"] = result.accuracy_from_run(run, doc["provenance"]["models"])
    result.write(doc, tmp_path / "x" / "bench.json")
    assert main(["report", str(tmp_path / "x"), str(two_benches[1]), "--out", str(tmp_path / "rep")]) == 0
    rows = (tmp_path / "rep" / "bench_report.csv").read_text().splitlines()
    # both rows are the null+null variant: the second device gets the first's accuracy beside its timings
    assert rows[0].split(",").count("fnmr@fmr=0.01") == 1
    assert all("acc-run" in r and "0.25" in r for r in rows[1:])


@pytest.mark.parametrize("argv, message", [
    (["--scenarios", "single-stream,warp"], "--scenarios"),
    (["--images", "/nonexistent/folder"], "not a folder"),
    (["--count", "0"], "--count"),
    (["--embedder-opt", "novalue"], "KEY=VALUE"),
    (["--run", "/nonexistent/run"], "no results.json"),
])
def test_user_errors_are_one_line(argv, message, image_dir, tmp_path, capsys):
    base = ["bench", "--detector", "null", "--embedder", "null", "--images", str(image_dir), "--scenarios",
            "single-stream", "--count", "2", "--warmup", "0", "--out", str(tmp_path / "b.json")]
    assert main(base + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_report_of_a_non_bench_file_is_a_user_error(tmp_path, capsys):
    (tmp_path / "bench.json").write_text(json.dumps({"schema_version": "1.0"}))
    assert main(["report", str(tmp_path)]) == 2
    assert "not a bench result" in capsys.readouterr().err
