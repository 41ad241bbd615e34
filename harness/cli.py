"""The ``facerisk`` command line.

User errors print one line and exit 2 (no traceback); bugs still show their traceback.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from typing import Optional

from harness import __version__
from harness.errors import FaceriskError

EXIT_USER_ERROR = 2


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run", help="benchmark a face-matching pipeline on a labelled face set and write a report",
        description="Detect, embed and compare every image of a dataset, compute per-group error rates at "
                    "global thresholds, and write reports/<name>/ (results.json, CSV tables, report.html).",
    )
    p.add_argument("--config", "-c", metavar="FILE", help="YAML or TOML config file")
    p.add_argument("--set", "-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set metrics.target_fmrs=[1e-3] (repeatable)")
    p.add_argument("--dataset", help="dataset card name or folder with metadata.csv (default frl-london)")
    p.add_argument("--data-home", metavar="DIR", help="folder holding datasets (default $FACERISK_DATA_HOME "
                                                      "or the user cache)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing dataset")
    p.add_argument("--detector", help="detector backend (see 'facerisk models list'); a comma list (a,b,c) runs "
                                      "each and compares their failures to acquire by group; name:key=value sets "
                                      "detector.key for that one (e.g. dlib-hog,dlib-cnn-onnx:upsample=0)")
    p.add_argument("--upsample", type=int, help="detector upsampling steps (default 1)")
    p.add_argument("--embedder", help="embedder backend (see 'facerisk models list')")
    p.add_argument("--model-path", metavar="FILE", help="model file for the onnx embedder")
    p.add_argument("--score", choices=["euclidean", "cosine"], help="comparison score used for decisions")
    p.add_argument("--protocol", choices=["split", "pairs", "all", "watchlist"],
                   help="how pairs are made (protocol.kind; README 'Protocols'): enrolment split vs probe split, a "
                        "pair list, every image against every other, or probes against another set's gallery")
    p.add_argument("--capture", metavar="PRESET", help="degrade probes as a doorbell would: a preset name "
                                                      "('facerisk capture list') or a preset YAML file")
    p.add_argument("--sweep", metavar="AXIS=START:STOP:STEP", help="sweep one capture parameter, e.g. "
                   "distance=0.5:6:0.5, light=5,50,500 or bitrate=128:2048:256 (needs --capture; default preset "
                   "doorbell-1080p-day)")
    p.add_argument("--name", help="run directory name under the reports folder")
    p.add_argument("--reports-dir", metavar="DIR", help="where run directories are written (default reports/)")
    p.add_argument("--workers", type=int, help="worker processes (0 = one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run acquisition on Dask: 'local' (a LocalCluster) or a "
                   "scheduler address tcp://HOST:PORT (needs pip install 'facerisk[dask]')")
    p.add_argument("--cache-dir", metavar="DIR", help="acquisition cache folder")
    p.add_argument("--no-cache", action="store_true", help="recompute everything, write nothing to the cache")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def _add_datasets(sub) -> None:
    p = sub.add_parser("datasets", help="list, show, fetch and validate datasets",
                       description="Manage the datasets named by cards in datasets/ (or $FACERISK_CARDS).")
    dsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    dsub.add_parser("list", help="list registered datasets and whether they are present locally") \
        .add_argument("--data-home", metavar="DIR")
    s = dsub.add_parser("show", help="show a dataset card (licence, citation, label provenance)")
    s.add_argument("name")
    f = dsub.add_parser("fetch", help="download the public original, verify checksums, build the layout")
    f.add_argument("name")
    f.add_argument("--data-home", metavar="DIR")
    f.add_argument("--mirror", metavar="URL", help="base URL to fetch from instead of the card's upstream")
    i = dsub.add_parser("init", help="write a metadata.csv skeleton from a folder with one sub-folder per person")
    i.add_argument("folder")
    i.add_argument("--columns", default="gender,ethnicity,age", help="empty attribute columns to add (comma list)")
    i.add_argument("--force", action="store_true", help="overwrite an existing metadata.csv")
    v = dsub.add_parser("validate", help="check metadata.csv and the images it names")
    v.add_argument("name", help="dataset name or folder")
    v.add_argument("--data-home", metavar="DIR")
    v.add_argument("--decode", action="store_true", help="also decode every image (slower)")
    v.add_argument("--per-image", action="append", default=[], metavar="COLUMN",
                   help="a column describing the image, not the person (e.g. the split column): may differ "
                        "across one person's images (repeatable)")


def _add_ingest(sub) -> None:
    p = sub.add_parser(
        "ingest", help="find, track and match faces in doorbell clips against a gallery",
        description="Decode each clip (mp4/mkv, H.264/H.265), detect faces in every frame, track them into visits, "
                    "score frame quality, and match each visit against the gallery (the dataset's enrolment photos) "
                    "under the best-frame, mean-template and any-frame policies. With --labels, report false "
                    "match rates per frame and per visit, per group.",
    )
    p.add_argument("clips", nargs="+", help="video files")
    p.add_argument("--labels", metavar="CSV", help="who is in each clip: columns clip, subject_id (+ attributes)")
    p.add_argument("--dataset", help="gallery dataset (default frl-london; enrolment split)")
    p.add_argument("--data-home", metavar="DIR")
    p.add_argument("--every", type=int, default=1, help="process every N-th frame (default 1)")
    p.add_argument("--config", "-c", metavar="FILE")
    p.add_argument("--set", "-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", metavar="DIR", help="output folder (default reports/ingest); an existing folder is "
                                               "replaced only if it is an earlier ingest output")
    p.add_argument("--cache-dir", metavar="DIR", help="acquisition cache folder for the gallery (default the user "
                                                      "cache, as for run)")
    p.add_argument("--quiet", "-q", action="store_true")


def _ingest(args) -> int:
    import os
    from pathlib import Path

    from harness import config

    overrides = list(args.overrides)
    if args.dataset:
        overrides.append(f"dataset.name={_yaml_str(args.dataset)}")
    if args.data_home:
        overrides.append(f"dataset.data_home={_yaml_str(args.data_home)}")
    if args.cache_dir:
        overrides.append(f"cache_dir={_yaml_str(args.cache_dir)}")
    if args.quiet:
        overrides.append("progress=false")
    cfg = config.load(args.config, overrides)
    if args.every < 1:
        raise FaceriskError("--every must be at least 1")
    # Everything that can be checked is checked before the gallery is acquired (minutes, and cache writes):
    # the video decoder, the clips, the output and cache folders, the labels.
    import av  # noqa: F401 - PyAV decodes the clips; missing, it is one line naming the pip install

    for clip in args.clips:
        if not os.path.isfile(clip):
            raise FaceriskError(f"{clip}: clip not found (or not a file); give the path of a video file")
    from harness.rundir import check_out_folder, staging_dir

    out = check_out_folder(Path(args.out or Path(cfg.reports_dir) / "ingest"), "--out")
    from harness.cache import AcquisitionCache
    from harness.ingest import ingest, read_labels, write

    AcquisitionCache(Path(cfg.cache_dir) if cfg.cache_dir else None, enabled=cfg.use_cache).check_writable()
    labels = read_labels(args.labels) if args.labels else None
    if labels is not None:  # every clip given needs its visitor, or its visits would be scored as nobody's
        listed = set(labels["clip"])
        unlabelled = [Path(c).name for c in args.clips if Path(c).name not in listed]
        if unlabelled:
            more = f" (and {len(unlabelled) - 1} more)" if len(unlabelled) > 1 else ""
            raise FaceriskError(f"{args.labels}: no row for clip {unlabelled[0]!r}{more}; add a row clip,subject_id "
                                "for every clip given, or leave the clip out")
    res = ingest(args.clips, cfg, labels, every=args.every)
    tmp = staging_dir(out.parent, out.name)
    try:
        write(res, tmp)
        _replace_dir(tmp, out)  # whole or not at all, and only over an earlier ingest output
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for _, c in res.clips.iterrows():
        print(f"  {c['clip']}: {c['frames_decoded']} frames, {c['faces']} faces, {c['visits']} visits ({c['codec']})")
    if len(res.rates):
        r = res.rates[res.rates["slice"] == "all"]
        for _, row in r.iterrows():
            print(f"  {row['level']:>5} {row['policy']:>5} {row['threshold_id']}: FMR {row['fmr']:.3%} "
                  f"({row['n_false_match']}/{row['n_impostor']}), FNMR {row['fnmr']:.1%}")
    print(f"ingest: {out}")
    return 0


def _add_capture(sub) -> None:
    p = sub.add_parser("capture", help="list and show doorbell capture presets",
                       description="Capture presets model a doorbell camera: sensor, lens, mounting, light, codec.")
    csub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    csub.add_parser("list", help="list built-in presets")
    s = csub.add_parser("show", help="show a preset's parameters and the face size it gives by distance")
    s.add_argument("name", help="preset name or YAML file")


def _capture(args) -> int:
    from harness.degrade import capture
    from harness.degrade.geometry import place_face

    if args.action == "list":
        for name, data in capture.presets().items():
            print(f"{name:<26} {data.get('description', '')}")
        return 0
    cap = capture.load(args.name)
    import json

    print(json.dumps(cap.to_dict(), indent=2))
    print("distance (m)  inter-ocular px  face centre (px)")
    for d in (0.5, 1, 2, 3, 4, 6):
        pl = place_face(cap.camera, cap.with_value("distance", d).subject)
        print(f"{d:>12g}  {pl.interocular_px:>15.1f}  ({pl.centre_px[0]:.0f}, {pl.centre_px[1]:.0f})")
    return 0


def _add_metrics(sub) -> None:
    p = sub.add_parser(
        "metrics", help="recompute every metric from a score file, without models",
        description="Read a score file (a run's pairs.csv, or any CSV with enrol_subject, probe_subject, genuine, "
                    "a score column and enrol_/probe_ attribute columns) and write the per-group tables, "
                    "disparity summaries with subject-bootstrap intervals, cross-group FMR and 1:N results.",
    )
    p.add_argument("scores", help="score file (CSV)")
    p.add_argument("--score", choices=["euclidean", "cosine", "score"], default=None,
                   help="score column: euclidean distance, cosine similarity, or 'score' (a similarity); "
                        "default metrics.score")
    p.add_argument("--acquisitions", metavar="FILE", help="a run's acquisitions.csv, for FTA per group")
    p.add_argument("--config", "-c", metavar="FILE", help="YAML or TOML config file (metrics section used)")
    p.add_argument("--set", "-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set metrics.bootstrap=200")
    p.add_argument("--out", metavar="DIR", help="output folder (default reports/metrics-<file stem>)")


#: Subcommands that live in their own modules, imported lazily: name -> module exposing
#: ``add_parser(subparsers)`` and ``main(args) -> int``. New commands go here, not into this file.
PLUGINS: dict[str, str] = {
    "models": "harness.models_cli",
    "compare": "harness.compare_cli",
    "bench": "harness.bench.cli",
    "report": "harness.bench.report_cli",
    "bundle": "harness.bundle_cli",
    "verify": "harness.bundle_cli",
    "diff": "harness.bundle_cli",
}


def _plugin(name: str):
    import importlib

    return importlib.import_module(PLUGINS[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facerisk",
        description="Measure how face recognition fails, and for whom, on doorbell-style cameras.",
    )
    parser.add_argument("--version", action="version", version=f"facerisk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_datasets(sub)
    _add_metrics(sub)
    _add_capture(sub)
    _add_ingest(sub)
    for name in PLUGINS:
        _plugin(name).add_parser(sub)
    return parser


def _run(args) -> int:
    from harness import config

    overrides = list(args.overrides)
    mapping = {
        "dataset": "dataset.name", "data_home": "dataset.data_home", "detector": "detector.name",
        "upsample": "detector.upsample", "embedder": "embedder.name", "model_path": "embedder.path",
        "score": "metrics.score", "protocol": "protocol.kind", "name": "name", "reports_dir": "reports_dir", "workers": "workers",
        "cache_dir": "cache_dir", "capture": "capture.preset", "sweep": "capture.sweep",
        "scheduler": "scheduler",
    }
    if args.sweep and not args.capture:
        args.capture = "doorbell-1080p-day"
    for attr, key in mapping.items():
        value = getattr(args, attr)
        if value is not None:
            overrides.append(f"{key}={value}" if not isinstance(value, str) else f"{key}={_yaml_str(value)}")
    if args.no_cache:
        overrides.append("use_cache=false")
    if args.no_download:
        overrides.append("dataset.download=false")
    if args.quiet:
        overrides.append("progress=false")
    if args.detector and ("," in args.detector or ":" in args.detector):
        from harness.compare_detectors import parse_detectors, run_compare

        entries = parse_detectors(args.detector)
        if len(entries) > 1:  # one run per detector, then FTA compared across them
            return run_compare(args.config, overrides, args.detector)
        overrides += entries[0][2]  # one detector with options of its own (name:key=value)
    cfg = config.load(args.config, overrides)
    from harness import pipeline, report  # after the config is checked: a bad value costs 1 s, not the imports

    res = pipeline.run(cfg)
    out = report.write(res, cfg.reports_dir, cfg.name)
    acq = res.provenance["acquisition"]
    print(f"facerisk: {acq['n_images']} images ({acq['cache_hits']} from cache), "
          f"{int(res.pairs['genuine'].sum())} genuine and {int((~res.pairs['genuine']).sum())} impostor pairs")
    overall = res.groups[res.groups["slice"] == "all"]
    for _, row in overall.iterrows():
        print(f"  {row['threshold_id']:>16}: FMR {row['fmr']:.4%} [{row['fmr_lo']:.4%}, {row['fmr_hi']:.4%}]"
              f"  FNMR {row['fnmr']:.4%}  FTA {row['fta']:.2%}")
    for w in res.warnings:
        print(f"  warning: {w}")
    print(f"report: {out / 'report.html'}")
    print(f"results: {out / 'results.json'}")
    return 0


def _yaml_str(value: str) -> str:
    """Quote a CLI string so the YAML override parser keeps it text."""
    return "'" + value.replace("'", "''") + "'"


def _datasets(args) -> int:
    from harness import data

    if args.action == "list":
        home = data.data_home(args.data_home)
        for card in data.list_cards():
            present = (home / card.name / "metadata.csv").is_file()
            print(f"{card.name:<16} {card.licence:<12} {'present' if present else 'not fetched':<12} {card.title}")
        print(f"(data home: {home})")
    elif args.action == "show":
        card = data.get_card(args.name)
        print(f"name:      {card.name}\ntitle:     {card.title}\nlicence:   {card.licence}\ncitation:  {card.citation}")
        print("labels:    " + ", ".join(f"{k} ({v})" for k, v in card.labels.items()))
        if card.description:
            print(f"about:     {card.description}")
        if card.upstream and not card.upstream.get("images_pinned", True):
            print(f"upstream:  images not pinned ({card.upstream.get('images_note', '')}); pinned files: "
                  + ", ".join(sorted(card.sha256)))
        elif card.upstream:
            print(f"upstream:  {card.upstream.get('base_url')}")
            print(f"checksums: {len(card.sha256)} files pinned (sha256)")
        for c in card.caveats:
            print(f"caveat:    {c}")
        print(f"card file: {card.path}")
    elif args.action == "fetch":
        card = data.get_card(args.name)
        root = data.fetch(card, data.data_home(args.data_home), mirror=args.mirror)
        ds = data.open_dataset(str(root), card=card)
        print(f"fetched {card.name}: {len(ds.frame)} images, {ds.frame['subject_id'].nunique()} subjects in {root}")
    elif args.action == "init":
        from pathlib import Path

        from harness.data.init import init_tree

        cols = [c.strip() for c in args.columns.split(",") if c.strip()]
        got = init_tree(Path(args.folder), cols, force=args.force)
        print(f"wrote {got['path']}: {got['n_images']} images, {got['n_people']} people "
              f"({got['n_people_with_2plus']} with two or more images)")
        if got["columns_to_fill"]:
            print(f"fill in: {', '.join(got['columns_to_fill'])} (one value per person, the same on each of their rows; "
                  "say in your report how each was obtained: self-reported, annotated or inferred); delete a "
                  "column you cannot fill")
        print(f"then: facerisk datasets validate {args.folder}  and  facerisk run --dataset {args.folder} "
              "--set protocol.kind=all  (or a pairs.txt with --set protocol.kind=pairs)")
    elif args.action == "validate":
        from harness.data.dataset import decode_all

        from harness.data import integrity

        ds = data.resolve(args.name, home=args.data_home, download=False, per_image=args.per_image)
        checked = integrity.check(ds.root, ds.manifest())  # raises, naming the file, when one changed
        print(f"checksums: {checked['status']}" + (f" against {checked['source']} ({checked['n_pinned']} files)"
                                                   if checked["source"] else f" ({checked['note']})"))
        problems = decode_all(ds) if args.decode else []
        for p in problems:
            print(f"unreadable: {p}", file=sys.stderr)
        n_subj = ds.frame["subject_id"].nunique()
        if problems:
            raise FaceriskError(f"{len(problems)} of {len(ds.frame)} images in {ds.root} cannot be decoded")
        print(f"{ds.root}: valid ({len(ds.frame)} images, {n_subj} subjects, attributes: "
              f"{', '.join(ds.subject_attributes) or 'none'}{'; all images decode' if args.decode else ''})")
    return 0


def _metrics(args) -> int:
    import json
    from pathlib import Path

    import pandas as pd

    from harness import config, metrics
    from harness.cache import atomic_write_text
    from harness.data.images import sha256_file
    from harness.metrics.analysis import analyse, resolve_slices
    from harness.metrics.interop import acquisitions_from_pairs, read_scores
    from harness.report import _clean, _records, write_tables

    cfg = config.load(args.config, args.overrides)
    m = cfg.metrics
    column = args.score or m.score
    pairs = read_scores(args.scores, column)
    kind = "euclidean" if column == "euclidean" else "cosine"
    warns: list[str] = []
    # Attribute columns as the score file has them, banded ones (age_band) included, so that the acquisitions
    # made up from the pairs carry every column a slice can name.
    attrs_raw = [c[len("probe_"):] for c in pairs.columns if c.startswith("probe_") and c != "probe_subject"
                 and c != "probe_image"]
    if args.acquisitions:
        acq = _read_acquisitions(args.acquisitions)
        _check_same_people(pairs, acq, args.scores, args.acquisitions)
    else:
        acq = acquisitions_from_pairs(pairs, attrs_raw)
        warns.append("no acquisitions file: every subject counted as acquired (FTA unknown, shown as 0)")
    _, slices = resolve_slices(pairs, m.attributes, m.intersections, m.bins, warns, prefixes=("probe_", "enrol_"))
    resolve_slices(acq, [a for a in m.attributes if a in acq.columns], [], m.bins, [])
    thresholds = metrics.make_thresholds(pairs.loc[~pairs["genuine"], "score"].to_numpy(), m.target_fmrs,
                                         m.fixed_thresholds, kind, f"{Path(args.scores).name}: all impostor pairs",
                                         warns)
    a = analyse(pairs, acq, thresholds, slices, side=m.group_side, confidence=m.confidence,
                min_subjects=m.min_subjects, small_subjects=m.small_subjects, replicates=m.bootstrap,
                seed=cfg.seed, impostors=cfg.protocol.impostors, match_on=cfg.protocol.match_on,
                recalibrate=m.recalibrate)
    out = Path(args.out or Path(cfg.reports_dir) / f"metrics-{Path(args.scores).stem}")
    from harness.rundir import check_writable, staging_dir

    check_writable(out.parent, "--out", "--out DIR")
    final, out = out, staging_dir(out.parent, out.name)
    try:
        files = write_tables(a, out)
        doc = _clean({"input": {"scores": str(args.scores), "sha256": sha256_file(args.scores), "score": column,
                                "acquisitions": args.acquisitions},
                      "config": cfg.to_dict(), "thresholds": [t.to_dict() for t in thresholds],
                      "groups": _records(a.groups), "disparity": _records(a.disparity),
                      "summaries": _records(a.summaries), "warnings": warns + a.notes, "files": files})
        atomic_write_text(out / "metrics.json", json.dumps(doc, indent=2, allow_nan=False))
        _replace_dir(out, final)  # whole or not at all: a full disk leaves no half-written tables
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    out = final
    overall = a.groups[a.groups["slice"] == "all"]
    for _, row in overall.iterrows():
        print(f"  {row['threshold_id']:>16}: FMR {row['fmr']:.4%}  FNMR {row['fnmr']:.4%}")
    for w in warns + a.notes:
        print(f"  warning: {w}")
    print(f"metrics: {out / 'metrics.json'}")
    return 0


def _replace_dir(tmp, final) -> None:
    """Move the finished folder ``tmp`` to ``final``, replacing only an earlier facerisk output there."""
    import os

    from harness.rundir import check_out_folder

    check_out_folder(final, "--out")  # checked again: the folder may have appeared while the work ran
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.chmod(tmp, 0o755)
    os.replace(tmp, final)


def one_line(text: str) -> str:
    """An error message as one line: a parser's embedded newlines (pandas, PyYAML) become spaces, and a message
    quoting a huge value (a 5 MB label) keeps its start (the file) and its end (the fix)."""
    import re

    text = re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
    return text if len(text) <= 1200 else f"{text[:600]} … {text[-500:]}"


#: Import names whose pip distribution has another name.
_DISTRIBUTIONS = {"dlib": "dlib-bin", "cv2": "opencv-python-headless", "PIL": "pillow", "yaml": "pyyaml",
                  "av": "av", "sklearn": "scikit-learn", "ai_edge_litert": "ai-edge-litert",
                  "distributed": "facerisk[dask]", "dask": "facerisk[dask]", "pyarrow": "facerisk[parquet]"}


def _missing_package(exc: ModuleNotFoundError) -> str:
    """One line naming the missing module and the install command (the package root of a dotted name)."""
    name = (exc.name or str(exc)).split(".")[0]
    dist = _DISTRIBUTIONS.get(name, name.replace("_", "-"))
    return (f"the Python package {name!r} is missing or broken in this environment ({sys.executable}); install it "
            f"with: pip install '{dist}' (or reinstall facerisk: pip install facerisk)")


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C so temporary files are removed and the pool is shut down.

    A BaseException, as KeyboardInterrupt is: libraries' ``except Exception`` blocks (distributed's client
    has many) must not swallow it and let the run carry on to exit 0.
    """


