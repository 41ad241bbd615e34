"""Run ``facerisk bench`` on remote devices (a Raspberry Pi, a Jetson) over SSH and bring bench.json home.

Uses the system ``ssh`` binary only (files travel as a tar stream on ssh's stdin and as ``cat`` on its
stdout, so the remote needs no sftp subsystem). Host keys are always checked:
``StrictHostKeyChecking=yes`` against the known_hosts file the user names (or ssh's default), and
``BatchMode=yes`` so ssh never prompts. Each device runs in turn; a failure on one is recorded with a
one-line reason and never touches another device's result, nor an earlier result for the same
device (files are replaced atomically, only once a complete and valid bench.json has arrived).

Steps per device: preflight (remote Python and facerisk present), make a remote temp folder, ship
the bundle (``bundle.json`` with the bench options, the image sample, model files given by path),
run ``facerisk bench --bundle DIR`` there, pull ``DIR/bench.json``, validate it, remove the folder.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from harness import __version__
from harness.errors import ConfigError, FaceriskError

PREFLIGHT_TAG = "facerisk-preflight:"


class RemoteError(FaceriskError):
    """A device could not be benchmarked; the message is one line naming the device and the fix."""


@dataclass
class Device:
    """One remote device: how to reach it and which facerisk to run there."""

    name: str
    host: str
    port: Optional[int] = None
    identity: Optional[str] = None
    known_hosts: Optional[str] = None
    facerisk: str = "facerisk"
    python: str = "python3"
    bench: dict = field(default_factory=dict)  # per-device bench option overrides
    ssh_options: list = field(default_factory=list)


def load_devices(path: str | Path) -> list[Device]:
    """Devices from a YAML file: ``devices: [{name, host, port, identity, known_hosts, facerisk, python, bench}]``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--devices {path}: file not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    items = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{p}: expected a 'devices:' list of {{name, host, ...}} entries")
    known = {f for f in Device.__dataclass_fields__}
    out, names = [], set()
    for i, d in enumerate(items):
        if not isinstance(d, dict) or "host" not in d:
            raise ConfigError(f"{p}: devices[{i}] needs at least 'host: user@host'")
        bad = set(d) - known
        if bad:
            raise ConfigError(f"{p}: devices[{i}] has unknown key(s) {', '.join(sorted(bad))}; "
                              f"known: {', '.join(sorted(known))}")
        d = {**d, "name": str(d.get("name") or d["host"])}
        if d["name"] in names:
            raise ConfigError(f"{p}: device name {d['name']!r} appears twice (results are stored by name)")
        names.add(d["name"])
        out.append(Device(**d))
    return out


def _expand(p: Optional[str]) -> Optional[str]:
    return str(Path(p).expanduser()) if p else None


def ssh_argv(dev: Device, command: str) -> list[str]:
    """The ssh command line: host key checked, never prompting, keepalives to notice a dead link."""
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"]
    if dev.known_hosts:
        argv += ["-o", f"UserKnownHostsFile={_expand(dev.known_hosts)}", "-o", "GlobalKnownHostsFile=/dev/null"]
    if dev.identity:
        argv += ["-i", _expand(dev.identity), "-o", "IdentitiesOnly=yes"]
    if dev.port:
        argv += ["-p", str(dev.port)]
    for opt in dev.ssh_options:
        argv += ["-o", str(opt)]
    return argv + [dev.host, command]


def explain_ssh_failure(dev: Device, stderr: str, step: str) -> str:
    """One line saying why ssh (exit 255) failed and what to do, from ssh's own message."""
    e = stderr.strip()
    where = f"{dev.host}" + (f":{dev.port}" if dev.port else "")
    kh = dev.known_hosts or "~/.ssh/known_hosts"
    hostname = dev.host.split("@")[-1]
    if "Could not resolve hostname" in e or "Name or service not known" in e:
        return f"cannot resolve host {hostname!r} (check the host name in --remote / the devices file)"
    if "Connection refused" in e:
        return f"connection refused by {where} (is sshd running and listening on that port?)"
    if any(s in e for s in ("timed out", "No route to host", "Network is unreachable")):
        return f"{where} unreachable ({e.splitlines()[-1]}); check the device is on and on the network"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in e:
        return (f"host key of {where} has CHANGED from the one in {kh}; if the device was reinstalled, verify the "
                f"new key and replace the old line (ssh-keygen -R {hostname} -f {kh})")
    if "Host key verification failed" in e or "No " in e and "host key is known" in e:
        port = f"-p {dev.port} " if dev.port else ""
        return (f"host key of {where} is not in {kh}; verify the device's fingerprint, then add it: "
                f"ssh-keyscan {port}{hostname} >> {kh}")
    if "Permission denied" in e:
        key = dev.identity or "ssh's default keys"
        return (f"{dev.host} refused the key {key} (append its .pub to ~/.ssh/authorized_keys on the device, "
                "or give --identity)")
    if any(s in e for s in ("closed by remote host", "Broken pipe", "Connection reset", "Connection closed",
                            "client_loop")):
        return f"connection to {where} lost during {step} ({e.splitlines()[-1]})"
    return f"ssh to {where} failed during {step} ({e.splitlines()[-1] if e else 'no message'})"


