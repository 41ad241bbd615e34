"""``facerisk bundle RUN``, ``facerisk verify BUNDLE`` and ``facerisk diff A B`` (see harness/report/bundle.py).

One module serves the three PLUGINS entries: :func:`add_parser` adds the subcommand named by the
entry being loaded, and :func:`main` dispatches on ``args.command``.
"""

from __future__ import annotations

import sys

from harness.errors import FaceriskError

_ADDED: set[int] = set()


def add_parser(sub) -> None:
    """Add ``bundle``, ``verify`` and ``diff`` (once per parser, however many PLUGINS entries point here)."""
    if id(sub) in _ADDED:
        return
    _ADDED.add(id(sub))
    p = sub.add_parser("bundle", help="write one verifiable evidence archive of a run",
                       description="Pack a run directory (results, CSVs, report), its config, dataset and model "
                                   "hashes, environment and exact command into RUN.bundle.zip with a sha256 manifest.")
    p.add_argument("run", help="run directory, e.g. reports/<name>")
    p.add_argument("--out", metavar="FILE", help="archive path (default: next to the run, <name>.bundle.zip); "
                                                "an existing file is replaced only if it is a facerisk bundle and "
                                                "--force is given")
    p.add_argument("--force", action="store_true", help="replace an existing facerisk bundle at --out")
    v = sub.add_parser("verify", help="re-check an evidence bundle's hashes and recompute its tables",
                       description="Check every sha256 in the bundle's manifest and the fingerprint in its report, "
                                   "then recompute every metrics table from the bundled pairs.csv and compare. "
                                   "Exit 1 naming each changed file or differing cell.")
    v.add_argument("bundle", help="a .bundle.zip or an extracted bundle folder")
    v.add_argument("--no-recompute", action="store_true", help="check hashes only (fast)")
    d = sub.add_parser("diff", help="list every setting and number that differs between two runs",
                       description="Compare two run directories or bundles: settings, thresholds, models, dataset, "
                                   "and every table row by row.")
    d.add_argument("a", help="run directory or bundle")
    d.add_argument("b", help="run directory or bundle")
    d.add_argument("--max-lines", type=int, default=0, help="show at most N lines per section (0: all)")


def _is_bundle(path) -> bool:
    """A zip archive whose manifest says facerisk-bundle: what ``facerisk bundle`` writes, and may replace."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            doc = json.loads(z.read("MANIFEST.json"))
        return isinstance(doc, dict) and str(doc.get("format", "")).startswith("facerisk-bundle/")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return False


def _bundle_out(args):
    """The archive path, checked before any work: its folder exists, and an existing file there is replaced only
    when it is a facerisk bundle and --force is given (a user's file of that name is never overwritten)."""
    from pathlib import Path

    run = Path(args.run)
    if not run.is_dir():
        raise FaceriskError(f"{run}: not a run directory; pass reports/<name> (a folder with results.json)")
    out = Path(args.out) if args.out else run.parent / f"{run.name}.bundle.zip"
    if not out.parent.is_dir():
        raise FaceriskError(f"--out {out}: the folder {out.parent} does not exist; create it or choose another --out")
    if out.is_dir():
        raise FaceriskError(f"--out {out} is a folder; give a file name such as {out / (run.name + '.bundle.zip')}")
    if out.exists() or out.is_symlink():
        if not _is_bundle(out):
            raise FaceriskError(f"--out {out} exists and is not a facerisk bundle; it is left untouched: choose "
                                "another --out")
        if not args.force:
            raise FaceriskError(f"--out {out}: a bundle already exists there; pass --force to replace it, or "
                                "choose another --out")
    return out


def main(args) -> int:
    from harness.report import bundle as b

    if args.command == "bundle":
        out = _bundle_out(args)
        b.load_results(args.run)  # a damaged results.json is named here (json's traceback otherwise)
        try:
            out = b.bundle(args.run, out)
        except BaseException:
            out.with_name(f".{out.name}.tmp").unlink(missing_ok=True)  # bundle()'s temporary: no partial archive
            raise
        manifest_fp = b.verify(out, recompute=False)
        if manifest_fp.problems:
            raise FaceriskError(f"{out}: bundle failed its own check: {manifest_fp.problems[0]}")
        print(f"bundle: {out} ({manifest_fp.checked_files} files hashed)")
        return 0
    if args.command == "verify":
        v = b.verify(args.bundle, recompute=not args.no_recompute)
        for line in v.problems:
            print(f"CHANGED  {line}")
        for line in v.differences:
            print(f"DIFFERS  {line}")
        for line in v.notes:
            print(f"note     {line}")
        if v.ok:
            tables = f"; {len(v.recomputed_tables)} tables recomputed, identical" if v.recomputed_tables else ""
            print(f"verify: OK — {v.checked_files} files match the manifest{tables}")
            return 0
        print(f"verify: FAILED — {len(v.problems)} changed file(s), {len(v.differences)} differing value(s)",
              file=sys.stderr)
        return 1
    if args.command == "diff":
        if args.max_lines < 0:
            raise FaceriskError(f"--max-lines {args.max_lines}: must be 0 (show all) or a positive number of lines")
        sections = b.diff(b.load_results(args.a), b.load_results(args.b))
        if not [k for k in sections if k != "volatile"]:
            print("diff: no setting or number differs" + (" (only volatile fields)" if sections else ""))
        for name, lines in sections.items():
            print(f"== {name} ({len(lines)})")
            shown = lines if not args.max_lines else lines[:args.max_lines]
            for line in shown:
                print(f"  {line}")
            if len(shown) < len(lines):
                print(f"  … {len(lines) - len(shown)} more")
        return 0
    raise FaceriskError(f"unknown command {args.command}")