def _on_sigterm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated()


def _read_acquisitions(path: str):
    """A run's acquisitions.csv, checked: role, subject_id and ok columns, true/false ok values, some rows."""
    from pathlib import Path

    import pandas as pd

    from harness.data.tables import read_csv

    acq = read_csv(path, "a run's acquisitions.csv (reports/<name>/acquisitions.csv)", required=("role", "subject_id", "ok"),
                   what="acquisitions file", error=FaceriskError, dtype={"subject_id": str}, keep_default_na=False,
                   na_values=["", "NA"])
    if acq.empty:
        raise FaceriskError(f"{path}: no rows (the file has a header only)")
    ok = acq["ok"].astype(str).str.lower().map({"true": True, "1": True, "false": False, "0": False})
    if ok.isna().any():
        raise FaceriskError(f"{path}: row {int(ok.isna().to_numpy().argmax()) + 2}: ok must be true/false or 1/0")
    if acq["subject_id"].isna().any():
        raise FaceriskError(f"{path}: row {int(acq['subject_id'].isna().to_numpy().argmax()) + 2}: empty subject_id")
    acq["ok"] = ok.astype(bool)
    return acq


def _check_same_people(pairs, acq, scores: str, path: str) -> None:
    """Every person of the score file must have rows in the acquisitions file (it is the same run's), else the
    FTA per group would be read for other people."""
    in_pairs = set(pairs["enrol_subject"].astype(str)) | set(pairs["probe_subject"].astype(str))
    missing = sorted(in_pairs - set(acq["subject_id"].astype(str)))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise FaceriskError(f"{path}: {len(missing)} of the {len(in_pairs)} people in {scores} have no row "
                            f"(e.g. {shown}); give the acquisitions.csv of the run that wrote the score file, or "
                            "leave out --acquisitions")