def _ssh(dev: Device, command: str, step: str, stdin: Optional[bytes] = None, timeout: float = 120) -> bytes:
    try:
        r = subprocess.run(ssh_argv(dev, command), input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"{dev.name}: {step} timed out after {timeout:g} s (device hung or too slow; "
                          "raise --timeout)") from None
    except FileNotFoundError:
        raise RemoteError("the ssh client is not installed here (apt-get install openssh-client)") from None
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode == 255:
        raise RemoteError(f"{dev.name}: {explain_ssh_failure(dev, err, step)}")
    if r.returncode != 0:
        lines = [ln for ln in (err.strip() or r.stdout.decode("utf-8", "replace").strip()).splitlines() if ln.strip()]
        tail = lines[-1] if lines else "no message"
        if r.returncode in (137, 143) or r.returncode < 0:
            raise RemoteError(f"{dev.name}: remote process killed during {step} (exit {r.returncode}: {tail}); "
                              "device out of memory, rebooted or stopped?")
        raise RemoteError(f"{dev.name}: {step} failed on the device (exit {r.returncode}): {tail}")
    return r.stdout


def preflight(dev: Device) -> str:
    """Check the device has the Python and facerisk it is told to use; return its facerisk version line."""
    cmd = (f"command -v {dev.python} >/dev/null 2>&1 || {{ echo {PREFLIGHT_TAG}no-python; exit 0; }}; "
           f"{dev.facerisk} --version 2>/dev/null || echo {PREFLIGHT_TAG}no-facerisk")
    out = _ssh(dev, cmd, "preflight", timeout=60).decode("utf-8", "replace").strip()
    venv = "~/facerisk-venv"
    if f"{PREFLIGHT_TAG}no-python" in out:
        raise RemoteError(f"{dev.name}: {dev.python!r} not found on {dev.host}; install Python 3.10+ there "
                          f"(sudo apt-get install -y python3 python3-venv) or set the device's 'python'")
    if f"{PREFLIGHT_TAG}no-facerisk" in out:
        raise RemoteError(f"{dev.name}: {dev.facerisk!r} does not run on {dev.host}; on the device run: "
                          f"{dev.python} -m venv {venv} && {venv}/bin/pip install facerisk=={__version__}  "
                          f"then pass --remote-facerisk {venv}/bin/facerisk")
    return out.splitlines()[-1] if out else ""


def _path_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if isinstance(v, str) and k in ("path", "model_path", "model")
            and Path(v).expanduser().is_file()}


def prepare_bundle(opts) -> tuple[list[tuple[str, Path]], dict[str, Any]]:
    """What every device's bundle holds: the image sample and model files given by path, and bundle.json."""
    from harness.bench.runner import sample_images
    from harness.bench.stages import load_backends, model_files
    from harness.data.images import sha256_file

    images, source = sample_images(opts)
    o = asdict(opts)
    o.update(images="images", run=None)  # accuracy is joined here, after the pull
    members: list[tuple[str, Path]] = []
    for side in ("detector_options", "embedder_options"):
        for k, v in _path_options(o[side]).items():
            src = Path(v).expanduser()
            members.append((f"models/{src.name}", src))
            o[side] = {**o[side], k: f"models/{src.name}"}
    # Package-installed weights (dlib's) are not shipped: the device's own copy is used, and its
    # hashes are checked against these.
    b = load_backends(opts.detector, opts.embedder, opts.detector_options, opts.embedder_options)
    expected = {p.name: sha256_file(p) for be in (b.detector, b.embedder) for p in model_files(be)}
    names = []
    for i, p in enumerate(images):
        arc = f"images/{i:04d}_{p.name}"
        members.append((arc, p))
        names.append(arc)
    meta = {"facerisk_version": __version__, "options": o, "expected_model_sha256": expected,
            "image_source": source, "images": names}
    return members, meta


def device_meta(meta: dict[str, Any], dev: Device) -> dict[str, Any]:
    """bundle.json for one device: its label and its own bench options over the shared ones (checked here)."""
    from harness.bench.runner import BenchOptions

    o = {**meta["options"], **dev.bench, "label": dev.name}
    try:
        BenchOptions(**o).validate()
    except TypeError as exc:
        raise ConfigError(f"device {dev.name}: bad 'bench' option ({exc}); use the names in bench.json's config") \
            from None
    return {**meta, "options": o}


