"""Embedding throughput: the harness's acquisition stage vs a bare loop of face_recognition calls.

Same images, same settings (HOG, upsample 1, 5-point landmarks, 1 jitter), cache off, measured in
one session so the machine's noise hits both. Target: harness >= 0.95x the bare loop's images/s.

    make bench            # or: pytest benchmarks -k throughput
"""

import json
import os
import time
from pathlib import Path

import pytest

from harness import config, pipeline

N_IMAGES = int(os.environ.get("FACERISK_BENCH_IMAGES", "60"))
ROUNDS = int(os.environ.get("FACERISK_BENCH_ROUNDS", "3"))
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def paths(frl):
    return sorted((frl / "images").glob("*.jpg"))[:N_IMAGES]


def bare_loop(fr, paths):
    for p in paths:
        fr.face_encodings(fr.load_image_file(str(p)))


def harness_loop(paths, workers):
    cfg = config.load(overrides=["use_cache=false", "progress=false", f"workers={workers}"])
    models = pipeline.backend_provenance(cfg)
    pipeline.acquire_all(list(paths), cfg, models)


@pytest.mark.parametrize("variant", ["bare-face_recognition", "harness-1-worker", "harness-all-cores"])
def test_throughput(benchmark, variant, paths, face_recognition):
    if variant == "bare-face_recognition":
        fn = lambda: bare_loop(face_recognition, paths)  # noqa: E731
    else:
        workers = 1 if variant == "harness-1-worker" else 0
        fn = lambda: harness_loop(paths, workers)  # noqa: E731
    fn()  # warm-up: model load, page cache
    t0 = time.perf_counter()
    benchmark.pedantic(fn, rounds=ROUNDS, iterations=1)
    RESULTS[variant] = len(paths) / benchmark.stats.stats.median
    benchmark.extra_info["images_per_s"] = RESULTS[variant]
    benchmark.extra_info["n_images"] = len(paths)
    assert time.perf_counter() - t0 > 0


def test_throughput_ratio(paths):
    if len(RESULTS) < 3:
        pytest.skip("run the three throughput variants first (same session)")
    bare = RESULTS["bare-face_recognition"]
    one = RESULTS["harness-1-worker"] / bare
    allc = RESULTS["harness-all-cores"] / bare
    out = {"images": len(paths), "rounds": ROUNDS, "images_per_s": RESULTS,
           "ratio_harness_1_worker": one, "ratio_harness_all_cores": allc, "cores": os.cpu_count()}
    Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results")).mkdir(parents=True, exist_ok=True)
    (Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results")) / "embed_throughput.json").write_text(
        json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    assert allc >= 0.95, f"harness reaches {allc:.2f}x the bare face_recognition loop (target >= 0.95x)"
    assert one >= 0.90, f"single-worker harness reaches {one:.2f}x the bare loop"
