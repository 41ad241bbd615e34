"""A fully cached `facerisk run` on frl-london: this checkout against an earlier commit, side by side.

Both trees run from the same virtual environment on the same warm acquisition cache (filled once by this
checkout; the cache keys do not depend on the report code), ``--workers 2``, each run a new process,
rounds alternating which tree goes first. It checks that the two results.json files agree apart from
timings, names, paths and the commit, and writes the rounds to ``$FACERISK_BENCH_OUT`` (default
``.benchmarks/results``) as ``cached_rerun_vs_<rev>.json``.

    FACERISK_DATA_HOME=/work/shared/datasets FACERISK_BENCH_OUT=benchmarks/results \\
        .venv/bin/python benchmarks/cached_rerun_vs_rev.py e0ab971 10
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VOLATILE = ("created_utc", "run_name", "provenance.timings_s", "provenance.command", "provenance.config.name",
            "provenance.git", "provenance.acquisition.seconds_")


def _flat(o, p=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _flat(v, f"{p}.{k}" if p else k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _flat(v, f"{p}[{i}]")
    else:
        yield p, o


def _run(tree: Path, home: str, tmp: Path, name: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # both trees keep their .pyc
    t0 = time.perf_counter()
    # cwd = the tree: `python -m harness` imports the harness package of the folder it starts in
    r = subprocess.run([sys.executable, "-m", "harness", "run", "--data-home", home, "--cache-dir", str(tmp / "cache"),
                        "--reports-dir", str(tmp / "reports"), "--name", name, "--workers", "2", "-q"],
                       capture_output=True, text=True, env=env, cwd=tree)
    wall = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f"{tree}: facerisk run failed: {r.stderr.strip().splitlines()[-1:]}")
    return wall


def main(rev: str, rounds: int) -> dict:
    home = os.environ.get("FACERISK_DATA_HOME")
    if not home or not (Path(home) / "frl-london" / "metadata.csv").is_file():
        sys.exit("frl-london not found: set FACERISK_DATA_HOME to the folder holding frl-london/")
    with tempfile.TemporaryDirectory(prefix="facerisk-vs-") as d:
        tmp = Path(d)
        old = tmp / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old), rev], check=True)
        try:
            trees = {"this": REPO, rev: old}
            _run(REPO, home, tmp, "fill")
            for k, tree in trees.items():  # first run of each tree writes its bytecode
                _run(tree, home, tmp, f"warm-{k}")
            walls: dict[str, list[float]] = {k: [] for k in trees}
            for r in range(rounds):
                order = list(trees) if r % 2 == 0 else list(trees)[::-1]
                for k in order:
                    walls[k].append(_run(trees[k], home, tmp, f"{k}-{r}"))
                print(f"round {r}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in walls.items()), flush=True)
            a, b = (dict(_flat(json.loads((tmp / "reports" / f"{k}-0" / "results.json").read_text()))) for k in trees)
            differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and not k.startswith(VOLATILE))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)
    med = {k: statistics.median(v) for k, v in walls.items()}
    doc = {"what": f"fully cached facerisk run on frl-london, --workers 2, whole process wall time: this checkout "
                   f"vs {rev}, rounds alternating which goes first", "rounds": rounds,
           "median_wall_s": med, f"ratio_{rev}_over_this": med[rev] / med["this"], "rounds_wall_s": walls,
           "results_json_keys_differing_apart_from_volatile": differ, "load_average_end": os.getloadavg(),
           "command": f"FACERISK_BENCH_OUT=benchmarks/results .venv/bin/python benchmarks/cached_rerun_vs_rev.py "
                      f"{rev} {rounds}", "cores": len(os.sched_getaffinity(0))}
    out = Path(os.environ.get("FACERISK_BENCH_OUT", REPO / ".benchmarks" / "results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"cached_rerun_vs_{rev}.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps({k: doc[k] for k in ("median_wall_s", f"ratio_{rev}_over_this",
                                          "results_json_keys_differing_apart_from_volatile")}, indent=2))
    if differ:
        sys.exit(f"results.json differs from {rev}'s in {len(differ)} keys, e.g. {differ[:3]}")
    return doc


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: cached_rerun_vs_rev.py REV [ROUNDS]")
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8)
