"""Device fingerprint and run conditions: what a timing was measured on, and whether the device throttled.

Every probe reads files and runs tools through two injectable callables (``read(path) -> str | None``
and ``run(argv) -> str | None``), returns ``None`` fields where its source is absent, and never raises:
a Raspberry Pi without ``vcgencmd``, a desktop without ``nvidia-smi`` or a container without
``/sys/class/thermal`` still gets a fingerprint. Parsers are pure functions of a tool's text output,
tested on recorded samples (``tests/bench/fixtures/``).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

Reader = Callable[[str], Optional[str]]
Runner = Callable[[list], Optional[str]]


def read_text(path: str) -> Optional[str]:
    """A file's text, or None where it is absent or unreadable (sysfs files can raise EINVAL)."""
    try:
        return Path(path).read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def run_tool(argv: list, timeout: float = 5.0) -> Optional[str]:
    """A tool's stdout, or None where it is not installed, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


# --------------------------------------------------------------------------- parsers (pure)


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """CPU model, ISA flags and board fields from /proc/cpuinfo (x86 ``model name``; Arm ``Model``/``Hardware``)."""
    out: dict[str, Any] = {"model": None, "flags": [], "hardware": None, "board": None, "cpu_part": None}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = (s.strip() for s in line.split(":", 1))
        k = key.lower()
        if k == "model name" and out["model"] is None:
            out["model"] = value
        elif k in ("flags", "features") and not out["flags"]:
            out["flags"] = value.split()
        elif k == "hardware":
            out["hardware"] = value
        elif k == "model" and not value.isdigit():  # Raspberry Pi: "Raspberry Pi 4 Model B Rev 1.4"
            out["board"] = value
        elif k == "cpu part" and out["cpu_part"] is None:
            out["cpu_part"] = value
        elif k == "cpu mhz" and out.get("mhz") is None:
            try:
                out["mhz"] = float(value)  # x86: the clock the kernel saw (VMs without cpufreq have only this)
            except ValueError:
                pass
    arm_parts = {"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
                 "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
                 "0xd41": "Cortex-A78", "0xd42": "Cortex-A78AE", "0xd4a": "Neoverse-E1", "0x004": "Carmel"}
    if out["model"] is None and out["cpu_part"]:
        out["model"] = arm_parts.get(out["cpu_part"].lower(), f"Arm part {out['cpu_part']}")
    return out


def parse_meminfo(text: str) -> dict[str, Optional[float]]:
    """MemTotal and MemAvailable in MiB."""
    vals = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if m:
            vals[m.group(1)] = int(m.group(2)) / 1024
    return {"total_mib": vals.get("MemTotal"), "available_mib": vals.get("MemAvailable")}


def parse_os_release(text: str) -> Optional[str]:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def parse_vcgencmd_temp(text: str) -> Optional[float]:
    """``vcgencmd measure_temp`` -> degrees C (``temp=48.3'C``)."""
    m = re.search(r"temp=([-\d.]+)", text or "")
    return float(m.group(1)) if m else None


#: Bits of the Raspberry Pi firmware's throttled word (``vcgencmd get_throttled``; documented in
#: the Raspberry Pi "vcgencmd" documentation). Low bits: now; bits 16-19: has occurred since boot.
THROTTLE_BITS = {0: "under-voltage", 1: "arm frequency capped", 2: "throttled", 3: "soft temperature limit"}


def parse_throttled(text: str) -> Optional[dict[str, Any]]:
    """``throttled=0x50005`` (vcgencmd) or ``50005`` (sysfs get_throttled, hex without 0x) -> flags."""
    if not text:
        return None
    m = re.search(r"(?:throttled=)?(?:0x)?([0-9a-fA-F]+)\s*$", text.strip())
    if not m:
        return None
    word = int(m.group(1), 16)
    return {"raw": f"0x{word:x}",
            "now": [n for b, n in THROTTLE_BITS.items() if word & (1 << b)],
            "since_boot": [n for b, n in THROTTLE_BITS.items() if word & (1 << (b + 16))]}


def parse_nvpmodel(text: str) -> Optional[dict[str, Any]]:
    """``nvpmodel -q``: ``NV Power Mode: MAXN`` then the mode id on the next line."""
    if not text:
        return None
    m = re.search(r"NV Power Mode:\s*(\S+)\s*\n\s*(\d+)?", text)
    if not m:
        return None
    return {"mode": m.group(1), "id": int(m.group(2)) if m.group(2) else None}


def parse_tegrastats(line: str) -> Optional[dict[str, Any]]:
    """One ``tegrastats`` line -> RAM, per-core load and MHz, GPU load and MHz, temperatures, power rails."""
    if "RAM" not in line:
        return None
    out: dict[str, Any] = {}
    m = re.search(r"RAM (\d+)/(\d+)MB", line)
    if m:
        out["ram_used_mib"], out["ram_total_mib"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"CPU \[([^\]]*)\]", line)
    if m:
        cores = []
        for c in m.group(1).split(","):
            cm = re.match(r"\s*(\d+)%@(\d+)", c)
            cores.append({"load_pct": int(cm.group(1)), "mhz": int(cm.group(2))} if cm else None)  # "off"
        out["cpu"] = cores
    m = re.search(r"GR3D_FREQ (\d+)%(?:@\[?(\d+))?", line)
    if m:
        out["gpu_load_pct"] = int(m.group(1))
        out["gpu_mhz"] = int(m.group(2)) if m.group(2) else None
    temps = {k.lower(): float(v) for k, v in re.findall(r"(\w+)@(-?[\d.]+)C", line)}
    if temps:
        out["temp_c"] = temps
    rails = {k: int(v) for k, v in re.findall(r"(VDD_\w+|POM_5V_\w+) (\d+)mW", line)}
    if rails:
        out["power_mw"] = rails
    return out


NVIDIA_SMI_QUERY = ("name,driver_version,memory.total,memory.used,clocks.sm,clocks.max.sm,clocks.mem,"
                    "temperature.gpu,power.draw,clocks_throttle_reasons.active")


def parse_nvidia_smi(text: str) -> list[dict[str, Any]]:
    """``nvidia-smi --query-gpu=NVIDIA_SMI_QUERY --format=csv,noheader,nounits`` -> one dict per GPU."""
    keys = ["name", "driver", "memory_total_mib", "memory_used_mib", "sm_mhz", "sm_max_mhz", "mem_mhz",
            "temp_c", "power_w", "throttle_reasons"]
    gpus = []
    for line in (text or "").strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2:
            continue
        g: dict[str, Any] = {}
        for k, v in zip(keys, parts):
            if k in ("name", "driver", "throttle_reasons"):
                g[k] = v
            else:
                try:
                    g[k] = float(v)
                except ValueError:  # "[N/A]", "[Not Supported]"
                    g[k] = None
        gpus.append(g)
    return gpus


def parse_thermal_zones(zones: list[tuple[str, str]]) -> dict[str, float]:
    """(type, temp in millidegrees) pairs from /sys/class/thermal -> {type: degrees C}."""
    out = {}
    for kind, raw in zones:
        try:
            out[kind.strip() or "zone"] = int(raw.strip()) / 1000.0
        except ValueError:
            continue
    return out


# --------------------------------------------------------------------------- probes


def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def cpu_probe(read: Reader = read_text) -> dict[str, Any]:
    info = parse_cpuinfo(read("/proc/cpuinfo") or "")
    if info["model"] is None:
        info["model"] = platform.processor() or platform.machine()
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    cur, mx = _int(read(base + "scaling_cur_freq")), _int(read(base + "cpuinfo_max_freq"))
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        usable = os.cpu_count()
    flags = set(info.pop("flags"))
    simd = [f for f in ("avx512f", "avx2", "fma", "avx", "sse4_2", "neon", "asimd", "sve") if f in flags]
    return {"model": info["model"], "arch": platform.machine(), "cores_total": os.cpu_count(), "cores_usable": usable,
            "governor": (read(base + "scaling_governor") or "").strip() or None,
            "freq_mhz": cur / 1000 if cur else None, "max_freq_mhz": mx / 1000 if mx else None,
            "cpuinfo_mhz": info.get("mhz"), "simd": simd, "hardware": info["hardware"], "cpuinfo_board": info["board"]}


def thermal_probe(read: Reader = read_text, root: str = "/sys/class/thermal") -> dict[str, float]:
    zones = []
    try:
        names = sorted(p.name for p in Path(root).glob("thermal_zone*"))
    except OSError:
        names = []
    for n in names:
        t = read(f"{root}/{n}/temp")
        if t is not None:
            zones.append(((read(f"{root}/{n}/type") or n), t))
    return parse_thermal_zones(zones)


def pi_probe(read: Reader = read_text, run: Runner = run_tool) -> Optional[dict[str, Any]]:
    """Raspberry Pi board, SoC temperature and throttling; None on other machines."""
    model = (read("/proc/device-tree/model") or "").replace("\x00", "").strip()
    if "raspberry" not in model.lower():
        return None
    temp = parse_vcgencmd_temp(run(["vcgencmd", "measure_temp"]) or "")
    temp_source = "vcgencmd" if temp is not None else None
    if temp is None:
        raw = _int(read("/sys/class/thermal/thermal_zone0/temp"))
        temp, temp_source = (raw / 1000.0, "sysfs") if raw is not None else (None, None)
    thr = parse_throttled(run(["vcgencmd", "get_throttled"]) or "")
    thr_source = "vcgencmd" if thr else None
    if thr is None:
        thr = parse_throttled(read("/sys/devices/platform/soc/soc:firmware/get_throttled") or "")
        thr_source = "sysfs" if thr else None
    return {"board": model, "soc_temp_c": temp, "temp_source": temp_source, "throttled": thr,
            "throttled_source": thr_source}


def jetson_probe(read: Reader = read_text, run: Runner = run_tool) -> Optional[dict[str, Any]]:
    """Jetson L4T release, board, nvpmodel power mode, clocks and temperatures; None elsewhere."""
    release = read("/etc/nv_tegra_release")
    model = (read("/proc/device-tree/model") or "").replace("\x00", "").strip()
    if not release and "jetson" not in model.lower() and "nvidia" not in model.lower():
        return None
    m = re.search(r"R(\d+) \(release\), REVISION: ([\d.]+)", release or "")
    gpu_cur = _int(read("/sys/devices/gpu.0/devfreq/17000000.ga10b/cur_freq")
                   or read("/sys/devices/gpu.0/devfreq/57000000.gpu/cur_freq")
                   or read("/sys/devices/17000000.gv11b/devfreq/17000000.gv11b/cur_freq"))
    return {"board": model or None, "l4t": f"{m.group(1)}.{m.group(2)}" if m else (release or "").strip() or None,
            "power_mode": parse_nvpmodel(run(["nvpmodel", "-q"]) or ""),
            "gpu_freq_mhz": gpu_cur / 1e6 if gpu_cur else None}


def nvidia_probe(run: Runner = run_tool) -> list[dict[str, Any]]:
    return parse_nvidia_smi(run(["nvidia-smi", f"--query-gpu={NVIDIA_SMI_QUERY}",
                                 "--format=csv,noheader,nounits"]) or "")


def runtime_versions() -> dict[str, Any]:
    """Inference runtimes and numeric libraries that change timings, with the loaded runtimes' builds."""
    import importlib.metadata as md

    out: dict[str, Any] = {}
    for n in ("dlib-bin", "dlib", "onnxruntime", "onnxruntime-gpu", "ai-edge-litert", "numpy", "opencv-python-headless",
              "av", "pillow"):
        try:
            out[n] = md.version(n)
        except md.PackageNotFoundError:
            continue
    # Runtimes already loaded by the backends report their build; importing them only to ask would
    # cost a second at every start (onnxruntime) for a runtime the run does not use.
    ort = sys.modules.get("onnxruntime")
    if ort is not None:
        out["onnxruntime_providers"] = ort.get_available_providers()
    dlib = sys.modules.get("dlib")
    if dlib is not None:
        out["dlib_cuda"] = bool(getattr(dlib, "DLIB_USE_CUDA", False))
    return out


def fingerprint(read: Reader = read_text, run: Runner = run_tool) -> dict[str, Any]:
    """Everything about the machine that a latency figure depends on."""
    mem = parse_meminfo(read("/proc/meminfo") or "")
    return {
        "hostname": platform.node(),
        "os": parse_os_release(read("/etc/os-release") or "") or platform.platform(),
        "kernel": platform.release(),
        "system": platform.system(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "cpu": cpu_probe(read),
        "memory_mib": mem["total_mib"],
        "threads_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                        if k in os.environ},
        "runtimes": runtime_versions(),
        "raspberry_pi": pi_probe(read, run),
        "jetson": jetson_probe(read, run),
        "nvidia_gpus": nvidia_probe(run),
    }


def conditions(read: Reader = read_text, run: Runner = run_tool) -> dict[str, Any]:
    """A snapshot taken before and after a run: temperatures, frequency, throttling, available memory."""
    pi = pi_probe(read, run)
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    cur = _int(read(base + "scaling_cur_freq"))
    load = (read("/proc/loadavg") or "").split()
    try:
        load_avg = [float(x) for x in load[:3]] if len(load) >= 3 else None
    except ValueError:
        load_avg = None
    return {"time": time.time(), "thermal_c": thermal_probe(read),
            "load_avg": load_avg,  # 1/5/15-minute run-queue averages: other work on the machine
            "cpu_freq_mhz": cur / 1000 if cur else None,
            "memory_available_mib": parse_meminfo(read("/proc/meminfo") or "")["available_mib"],
            "soc_temp_c": pi["soc_temp_c"] if pi else None,
            "throttled": pi["throttled"] if pi else None,
            "gpus": nvidia_probe(run)}


def throttle_verdict(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Did the device throttle during the run? Flags set now after the run, or newly set since-boot flags.

    Pi firmware flags are sticky since boot; a flag already set before the run is reported but does
    not by itself mark this run. NVIDIA GPUs report active clock-throttle reasons as a bitmask.
    """
    reasons = []
    tb, ta = before.get("throttled"), after.get("throttled")
    if ta:
        reasons += [f"{n} (now)" for n in ta["now"]]
        new = set(ta["since_boot"]) - set(tb["since_boot"] if tb else [])
        reasons += [f"{n} (occurred during run)" for n in sorted(new)]
    for g in after.get("gpus") or []:
        r = g.get("throttle_reasons")
        # 0x1 = GPU idle, 0x4 = applications clocks setting: not thermal/power throttling.
        try:
            bits = int(r, 16) & ~0x5 if r else 0
        except ValueError:
            bits = 0
        if bits:
            reasons.append(f"GPU {g.get('name')} clock throttle reasons {r}")
    known = ta is not None or bool(after.get("gpus"))
    return {"throttled": bool(reasons) if known else None, "reasons": reasons,
            "source": "pi firmware" if ta is not None else ("nvidia-smi" if after.get("gpus") else None)}


class Tegrastats:
    """Samples ``tegrastats`` in the background during a run (Jetson only; a no-op elsewhere)."""

    def __init__(self, interval_ms: int = 500, max_samples: int = 600):
        self.interval_ms, self.max_samples = interval_ms, max_samples
        self.samples: list[dict[str, Any]] = []
        self._proc: Optional[subprocess.Popen] = None
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "Tegrastats":
        if shutil.which("tegrastats"):
            try:
                self._proc = subprocess.Popen(["tegrastats", "--interval", str(self.interval_ms)],
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            except OSError:
                self._proc = None
            if self._proc is not None:
                self._thread = threading.Thread(target=self._read, daemon=True)
                self._thread.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            s = parse_tegrastats(line)
            if s is not None and len(self.samples) < self.max_samples:
                self.samples.append({"t": time.time(), **s})

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._thread is not None:
            self._thread.join(timeout=3)
