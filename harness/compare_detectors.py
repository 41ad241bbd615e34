"""``facerisk run --detector a,b,c``: the same run once per detector, then FTA compared across them.

Each detector's run is an ordinary run (its own report folder, ``<name>-<detector>``); the
comparison (table, plot, crossings) goes to ``<name>-detectors/``. Enrolment photos and the
clean-photo thresholds are each detector's own, so every detector is read as it would be deployed.

An entry may carry options of its own, ``name:key=value[:key=value]`` (``detector.<key>`` for that
run only), e.g. ``dlib-hog,dlib-cnn-onnx:upsample=0``: a ``--set detector.upsample=0`` would apply
to every detector, and is refused by those that take no upsampling.
"""

from __future__ import annotations

import dataclasses
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


def parse_detectors(text: str) -> list[tuple[str, str, list[str]]]:
    """``--detector`` text as (label, backend name, ``detector.*`` overrides) per comma-separated entry.

    Raises
    ------
    ConfigError
        An empty entry, an option that is not ``key=value``, an unknown ``detector`` field, or the
        same entry twice.
    """
    from harness.cli import _yaml_str
    from harness.config import DetectorConfig

    fields = [f.name for f in dataclasses.fields(DetectorConfig) if f.name != "name"]
    out = []
    for entry in (e.strip() for e in text.split(",")):
        name, *opts = [x.strip() for x in entry.split(":")]
        if not name:
            raise ConfigError(f"--detector {text!r}: an empty entry; give comma-separated names such as "
                              "dlib-hog,blazeface-full (options as name:key=value)")
        sets = [f"detector.name={_yaml_str(name)}"]
        for opt in opts:
            key, eq, value = opt.partition("=")
            if not eq or key.strip() not in fields:
                raise ConfigError(f"--detector {entry!r}: {opt!r} is not key=value with key one of "
                                  f"{', '.join(fields)} (e.g. {name}:upsample=0)")
            sets.append(f"detector.{key.strip()}={value.strip()}")
        out.append((":".join([name, *opts]), name, sets))
    labels = [lab for lab, _, _ in out]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"--detector {text!r}: an entry is given twice; give each detector once")
    return out


def run_compare(config_path: Optional[str], overrides: list[str], detectors: str,
                argv: Optional[list[str]] = None) -> int:
    """Run every detector in the comma list ``detectors`` and write the comparison; returns 0."""
    from harness import config, pipeline, report
    from harness.metrics import fta_compare
    from harness.report import detectors as det_report
    from harness.rundir import default_name, safe_name

    entries = parse_detectors(detectors)
    if len(entries) < 2:
        raise ConfigError(f"--detector {detectors!r}: give two or more different detectors, comma-separated")
    names = [lab for lab, _, _ in entries]
    cfgs = {lab: config.load(config_path, [*overrides, *sets]) for lab, _, sets in entries}  # validate all first
    first = entries[0][1]
    base = cfgs[names[0]].name or default_name(cfgs[names[0]]).replace(f"_{first}_", "_")
    sweeps, runs, seconds = {}, {}, {}
    for n, cfg in cfgs.items():
        cfg.name = f"{base}-{safe_name(n)}"
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
