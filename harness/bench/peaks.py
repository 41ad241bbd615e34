"""Model FLOPs and device compute peaks, to state a latency as a fraction of what the hardware could do.

dlib ResNet FLOPs are computed here from the network definition in dlib's
``examples/dnn_face_recognition_ex.cpp`` (the ``anet_type`` that
``dlib_face_recognition_resnet_model_v1.dat`` was trained as), layer by layer, with dlib's
padding rules (``con``/``max_pool``/``avg_pool``: padding ``k/2`` at stride 1, 0 otherwise).
One multiply-add counts as 2 FLOPs; convolutions and the final fully-connected layer are counted,
element-wise layers (affine, ReLU, residual adds, pooling) are not (< 1% here).

Device peaks are single-precision (FP32) figures: vendors' published numbers where they publish
one, else cores × clock × FP32 FLOPs per cycle per core from the core's documented SIMD width and
FMA pipes — each row says which. These are upper bounds no real kernel reaches; the % of peak is
a utilisation figure, not an efficiency grade.
"""

from __future__ import annotations

from typing import Any, Optional


def _conv_out(n: int, k: int, stride: int) -> int:
    pad = k // 2 if stride == 1 else 0  # dlib's default padding
    return 1 + (n + 2 * pad - k) // stride


def dlib_resnet_layers(size: int = 150) -> list[dict[str, Any]]:
    """The conv/fc layers of dlib's face ResNet (``anet_type``) with shapes, parameters and FLOPs."""
    layers: list[dict[str, Any]] = []
    h, c = size, 3

    def conv(name: str, out_c: int, k: int, stride: int) -> None:
        nonlocal h, c
        o = _conv_out(h, k, stride)
        macs = o * o * out_c * k * k * c
        # con has a bias per filter; each conv is followed by an affine (BN folded): 2 params per channel.
        layers.append({"layer": name, "in": [h, h, c], "out": [o, o, out_c], "kernel": k, "stride": stride,
                       "params": k * k * c * out_c + out_c + 2 * out_c, "flops": 2 * macs})
        h, c = o, out_c

    conv("conv1 7x7/2", 32, 7, 2)
    h = _conv_out(h, 3, 2)  # max_pool<3,3,2,2>
    # Levels from the input side (alevel4) to the output side (alevel0): (filters, blocks, downsample first?)
    for level, (n, blocks, down) in enumerate([(32, 3, False), (64, 4, True), (128, 3, True),
                                               (256, 3, True), (256, 1, True)]):
        for b in range(blocks):
            first_down = down and b == 0
            conv(f"L{level}.{b} conv a" + ("/2" if first_down else ""), n, 3, 2 if first_down else 1)
            conv(f"L{level}.{b} conv b", n, 3, 1)
    layers.append({"layer": "fc 256->128", "in": [c], "out": [128], "params": c * 128, "flops": 2 * c * 128})
    return layers


def dlib_resnet_flops(size: int = 150) -> int:
    """FLOPs (2 per multiply-add) of one forward pass of dlib's face ResNet on a ``size``² chip."""
    return int(sum(layer["flops"] for layer in dlib_resnet_layers(size)))


#: Known model FLOPs per template (forward pass), by embedder name.
MODEL_FLOPS: dict[str, dict[str, Any]] = {
    "dlib-resnet-v1": {"flops": None, "how": "computed layer by layer from dlib's anet_type "
                       "(harness.bench.peaks.dlib_resnet_layers); 150x150 chip, jitters=1"},
}
MODEL_FLOPS["dlib-resnet-v1"]["flops"] = dlib_resnet_flops()


