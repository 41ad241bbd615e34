"""Model FLOPs from dlib's architecture (checked against the weight file's size) and device peaks."""

from __future__ import annotations

import pytest

from harness.bench import peaks


def test_dlib_resnet_parameter_count_matches_the_weight_file():
    """The layer table is dlib's network: its parameters, as float32, are the .dat file's size."""
    from harness.modelfiles import dlib_model

    size = dlib_model("dlib_face_recognition_resnet_model_v1.dat").stat().st_size
    params = sum(layer["params"] for layer in peaks.dlib_resnet_layers())
    assert params == 5_614_592
    assert abs(params * 4 - size) / size < 1e-3  # the rest is dlib's serialisation headers


def test_dlib_resnet_flops_by_hand():
    layers = peaks.dlib_resnet_layers()
    first = layers[0]
    assert first["out"] == [72, 72, 32]  # 150 -> 7x7 stride 2, no padding (dlib pads 0 at stride 2)
    assert first["flops"] == 2 * 72 * 72 * 32 * 7 * 7 * 3
    assert [lay["out"][0] for lay in layers if "/2" in lay["layer"]] == [72, 17, 8, 3, 1]
    assert peaks.dlib_resnet_flops() == sum(lay["flops"] for lay in layers)
    assert 0.45e9 < peaks.dlib_resnet_flops() < 0.55e9


def test_known_device_and_derived_x86_peaks():
    pi = peaks.device_peak({"raspberry_pi": {"board": "Raspberry Pi 4 Model B Rev 1.4"}, "cpu": {}})
    assert pi["gflops"] == pytest.approx(48.0) and pi["per_core_gflops"] == pytest.approx(12.0) and pi["source"]
    x86 = peaks.device_peak({"cpu": {"arch": "x86_64", "simd": ["avx2", "fma"], "max_freq_mhz": 3000,
                                     "cores_usable": 2, "model": "Some CPU"}})
    assert x86["gflops"] == pytest.approx(2 * 3.0 * 32) and x86["kind"] == "derived"
    assert peaks.device_peak({"cpu": {"arch": "x86_64", "simd": [], "model": "?"}}) is None  # no clock known


def test_percent_of_peak():
    assert peaks.percent_of_peak(1e9, 0.1, 100) == pytest.approx(10.0)
    assert peaks.percent_of_peak(None, 0.1, 100) is None and peaks.percent_of_peak(1e9, 0.1, None) is None


def test_vm_without_cpufreq_uses_the_cpuinfo_clock():
    from pathlib import Path

    from harness.bench.fingerprint import parse_cpuinfo

    info = parse_cpuinfo((Path(__file__).with_name("fixtures") / "cpuinfo_x86.txt").read_text())
    assert info["mhz"] == 2200.0
    p = peaks.device_peak({"cpu": {"arch": "x86_64", "simd": ["avx512f"], "cpuinfo_mhz": info["mhz"],
                                   "cores_usable": 2, "model": info["model"]}})
    assert p["gflops"] == pytest.approx(2 * 2.2 * 64) and "/proc/cpuinfo" in p["source"]