def main(argv: Optional[list[str]] = None) -> int:
    import os  # noqa: F401 - used by the OSError message
    import signal
    import warnings

    # stderr carries facerisk's own messages: library chatter (matplotlib glyph and layout notices, numpy
    # all-NaN reductions that facerisk handles) is not for the user; every figure it affects is checked.
    warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
    warnings.filterwarnings("ignore", message="(All-NaN slice|Mean of empty slice|invalid value)",
                            category=RuntimeWarning)

    try:
        parser = build_parser()
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "harness":
            raise
        print(f"facerisk: error: {_missing_package(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="facerisk: %(message)s")
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass
    try:
        commands = {"run": _run, "datasets": _datasets, "metrics": _metrics,
                    "capture": _capture, "ingest": _ingest}
        if args.command in PLUGINS:
            return _plugin(args.command).main(args)
        if args.command in commands:
            return commands[args.command](args)
    except FaceriskError as exc:
        print(f"facerisk: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ModuleNotFoundError as exc:
        # A broken or partial environment, not a bug in the input: name the package and how to get it back.
        if (exc.name or "").split(".")[0] == "harness":
            raise  # facerisk's own module: a bug, keep the traceback
        print(f"facerisk: error: {_missing_package(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("facerisk: interrupted; completed work is cached and the next run resumes", file=sys.stderr)
        return 130
    except Terminated:
        print("facerisk: terminated (SIGTERM); completed work is cached and the next run resumes; no partial "
              "report was written", file=sys.stderr)
        return 143
    except OSError as exc:
        # The environment, not a bug: a full disk, a folder made read-only mid-run, a vanished file.
        where = f"{exc.filename}: " if exc.filename else ""
        folder = os.path.dirname(os.path.abspath(exc.filename)) if exc.filename else "the output folder"
        print(f"facerisk: error: {where}{exc.strerror or exc} (make room or fix permissions in {folder}, or write "
              "elsewhere, then rerun: nothing partial is kept and finished acquisitions are cached)", file=sys.stderr)
        return EXIT_USER_ERROR
    parser.error(f"unknown command {args.command}")
    return EXIT_USER_ERROR
