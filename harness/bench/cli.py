"""``facerisk bench``: latency, throughput, cold start and memory per stage, here or on remote devices over SSH."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from harness.errors import ConfigError, FaceriskError


def _finite(text: str) -> float:
    """argparse type: a finite number (nan and inf would hang a timed loop or void a decision)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _finite_positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _kv(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="time each pipeline stage (latency percentiles, throughput, cold start, doorbell stream)",
        description="Benchmark a detector+embedder on this machine (or on remote devices over SSH) in MLPerf-named "
                    "scenarios: single-stream (per-stage latency percentiles after warm-up), offline (faces/s on "
                    "all cores), cold-start (process start to first template) and doorbell-stream (a simulated "
                    "clip played in real time). Writes bench.json (schema: reports/BENCH_SCHEMA.md).",
    )
    p.add_argument("--detector", default="dlib-hog", help="detector backend (default dlib-hog; null: overhead only)")
    p.add_argument("--embedder", default="dlib-resnet-v1", help="embedder backend (default dlib-resnet-v1)")
    p.add_argument("--detector-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="detector option passed to the registry, e.g. upsample=0 (repeatable)")
    p.add_argument("--embedder-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="embedder option, e.g. path=model.onnx (repeatable)")
    p.add_argument("--scenarios", default="single-stream,offline,cold-start,doorbell-stream",
                   help="comma-separated: single-stream, offline, cold-start, doorbell-stream (default all)")
    p.add_argument("--images", metavar="DIR", help="folder of images to time (default: a sample of --dataset)")
    p.add_argument("--dataset", default="frl-london", help="dataset to sample images from (default frl-london)")
    p.add_argument("--data-home", metavar="DIR", help="folder holding datasets (default $FACERISK_DATA_HOME)")
    p.add_argument("--sample", type=int, default=20, help="images in the sample (default 20)")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up frames before single-stream (default 5)")
    p.add_argument("--count", type=int, default=50, help="timed single-stream frames (default 50)")
    p.add_argument("--duration", type=_finite_positive, metavar="S", help="time single-stream for S seconds instead of --count")
    p.add_argument("--workers", type=int, default=0, help="offline worker processes (default 0 = every core)")
    p.add_argument("--batch", type=int, default=8, help="offline images per task (default 8)")
    p.add_argument("--offline-count", type=int, help="offline images (default 2 x --sample)")
    p.add_argument("--cold-repeats", type=int, default=3, help="cold-start processes (default 3)")
    p.add_argument("--capture", metavar="PRESET", help="add the simulated capture stage to single-stream")
    p.add_argument("--stream-preset", default="doorbell-1080p-day", help="capture preset of the doorbell clip")
    p.add_argument("--stream-frames", type=int, default=30, help="frames in the doorbell clip (default 30)")
    p.add_argument("--score", default="euclidean", choices=["euclidean", "cosine"])
    p.add_argument("--threshold", type=_finite, help="decision threshold (default 0.6 euclidean / 0.5 cosine)")
    p.add_argument("--run", metavar="DIR", help="a run directory (reports/<name>) whose accuracy is joined")
    p.add_argument("--label", help="device label in reports (default the host name)")
    p.add_argument("--out", metavar="FILE", help="bench.json to write (default reports/bench/<label>/bench.json; "
                                                 "with --remote/--devices: a folder, one <label>/bench.json each)")
    r = p.add_argument_group("remote devices (SSH)")
    r.add_argument("--remote", metavar="USER@HOST", help="run on this host over ssh instead of here")
    r.add_argument("--devices", metavar="FILE", help="YAML file listing devices (see reports/BENCH_SCHEMA.md)")
    r.add_argument("--port", type=int, help="ssh port (with --remote)")
    r.add_argument("--identity", metavar="KEY", help="ssh private key (with --remote)")
    r.add_argument("--known-hosts", metavar="FILE",
                   help="known_hosts file the host key is checked against (default: ssh's own)")
    r.add_argument("--remote-facerisk", default="facerisk", metavar="CMD",
                   help="facerisk command on the remote (default 'facerisk', e.g. ~/venv/bin/facerisk)")
    r.add_argument("--remote-python", default="python3", metavar="CMD", help="python on the remote (default python3)")
    r.add_argument("--timeout", type=float, default=3600, metavar="S", help="seconds allowed per remote bench")
    p.add_argument("--bundle", metavar="DIR", help=argparse.SUPPRESS)


def options_from_args(args):
    from harness.bench.runner import BenchOptions

    return BenchOptions(
        detector=args.detector, embedder=args.embedder,
        detector_options=_kv(args.detector_opt, "--detector-opt"),
        embedder_options=_kv(args.embedder_opt, "--embedder-opt"),
        scenarios=[s.strip() for s in args.scenarios.split(",") if s.strip()],
        images=args.images, dataset=args.dataset, data_home=args.data_home, sample=args.sample,
        warmup=args.warmup, count=None if args.duration else args.count, duration_s=args.duration,
        workers=args.workers, batch=args.batch, offline_count=args.offline_count, cold_repeats=args.cold_repeats,
        capture=args.capture, stream_preset=args.stream_preset, stream_frames=args.stream_frames, score=args.score,
        threshold=args.threshold, label=args.label, run=args.run,
    ).validate()


def _summary(doc: dict) -> None:
    ss = doc["scenarios"].get("single_stream")
    if ss:
        for stage, s in ss["stages"].items():
            print(f"  single-stream {stage:>9}: p50 {s['p50'] * 1e3:9.3f} ms  p90 {s['p90'] * 1e3:9.3f}  "
                  f"p99 {s['p99'] * 1e3:9.3f}  max {s['max'] * 1e3:9.3f}  (n={s['n']})")
    off = doc["scenarios"].get("offline")
    if off:
        print(f"  offline: {off['faces_per_s']:.2f} faces/s, {off['images_per_s']:.2f} images/s "
              f"({off['workers']} workers)")
    cs = doc["scenarios"].get("cold_start")
    if cs:
        print(f"  cold start: first {cs['first']:.3f} s, p50 {cs['p50']:.3f} s (n={cs['n']})")
    ds = doc["scenarios"].get("doorbell_stream")
    if ds:
        lat = ds["latency"]
        print(f"  doorbell stream: {ds['sustained_fps']:.2f} fps sustained of {ds['fps']:g}, {ds['dropped']}/"
              f"{ds['frames']} frames dropped, latency p50 {lat['p50'] * 1e3:.1f} ms max {lat['max'] * 1e3:.1f} ms")
    print(f"  peak RSS {doc['resources']['peak_rss_mib']:.0f} MiB, models {doc['resources']['model_bytes'] / 1e6:.1f} MB"
          f", throttled: {doc['conditions']['throttled']}")
    for w in doc["warnings"]:
        print(f"  warning: {w}")


def main(args) -> int:
    from harness.bench import result, runner

    if args.bundle:  # the remote side of --remote: options come from the shipped bundle
        from harness.bench.remote import run_bundle

        out = run_bundle(Path(args.bundle))
        print(f"bench: {out}")
        return 0
    opts = options_from_args(args)
    if args.remote or args.devices:
        from harness.bench import remote

        if args.remote and args.devices:
            raise ConfigError("give either --remote USER@HOST or --devices FILE, not both")
        devices = remote.load_devices(args.devices) if args.devices else [remote.Device(
            name=args.label or args.remote, host=args.remote, port=args.port, identity=args.identity,
            known_hosts=args.known_hosts, facerisk=args.remote_facerisk, python=args.remote_python)]
        out_dir = Path(args.out or "reports/bench")
        outcomes = remote.bench_devices(devices, opts, out_dir, timeout=args.timeout)
        failed = [o for o in outcomes if not o.ok]
        for o in outcomes:
            print(f"  {o.device.name}: {'ok, ' + str(o.path) if o.ok else 'FAILED: ' + o.error}")
        if failed:
            raise FaceriskError(f"{len(failed)} of {len(outcomes)} device(s) failed ({', '.join(o.device.name for o in failed)}); "
                                "results of the others are in " + str(out_dir))
        return 0
    doc = runner.run(opts)
    out = Path(args.out) if args.out else Path("reports/bench") / doc["label"] / "bench.json"
    result.write(doc, out)
    _summary(doc)
    print(f"bench: {out}")
    return 0


__all__ = ["add_parser", "main", "options_from_args"]
