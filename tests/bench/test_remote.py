"""Remote bench through a real OpenSSH server on 127.0.0.1 (Debian's openssh-server), started by the test.

Key-only auth with keys made here, a random high port, the server's own config and host key in
tmp_path; host keys are checked against a known_hosts file written here. The "remote" facerisk is this
machine's own (the venv's), so the full path — preflight, bundle upload, remote run, pull — is exercised.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.bench import result
from harness.bench.remote import Device, explain_ssh_failure, load_devices
from harness.cli import main
from harness.errors import ConfigError

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
FACERISK = Path(sys.executable).parent / "facerisk"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if not Path(SSHD).is_file():
        pytest.skip("OpenSSH server not installed (apt-get install -y openssh-server openssh-client)")
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        pytest.skip("OpenSSH client not installed (apt-get install -y openssh-client)")
    if not FACERISK.is_file():
        pytest.skip(f"{FACERISK} missing: install facerisk into the venv (make setup)")
    d = tmp_path_factory.mktemp("sshd")
    host_key, client, stranger = _keygen(d / "host_key"), _keygen(d / "client"), _keygen(d / "stranger")
    shutil.copy(d / "client.pub", d / "authorized_keys")
    port, user = _free_port(), getpass.getuser()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthenticationMethods publickey
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {user}
LogLevel ERROR
""")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder, needed as root
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"sshd did not start: {(d / 'sshd.log').read_text().strip()[-300:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    (d / "empty_known_hosts").write_text("")
    # Remote command wrappers that fail the way devices fail.
    # (no bytecode writes under the limit: a truncated .pyc would break every later import of that module)
    (d / "diskfull").write_text(f"#!/bin/sh\n# writes beyond 512 bytes fail (EFBIG), as on a full disk\n"
                                f"export PYTHONDONTWRITEBYTECODE=1\nulimit -f 1\nexec {FACERISK} \"$@\"\n")
    (d / "dropper").write_text("""#!/bin/sh
# the connection drops mid-run: kill this connection's sshd session (the nearest sshd ancestor)
[ "$1" = "--version" ] && { echo "facerisk (wrapper)"; exit 0; }
sleep 0.3
p=$$
while [ "$p" -gt 1 ]; do
  p=$(ps -o ppid= -p "$p" | tr -d ' ')
  if [ "$(ps -o comm= -p "$p")" = "sshd" ]; then kill -9 "$p"; break; fi
done
sleep 5
""")
    for f in ("diskfull", "dropper"):
        (d / f).chmod(0o755)
    yield SimpleNamespace(dir=d, port=port, user=user, host=f"{user}@127.0.0.1", client=client, stranger=stranger,
                          known_hosts=d / "known_hosts", empty_known_hosts=d / "empty_known_hosts")
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


BENCH = ["bench", "--detector", "null", "--embedder", "null", "--sample", "3", "--warmup", "1", "--count", "4"]


