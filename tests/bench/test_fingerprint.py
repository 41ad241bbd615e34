"""Device fingerprint probes on recorded tool outputs (tests/bench/fixtures: hand-written samples of each
tool's documented format), and their graceful degradation where a tool or file is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench import fingerprint as fp

FIX = Path(__file__).with_name("fixtures")


def fixture(name: str) -> str:
    return (FIX / name).read_bytes().decode()


def fake_machine(files: dict[str, str], tools: dict[str, str]):
    """read/run callables serving fixture text for given paths and tool argv[0:2]."""
    def read(path):
        return fixture(files[path]) if path in files else None

    def run(argv):
        key = " ".join(argv[:2])
        for k, v in tools.items():
            if key.startswith(k):
                return fixture(v)
        return None

    return read, run


PI_FILES = {"/proc/cpuinfo": "cpuinfo_pi4.txt", "/proc/device-tree/model": "device_tree_model_pi4",
            "/proc/meminfo": "meminfo.txt", "/etc/os-release": "os_release.txt",
            "/sys/devices/platform/soc/soc:firmware/get_throttled": "sysfs_get_throttled.txt"}


def test_cpuinfo_x86_model_and_simd():
    info = fp.parse_cpuinfo(fixture("cpuinfo_x86.txt"))
    assert info["model"] == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert {"avx2", "fma", "avx512f"} <= set(info["flags"])
    assert info["board"] is None


def test_cpuinfo_pi_names_the_core_and_board():
    info = fp.parse_cpuinfo(fixture("cpuinfo_pi4.txt"))
    assert info["model"] == "Cortex-A72"  # from CPU part 0xd08: arm64 cpuinfo has no "model name"
    assert info["board"] == "Raspberry Pi 4 Model B Rev 1.4"
    assert "asimd" in info["flags"]


def test_meminfo_and_os_release():
    m = fp.parse_meminfo(fixture("meminfo.txt"))
    assert m["total_mib"] == pytest.approx(3884096 / 1024)
    assert m["available_mib"] == pytest.approx(3347268 / 1024)
    assert fp.parse_os_release(fixture("os_release.txt")) == "Debian GNU/Linux 12 (bookworm)"


def test_vcgencmd_temperature():
    assert fp.parse_vcgencmd_temp(fixture("vcgencmd_measure_temp.txt")) == 61.8
    assert fp.parse_vcgencmd_temp("error=1 error_msg=\"Command not registered\"") is None


def test_throttled_bits_now_and_since_boot():
    busy = fp.parse_throttled(fixture("vcgencmd_get_throttled_busy.txt"))
    assert busy == {"raw": "0x50005", "now": ["under-voltage", "throttled"],
                    "since_boot": ["under-voltage", "throttled"]}
    assert fp.parse_throttled(fixture("vcgencmd_get_throttled_clean.txt")) == {"raw": "0x0", "now": [],
                                                                               "since_boot": []}
    sysfs = fp.parse_throttled(fixture("sysfs_get_throttled.txt"))  # sysfs: hex without 0x
    assert sysfs["raw"] == "0x20000" and sysfs["since_boot"] == ["arm frequency capped"] and sysfs["now"] == []
    assert fp.parse_throttled("") is None and fp.parse_throttled("garbage!") is None


def test_nvpmodel_and_tegrastats():
    assert fp.parse_nvpmodel(fixture("nvpmodel_q.txt")) == {"mode": "15W", "id": 0}
    lines = fixture("tegrastats.txt").splitlines()
    s0, s1 = (fp.parse_tegrastats(x) for x in lines)
    assert s0["ram_used_mib"] == 2448 and s0["ram_total_mib"] == 7620
    assert s0["cpu"][0] == {"load_pct": 12, "mhz": 1510} and s0["cpu"][2] is None  # offline core
    assert s0["gpu_load_pct"] == 0 and s0["gpu_mhz"] == 305
    assert s1["temp_c"]["cpu"] == 52.9 and s1["temp_c"]["gpu"] == 46.0
    assert s1["power_mw"]["VDD_IN"] == 7210
    assert fp.parse_tegrastats("not a tegrastats line") is None


def test_nvidia_smi_rows_and_na_fields():
    gpus = fp.parse_nvidia_smi(fixture("nvidia_smi.csv"))
    assert [g["name"] for g in gpus] == ["NVIDIA H200", "NVIDIA GeForce RTX 3060"]
    assert gpus[0]["memory_total_mib"] == 143771 and gpus[0]["sm_max_mhz"] == 1980
    assert gpus[1]["power_w"] is None  # "[N/A]"
    assert fp.parse_nvidia_smi("") == []


def test_pi_probe_prefers_vcgencmd_and_falls_back_to_sysfs():
    read, run = fake_machine(PI_FILES, {"vcgencmd measure_temp": "vcgencmd_measure_temp.txt",
                                        "vcgencmd get_throttled": "vcgencmd_get_throttled_busy.txt"})
    pi = fp.pi_probe(read, run)
    assert pi["board"] == "Raspberry Pi 4 Model B Rev 1.4"  # trailing NUL of the device tree stripped
    assert pi["soc_temp_c"] == 61.8 and pi["throttled"]["raw"] == "0x50005" and pi["throttled_source"] == "vcgencmd"
    read, run = fake_machine(PI_FILES, {})  # no vcgencmd (e.g. Ubuntu on a Pi): sysfs only
    pi = fp.pi_probe(read, run)
    assert pi["throttled_source"] == "sysfs" and pi["throttled"]["raw"] == "0x20000"
    assert pi["soc_temp_c"] is None and pi["temp_source"] is None  # no thermal zone file either


def test_jetson_probe():
    files = {"/etc/nv_tegra_release": "nv_tegra_release.txt", "/proc/device-tree/model": "device_tree_model_orin"}
    read, run = fake_machine(files, {"nvpmodel -q": "nvpmodel_q.txt"})
    j = fp.jetson_probe(read, run)
    assert j["l4t"] == "35.4.1" and j["board"] == "NVIDIA Jetson Orin Nano Developer Kit"
    assert j["power_mode"] == {"mode": "15W", "id": 0}


def test_every_probe_degrades_on_a_bare_machine():
    def nothing(_):
        return None

    doc = fp.fingerprint(read=nothing, run=nothing)
    assert doc["raspberry_pi"] is None and doc["jetson"] is None and doc["nvidia_gpus"] == []
    assert doc["cpu"]["governor"] is None and doc["memory_mib"] is None and doc["cpu"]["model"]
    c = fp.conditions(read=nothing, run=nothing)
    assert c["throttled"] is None and c["soc_temp_c"] is None and c["gpus"] == [] and c["load_avg"] is None
    v = fp.throttle_verdict(c, c)
    assert v == {"throttled": None, "reasons": [], "source": None}  # unknown, not "did not throttle"


def test_run_tool_absent_or_failing_returns_none():
    assert fp.run_tool(["facerisk-no-such-tool-xyz"]) is None
    assert fp.run_tool(["false"]) is None
    assert fp.run_tool(["echo", "ok"]) == "ok\n"


def test_throttle_verdict_flags_a_run_that_throttled():
    read, _ = fake_machine(PI_FILES, {})
    _, clean = fake_machine({}, {"vcgencmd get_throttled": "vcgencmd_get_throttled_clean.txt"})
    _, busy = fake_machine({}, {"vcgencmd get_throttled": "vcgencmd_get_throttled_busy.txt"})
    before, after = fp.conditions(read, clean), fp.conditions(read, busy)
    v = fp.throttle_verdict(before, after)
    assert v["throttled"] is True and v["source"] == "pi firmware"
    assert "throttled (now)" in v["reasons"] and "under-voltage (occurred during run)" in v["reasons"]
    ok = fp.throttle_verdict(before, before)
    assert ok["throttled"] is False and ok["reasons"] == []
    # A since-boot flag already set before the run does not mark this run.
    _, sticky = fake_machine({}, {"vcgencmd get_throttled": "sysfs_get_throttled.txt"})
    s = fp.conditions(read, sticky)
    assert fp.throttle_verdict(s, s)["throttled"] is False


def test_gpu_throttle_reasons():
    _, gpu = fake_machine({}, {"nvidia-smi --query-gpu": "nvidia_smi_throttled.csv"})
    _, idle = fake_machine({}, {"nvidia-smi --query-gpu": "nvidia_smi.csv"})
    nothing = lambda _: None  # noqa: E731
    hot = fp.conditions(nothing, gpu)
    v = fp.throttle_verdict(hot, hot)
    assert v["throttled"] is True and "0x0000000000000040" in v["reasons"][0]
    cool = fp.conditions(nothing, idle)  # idle (0x1) / app clocks (0x4) are not throttling
    assert fp.throttle_verdict(cool, cool)["throttled"] is False


def test_fingerprint_of_this_machine_is_complete():
    doc = fp.fingerprint()
    assert doc["python"] and doc["kernel"] and doc["cpu"]["cores_usable"] >= 1
    assert "numpy" in doc["runtimes"]
    assert len(fp.conditions()["load_avg"]) == 3