def pack(members: list[tuple[str, Path]], meta: dict[str, Any]) -> bytes:
    """The bundle as tar.gz bytes (streamed to the device over ssh's stdin)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        blob = json.dumps(meta, indent=1).encode()
        info = tarfile.TarInfo("bundle.json")
        info.size, info.mtime = len(blob), int(time.time())
        tar.addfile(info, io.BytesIO(blob))
        for arc, src in members:
            tar.add(str(src), arcname=arc)
    return buf.getvalue()


def run_bundle(root: Path) -> Path:
    """The device side: run the bench described by ``root/bundle.json`` and write ``root/bench.json``."""
    from harness.bench import result, runner

    f = root / "bundle.json"
    if not f.is_file():
        raise FaceriskError(f"--bundle {root}: no bundle.json there")
    meta = json.loads(f.read_text())
    o = meta["options"]
    o["images"] = str(root / o["images"])
    for side in ("detector_options", "embedder_options"):
        o[side] = {k: (str(root / v) if isinstance(v, str) and v.startswith("models/") else v)
                   for k, v in o[side].items()}
    opts = runner.BenchOptions(**o)
    doc = runner.run(opts)
    mine = {m["name"]: m["sha256"] for m in doc["provenance"]["model_files"]}
    for name, sha in meta.get("expected_model_sha256", {}).items():
        if name in mine and mine[name] != sha:
            doc["warnings"].append(f"model file {name} on this device differs from the controller's "
                                   f"(sha256 {mine[name][:12]} vs {sha[:12]})")
    doc["config"]["images"]["source"] = f"bundle: {meta.get('image_source')}"
    return result.write(doc, root / "bench.json")


@dataclass
class Outcome:
    device: Device
    ok: bool
    path: Optional[Path] = None
    error: str = ""
    seconds: float = 0.0


def bench_device(dev: Device, opts, out_dir: Path, bundle: bytes, timeout: float = 3600) -> Path:
    """Benchmark one device end to end; raise RemoteError (one line) on any failure."""
    from harness.bench import result

    t0 = time.perf_counter()
    version = preflight(dev)
    rdir = _ssh(dev, "mktemp -d \"${TMPDIR:-/tmp}/facerisk-bench.XXXXXX\"", "making a remote folder",
                timeout=60).decode().strip()
    if not rdir.startswith("/") or "\n" in rdir:
        raise RemoteError(f"{dev.name}: could not make a remote temp folder (got {rdir!r})")
    try:
        _ssh(dev, f"tar xzf - -C {rdir}", "upload of the bundle", stdin=bundle, timeout=600)
        _ssh(dev, f"cd {rdir} && {dev.facerisk} bench --bundle {rdir}", "bench", timeout=timeout)
        raw = _ssh(dev, f"cat {rdir}/bench.json", "download of bench.json", timeout=300)
    finally:
        try:
            _ssh(dev, f"rm -rf {rdir}", "cleanup", timeout=60)
        except RemoteError:
            pass  # the failure that matters was raised already (or the result is home)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        raise RemoteError(f"{dev.name}: bench.json came back truncated or corrupt ({len(raw)} bytes)") from None
    doc["label"] = dev.name
    if doc.get("facerisk_version") != __version__:
        doc["warnings"].append(f"facerisk {doc.get('facerisk_version')} on the device, {__version__} here: "
                               "scenarios may differ between versions")
    doc["remote"] = {"host": dev.host, "port": dev.port, "facerisk": dev.facerisk, "facerisk_version": version,
                     "remote_dir": rdir, "seconds": time.perf_counter() - t0, "controller_version": __version__}
    if opts.run:
        from harness.bench.result import accuracy_from_run

        doc["accuracy"] = accuracy_from_run(opts.run, doc["provenance"]["models"])
        if not doc["accuracy"]["same_models"]:
            doc["warnings"].append(f"--run {opts.run}: models differ ({'; '.join(doc['accuracy']['differences'])})")
    return result.write(doc, out_dir / _safe(dev.name) / "bench.json")


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "device"


def bench_devices(devices: list[Device], opts, out_dir: Path, timeout: float = 3600, log=print) -> list[Outcome]:
    """Benchmark each device in turn; one device's failure is recorded and the next one still runs."""
    if shutil.which("ssh") is None:
        raise RemoteError("the ssh client is not installed here (apt-get install openssh-client)")
    out_dir = Path(out_dir)
    outcomes: list[Outcome] = []
    members, meta = prepare_bundle(opts)
    metas = {dev.name: device_meta(meta, dev) for dev in devices}  # bad per-device options fail before any ssh
    for dev in devices:
        t0 = time.perf_counter()
        try:
            bundle = pack(members, metas[dev.name])
            log(f"bench: {dev.name} ({dev.host}): bundle of {len(meta['images'])} images, {len(bundle) / 1e6:.1f} MB")
            path = bench_device(dev, opts, out_dir, bundle, timeout)
            outcomes.append(Outcome(dev, True, path, seconds=time.perf_counter() - t0))
        except FaceriskError as exc:
            msg = str(exc)
            outcomes.append(Outcome(dev, False, error=msg[len(dev.name) + 2:] if msg.startswith(dev.name + ":")
                                    else msg, seconds=time.perf_counter() - t0))
    log_doc = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "devices": [{"name": o.device.name, "host": o.device.host, "ok": o.ok,
                            "bench_json": str(o.path) if o.path else None, "error": o.error or None,
                            "seconds": o.seconds} for o in outcomes]}
    try:
        from harness.cache import atomic_write_text

        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "remote_runs.json", json.dumps(log_doc, indent=1))
    except OSError:
        pass  # the per-device results and the printed summary still stand
    return outcomes