#: FP32 compute peaks of known devices. ``per_core_gflops`` lets single-stream (one thread) be
#: compared with one core; ``gflops`` is the whole device.
DEVICES: list[dict[str, Any]] = [
    {"match": "Raspberry Pi 5", "name": "Raspberry Pi 5 (4x Cortex-A76 @ 2.4 GHz)", "gflops": 4 * 2.4 * 16,
     "per_core_gflops": 2.4 * 16, "kind": "derived",
     "source": "BCM2712 4x Cortex-A76 at 2.4 GHz (raspberrypi.com product brief); A76: two 128-bit NEON FMA "
               "pipes = 16 FP32 FLOP/cycle (Arm Cortex-A76 software optimisation guide)"},
    {"match": "Raspberry Pi 4", "name": "Raspberry Pi 4 (4x Cortex-A72 @ 1.5 GHz)", "gflops": 4 * 1.5 * 8,
     "per_core_gflops": 1.5 * 8, "kind": "derived",
     "source": "BCM2711 4x Cortex-A72 at 1.5 GHz (raspberrypi.com product brief); A72: one 128-bit FMA per "
               "cycle sustained = 8 FP32 FLOP/cycle (Arm Cortex-A72 software optimisation guide)"},
    {"match": "Orin Nano", "name": "Jetson Orin Nano 8GB GPU (1024 CUDA cores @ 625 MHz)", "gflops": 1280.0,
     "per_core_gflops": None, "kind": "published/derived",
     "source": "1024 Ampere CUDA cores at 625 MHz (NVIDIA Jetson Orin Nano datasheet) x 2 FLOP/FMA = 1.28 TFLOPS"},
    {"match": "NVIDIA H200", "name": "NVIDIA H200 SXM (FP32, non-tensor)", "gflops": 67000.0, "per_core_gflops": None,
     "kind": "published", "source": "NVIDIA H200 Tensor Core GPU datasheet: FP32 67 TFLOPS"},
    {"match": "NVIDIA H100", "name": "NVIDIA H100 SXM (FP32, non-tensor)", "gflops": 67000.0, "per_core_gflops": None,
     "kind": "published", "source": "NVIDIA H100 Tensor Core GPU datasheet: FP32 67 TFLOPS (SXM)"},
]


def x86_flops_per_cycle(simd: list[str]) -> Optional[int]:
    """FP32 FLOPs/cycle/core from ISA flags, assuming two FMA ports (true of Haswell-and-later big cores)."""
    s = set(simd or [])
    if "avx512f" in s:
        return 64
    if "avx2" in s and "fma" in s:
        return 32
    if "avx" in s:
        return 16
    if "sse4_2" in s:
        return 8
    return None


def device_peak(fingerprint: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The compute peak for a fingerprinted device: a known-device row, else derived for x86 CPUs."""
    cpu = fingerprint.get("cpu") or {}
    names = [((fingerprint.get("raspberry_pi") or {}).get("board") or ""),
             ((fingerprint.get("jetson") or {}).get("board") or ""), cpu.get("cpuinfo_board") or ""]
    for row in DEVICES:
        if any(row["match"].lower() in n.lower() for n in names if n):
            return {k: v for k, v in row.items() if k != "match"}
    fpc = x86_flops_per_cycle(cpu.get("simd") or [])
    clocks = [("cpufreq max", cpu.get("max_freq_mhz")), ("cpufreq current", cpu.get("freq_mhz")),
              ("/proc/cpuinfo cpu MHz", cpu.get("cpuinfo_mhz"))]
    clock_src, mhz = next(((s, v) for s, v in clocks if v), (None, None))
    if fpc and mhz and cpu.get("arch") in ("x86_64", "AMD64"):
        ghz = mhz / 1000
        cores = cpu.get("cores_usable") or 1
        isa = {64: "AVX-512", 32: "AVX2+FMA", 16: "AVX", 8: "SSE"}[fpc]
        return {"name": f"{cpu.get('model')} ({cores} usable cores @ {ghz:.2f} GHz)",
                "gflops": cores * ghz * fpc, "per_core_gflops": ghz * fpc, "kind": "derived",
                "source": f"usable cores x clock ({clock_src}) x {fpc} FP32 FLOP/cycle ({isa} with two FMA ports "
                          "assumed); turbo, shared or virtual cores make this approximate"}
    return None


def percent_of_peak(flops: Optional[float], seconds: Optional[float], gflops: Optional[float]) -> Optional[float]:
    """Achieved FLOP/s as % of peak (None when any input is unknown)."""
    if not flops or not seconds or not gflops:
        return None
    return 100.0 * flops / seconds / (gflops * 1e9)
