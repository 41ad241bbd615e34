"""``facerisk run --detector a,b,c``: the same run once per detector, then FTA compared across them.

Each detector's run is an ordinary run (its own report folder, ``<name>-<detector>``); the
comparison (table, plot, crossings) goes to ``<name>-detectors/``. Enrolment photos and the
clean-photo thresholds are each detector's own, so every detector is read as it would be deployed.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import pandas as pd

from harness.errors import ConfigError


def _sweep_like(res) -> pd.DataFrame:
    """The run's sweep table, or for a single capture run its groups as one step."""
    if res.sweep is not None and len(res.sweep):
        return res.sweep
    g = res.groups.copy()
    g.insert(0, "axis", "capture" if res.config.capture.preset else "clean photos")
    g.insert(1, "value", 0.0)
    return g


def run_compare(config_path: Optional[str], overrides: list[str], detectors: str,
                argv: Optional[list[str]] = None) -> int:
    """Run every detector in the comma list ``detectors`` and write the comparison; returns 0."""
    from harness import config, pipeline, report
    from harness.cli import _yaml_str
    from harness.metrics import fta_compare
    from harness.report import detectors as det_report
    from harness.rundir import default_name

    names = [d.strip() for d in detectors.split(",") if d.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"--detector {detectors!r}: give two or more different detectors, comma-separated")
    cfgs = {n: config.load(config_path, [*overrides, f"detector.name={_yaml_str(n)}"]) for n in names}  # validate all first
    base = cfgs[names[0]].name or default_name(cfgs[names[0]]).replace(f"_{names[0]}_", "_")
    sweeps, runs, seconds = {}, {}, {}
    for n, cfg in cfgs.items():
        cfg.name = f"{base}-{n}"
        t = time.perf_counter()
        res = pipeline.run(cfg)
        seconds[n] = round(time.perf_counter() - t, 1)
        out = report.write(res, cfg.reports_dir, cfg.name)
        sweeps[n] = _sweep_like(res)
        runs[n] = {"report": str(out), "detector": res.provenance["models"]["detector"], "seconds": seconds[n]}
        print(f"  {n}: {out / 'report.html'} ({seconds[n]:.0f} s)")
    cfg0 = cfgs[names[0]]
    table = fta_compare.fta_by_detector(sweeps, cfg0.metrics.confidence)
    cross = fta_compare.crossings(table)
    slices = [s for s in ("ethnicity", "gender", "all") if s in set(table["slice"])]
    meta = {"command": "facerisk " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
            "detectors": names, "dataset": cfg0.dataset.name, "capture": cfg0.capture.preset,
            "sweep": cfg0.capture.sweep, "runs": runs}
    out = Path(cfg0.reports_dir) / f"{base}-detectors"
    det_report.write(table, cross, out, meta, slices=slices)
    for line in det_report.crossing_sentences(cross, slices[0]):
        print("  " + line)
    print(f"comparison: {out / 'detectors.html'}")
    return 0
