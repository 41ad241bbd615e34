"""fp16 and int8 (dynamic, static QDQ) speed against fp32 under onnxruntime CPU, side by side in one run.

Two models, each quantised with ``facerisk models quantize``'s own code (:func:`harness.models_cli.quantize`):

1. a synthetic ResNet-like embedder built here (stem conv, three stages of two residual blocks,
   32/64/128 channels, 112x112 input, 128-d output; seeded He-initialised weights; int8-static
   calibrated on 32 random chips);
2. dlib's ResNet converted to ONNX (``facerisk models convert-dlib``), measured on real frl-london
   chips with dlib's own ``compute_face_descriptor`` alongside (int8-static calibrated on chips of
   other people than the measured ones). Skipped without the frl-london images.

Every round runs every variant once, in turn, on the same chips (the machine is shared, so the
variants see the same load); figures are medians over rounds, ratios the median of per-round
ratios. onnxruntime runs through the onnx backend (``OnnxEmbedder.infer``: normalisation and
layout included) at batch 32 with one intra-op thread, as the harness runs it (one process per core).

    make bench ARGS="-k quantized"      # or: pytest benchmarks/test_quantized_speed.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

ROUNDS = int(os.environ.get("FACERISK_BENCH_ROUNDS", "5"))
BATCH = 32
VARIANTS = ("fp32", "fp16", "int8-dynamic", "int8-static")
OUT: dict = {}


def resnet_like(path: Path, size: int = 112, dim: int = 128, seed: int = 0) -> Path:
    """A ResNet-18-style graph (no batch norm: inference BN folds into the convolutions anyway)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    count = [0]

    def name(stem):
        count[0] += 1
        return f"{stem}{count[0]}"

    def conv(x, cin, cout, k, stride):
        w, b, y = name("w"), name("b"), name("conv")
        inits.append(numpy_helper.from_array(rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k))
                                             .astype(np.float32), w))
        inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [y], pads=[k // 2] * 4, strides=[stride, stride]))
        return y

    def relu(x):
        y = name("relu")
        nodes.append(helper.make_node("Relu", [x], [y]))
        return y

    def block(x, cin, cout, stride):
        y = relu(conv(x, cin, cout, 3, stride))
        y = conv(y, cout, cout, 3, 1)
        short = x if (cin == cout and stride == 1) else conv(x, cin, cout, 1, stride)
        s = name("add")
        nodes.append(helper.make_node("Add", [y, short], [s]))
        return relu(s)

    x = relu(conv("x", 3, 32, 3, 2))
    cin = 32
    for cout, stride in ((32, 1), (64, 2), (128, 2)):
        x = block(x, cin, cout, stride)
        x = block(x, cout, cout, 1)
        cin = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    inits.append(numpy_helper.from_array(rng.normal(0, np.sqrt(1 / cin), (cin, dim)).astype(np.float32), "fc_w"))
    inits.append(numpy_helper.from_array(np.zeros(dim, np.float32), "fc_b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"]))
    graph = helper.make_graph(nodes, "resnet_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                  ["N", 3, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _variants(src: Path, calibration: np.ndarray, **opts) -> dict:
    from harness.embed.onnx_model import OnnxEmbedder
    from harness.models_cli import quantize

    paths = {"fp32": src}
    for v in VARIANTS[1:]:
        paths[v] = quantize(src, v, chips=calibration if v == "int8-static" else None)
    embs = {v: OnnxEmbedder(str(p), threads=1, batch_size=BATCH, **opts) for v, p in paths.items()}
    for e in embs.values():
        e.load()
    return embs


def _cos(a, b):
    return float(np.min((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def _side_by_side(benchmark, fns: dict, n: int) -> dict:
    times = {k: [] for k in fns}

    def one_round():
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)

    for fn in fns.values():  # warm-up (first-run allocations, lazy initialisation)
        fn()
    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = "fp32"
    return {
        "chips_per_s": {k: n / t for k, t in med.items()},
        "ms_per_chip": {k: 1000 * t / n for k, t in med.items()},
        "speedup_vs_fp32_paired_median": {k: statistics.median(a / b for a, b in zip(times[ref], times[k]))
                                          for k in fns if k != ref},
        "round_seconds": times,
    }


def test_quantized_speed_synthetic_resnet(benchmark, tmp_path):
    rng = np.random.default_rng(0)
    src = resnet_like(tmp_path / "resnet_like.onnx")
    embs = _variants(src, rng.integers(0, 256, (32, 112, 112, 3), dtype=np.uint8), mean=127.5, std=127.5)
    chips = rng.integers(0, 256, (BATCH, 112, 112, 3), dtype=np.uint8)
    ref = embs["fp32"].infer(chips)
    agreement = {v: _cos(ref, e.infer(chips)) for v, e in embs.items() if v != "fp32"}
    res = _side_by_side(benchmark, {v: (lambda e=e: e.infer(chips)) for v, e in embs.items()}, len(chips))
    OUT["synthetic_resnet_like"] = {
        "model": "ResNet-18-style, 112x112x3 -> 128, channels 32/64/128, seeded random weights (built in the benchmark)",
        "batch": BATCH, "intra_op_threads": 1, "n_chips": len(chips), **res,
        "min_cosine_vs_fp32": agreement,
        "file_bytes": {v: Path(e.path).stat().st_size for v, e in embs.items()},
        "calibration": "int8-static: 32 random chips (synthetic model, synthetic data)",
    }
    _write()


def test_quantized_speed_dlib_resnet_vs_dlib(benchmark, tmp_path, frl):
    import dlib

    from harness.data.images import load_rgb
    from harness.detect.dlib_detector import DlibDetector
    from harness.embed.align import dlib_chip
    from harness.embed.dlib_convert import convert
    from harness.modelfiles import dlib_model

    det = DlibDetector("hog", upsample=1, landmarks="5")
    chips, cal = [], []
    for p in sorted((frl / "images").glob("*.jpg")):
        img = load_rgb(p)
        faces = det.detect(img)
        if not faces:
            continue
        target = chips if len(chips) < BATCH else cal  # sorted files: 16 people measured, the next 16 calibrate
        target.append(dlib_chip(img, max(faces, key=lambda f: f.area)))
        if len(cal) == 32:
            break
    src = convert(tmp_path)
    embs = _variants(src, np.stack(cal))
    x = np.stack(chips)
    net = dlib.face_recognition_model_v1(str(dlib_model("dlib_face_recognition_resnet_model_v1.dat")))
    ref = np.array([np.array(v) for v in net.compute_face_descriptor(chips)])
    agreement = {v: _cos(ref, e.infer(x)) for v, e in embs.items()}
    fns = {"dlib": lambda: net.compute_face_descriptor(chips)}
    fns.update({v: (lambda e=e: e.infer(x)) for v, e in embs.items()})
    res = _side_by_side(benchmark, fns, len(chips))
    times = res["round_seconds"]
    res["speedup_vs_dlib_paired_median"] = {k: statistics.median(a / b for a, b in zip(times["dlib"], times[k]))
                                            for k in fns if k != "dlib"}
    OUT["dlib_resnet_v1"] = {
        "model": "dlib_face_recognition_resnet_model_v1 converted by 'facerisk models convert-dlib' (150x150 -> 128)",
        "batch": BATCH, "intra_op_threads": 1, "n_chips": len(chips), **res,
        "min_cosine_vs_dlib": agreement,
        "file_bytes": {v: Path(e.path).stat().st_size for v, e in embs.items()},
        "chips": f"dlib.get_face_chip (150 px, padding 0.25) of the first {len(chips)} frl-london images with a face",
        "calibration": f"int8-static: chips of the next {len(cal)} images (other people than the measured chips)",
        "dlib": f"dlib {dlib.__version__} (BLAS: {bool(dlib.DLIB_USE_BLAS)}), compute_face_descriptor(list of chips)",
        "targets (issue 7)": "onnxruntime int8 >= 3x dlib at batch 32 on this 2-core CPU",
    }
    _write()


def _write():
    import onnxruntime as ort

    doc = {**OUT, "rounds": ROUNDS, "statistic": "median over rounds; ratios: median of per-round ratios",
           "onnxruntime": ort.__version__, "cores": os.cpu_count(), "machine": platform.machine(),
           "processor": platform.processor() or platform.machine(),
           "load_average_1m_at_end": os.getloadavg()[0],
           "note": "shared development machine (other jobs running); variants interleaved round by round"}
    folder = Path(os.environ.get("FACERISK_BENCH_OUT", "benchmarks/results"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "quantized_speed.json").write_text(json.dumps(doc, indent=2) + "\n")