def _remote(s, out, *extra, label="dev", identity=None, known_hosts=None, facerisk=None):
    return main(BENCH + ["--scenarios", "single-stream", "--remote", s.host, "--port", str(s.port),
                         "--identity", str(identity or s.client), "--known-hosts", str(known_hosts or s.known_hosts),
                         "--remote-facerisk", str(facerisk or FACERISK), "--label", label, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def fleet(sshd, image_dir, tmp_path_factory):
    """Two 'devices' (both the loopback sshd) from a devices file, plus one that refuses connections."""
    out = tmp_path_factory.mktemp("fleet")
    devices = out / "devices.yaml"
    common = {"host": sshd.host, "port": sshd.port, "identity": str(sshd.client), "known_hosts": str(sshd.known_hosts),
              "facerisk": str(FACERISK)}
    devices.write_text(json.dumps({"devices": [
        {"name": "pi-sim", **common, "bench": {"count": 6}},
        {"name": "offline-box", **common, "port": _free_port()},
        {"name": "jetson-sim", **common, "bench": {"scenarios": ["single-stream"]}}]}))
    rc = main(BENCH + ["--images", str(image_dir), "--scenarios", "single-stream,cold-start", "--cold-repeats", "1",
                       "--devices", str(devices), "--out", str(out)])
    return SimpleNamespace(out=out, rc=rc)


def test_full_remote_bench_through_sshd(fleet, sshd):
    assert fleet.rc == 2  # one device of three failed, so the command fails ...
    for name, count, scen in (("pi-sim", 6, {"single_stream", "cold_start"}), ("jetson-sim", 4, {"single_stream"})):
        doc = result.load(fleet.out / name / "bench.json")  # ... but both others' results are complete
        assert doc["label"] == name and doc["remote"]["port"] == sshd.port
        assert doc["remote"]["facerisk_version"].startswith("facerisk ")
        assert set(doc["scenarios"]) == scen  # per-device overrides from the devices file
        assert doc["scenarios"]["single_stream"]["count"] == count
        assert doc["config"]["images"]["source"].startswith("bundle:") and len(doc["provenance"]["images"]) == 3
    log = json.loads((fleet.out / "remote_runs.json").read_text())
    status = {d["name"]: (d["ok"], d["error"]) for d in log["devices"]}
    assert status["pi-sim"][0] and status["jetson-sim"][0]
    assert not status["offline-box"][0] and "connection refused" in status["offline-box"][1]
    assert not (fleet.out / "offline-box").exists()


def test_merged_report_lists_both_devices(fleet, tmp_path, capsys):
    assert main(["report", str(fleet.out / "pi-sim"), str(fleet.out / "jetson-sim"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pi-sim" in out and "jetson-sim" in out
    html = (tmp_path / "bench_report.html").read_text()
    assert "pi-sim" in html and "jetson-sim" in html


@pytest.fixture(scope="module")
def earlier(sshd, image_dir, tmp_path_factory):
    """A good result for device 'dev', which every failing case below must leave byte for byte intact."""
    out = tmp_path_factory.mktemp("remote-errors")
    assert _remote(sshd, out, "--images", str(image_dir)) == 0
    return out, (out / "dev" / "bench.json").read_bytes()


@pytest.mark.parametrize("case, message", [
    ("wrong host", "cannot resolve host 'no-such-device.invalid'"),
    ("refused key", "refused the key"),
    ("unknown host key", "is not in"),
    ("missing python", "'python3-not-on-this-device' not found on"),
    ("missing facerisk", "does not run on"),
    ("disk full", "File too large"),
    ("dropped connection", "connection to"),
])
def test_remote_failures_are_one_line_and_keep_earlier_results(case, message, sshd, earlier, image_dir, capsys):
    out, before = earlier
    args: dict = {}
    extra = ["--images", str(image_dir)]
    if case == "wrong host":
        extra += ["--remote", "root@no-such-device.invalid"]  # argparse: the last --remote wins
    elif case == "refused key":
        args["identity"] = sshd.stranger
    elif case == "unknown host key":
        args["known_hosts"] = sshd.empty_known_hosts
    elif case == "missing python":
        extra += ["--remote-python", "python3-not-on-this-device"]
    elif case == "missing facerisk":
        args["facerisk"] = "/nonexistent/bin/facerisk"
    elif case == "disk full":
        args["facerisk"] = sshd.dir / "diskfull"
    elif case == "dropped connection":
        args["facerisk"] = sshd.dir / "dropper"
    capsys.readouterr()
    assert _remote(sshd, out, *extra, **args) == 2
    captured = capsys.readouterr()
    failed = [ln for ln in captured.out.splitlines() if "FAILED" in ln]
    assert len(failed) == 1 and message in failed[0], captured.out
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    assert (out / "dev" / "bench.json").read_bytes() == before
    if case == "unknown host key":
        assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in failed[0]
    if case == "dropped connection":
        assert "lost during bench" in failed[0]


def test_explain_changed_host_key():
    dev = Device(name="pi", host="pi@pi.local", known_hosts="/k")
    msg = explain_ssh_failure(dev, "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n...", "preflight")
    assert "CHANGED" in msg and "ssh-keygen -R pi.local -f /k" in msg


def test_devices_file_errors(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("devices:\n  - name: a\n    host: x@y\n    colour: red\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_devices(f)
    f.write_text("devices:\n  - {name: a, host: x@y}\n  - {name: a, host: x@z}\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_devices(f)
    f.write_text("nodevices: 1\n")
    with pytest.raises(ConfigError, match="devices:"):
        load_devices(f)
    with pytest.raises(ConfigError, match="not found"):
        load_devices(tmp_path / "none.yaml")


def test_bad_per_device_option_fails_before_any_connection():
    from dataclasses import asdict

    from harness.bench.remote import device_meta
    from harness.bench.runner import BenchOptions

    meta = {"options": asdict(BenchOptions())}
    assert device_meta(meta, Device(name="pi", host="h", bench={"count": 7}))["options"]["count"] == 7
    with pytest.raises(ConfigError, match="device pi: bad 'bench' option"):
        device_meta(meta, Device(name="pi", host="h", bench={"nonsense": 1}))
    with pytest.raises(ConfigError, match="--count"):
        device_meta(meta, Device(name="pi", host="h", bench={"count": 0}))
