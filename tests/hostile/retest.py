#!/usr/bin/env python3
"""Hostile re-test of the installed ``facerisk`` CLI (issue 9, last "Done means" bullet).

Not a pytest module (pytest collects ``test_*.py`` only): a driver that runs several hundred attempts
against the installed command, one at a time, each in its own scratch folder under one temp root, and
checks for every attempt:

- the exit code (non-zero on bad input, 0 where the input is handled);
- stderr: no "Traceback"; on failure exactly one line naming the file or setting, with a fix
  (argparse's usage block plus its one error line is accepted); on success only ``facerisk:`` lines;
- no report/output folder left partial (no hidden temporary folder, every run folder whole);
- no process left behind (every process carrying the attempt's environment marker is gone);
- no file created, modified or removed outside the folders the attempt named: every write-like
  system call (open for writing, mkdir, rename, unlink, link, symlink, truncate, chmod) of the whole
  process tree is traced with strace and its path checked, and mtimes of the repository, $HOME and
  /tmp (minus the scratch root) are snapshotted around each attempt as a second net (a change there
  that strace did not see is another agent's and is logged, not failed);
- per-attempt checks of the numbers where a wrong one could be silent (counts, FTA, identical
  results after an interrupted run is resumed).

Usage (from the repository root; 2 shared cores, so nice'd and serial)::

    nice -n 5 .venv/bin/python tests/hostile/retest.py [--only REGEX] [--log FILE] [--keep]

Needs: root (tmpfs mounts), strace, the frl-london images ($FACERISK_DATA_HOME or ../shared/datasets).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a script: the repository's tests package holds the shared /proc helpers
from tests._proc import children  # noqa: E402
CLI = Path(os.environ.get("FACERISK_CLI") or REPO / ".venv" / "bin" / "facerisk")
PY = CLI.parent / "python"
DATA_HOME = Path(os.environ.get("FACERISK_DATA_HOME") or REPO.parent / "shared" / "datasets")
FRL = DATA_HOME / "frl-london"
HOME = Path(os.path.expanduser("~"))

SYSCALLS = ("open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,"
            "symlink,symlinkat,truncate,chmod,fchmodat")
#: Words of which an error line must contain one: it says what to do, not only what went wrong.
FIX_WORDS = re.compile(r"\b(use|set|choose|pass|must|expected|expect|re-?save|remove|give|write|need|needs|keep|fill|"
                       r"restore|free|save|edit|drop|lower|raise|re-?export|re-?download|"
                       r"try|fix|install|check|re-?run|make|delete|rename|add|one of|at most|at least|between|"
                       r"should|only|e\.g\.|not (?:a|an|one|found|UTF-8|valid|writable)|refused|"
                       r"no (?:such|rows|image|column))\b|--\w", re.I)
#: Paths a process may always touch: kernel interfaces and the interpreter's bytecode cache.
ALWAYS_OK = ("/dev/", "/proc/", "/sys/")
SNAP_EXCLUDE_HOME = (".claude", ".npm", ".pyenv", ".rustup", ".cargo", ".m2", ".cache/pip", ".cache/Microsoft")
SNAP_EXCLUDE_TMP = ("bash_jobs", "bash_tool_", "hsperfdata_", "pytest-of-")


# ----------------------------------------------------------------------------------------------- records
@dataclass
class Attempt:
    name: str
    category: str  # dataset | images | config | files | faults
    #: facerisk arguments (after the command name), or built by ``setup``; ``{d}`` etc. are formatted.
    argv: list[str] = field(default_factory=list)
    #: prepares inputs in ctx (returns extra argv, or None).
    setup: Optional[Callable[["Ctx"], Optional[list[str]]]] = None
    #: allowed exit codes.
    rc: tuple[int, ...] = (2,)
    #: the error line must mention one of these (case-insensitive), when rc != 0.
    mention: tuple[str, ...] = ()
    #: extra checks on success/failure: (ctx, result) -> list of problems.
    check: Optional[Callable[["Ctx", "Result"], list[str]]] = None
    #: a custom runner replacing the single invocation: (ctx) -> Result.
    runner: Optional[Callable[["Ctx"], "Result"]] = None
    #: "warm": the tiny set's cache copied in; "cold": empty cache.
    cache: str = "warm"
    #: failing input must fail before any model work (the attempt's cache stays empty).
    early: bool = False
    timeout: float = 150.0
    #: stdout+stderr may carry several lines (verify lists each changed file).
    multiline: bool = False
    #: extra folders the attempt names (writes there are allowed), relative to the attempt folder.
    allow: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    rc: int
    out: str
    err: str
    wall: float
    writes: list[str] = field(default_factory=list)  # outside-the-named-folders writes seen by strace
    leftover: list[str] = field(default_factory=list)  # processes still alive
    problems: list[str] = field(default_factory=list)  # runner's own findings
    timed_out: bool = False


class Ctx:
    """One attempt's scratch folder: in/ (inputs), reports/, cache/, out/, work/ (cwd), tmp/ (TMPDIR)."""

    def __init__(self, root: Path, idx: int, att: Attempt, base: "Base"):
        self.d = root / "a" / f"{idx:03d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', att.name)[:60]}"
        self.att, self.base, self.idx = att, base, idx
        self.marker = f"{root.name}-{idx}"
        for sub in ("in", "reports", "cache", "out", "work", "tmp"):
            (self.d / sub).mkdir(parents=True, exist_ok=True)
        self.inp, self.reports, self.cache = self.d / "in", self.d / "reports", self.d / "cache"
        self.out, self.work, self.tmp = self.d / "out", self.d / "work", self.d / "tmp"
        self.ds = self.inp / "ds"
        self.mounts: list[Path] = []
        if att.cache == "warm":
            shutil.copytree(base.cache_tiny, self.cache, dirs_exist_ok=True)
        self.npz_before = set(self.cache.rglob("*.npz"))

    def allowed(self) -> list[Path]:
        return [self.reports, self.cache, self.out, self.tmp, *(self.d / a for a in self.att.allow)]

    # data-set helpers -------------------------------------------------------------------------
    def tiny(self, name: str = "ds") -> Path:
        dst = self.inp / name
        shutil.copytree(self.base.tiny, dst)
        return dst

    def rows(self, ds: Optional[Path] = None) -> list[list[str]]:
        with open((ds or self.ds) / "metadata.csv", newline="", encoding="utf-8") as f:
            return list(csv.reader(f))

    def write_rows(self, rows, ds: Optional[Path] = None, encoding="utf-8", newline="\n") -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=newline).writerows(rows)
        ((ds or self.ds) / "metadata.csv").write_bytes(buf.getvalue().encode(encoding))

    def run_argv(self, *extra: str, ds: Optional[Path] = None, name: Optional[str] = "r") -> list[str]:
        # A command-line option wins over --set of the same key (cli._run appends them last), so an option whose
        # key the attempt sets is left out: otherwise --set name=[1, 2] is overridden by --name=r and "passes".
        keys = {e.split("=", 1)[0].strip() for i, e in enumerate(extra) if i and extra[i - 1] == "--set"}
        for i, e in enumerate(extra):  # the same for a config file's top-level keys (name: in cfg.yaml)
            if i and extra[i - 1] == "--config" and Path(e).is_file():
                text = Path(e).read_bytes().decode("utf-8", "replace")
                keys |= set(re.findall(r"^([A-Za-z_]+)\s*[:=]", text, re.M))
        opts = [("dataset.name", ["--dataset", str(ds or self.ds)]), ("reports_dir", ["--reports-dir", str(self.reports)]),
                ("cache_dir", ["--cache-dir", str(self.cache)]),
                ("name", [f"--name={name}"] if name is not None else []), ("progress", ["-q"]),
                ("workers", ["--workers", "1"])]
        argv = ["run"]
        for key, args in opts:
            if key not in keys and not any(k.startswith(key + ".") for k in keys):  # dataset.name.x too
                argv += args
        return argv + ["--set", "metrics.bootstrap=20", *extra]

    def mount_tmpfs(self, sub: str, size: str = "2m") -> Path:
        mnt = self.d / sub
        mnt.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True)
        self.mounts.append(mnt)
        return mnt

    def cleanup(self) -> None:
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        self.mounts.clear()


@dataclass
class Base:
    root: Path
    tiny: Path = None
    medium: Path = None
    cache_tiny: Path = None
    cache_medium: Path = None
    run_tiny: Path = None  # a finished run folder on the tiny set
    run_medium: Path = None
    bundle: Path = None
    clip: Path = None
    port: int = 0


# ------------------------------------------------------------------------------------- process running
def _marked(marker: str) -> list[int]:
    """Live processes whose environment carries the attempt marker (every descendant inherits it)."""
    needle = f"FACERISK_HOSTILE_ATTEMPT={marker}\0".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if needle in (d / "environ").read_bytes():
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(d.name))
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


class Proc:
    """facerisk under strace (-f: the whole tree), in its own session, with the attempt's environment."""

    def __init__(self, ctx: Ctx, argv: list[str], env: Optional[dict] = None, tag: str = ""):
        self.ctx, self.argv = ctx, argv
        self.trace = ctx.d / f"strace{tag}.txt"
        e = dict(os.environ)
        e.update({"FACERISK_HOSTILE_ATTEMPT": ctx.marker, "TMPDIR": str(ctx.tmp),
                  "FACERISK_DATA_HOME": str(DATA_HOME), "PYTHONUNBUFFERED": "1"})
        e.update(ctx.att.env)
        e.update(env or {})
        self.out_f = open(ctx.d / f"stdout{tag}.txt", "w+b")
        self.err_f = open(ctx.d / f"stderr{tag}.txt", "w+b")
        cmd = ["strace", "-f", "-qq", "--seccomp-bpf", "-y", "-s", "4096", "-e", f"trace={SYSCALLS}",
               "-o", str(self.trace), str(CLI), *argv]
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, cwd=ctx.work, env=e, stdout=self.out_f, stderr=self.err_f,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self._pid = None

    def pid(self, timeout: float = 20.0) -> Optional[int]:
        """The facerisk process (strace's child)."""
        t0 = time.time()
        while self._pid is None and time.time() - t0 < timeout and self.p.poll() is None:
            kids = children(self.p.pid)
            if kids:
                self._pid = kids[0]
            else:
                time.sleep(0.02)
        return self._pid

    def signal(self, sig: int) -> None:
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def finish(self, timeout: float) -> Result:
        timed_out = False
        try:
            self.p.wait(timeout=max(1.0, timeout - (time.time() - self.t0)))
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()
        wall = time.time() - self.t0
        rc = self._facerisk_rc()
        self.out_f.seek(0)
        self.err_f.seek(0)
        out = self.out_f.read().decode(errors="replace")
        err = self.err_f.read().decode(errors="replace")
        self.out_f.close()
        self.err_f.close()
        return Result(rc=rc if not timed_out else -9, out=out, err=err, wall=wall,
                      writes=outside_writes(self.trace, self.ctx), timed_out=timed_out)

    def _facerisk_rc(self) -> int:
        """strace exits with the tracee's status (128+N for a signal)."""
        rc = self.p.returncode
        return rc if rc is not None else -1


def invoke(ctx: Ctx, argv: list[str], env: Optional[dict] = None, timeout: Optional[float] = None) -> Result:
    return Proc(ctx, argv, env).finish(timeout or ctx.att.timeout)


def leftover_processes(ctx: Ctx, wait: float = 6.0) -> list[str]:
    t0 = time.time()
    pids = _marked(ctx.marker)
    while pids and time.time() - t0 < wait:
        time.sleep(0.2)
        pids = _marked(ctx.marker)
    found = [f"{p}: {_cmdline(p)}" for p in pids]
    for p in pids:  # ours (they carry this attempt's marker): end them so the next attempt starts clean
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return found


# ------------------------------------------------------------------------------------ strace write audit
def _split_args(s: str) -> list[str]:
    out, cur, q, esc, depth = [], [], False, False, 0
    for ch in s:
        if q:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
            cur.append(ch)
        elif ch in "[{<":
            depth += 1
            cur.append(ch)
        elif ch in "]}>":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def _unquote(tok: str) -> Optional[str]:
    tok = tok.strip()
    if tok.endswith("..."):
        tok = tok[:-3]
    if not (tok.startswith('"') and tok.endswith('"')):
        return None
    raw = codecs.escape_decode(tok[1:-1].encode("latin-1", "backslashreplace"))[0]
    return raw.decode("utf-8", "replace")


_FD = re.compile(r"^(?:AT_FDCWD|-?\d+)<(.*)>$")
# syscall -> ([(dirfd index or None, path index)], flags index or None)
_PATHS = {
    "open": ([(None, 0)], 1), "openat": ([(0, 1)], 2), "creat": ([(None, 0)], None),
    "mkdir": ([(None, 0)], None), "mkdirat": ([(0, 1)], None),
    "rename": ([(None, 0), (None, 1)], None), "renameat": ([(0, 1), (2, 3)], None),
    "renameat2": ([(0, 1), (2, 3)], None), "unlink": ([(None, 0)], None), "unlinkat": ([(0, 1)], None),
    "rmdir": ([(None, 0)], None), "link": ([(None, 1)], None), "linkat": ([(2, 3)], None),
    "symlink": ([(None, 1)], None), "symlinkat": ([(1, 2)], None), "truncate": ([(None, 0)], None),
    "chmod": ([(None, 0)], None), "fchmodat": ([(0, 1)], None),
}
_LINE = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)(.*)$")


def traced_writes(trace: Path, cwd: Path) -> list[str]:
    """Absolute paths the traced tree wrote, created, renamed, removed or re-moded (successful calls)."""
    if not trace.is_file():
        return []
    pending: dict[str, str] = {}
    paths = []
    for line in trace.read_text(errors="replace").splitlines():
        pid, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        m = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
        if m:
            rest = pending.pop(pid, m.group(1) + "(") + m.group(2)
        m = _LINE.match(rest)
        if not m or int(m.group(3)) < 0:
            continue
        name, args, tail = m.group(1), _split_args(m.group(2)), m.group(4)
        if name not in _PATHS:
            continue
        spec, flag_i = _PATHS[name]
        if flag_i is not None:
            flags = args[flag_i] if len(args) > flag_i else ""
            if not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", flags):
                continue
            fm = re.match(r"<(.*)>", tail.strip())
            if fm and fm.group(1).startswith("/"):
                paths.append(fm.group(1))
                continue
        for dfd, pi in spec:
            if pi >= len(args):
                continue
            p = _unquote(args[pi])
            if p is None:
                continue
            if not p.startswith("/"):
                base = str(cwd)
                if dfd is not None and dfd < len(args):
                    fm = _FD.match(args[dfd])
                    if fm:
                        base = fm.group(1)
                p = os.path.join(base, p)
            paths.append(os.path.normpath(p))
    return paths


def _under(p: str, roots: list[Path]) -> bool:
    for r in roots:
        for rr in {str(r), os.path.realpath(r)}:
            if p == rr or p.startswith(rr.rstrip("/") + "/"):
                return True
    return False


def outside_writes(trace: Path, ctx: Ctx) -> list[str]:
    bad = []
    for p in traced_writes(trace, ctx.work):
        if p.startswith(ALWAYS_OK) or "/__pycache__/" in p or p.endswith("/__pycache__"):
            continue
        if not _under(p, ctx.allowed()):
            bad.append(p)
    return sorted(set(bad))


# ------------------------------------------------------------------------------------------- snapshots
def snapshot(root: Path) -> dict[str, tuple]:
    snap: dict[str, tuple] = {}

    def walk(top: Path, exclude: tuple[str, ...], rel_base: Path):
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, rel_base)
            dirnames[:] = [d for d in dirnames if not any(
                os.path.normpath(os.path.join(rel, d)).startswith(e) for e in exclude)
                and d not in (".git", "__pycache__") and os.path.join(dirpath, d) != str(root)]
            for n in filenames + [""]:
                p = os.path.join(dirpath, n) if n else dirpath
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                snap[p] = (st.st_mtime_ns, st.st_size)

    walk(REPO, (".venv",), REPO)
    walk(HOME, SNAP_EXCLUDE_HOME, HOME)
    tmp = Path(tempfile.gettempdir())
    walk(tmp, SNAP_EXCLUDE_TMP + (os.path.relpath(root, tmp),), tmp)
    return snap


def snap_diff(a: dict, b: dict) -> list[str]:
    out = []
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            out.append(("+" if p not in a else "-" if p not in b else "~") + p)
    return out


# --------------------------------------------------------------------------------------------- checks
def leftovers_in(folder: Path, existed: frozenset = frozenset()) -> list[str]:
    """Hidden temporaries and run folders without their result file, under an output folder.

    ``existed``: names that were there before the command ran (the user's own folders), not outputs.
    """
    probs = []
    if not folder.is_dir() or os.path.ismount(folder) and not os.access(folder, os.R_OK):
        return probs
    for e in sorted(folder.iterdir()):
        if e.name in ("lost+found",) or e.name.startswith("fill") or e.name in existed:
            continue
        if e.is_dir() and not e.is_symlink() and not any(e.iterdir()):
            continue  # an empty folder the user named (e.g. --dest) is not a partial output
        if e.name.startswith("."):
            probs.append(f"partial/temporary left: {e}")
        elif e.is_dir() and not e.name.startswith(("hostile-", "keep")) and folder.name != "cache":
            markers = ("results.json", "metrics.json", "ingest.json", "compare.json", "manifest.json")
            if not any((e / m).is_file() for m in markers) and not any(e.rglob("*.npz")):
                probs.append(f"output folder without its result file: {e}")
            elif (e / "results.json").is_file() and not (e / "report.html").is_file():
                probs.append(f"run folder without report.html: {e}")
    return probs


def check_stderr(att: Attempt, res: Result) -> list[str]:
    probs = []
    err = res.err
    if "Traceback" in err or "Traceback" in res.out:
        tb = err[err.find("Traceback"):] if "Traceback" in err else res.out[res.out.find("Traceback"):]
        probs.append("traceback: " + " | ".join(tb.strip().splitlines()[-2:])[:300])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if res.rc != 0:
        if lines and lines[0].startswith("usage:"):
            msg = [ln for ln in lines if ": error:" in ln]
            if len(msg) != 1:
                probs.append("argparse output without exactly one error line")
            line = msg[0] if msg else ""
        elif att.multiline:
            line = res.out + "\n" + err
        else:
            if len(lines) != 1:
                probs.append(f"stderr has {len(lines)} lines, expected one: {lines[:3]}")
            line = lines[-1] if lines else ""
        if len(line) > 2000 and not att.multiline:
            probs.append(f"error line of {len(line):,} characters")
        if not line.strip():
            probs.append("no message")
        elif att.mention and not any(m.lower() in line.lower() for m in att.mention):
            probs.append(f"message does not name any of {att.mention}: {line.strip()[:200]}")
        if line.strip() and not att.multiline and not FIX_WORDS.search(line) and res.rc not in (130, 143):
            probs.append(f"message gives no fix: {line.strip()[:200]}")
    else:
        chatter = [ln for ln in lines if not ln.startswith("facerisk:")]
        if chatter:
            probs.append(f"stderr chatter on success: {chatter[0][:160]}")
    return probs


def judge(ctx: Ctx, att: Attempt, res: Result, before_reports: set, snap_a: dict, snap_b: dict,
          before_out: frozenset = frozenset()) -> list[str]:
    probs = list(res.problems)
    if res.timed_out:
        probs.append(f"timed out after {att.timeout:.0f} s (hang)")
    elif res.rc not in att.rc:
        probs.append(f"exit code {res.rc}, expected {' or '.join(map(str, att.rc))}")
    probs += check_stderr(att, res)
    probs += leftovers_in(ctx.reports, frozenset(before_reports)) + leftovers_in(ctx.out, before_out)
    if res.rc != 0 and att.rc == (2,) and set(os.listdir(ctx.reports)) - before_reports - {"lost+found"}:
        new = set(os.listdir(ctx.reports)) - before_reports
        probs.append(f"failed run left folders in the reports dir: {sorted(new)}")
    if att.early and res.rc != 0 and set(ctx.cache.rglob("*.npz")) - ctx.npz_before:
        probs.append("failed only after model work (cache entries were written): check it before the run")
    if list(ctx.tmp.iterdir()):
        probs.append(f"temporary files left in TMPDIR: {[p.name for p in ctx.tmp.iterdir()][:5]}")
    probs += [f"wrote outside the named folders: {w}" for w in res.writes]
    probs += [f"process left behind: {p}" for p in res.leftover]
    if att.check and not res.timed_out:
        try:
            probs += att.check(ctx, res)
        except Exception as exc:  # noqa: BLE001 - a check that cannot read the output is a finding too
            probs.append(f"check failed: {type(exc).__name__}: {exc}")
    return probs


# ------------------------------------------------------------------------------------- output readers
def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def counts(run: Path) -> dict[str, Any]:
    pairs = read_csv(run / "pairs.csv")
    acq = read_csv(run / "acquisitions.csv")
    gen = sum(p["genuine"].lower() == "true" for p in pairs)
    return {"genuine": gen, "impostor": len(pairs) - gen, "images": len(acq),
            "fta": sum(a["ok"].lower() != "true" for a in acq),
            "subjects": len({a["subject_id"] for a in acq}), "acq": acq}


def expect_counts(**want) -> Callable[[Ctx, Result], list[str]]:
    def check(ctx: Ctx, res: Result) -> list[str]:
        if res.rc != 0:
            return []
        got = counts(ctx.reports / "r")
        return [f"silent wrong number: {k} = {got[k]}, expected {v}" for k, v in want.items() if got[k] != v]
    return check


def fta_of(*images: str, ok: bool = False) -> Callable[[Ctx, Result], list[str]]:
    def check(ctx: Ctx, res: Result) -> list[str]:
        if res.rc != 0:
            return []
        acq = counts(ctx.reports / "r")["acq"]
        probs = []
        for im in images:
            rows = [a for a in acq if a["image"].endswith(im)]
            if not rows:
                probs.append(f"{im} missing from acquisitions.csv")
            elif (rows[0]["ok"].lower() == "true") != ok:
                probs.append(f"silent wrong number: {im} ok={rows[0]['ok']}, expected {ok}")
        return probs
    return check


VOLATILE = re.compile(r"(^|\.)(created_utc|seconds\w*|cache_hits|cache_discarded|cache_write_error|cache_dir|"
                      r"reports_dir|git|wall\w*|elapsed\w*|timings?|\w*_seconds|peak_rss\w*|name|run_name|"
                      r"host\w*|pid|started\w*|finished\w*|workers|files|command|computed|root|timings_s|note|"
                      r"scheduler|executor)$")
#: The scratch folders differ between attempts; where a message names one, only the path differs.
SCRATCH_PATH = re.compile(r"/tmp/facerisk-hostile-[^/\s]+(?:/[^\s'\"]*)?")


def normalised(path: Path) -> Any:
    def clean(x, key=""):
        if isinstance(x, dict):
            return {k: clean(v, f"{key}.{k}") for k, v in x.items() if not VOLATILE.search(f".{k}")}
        if isinstance(x, list):
            return [clean(v, key) for v in x]
        if isinstance(x, str):
            return SCRATCH_PATH.sub("<scratch>", x)
        return x
    return clean(json.loads(path.read_text()))


def same_results(a: Path, b: Path, expect_warning: Optional[str] = None) -> list[str]:
    """Problems if run ``b``'s results differ from ``a``'s; ``expect_warning``: a regex that one of ``b``'s
    warnings must match (and that is then left out of the comparison): what ``b`` must say it survived."""
    x, y = normalised(a), normalised(b)
    if expect_warning:
        said = [w for w in y.get("warnings") or [] if re.search(expect_warning, w)]
        if not said:
            return [f"no warning matching {expect_warning!r}: the damage was survived silently"]
        y["warnings"] = [w for w in y["warnings"] if w not in said]
    if x == y:
        return []
    diffs = []

    def walk(u, v, p=""):
        if len(diffs) > 3:
            return
        if isinstance(u, dict) and isinstance(v, dict):
            for k in sorted(set(u) | set(v)):
                walk(u.get(k), v.get(k), f"{p}.{k}")
        elif isinstance(u, list) and isinstance(v, list) and len(u) == len(v):
            for i, (s, t) in enumerate(zip(u, v)):
                walk(s, t, f"{p}[{i}]")
        elif u != v:
            diffs.append(f"{p}: {str(u)[:60]} != {str(v)[:60]}")
    walk(x, y)
    return [f"results differ from the uninterrupted run: {'; '.join(diffs)}"]


# ------------------------------------------------------------------------------------------- images
def _img(path: Path, mode="RGB", size=(320, 320), fmt=None, src: Optional[Path] = None, **kw) -> None:
    from PIL import Image

    im = Image.open(src).convert("RGB") if src else Image.new("RGB", size, (128, 128, 128))
    if mode == "I;16":
        im = Image.fromarray((__import__("numpy").asarray(im.convert("L"), dtype="uint16") * 257))
        fmt = "PNG"
    elif mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt or "JPEG", **kw)


def png_bomb(path: Path, w=100_000, h=100_000) -> None:
    """A valid PNG header claiming w x h pixels, with a tiny IDAT (decoding would need w*h bytes)."""
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
                     + chunk(b"IEND", b""))


def jpeg_bomb(path: Path) -> None:
    """A JPEG whose SOF0 header claims 65000 x 65000 pixels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 65000, 65000)
    path.write_bytes(bytes(data))


def face(i: int, kind: str = "smiling") -> Path:
    return FRL / "images" / f"{i:03d}_{kind}.jpg"


# ------------------------------------------------------------------------------------------ base assets
def build_base(root: Path, port: int) -> Base:
    b = Base(root=root / "base", port=port)
    b.root.mkdir(parents=True)
    meta = read_csv(FRL / "metadata.csv")
    cols = list(meta[0])

    def subset(name: str, n: int) -> Path:
        ds = b.root / name
        (ds / "images").mkdir(parents=True)
        keep = [r for r in meta if int(r["subject_id"]) <= n]
        with open(ds / "metadata.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(keep)
        for r in keep:
            shutil.copy(FRL / r["image"], ds / r["image"])
        return ds

    b.tiny, b.medium = subset("tiny", 8), subset("medium", 30)
    b.cache_tiny, b.cache_medium = b.root / "cache-tiny", b.root / "cache-medium"
    env = dict(os.environ, FACERISK_DATA_HOME=str(DATA_HOME))
    for ds, cache, name in ((b.tiny, b.cache_tiny, "tiny"), (b.medium, b.cache_medium, "medium")):
        subprocess.run([str(CLI), "run", "--dataset", str(ds), "--reports-dir", str(b.root / "reports"),
                        "--cache-dir", str(cache), "--name", name, "-q", "--workers", "2", "--set",
                        "metrics.bootstrap=20"], check=True, env=env, capture_output=True)
    b.run_tiny, b.run_medium = b.root / "reports" / "tiny", b.root / "reports" / "medium"
    b.bundle = b.root / "tiny.bundle.zip"
    subprocess.run([str(CLI), "bundle", str(b.run_tiny), "--out", str(b.bundle)], check=True, env=env,
                   capture_output=True)
    b.clip = b.root / "clip.mp4"
    make_clip(b.clip, face(1))
    return b


def make_clip(path: Path, src: Path, frames: int = 10) -> None:
    import av
    import numpy as np
    from PIL import Image

    im = Image.open(src).convert("RGB")
    canvas = Image.new("RGB", (480, 360), (90, 90, 90))
    canvas.paste(im, (80, 20))
    arr = np.asarray(canvas)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 480, 360, "yuv420p"
        for _ in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


# ------------------------------------------------------------------------------------ loopback server
MODEL_SIZE = 38696353


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        route = self.path.strip("/").split("/")[0]
        if route == "404":
            self.send_error(404)
        elif route == "wrong":  # right size, wrong bytes
            self.send_response(200)
            self.send_header("Content-Length", str(MODEL_SIZE))
            self.end_headers()
            chunk = b"\x42" * (1 << 20)
            left = MODEL_SIZE
            while left > 0:
                self.wfile.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
        elif route == "short":  # wrong size, complete response
            body = b"not a model"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif route == "trunc":  # promises the whole file, sends 1 MiB, closes
            self.send_response(200)
            self.send_header("Content-Length", str(MODEL_SIZE))
            self.end_headers()
            self.wfile.write(b"\0" * (1 << 20))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif route == "html":
            body = b"<html><body>Sign in to continue</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif route == "redirect":
            self.send_response(302)
            self.send_header("Location", "/404")
            self.end_headers()
        elif route == "loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif route == "slow":  # headers, then a trickle that stalls
            self.send_response(200)
            self.send_header("Content-Length", str(MODEL_SIZE))
            self.end_headers()
            for _ in range(600):
                try:
                    self.wfile.write(b"\0" * 64)
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.5)
        elif route == "huge":  # claims more than the card's size
            self.send_response(200)
            self.send_header("Content-Length", str(10 ** 12))
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"\0" * (1 << 20))
            except OSError:
                return
        elif route == "nolength":  # no Content-Length, a few bytes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\0" * 5000)
            self.close_connection = True
        else:
            self.send_error(500)


def start_server() -> tuple[ThreadingHTTPServer, int]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


# ============================================================================================ attempts
def A(*args, **kw) -> Attempt:
    return Attempt(*args, **kw)


def run_attempt(name: str, category: str, prep: Optional[Callable[[Ctx], Any]] = None, extra=(), **kw) -> Attempt:
    """A ``facerisk run`` on a fresh copy of the tiny set, after ``prep(ctx)`` damaged it."""
    def setup(ctx: Ctx):
        ctx.tiny()
        got = prep(ctx) if prep else None
        ex = list(extra) + (got if isinstance(got, list) else [])
        return ctx.run_argv(*ex)
    return Attempt(name, category, setup=setup, **kw)


def _edit_meta(fn):
    def prep(ctx: Ctx):
        rows = ctx.rows()
        rows = fn(rows) or rows
        ctx.write_rows(rows)
    return prep


def _drop_col(col):
    def fn(rows):
        i = rows[0].index(col)
        return [r[:i] + r[i + 1:] for r in rows]
    return _edit_meta(fn)


def _set_cell(row, col, value):
    def fn(rows):
        rows[row][rows[0].index(col)] = value
    return _edit_meta(fn)


def _replace_image(img: str, writer: Callable[[Path], None]):
    def prep(ctx: Ctx):
        p = ctx.ds / "images" / img
        if p.exists() or p.is_symlink():
            p.unlink()
        writer(p)
    return prep


def dataset_attempts() -> list[Attempt]:
    D = "dataset"
    L: list[Attempt] = []
    L.append(run_attempt("baseline tiny set", D, rc=(0,), check=expect_counts(images=16, genuine=8, impostor=56)))
    for col in ("image", "subject_id", "expression"):
        L.append(run_attempt(f"metadata without column {col}", D, _drop_col(col), mention=(col,), early=True))
    L.append(run_attempt("metadata without the gender attribute", D, _drop_col("gender"), rc=(0,),
                         check=expect_counts(images=16, genuine=8)))

    def only_core(rows):
        keep = [rows[0].index(c) for c in ("image", "subject_id", "expression")]
        return [[r[i] for i in keep] for r in rows]
    L.append(run_attempt("metadata with no attribute columns", D, _edit_meta(only_core), rc=(0, 2),
                         check=expect_counts(images=16, genuine=8)))

    def dup_header(col):
        def fn(rows):
            rows[0][rows[0].index("age")] = col
        return _edit_meta(fn)
    L.append(run_attempt("duplicated column header gender", D, dup_header("gender"), mention=("gender",), early=True))
    L.append(run_attempt("duplicated column header image", D, dup_header("image"), mention=("image",), early=True))
    L.append(run_attempt("empty column header", D, dup_header(""), rc=(0, 2), mention=("column", "header")))

    def header_only(ctx):
        ctx.write_rows(ctx.rows()[:1])
    L.append(run_attempt("header-only metadata.csv", D, header_only, mention=("metadata.csv",), early=True))
    L.append(run_attempt("0-byte metadata.csv", D, lambda c: (c.ds / "metadata.csv").write_bytes(b""),
                         mention=("metadata.csv",), early=True))
    L.append(run_attempt("whitespace-only metadata.csv", D, lambda c: (c.ds / "metadata.csv").write_text(" \n\n  \n"),
                         mention=("metadata.csv",), early=True))

    def blank_lines(ctx):
        rows = ctx.rows()
        text = "\n".join(",".join(r) + ("\n" if i % 3 == 0 else "") for i, r in enumerate(rows)) + "\n"
        (ctx.ds / "metadata.csv").write_text(text)
    L.append(run_attempt("blank lines between rows", D, blank_lines, rc=(0,), check=expect_counts(images=16, genuine=8)))

    def accent(ctx, enc):
        rows = ctx.rows()
        for r in rows[1:]:
            if r[rows[0].index("subject_id")] == "001":
                r[rows[0].index("ethnicity")] = "métis"
        ctx.write_rows(rows, encoding=enc)
    L.append(run_attempt("Latin-1 metadata.csv", D, lambda c: accent(c, "latin-1"), mention=("metadata.csv",),
                         early=True))
    L.append(run_attempt("UTF-16 metadata.csv (BOM)", D, lambda c: accent(c, "utf-16"), rc=(0, 2),
                         mention=("metadata.csv",), check=expect_counts(images=16, genuine=8)))
    L.append(run_attempt("UTF-8 BOM metadata.csv", D, lambda c: accent(c, "utf-8-sig"), rc=(0,),
                         check=expect_counts(images=16, genuine=8)))
    L.append(run_attempt("CRLF metadata.csv", D, lambda c: c.write_rows(c.rows(), newline="\r\n"), rc=(0,),
                         check=expect_counts(images=16, genuine=8)))

    def semicolons(ctx):
        (ctx.ds / "metadata.csv").write_text("\n".join(";".join(r) for r in ctx.rows()) + "\n")
    L.append(run_attempt("semicolon-delimited metadata.csv", D, semicolons, mention=("metadata.csv",), early=True))

    def ragged(ctx):
        rows = ctx.rows()
        rows[3].append("extra")
        ctx.write_rows(rows)
    L.append(run_attempt("row with an extra field", D, ragged, mention=("metadata.csv", "row", "line"), early=True))

    def short_row(ctx):
        rows = ctx.rows()
        rows[3] = rows[3][:3]
        ctx.write_rows(rows)
    L.append(run_attempt("row with missing fields", D, short_row, rc=(0, 2), mention=("row", "metadata.csv")))
    L.append(run_attempt("empty subject_id", D, _set_cell(2, "subject_id", ""), mention=("row", "subject"), early=True))
    L.append(run_attempt("whitespace subject_id", D, _set_cell(2, "subject_id", "   "), mention=("row", "subject"),
                         early=True))

    def dup_row(rows):
        rows.append(list(rows[1]))
    L.append(run_attempt("duplicated row", D, _edit_meta(dup_row), mention=("row", "duplicate"), early=True))

    def same_image_two_people(rows):
        r = list(rows[1])
        r[rows[0].index("subject_id")] = "999"
        r[rows[0].index("expression")] = "smiling"
        rows.append(r)
    L.append(run_attempt("one image listed for two people", D, _edit_meta(same_image_two_people),
                         mention=("row", "image"), early=True))
    L.append(run_attempt("a person's gender disagrees across images", D, _set_cell(1, "gender", "male"),
                         mention=("row", "gender", "subject"), early=True))

    def outside_file(ctx):
        shutil.copy(face(1), ctx.inp / "outside.jpg")
    L.append(run_attempt("image path ../ escaping the folder", D,
                         lambda c: (outside_file(c), _set_cell(1, "image", "images/../../outside.jpg")(c)),
                         mention=("row", "outside", "folder"), early=True))
    L.append(run_attempt("absolute image path", D, _set_cell(1, "image", str(face(1))),
                         mention=("row", "outside", "absolute", "folder"), early=True))
    L.append(run_attempt("image path /etc/passwd", D, _set_cell(1, "image", "/etc/passwd"),
                         mention=("row", "outside", "absolute", "folder"), early=True))
    L.append(run_attempt("image path with NUL", D, _set_cell(1, "image", "images/001\0_neutral.jpg"),
                         mention=("row", "control", "character"), early=True))
    L.append(run_attempt("image path with newline", D, _set_cell(1, "image", "images/001\n_neutral.jpg"),
                         mention=("row", "control", "character"), early=True))
    L.append(run_attempt("symlink out to a face photo", D,
                         _replace_image("001_smiling.jpg", lambda p: p.symlink_to(face(1))), rc=(0,),
                         check=expect_counts(images=16, genuine=8, fta=0)))
    L.append(run_attempt("symlink out to /etc/passwd", D,
                         _replace_image("001_smiling.jpg", lambda p: p.symlink_to("/etc/passwd")),
                         mention=("001_smiling",)))
    L.append(run_attempt("symlink to /dev/zero", D,
                         _replace_image("001_smiling.jpg", lambda p: p.symlink_to("/dev/zero")),
                         mention=("001_smiling",), timeout=90))
    L.append(run_attempt("dangling symlink", D,
                         _replace_image("001_smiling.jpg", lambda p: p.symlink_to("/nonexistent/x.jpg")),
                         mention=("001_smiling",), early=True))

    def loop(p: Path):
        p.symlink_to(p.name + ".b")
        (p.parent / (p.name + ".b")).symlink_to(p.name)
    L.append(run_attempt("symlink loop", D, _replace_image("001_smiling.jpg", loop), mention=("001_smiling",),
                         early=True))

    def images_dir_link(ctx):
        shutil.move(str(ctx.ds / "images"), str(ctx.inp / "elsewhere"))
        (ctx.ds / "images").symlink_to(ctx.inp / "elsewhere")
    L.append(run_attempt("images/ a symlink to a folder outside", D, images_dir_link, rc=(0,),
                         check=expect_counts(images=16, genuine=8)))
    L.append(run_attempt("missing image file", D, lambda c: (c.ds / "images" / "003_smiling.jpg").unlink(),
                         mention=("003_smiling",), early=True))

    def many_missing(rows):
        for i in range(2000):
            rows.append([f"images/missing_{i}.jpg", f"m{i}", "neutral" if i % 2 else "smiling", "30", "male", "white"])
    L.append(run_attempt("2,000 rows naming missing files", D, _edit_meta(many_missing), mention=("missing",),
                         early=True))
    L.append(run_attempt("image path is a folder", D,
                         _replace_image("002_smiling.jpg", lambda p: p.mkdir()), mention=("002_smiling",), early=True))
    L.append(run_attempt("image path is a FIFO", D,
                         _replace_image("002_smiling.jpg", lambda p: os.mkfifo(p)), mention=("002_smiling",),
                         timeout=90))

    def rename_to(new):
        def prep(ctx):
            os.rename(ctx.ds / "images" / "004_smiling.jpg", ctx.ds / "images" / new)
            _set_cell([r[0] for r in ctx.rows()].index("images/004_smiling.jpg"), "image", f"images/{new}")(ctx)
        return prep
    L.append(run_attempt("unicode file name", D, rename_to("ünïcödé 004.jpg"), rc=(0,),
                         check=expect_counts(images=16, genuine=8, fta=0)))
    L.append(run_attempt("file name with spaces and quotes", D, rename_to("it's \"004\" smile.jpg"), rc=(0,),
                         check=expect_counts(images=16, genuine=8, fta=0)))
    L.append(run_attempt("dot segments in an image path", D, _set_cell(1, "image", "./images/./001_neutral.jpg"),
                         rc=(0,), check=expect_counts(images=16, genuine=8)))

    def ids(new: dict):
        def fn(rows):
            c = rows[0].index("subject_id")
            for r in rows[1:]:
                r[c] = new.get(r[c], r[c])
        return _edit_meta(fn)

    def distinct_subjects(n):
        def check(ctx, res):
            if res.rc != 0:
                return []
            got = counts(ctx.reports / "r")
            return [f"silent wrong number: {k}={got[k]}, expected {v}" for k, v in
                    (("subjects", n), ("genuine", n)) if got[k] != v]
        return check
    L.append(run_attempt("subject ids 1, 01, 1.0, 001 are four people", D,
                         ids({"001": "1", "002": "01", "003": "1.0", "004": "001"}), rc=(0,),
                         check=distinct_subjects(8)))
    L.append(run_attempt("subject ids NA, null, None, nan", D,
                         ids({"001": "NA", "002": "null", "003": "None", "004": "nan"}), rc=(0, 2),
                         mention=("subject",), check=distinct_subjects(8)))

    def hostile_labels(ctx):
        rows = ctx.rows()
        e, g = rows[0].index("ethnicity"), rows[0].index("gender")
        labels = {"001": "$x^2$ & <b>bold</b>", "002": "<script>alert(1)</script>", "003": 'q"uote\'s',
                  "004": "=HYPERLINK(\"x\")", "005": "a&amp;b", "006": "${HOME}"}
        for r in rows[1:]:
            sid = r[rows[0].index("subject_id")]
            if sid in labels:
                r[e] = labels[sid]
            if sid == "007":
                r[g] = "<img src=x onerror=alert(1)>"
        ctx.write_rows(rows)

    def labels_escaped(ctx, res):
        if res.rc != 0:
            return []
        html = (ctx.reports / "r" / "report.html").read_text()
        probs = []
        for raw in ("<script>alert(1)</script>", "<b>bold</b>", "<img src=x onerror"):
            if raw in html:
                probs.append(f"report.html contains the label unescaped: {raw}")
        groups = (ctx.reports / "r" / "groups.csv").read_text()
        if "$x^2$ & <b>bold</b>" not in groups and '"$x^2$ & <b>bold</b>"' not in groups:
            probs.append("groups.csv lost the label $x^2$ & <b>bold</b>")
        return probs
    L.append(run_attempt("labels with $ < > & quotes and markup", D, hostile_labels, rc=(0,), check=labels_escaped))
    for v in ("abc", "-5"):
        L.append(run_attempt(f"age value {v!r}", D, _edit_meta(lambda rows, v=v: [
            r.__setitem__(rows[0].index("age"), v) for r in rows[1:] if r[rows[0].index("subject_id")] == "001"]
            and None), rc=(0,),
            check=expect_counts(images=16, genuine=8)))

    def keep_subjects(ids_):
        def fn(rows):
            c = rows[0].index("subject_id")
            return [rows[0]] + [r for r in rows[1:] if r[c] in ids_]
        return _edit_meta(fn)
    L.append(run_attempt("single subject", D, keep_subjects({"001"}), rc=(0, 2), mention=("impostor", "subject",
                                                                                              "people", "person")))
    L.append(run_attempt("two subjects", D, keep_subjects({"001", "002"}), rc=(0,),
                         check=expect_counts(images=4, genuine=2, impostor=2)))

    def one_per_subject(rows):
        c = rows[0].index("expression")
        return [rows[0]] + [r for r in rows[1:] if r[c] == "neutral"]
    L.append(run_attempt("one image per subject (no probes)", D, _edit_meta(one_per_subject),
                         mention=("smiling", "probe"), early=True))

    def disjoint_sides(rows):
        s, e = rows[0].index("subject_id"), rows[0].index("expression")
        return [rows[0]] + [r for r in rows[1:] if (int(r[s]) <= 4) == (r[e] == "neutral")]

    def no_genuine_fnmr(ctx, res):
        if res.rc != 0:
            return []
        g = [r for r in read_csv(ctx.reports / "r" / "groups.csv") if r["slice"] == "all"]
        bad = [r["fnmr"] for r in g if r.get("fnmr") not in ("", "nan", "NaN", None)]
        return [f"silent wrong number: FNMR {bad[0]} with no genuine pair"] if bad else []
    L.append(run_attempt("no person on both sides (no genuine pairs)", D, _edit_meta(disjoint_sides), rc=(0, 2),
                         mention=("genuine", "both"), check=no_genuine_fnmr))

    def all_blank(ctx):
        for p in (ctx.ds / "images").iterdir():
            _img(p)

    def all_fta(ctx, res):
        if res.rc != 0:
            return []
        got = counts(ctx.reports / "r")
        return [] if got["fta"] == 16 else [f"silent wrong number: FTA {got['fta']} of 16 blank images"]
    L.append(run_attempt("every image fails detection", D, all_blank, rc=(0, 2), cache="cold",
                         mention=("face", "detect", "acquire"), check=all_fta))

    def half_blank(ctx):
        for p in sorted((ctx.ds / "images").glob("00[1-4]_*.jpg")):
            _img(p)
    L.append(run_attempt("half the images fail detection", D, half_blank, rc=(0,),
                         check=expect_counts(images=16, fta=8)))

    def pinned(ctx):
        import hashlib
        lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
                 for p in sorted((ctx.ds / "images").iterdir())]
        (ctx.ds / "images" / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    L.append(run_attempt("pinned SHA256SUMS, files intact", D, pinned, rc=(0,),
                         check=expect_counts(images=16, genuine=8)))

    def tampered(ctx):
        pinned(ctx)
        shutil.copy(face(70), ctx.ds / "images" / "003_smiling.jpg")
    L.append(run_attempt("pinned set with one probe replaced by another person", D, tampered,
                         mention=("003_smiling",), early=True))
    L.append(run_attempt("replaced probe with allow_modified=true", D, tampered,
                         extra=["--set", "dataset.allow_modified=true"], rc=(0,)))

    def dup_bytes(ctx):
        shutil.copy(ctx.ds / "images" / "001_smiling.jpg", ctx.ds / "images" / "002_smiling.jpg")

    def warned(ctx, res):
        return [] if res.rc != 0 or "warning" in res.out.lower() else ["two people share one photo: no warning"]
    L.append(run_attempt("two people sharing byte-identical photos", D, dup_bytes, rc=(0,), check=warned))
    L.append(A("folder without metadata.csv", D, setup=lambda c: (c.tiny(), (c.ds / "metadata.csv").unlink(),
                                                                   c.run_argv())[2], mention=("metadata.csv",),
               early=True))
    L.append(A("--dataset naming metadata.csv itself", D, setup=lambda c: (c.tiny(), c.run_argv(
        ds=c.ds / "metadata.csv"))[1], rc=(0, 2), mention=("metadata.csv", "folder")))
    L.append(A("--dataset a folder that does not exist", D, setup=lambda c: c.run_argv(ds=c.inp / "nope"),
               mention=("nope",), early=True))
    L.append(A("--dataset unknown card name", D, setup=lambda c: ["run", "--dataset", "no-such-set", "--no-download", "--reports-dir", str(c.reports),
                              "--cache-dir", str(c.cache), "-q"], mention=("no-such-set",), early=True))
    L.append(A("--dataset card name ../x (download outside the data home)", D,
               setup=lambda c: ["run", "--dataset", "../x", "--data-home", str(c.inp / "home"), "--reports-dir",
                                str(c.reports), "--cache-dir", str(c.cache), "-q"], mention=("../x", "x"), early=True))
    L.append(A("metadata.csv is a folder", D, setup=lambda c: (c.tiny(), (c.ds / "metadata.csv").unlink(),
                                                               (c.ds / "metadata.csv").mkdir(), c.run_argv())[3],
               mention=("metadata.csv",), early=True))
    L.append(A("metadata.csv a symlink to /etc/passwd", D, setup=lambda c: (
        c.tiny(), (c.ds / "metadata.csv").unlink(), (c.ds / "metadata.csv").symlink_to("/etc/passwd"),
        c.run_argv())[3], mention=("metadata.csv", "column"), early=True))
    L.append(A("metadata.csv a FIFO", D, setup=lambda c: (c.tiny(), (c.ds / "metadata.csv").unlink(),
                                                          os.mkfifo(c.ds / "metadata.csv"), c.run_argv())[3],
               mention=("metadata.csv",), timeout=60))
    L.append(A("metadata.csv a symlink to /dev/zero", D, setup=lambda c: (
        c.tiny(), (c.ds / "metadata.csv").unlink(), (c.ds / "metadata.csv").symlink_to("/dev/zero"),
        c.run_argv())[3], mention=("metadata.csv",), timeout=60))

    def huge_field(rows):
        rows[1][rows[0].index("ethnicity")] = "x" * 5_000_000
    L.append(run_attempt("a 5 MB label on one of a person's images", D, _edit_meta(huge_field),
                         mention=("row", "ethnicity"), timeout=200))

    def huge_label(rows):
        for r in rows[1:]:
            if r[rows[0].index("subject_id")] == "001":
                r[rows[0].index("ethnicity")] = "x" * 100_000
    L.append(run_attempt("a 100 kB label for one person", D, _edit_meta(huge_label), rc=(0,), timeout=200,
                         check=expect_counts(images=16, genuine=8)))
    L.append(run_attempt("probe value present nowhere", D, extra=["--set", "protocol.probe_value=frowning"],
                         mention=("frowning",), early=True))
    L.append(run_attempt("split column that does not exist", D, extra=["--set", "protocol.split_column=session"],
                         mention=("session",), early=True))
    L.append(run_attempt("subject column that does not exist", D, extra=["--set", "protocol.subject_column=person"],
                         mention=("person",), early=True))
    L.append(run_attempt("protocol all on the tiny set", D, extra=["--set", "protocol.kind=all"], rc=(0,),
                         check=expect_counts(genuine=8, impostor=112)))
    L.append(run_attempt("pairs protocol without a pair list", D, extra=["--set", "protocol.kind=pairs"],
                         mention=("pairs.txt", "pairs_file"), early=True))
    L.append(run_attempt("pairs_file escaping the data set", D, extra=["--set", "protocol.kind=pairs", "--set",
                                                                         "protocol.pairs_file=../../../../etc/passwd"],
                         mention=("pairs_file", "passwd", "outside"), early=True))

    def pairs_csv(lines):
        def prep(ctx):
            (ctx.ds / "pairs.csv").write_text("image_a,image_b,same\n" + "\n".join(lines) + "\n")
            return ["--set", "protocol.kind=pairs", "--set", "protocol.pairs_file=pairs.csv"]
        return prep
    L.append(run_attempt("pair list naming a missing image", D, pairs_csv(["images/001_neutral.jpg,images/nope.jpg,1"]),
                         mention=("nope", "line"), early=True))
    L.append(run_attempt("pair list pairing an image with itself", D,
                         pairs_csv(["images/001_neutral.jpg,images/001_neutral.jpg,1"]), mention=("line", "itself"),
                         early=True))
    L.append(run_attempt("pair list with same=maybe", D, pairs_csv(["images/001_neutral.jpg,images/001_smiling.jpg,maybe"]),
                         mention=("line", "same"), early=True))
    L.append(run_attempt("pair list mislabelled (different people said same)", D,
                         pairs_csv(["images/001_neutral.jpg,images/002_smiling.jpg,1",
                                    "images/003_neutral.jpg,images/003_smiling.jpg,1"]),
                         mention=("line", "label", "subject")))
    L.append(run_attempt("watchlist against itself (shared ids)", D,
                         lambda c: ["--set", "protocol.kind=watchlist", "--set", f"protocol.gallery_dataset={c.ds}",
                                    "--set", "protocol.gallery_column=expression", "--set",
                                    "protocol.gallery_value=neutral"], mention=("gallery", "subject", "share"),
                         early=True))
    return L


def image_attempts() -> list[Attempt]:
    I = "images"
    L: list[Attempt] = []
    T = "005_smiling.jpg"

    def bad(name, writer, mention=(T,), rc=(2,), **kw):
        L.append(run_attempt(name, I, _replace_image(T, writer), rc=rc, mention=mention, **kw))

    def bad_fta(name, writer):
        L.append(run_attempt(name + " (bad_images=fta)", I, _replace_image(T, writer),
                             extra=["--set", "dataset.bad_images=fta"], rc=(0,), check=fta_of(T)))

    for name, writer in (
        ("0-byte image", lambda p: p.write_bytes(b"")),
        ("truncated JPEG", lambda p: p.write_bytes(face(5).read_bytes()[:1500])),
        ("PNG decompression bomb 100000x100000", lambda p: png_bomb(p)),
        ("JPEG header claiming 65000x65000", lambda p: jpeg_bomb(p)),
        ("text file named .jpg", lambda p: p.write_text("hello, I am not a photo\n")),
        ("HTML page named .jpg", lambda p: p.write_text("<html><body><img src=x></body></html>")),
        ("zip archive named .jpg", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "x")),
        ("SVG with an external entity", lambda p: p.write_text(
            '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>')),
        ("JPEG with a corrupted body", lambda p: p.write_bytes(face(5).read_bytes()[:600] + os.urandom(3000))),
    ):
        bad(name, writer, cache="cold")
        if name in ("0-byte image", "truncated JPEG", "PNG decompression bomb 100000x100000"):
            bad_fta(name, writer)
    L.append(run_attempt("1x1 image", I, _replace_image(T, lambda p: _img(p, size=(1, 1), fmt="PNG")),
                         rc=(0, 2), mention=(T,), check=fta_of(T)))
    L.append(run_attempt("16-bit grayscale PNG of a face", I,
                         _replace_image(T, lambda p: _img(p, "I;16", src=face(5))), rc=(0, 2), mention=(T,),
                         check=fta_of(T, ok=True)))
    L.append(run_attempt("CMYK JPEG of a face", I, _replace_image(T, lambda p: _img(p, "CMYK", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("RGBA PNG of a face", I, _replace_image(T, lambda p: _img(p, "RGBA", fmt="PNG", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("palette PNG of a face", I, _replace_image(T, lambda p: _img(p, "P", fmt="PNG", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("greyscale JPEG of a face", I, _replace_image(T, lambda p: _img(p, "L", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("WebP of a face", I, _replace_image(T, lambda p: _img(p, fmt="WEBP", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("BMP of a face", I, _replace_image(T, lambda p: _img(p, fmt="BMP", src=face(5))),
                         rc=(0,), check=fta_of(T, ok=True)))
    L.append(run_attempt("JPEG with trailing garbage", I,
                         _replace_image(T, lambda p: p.write_bytes(face(5).read_bytes() + os.urandom(2000))),
                         rc=(0,), check=fta_of(T, ok=True)))

    def rotated(p: Path):
        from PIL import Image
        im = Image.open(face(5)).rotate(90, expand=True)
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 CW to display upright
        im.save(p, "JPEG", exif=exif)
    L.append(run_attempt("EXIF-rotated JPEG of a face", I, _replace_image(T, rotated), rc=(0,),
                         check=fta_of(T, ok=True)))

    def animated(p: Path):
        from PIL import Image
        a = Image.open(face(5)).convert("P")
        a.save(p, "GIF", save_all=True, append_images=[Image.new("P", a.size)], duration=100)
    L.append(run_attempt("animated GIF", I, _replace_image(T, animated), rc=(0, 2), mention=(T,)))

    def two_faces(p: Path):
        from PIL import Image
        a, b = Image.open(face(5)), Image.open(face(81))
        c = Image.new("RGB", (640, 320))
        c.paste(a, (0, 0))
        c.paste(b, (320, 0))
        c.save(p, "JPEG")

    def multi_checked(ctx, res):
        if res.rc != 0:
            return []
        probs = fta_of(T)(ctx, res)
        if "multi" not in json.dumps(json.loads((ctx.reports / "r" / "results.json").read_text())).lower():
            probs.append("results.json says nothing about multi-face images")
        return probs
    L.append(run_attempt("probe showing two people (default multi_face)", I, _replace_image(T, two_faces), rc=(0,),
                         check=multi_checked))
    L.append(run_attempt("probe showing two people, multi_face=largest (warned)", I, _replace_image(T, two_faces),
                         extra=["--set", "detector.multi_face=largest"], rc=(0,),
                         check=lambda c, r: [] if "warning" in r.out.lower() else ["largest-face choice not warned"]))
    L.append(run_attempt("multi_face=annotated without box columns", I, _replace_image(T, two_faces),
                         extra=["--set", "detector.multi_face=annotated"], mention=("face_left", "annotated", "box"),
                         early=True))
    L.append(run_attempt("max_pixels below the photos' size", I, extra=["--set", "dataset.max_pixels=1000"],
                         mention=("max_pixels", "pixels"), cache="cold"))
    return L


# ----------------------------------------------------------------------------------------------- config
def _fields():
    sys.path.insert(0, str(REPO))
    import dataclasses
    import typing

    from harness import config as hc

    out = []

    def walk(cls, prefix):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                walk(tp, f"{prefix}{f.name}.")
                continue
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin in (typing.Union, getattr(__import__("types"), "UnionType", typing.Union)):
                tp = [a for a in args if a is not type(None)][0]
                origin, args = typing.get_origin(tp), typing.get_args(tp)
            kind = ("literal" if origin is typing.Literal else "list" if origin is list else "dict"
                    if origin is dict else tp.__name__)
            inner = args[0] if origin is list else None
            out.append((f"{prefix}{f.name}", kind, inner))
    walk(hc.RunConfig, "")
    return out


#: Fields where a negative or huge number is meaningful, or that only apply to other backends (their checks
#: are made where they apply, below).
NEG_OK = {"metrics.bins"}
#: Negative values that mean something (a similarity threshold can be below 0 only for cosine; none here).
NEG_ALLOWED: set[str] = set()


def config_attempts() -> list[Attempt]:
    C = "config"
    L: list[Attempt] = []
    wrong = {"str": "[1, 2]", "int": "abc", "bool": "maybe", "float": "abc", "list": "5", "dict": "5",
             "literal": "bogus"}
    n_num = 0
    for key, kind, inner in _fields():
        last = key.rsplit(".", 1)[-1]
        L.append(run_attempt(f"--set {key} wrong type", C, extra=["--set", f"{key}={wrong[kind]}"], mention=(last,),
                             early=True, cache="cold"))
        numeric = kind in ("int", "float") or (kind == "list" and inner in (int, float))
        if not numeric:
            continue
        wrap = (lambda v: f"[{v}]") if kind == "list" else (lambda v: v)
        if key in NEG_OK:
            continue
        # one bad number per numeric key, cycling through the classes so each is met on every kind of key
        label, v = (("NaN", ".nan"), ("negative", "-1"), ("inf", ".inf"), ("10**400", "1" + "0" * 400))[n_num % 4]
        n_num += 1
        L.append(run_attempt(f"--set {key}={label}", C, extra=["--set", f"{key}={wrap(v)}"], mention=(last,),
                             rc=(0, 2) if key in NEG_ALLOWED and label == "negative" else (2,),
                             early=True, cache="cold"))
    # options of other backends, set where they apply
    L.append(run_attempt("detector.tiles=-1 with blazeface", C, extra=["--detector", "blazeface-short", "--set",
                                                                         "detector.tiles=-1"], mention=("tiles",),
                         early=True, cache="cold"))
    L.append(run_attempt("detector.tiles=10**6 with blazeface", C, extra=["--detector", "blazeface-short", "--set",
                                                                            "detector.tiles=1000000"],
                         mention=("tiles",), early=True, cache="cold"))
    L.append(run_attempt("nonmated_sample=-1 with protocol all", C, extra=["--set", "protocol.kind=all", "--set",
                                                                             "protocol.nonmated_sample=-1"],
                         mention=("nonmated_sample",), early=True, cache="cold"))
    L.append(run_attempt("onnx embedder without a model path", C, extra=["--embedder", "onnx"],
                         mention=("path", "model"), early=True, cache="cold"))
    L.append(run_attempt("onnx model path that does not exist", C, extra=["--embedder", "onnx", "--model-path",
                                                                           "/nonexistent/m.onnx"],
                         mention=("m.onnx",), early=True, cache="cold"))
    L.append(run_attempt("onnx model path a text file", C, lambda c: (c.inp / "m.onnx").write_text("hi") and
                         ["--embedder", "onnx", "--model-path", str(c.inp / "m.onnx")], mention=("m.onnx",),
                         cache="cold"))
    L.append(run_attempt("onnx model path /dev/zero", C, extra=["--embedder", "onnx", "--model-path", "/dev/zero"],
                         mention=("/dev/zero",), cache="cold", timeout=90))
    for v in ("dlib-hog,nope",):
        L.append(run_attempt(f"--detector {v}", C, extra=["--detector", v], mention=("nope" if "," in v else v,),
                             early=True, cache="cold"))
    L.append(run_attempt("--embedder unknown", C, extra=["--embedder", "nope"], mention=("nope",), early=True,
                         cache="cold"))
    L.append(run_attempt("--upsample abc (argparse)", C, extra=["--upsample", "abc"], mention=("upsample",)))
    L.append(run_attempt("--workers -1", C, extra=["--workers", "-1"], mention=("workers",), early=True, cache="cold"))
    # config files
    def cfg_file(text, suffix=".yaml", binary=False):
        def prep(ctx):
            p = ctx.inp / f"cfg{suffix}"
            p.write_bytes(text) if binary else p.write_text(text)
            return ["--config", str(p)]
        return prep
    pwn = "PWNED-hostile"

    def not_pwned(ctx, res):
        return [f"config executed code: {p}" for p in ctx.d.rglob(pwn + "*")]
    for name, text in (
        ("!!python/object/apply:os.system", f"metrics: !!python/object/apply:os.system ['touch {pwn}']\n"),
        ("!!python/object/new", f"name: !!python/object/new:subprocess.Popen [['touch', '{pwn}']]\n"),
        ("!!python/name", "name: !!python/name:os.system\n"),
        ("top level a list", "- a\n- b\n"),
        ("section as scalar", "metrics: 5\n"),
        ("unknown top-level key", "nmae: x\n"),
        ("unknown section key", "metrics:\n  target_fmr: [0.01]\n"),
        ("unknown section", "metricz:\n  bootstrap: 5\n"),
        ("unclosed bracket", "metrics:\n  target_fmrs: [0.01\n"),
        ("duplicated key (last would win silently)", "metrics:\n  bootstrap: 5\n  bootstrap: 7\n"),
        ("billion laughs", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                           "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                           "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                           "metrics:\n  target_fmrs: *h\n"),
        ("billion laughs in a valid key", "x: &a [0.01,0.01,0.01,0.01,0.01,0.01,0.01,0.01]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n"
                                          "z: &c [*b,*b,*b,*b,*b,*b,*b,*b]\n"),
        ("deep nesting 100k", "metrics: " + "[" * 100000 + "]" * 100000 + "\n"),
        ("huge integer seed", "seed: " + "9" * 5000 + "\n"),
        ("float 1e999 confidence", "metrics:\n  confidence: 1e999\n"),
        ("name with NUL", 'name: "a\\0b"\n'),
        ("name ../escape", "name: ../escape\n"),
    ):
        L.append(run_attempt(f"config file: {name}", C, cfg_file(text), mention=("cfg.yaml",) + (
            ("name", "nmae", "target_fmr", "metricz", "seed", "confidence", "bootstrap", "base", "metrics", "x", "a")),
            early=True, cache="cold", check=not_pwned, timeout=90))
    L.append(run_attempt("config file: 0 bytes (defaults)", C, cfg_file(""), rc=(0,), check=expect_counts(images=16)))
    L.append(run_attempt("config file: UTF-8 BOM", C, cfg_file("\ufeffmetrics:\n  bootstrap: 10\n"), rc=(0, 2),
                         mention=("cfg.yaml",)))
    L.append(run_attempt("config file: Latin-1", C, cfg_file("name: caf\xe9\n".encode("latin-1"), binary=True),
                         mention=("cfg.yaml",), early=True, cache="cold"))
    L.append(run_attempt("config file: UTF-16", C, cfg_file("name: x\n".encode("utf-16"), binary=True),
                         mention=("cfg.yaml",), early=True, cache="cold"))
    L.append(run_attempt("config file: binary junk", C, cfg_file(os.urandom(4000), binary=True),
                         mention=("cfg.yaml",), early=True, cache="cold"))
    for name, text in (("syntax error", "[metrics\nbootstrap = 5\n"),
                       ("deep nesting", "x = " + "[" * 50000 + "]" * 50000 + "\n"),
                       ("nan", "[metrics]\nconfidence = nan\n"), ("section a scalar", "metrics = 5\n")):
        L.append(run_attempt(f"TOML config: {name}", C, cfg_file(text, ".toml"), mention=("cfg.toml",) + (
            "bootstrap", "bootstrapp", "confidence", "seed", "metrics", "x"), early=True, cache="cold"))
    L.append(run_attempt("--config missing file", C, extra=["--config", "/nonexistent/c.yaml"], mention=("c.yaml",),
                         early=True))
    L.append(run_attempt("--config a folder", C, lambda c: ["--config", str(c.inp)], mention=(str("in"),),
                         early=True))
    L.append(run_attempt("--config /dev/zero", C, extra=["--config", "/dev/zero"], mention=("/dev/zero",),
                         early=True, timeout=60))
    L.append(run_attempt("--config a FIFO", C, lambda c: (os.mkfifo(c.inp / "c.yaml"), ["--config", str(c.inp / "c.yaml")])[1],
                         mention=("c.yaml",), early=True, timeout=60))
    # --set syntax
    for s, m in (("foo", ("foo",)), ("=1", ("=1", "override")), ("metrics.=1", ("metrics",)), (".x=1", ("x",)),
("metrics.target_fmrs=[1e-3", ("target_fmrs",)),
                 (f"metrics.target_fmrs=!!python/object/apply:os.system [touch {pwn}]", ("target_fmrs",)),
                 ("dataset=5", ("dataset",)), ("dataset.name.x=1", ("name", "dataset")),
                 ("metrics.bins.age=[30,18]", ("bins",)), ("metrics.bins.age=[]", ("bins",)),
                 ("metrics.target_fmrs=[1]", ("target_fmrs",)), ("metrics.confidence=1", ("confidence",)),
                 ("metrics.fixed_thresholds=[.nan]", ("fixed_thresholds",)),
                 ("metrics.intersections=[gender]", ("intersections",)), ("protocol.enrol_value=smiling", ("enrol_value", "probe_value")),
                 ("capture.set=5", ("set",)),
                 ("capture.set={subject.distance: abc}", ("distance",)), 
                 ("embedder.jitters=1000000", ("jitters",)), ("metrics.bootstrap=1000000000", ("bootstrap",)),
                 ("workers=1.5", ("workers",))):
        cap = ["--capture", "doorbell-1080p-day"] if s.startswith("capture.") else []  # else: 'needs a preset'
        L.append(run_attempt(f"--set {s[:50]}", C, extra=[*cap, "--set", s], mention=m, early=True, cache="cold",
                             check=not_pwned))
    L.append(run_attempt("targets and fixed thresholds both empty", C, extra=["--set", "metrics.target_fmrs=[]",
                                                                                "--set", "metrics.fixed_thresholds=[]"],
                         mention=("target_fmrs", "fixed_thresholds"), early=True, cache="cold"))
    for s in ("metrics.attributes=[]", "metrics.target_fmrs=[1e-300]", "metrics.intersections=[[gender, nope]]"):
        L.append(run_attempt(f"--set {s} (handled)", C, extra=["--set", s], rc=(0,)))
    # sweeps
    for spec, m in (("distance=0.5:6:0", "distance"), ("distance=6:0.5:0.5", "distance"), ("distance=a:b:c", "distance"),
                    ("=1,2", "sweep"), ("distance=nan,1", "distance"), ("distance=0.5:inf:1", "distance"),
                    ("distance=0.5:1e8:0.000001", "distance"), ("nosuchaxis=1,2", "nosuchaxis"),
                    ("distance=-1,1", "distance"), ("light=-5", "light"), ("bitrate=0", "bitrate")):
        L.append(run_attempt(f"--sweep {spec[:40]}", C, extra=["--sweep", spec], mention=(m, "sweep"), early=True,
                             cache="cold"))
    L.append(run_attempt("--capture unknown preset", C, extra=["--capture", "no-such-camera"],
                         mention=("no-such-camera",), early=True, cache="cold"))
    L.append(run_attempt("--capture preset file with a Python tag", C, lambda c: (
        (c.inp / "cam.yaml").write_text(f"camera: !!python/object/apply:os.system ['touch {pwn}']\n"),
        ["--capture", str(c.inp / "cam.yaml")])[1], mention=("cam.yaml",), early=True, cache="cold", check=not_pwned))
    L.append(run_attempt("--capture preset file not UTF-8", C, lambda c: (
        (c.inp / "cam.yaml").write_bytes(b"camera: \xff\xfe\n"), ["--capture", str(c.inp / "cam.yaml")])[1],
        mention=("cam.yaml",), early=True, cache="cold"))
    L.append(run_attempt("capture.set unknown parameter", C, extra=["--capture", "doorbell-1080p-day", "--set",
                                                                      "capture.set={subject.nose: 3}"],
                         mention=("nose",), early=True, cache="cold"))
    L.append(run_attempt("capture.set negative distance", C, extra=["--capture", "doorbell-1080p-day", "--set",
                                                                      "capture.set={subject.distance: -3}"],
                         mention=("distance",), early=True, cache="cold"))
    L.append(run_attempt("--scheduler with nothing listening", C, extra=["--scheduler", "tcp://127.0.0.1:1"],
                         mention=("127.0.0.1", "scheduler"), cache="cold", timeout=120))
    # run names
    def sentinel(ctx):
        (ctx.d / "x").mkdir()
        (ctx.d / "x" / "keep.txt").write_text("mine")

    def sentinel_intact(ctx, res):
        k = ctx.d / "x" / "keep.txt"
        probs = [] if k.is_file() and k.read_text() == "mine" else ["a folder outside the reports dir was replaced"]
        if (ctx.d / "x" / "results.json").exists() or (ctx.d / "results.json").exists():
            probs.append("a report was written outside the reports dir")
        return probs
    for nm in ("./../x", "../x", "/abs", "a/b", ".", "..", "a\nb", " ", "", "x" * 200, ".hidden", "-rf",
               "../../../../tmp/pwn"):
        L.append(A(f"--name {nm!r}", C, setup=lambda c, nm=nm: (c.tiny(), sentinel(c),
                                                                  c.run_argv(name=nm))[2],
                   rc=(2,) if nm != "" else (0, 2), mention=("name",), early=True, cache="cold",
                   check=sentinel_intact))
    L.append(run_attempt("--reports-dir a file", C, lambda c: (c.inp.joinpath("f").write_text("x"),
                                                               ["--reports-dir", str(c.inp / "f")])[1],
                         mention=("reports",), early=True, cache="cold"))
    L.append(run_attempt("--cache-dir a file", C, lambda c: (c.inp.joinpath("f").write_text("x"),
                                                             ["--cache-dir", str(c.inp / "f")])[1],
                         mention=("cache",), early=True, cache="cold"))
    L.append(run_attempt("existing non-facerisk folder with the run's name", C,
                         lambda c: (c.reports.joinpath("r").mkdir(), c.reports.joinpath("r", "thesis.tex").write_text("x"),
                                    [])[2], mention=("r",), early=True, cache="cold",
                         check=lambda c, r: [] if (c.reports / "r" / "thesis.tex").is_file() else ["user's folder replaced"]))
    L.append(run_attempt("run name a symlink to the user's folder", C,
                         lambda c: (c.inp.joinpath("mine").mkdir(), c.reports.joinpath("r").symlink_to(c.inp / "mine"),
                                    [])[2], mention=("link", "r"), early=True, cache="cold"))
    return L


# ------------------------------------------------------------------------------------------ score files
def files_attempts() -> list[Attempt]:
    F = "files"
    L: list[Attempt] = []

    def pairs_rows(ctx) -> tuple[list[str], list[list[str]]]:
        with open(ctx.base.run_tiny / "pairs.csv", newline="") as f:
            rows = list(csv.reader(f))
        return rows[0], rows[1:]

    def metrics(prep, rc=(2,), mention=("scores.csv",), acq=True, extra=(), **kw):
        def setup(ctx):
            head, rows = pairs_rows(ctx)
            got = prep(ctx, head, rows)
            p = ctx.inp / "scores.csv"
            if isinstance(got, bytes):
                p.write_bytes(got)
            elif got is not None:
                h, r = got
                with open(p, "w", newline="") as f:
                    csv.writer(f, lineterminator="\n").writerows([h] + r)
            argv = ["metrics", str(p), "--out", str(ctx.out / "m"), "--set", "metrics.bootstrap=20", *extra]
            if acq:
                argv += ["--acquisitions", str(ctx.base.run_tiny / "acquisitions.csv")]
            return argv
        return setup

    def col(head, name):
        return head.index(name)
    score_col = "euclidean"

    def mod_score(v, row_filter=lambda r, h: True, n=1):
        def prep(ctx, h, rows):
            k = 0
            for r in rows:
                if row_filter(r, h) and k < n:
                    r[col(h, score_col)] = v
                    k += 1
            return h, rows
        return prep
    gen = lambda r, h: r[col(h, "genuine")] == "True"  # noqa: E731
    imp = lambda r, h: r[col(h, "genuine")] == "False"  # noqa: E731
    L.append(A("metrics on a run's own pairs.csv", F, setup=metrics(lambda c, h, r: (h, r)), rc=(0,)))
    L.append(A("metrics without --acquisitions", F, setup=metrics(lambda c, h, r: (h, r), acq=False), rc=(0,)))

    def same_numbers(ctx, res):
        if res.rc != 0:
            return []
        m = json.loads((ctx.out / "m" / "metrics.json").read_text())
        g = {(x["slice"], x["threshold_id"]): (x["n_false_match"], x["n_false_non_match"])
             for x in m["groups"] if x["slice"] == "all"}
        r = {(x["slice"], x["threshold_id"]): (int(x["n_false_match"]), int(x["n_false_non_match"]))
             for x in read_csv(ctx.base.run_tiny / "groups.csv") if x["slice"] == "all"}
        return [] if g == r else [f"silent wrong number: metrics gave {g}, the run {r}"]
    L[-2].check = same_numbers
    L.append(A("header-only score file", F, setup=metrics(lambda c, h, r: (h, []))))
    L.append(A("0-byte score file", F, setup=metrics(lambda c, h, r: b"")))
    L.append(A("score file only genuine pairs", F, setup=metrics(lambda c, h, r: (h, [x for x in r if gen(x, h)])),
               mention=("impostor",)))
    L.append(A("score file only impostor pairs", F, setup=metrics(lambda c, h, r: (h, [x for x in r if imp(x, h)])),
               rc=(0, 2), mention=("genuine",)))
    for v in ("inf", "nan", "", "abc", "-0.5"):
        L.append(A(f"score {v!r} in one pair", F, setup=metrics(mod_score(v)), mention=("line", "row", "score",
                                                                                         "euclidean")))
    L.append(A("genuine=True between different subjects", F,
               setup=metrics(lambda c, h, r: (h, [x if i else x[:col(h, 'genuine')] + ['True'] + x[col(h, 'genuine') + 1:]
                                                  for i, x in enumerate(sorted(r, key=lambda x: x[col(h, 'genuine')]))])),
               mention=("genuine", "row", "line")))
    L.append(A("genuine=False for the same subject", F,
               setup=metrics(lambda c, h, r: (h, [x if not gen(x, h) or i else
                                                  x[:col(h, 'genuine')] + ['False'] + x[col(h, 'genuine') + 1:]
                                                  for i, x in enumerate(r)])),
               mention=("genuine", "row", "line")))
    L.append(A("genuine=maybe", F, setup=metrics(lambda c, h, r: (h, [r[0][:col(h, 'genuine')] + ['maybe'] +
                                                                       r[0][col(h, 'genuine') + 1:]] + r[1:])),
               mention=("genuine",)))
    L.append(A("empty probe_subject", F, setup=metrics(lambda c, h, r: (h, [r[0][:col(h, 'probe_subject')] + [''] +
                                                                             r[0][col(h, 'probe_subject') + 1:]] + r[1:])),
               mention=("subject",)))
    for c_ in ("genuine", "euclidean", "probe_subject"):
        L.append(A(f"score file without column {c_}", F, setup=metrics(
            lambda c, h, r, c_=c_: ([x for x in h if x != c_], [[v for k, v in zip(h, x) if k != c_] for x in r])),
            mention=(c_, "score")))
    L.append(A("duplicated pairs", F, setup=metrics(lambda c, h, r: (h, r + r[:3])), mention=("duplicate", "row", "line")))
    L.append(A("duplicated column header", F, setup=metrics(lambda c, h, r: (h[:-1] + [h[0]], r)), mention=(h0 := "column",)))
    L.append(A("one pair only", F, setup=metrics(lambda c, h, r: (h, r[:1])), rc=(0, 2), mention=("impostor", "genuine")))
    L.append(A("score file Latin-1", F, setup=metrics(lambda c, h, r: ("\n".join(",".join(x) for x in [h] + r) + "\n")
                                                       .replace("female", "f\xe9male").encode("latin-1")),
               rc=(2,), mention=("scores.csv",)))
    L.append(A("score file UTF-16", F, setup=metrics(lambda c, h, r: ("\n".join(",".join(x) for x in [h] + r) + "\n")
                                                      .encode("utf-16"))))
    L.append(A("score file UTF-8 BOM", F, setup=metrics(lambda c, h, r: ("\ufeff" + "\n".join(",".join(x) for x in [h] + r)
                                                                         + "\n").encode()), rc=(0,)))
    L.append(A("score file is /dev/zero", F, setup=lambda c: ["metrics", "/dev/zero", "--out", str(c.out / "m")],
               mention=("/dev/zero",), timeout=60))
    L.append(A("score file is a folder", F, setup=lambda c: ["metrics", str(c.inp), "--out", str(c.out / "m")],
               mention=("in",)))
    L.append(A("score file missing", F, setup=lambda c: ["metrics", str(c.inp / "nope.csv"), "--out", str(c.out / "m")],
               mention=("nope.csv",)))
    L.append(A("--score score on a file without it", F, setup=metrics(lambda c, h, r: (h, r), extra=("--score", "score")),
               mention=("score",)))

    def acq_file(text):
        def setup(ctx):
            a = ctx.inp / "acq.csv"
            a.write_text(text(ctx)) if callable(text) else a.write_text(text)
            return ["metrics", str(ctx.base.run_tiny / "pairs.csv"), "--acquisitions", str(a), "--out",
                    str(ctx.out / "m"), "--set", "metrics.bootstrap=20"]
        return setup
    base_acq = lambda c: (c.base.run_tiny / "acquisitions.csv").read_text()  # noqa: E731
    L.append(A("acquisitions header only", F, setup=acq_file(lambda c: base_acq(c).splitlines()[0] + "\n"),
               mention=("acq.csv",)))
    L.append(A("acquisitions empty", F, setup=acq_file(""), mention=("acq.csv",)))
    L.append(A("acquisitions ok=maybe", F, setup=acq_file(lambda c: base_acq(c).replace("True", "maybe", 1)),
               mention=("acq.csv",)))
    L.append(A("acquisitions missing file", F, setup=lambda c: ["metrics", str(c.base.run_tiny / "pairs.csv"),
                                                                "--acquisitions", str(c.inp / "no.csv"), "--out",
                                                                str(c.out / "m")], mention=("no.csv",)))
    L.append(A("acquisitions of other people", F, setup=acq_file(lambda c: base_acq(c).replace(",00", ",99")),
               rc=(2,), mention=("acq.csv", "subject")))
    L.append(A("metrics --out an existing non-facerisk folder", F,
               setup=lambda c: (c.out.joinpath("m").mkdir(), c.out.joinpath("m", "mine.txt").write_text("x"),
                                ["metrics", str(c.base.run_tiny / "pairs.csv"), "--out", str(c.out / "m")])[2],
               mention=("m",), check=lambda c, r: [] if (c.out / "m" / "mine.txt").is_file() else ["user file lost"]))
    L.append(A("metrics --out a file", F, setup=lambda c: (c.out.joinpath("m").write_text("x"),
                                                           ["metrics", str(c.base.run_tiny / "pairs.csv"), "--out",
                                                            str(c.out / "m")])[1], mention=("m",)))
    L.append(A("metrics --set metrics.bootstrap=-1", F, setup=lambda c: ["metrics", str(c.base.run_tiny / "pairs.csv"),
                                                                         "--out", str(c.out / "m"), "--set",
                                                                         "metrics.bootstrap=-1"],
               mention=("bootstrap",)))

    # ingest
    def ingest(labels: Optional[Callable[[Ctx], str | bytes]] = None, clips=None, extra=()):
        def setup(ctx):
            ctx.tiny()
            argv = ["ingest", *(clips(ctx) if clips else [str(ctx.base.clip)]), "--dataset", str(ctx.ds),
                    "--out", str(ctx.out / "ing"), "-q", "--set", f"cache_dir={ctx.cache}", *extra]
            if labels:
                t = labels(ctx)
                p = ctx.inp / "who.csv"
                p.write_bytes(t if isinstance(t, bytes) else t.encode())
                argv += ["--labels", str(p)]
            return argv
        return setup
    ok_labels = "clip,subject_id,gender,ethnicity\nclip.mp4,001,female,white\n"
    L.append(A("ingest a clip with labels", F, setup=ingest(lambda c: ok_labels), rc=(0,), timeout=200))
    for name, text, m in (("empty labels file", "", "who.csv"), ("header-only labels", "clip,subject_id\n", "who.csv"),
                          ("labels Latin-1", ok_labels.replace("white", "m\xe9tis").encode("latin-1"), "who.csv"),
                          ("labels without subject_id", "clip,gender\nclip.mp4,female\n", "subject_id"),
                          ("labels listing a clip twice", ok_labels + "clip.mp4,002,female,white\n", "clip"),
                          ("labels naming a clip not given", "clip,subject_id\nother.mp4,001\n", "other.mp4"),
                          ("labelled person missing from the gallery", "clip,subject_id\nclip.mp4,777\n", "777")):
        L.append(A(f"ingest: {name}", F, setup=ingest(lambda c, t=text: t), mention=(m, "who.csv"), timeout=200))
    L.append(A("ingest: labels with BOM", F, setup=ingest(lambda c: "\ufeff" + ok_labels), rc=(0,), timeout=200))
    L.append(A("ingest: clip missing", F, setup=ingest(clips=lambda c: [str(c.inp / "gone.mp4")]), mention=("gone.mp4",)))
    L.append(A("ingest: clip is a text file", F, setup=ingest(clips=lambda c: (c.inp.joinpath("t.mp4").write_text("x"),
                                                                               [str(c.inp / "t.mp4")])[1]),
               mention=("t.mp4",)))
    L.append(A("ingest: clip 0 bytes", F, setup=ingest(clips=lambda c: (c.inp.joinpath("z.mp4").write_bytes(b""),
                                                                        [str(c.inp / "z.mp4")])[1]), mention=("z.mp4",)))
    L.append(A("ingest: truncated clip", F, setup=ingest(clips=lambda c: (
        c.inp.joinpath("h.mp4").write_bytes(c.base.clip.read_bytes()[:3000]), [str(c.inp / "h.mp4")])[1]),
        rc=(0, 2), mention=("h.mp4",), timeout=200))
    L.append(A("ingest: --every 0", F, setup=ingest(extra=("--every", "0")), mention=("every",)))
    L.append(A("ingest: --out a file", F, setup=lambda c: (c.out.joinpath("ing").write_text("x"), ingest()(c))[1],
               mention=("ing",), timeout=200))
    L.append(A("ingest: --out an existing non-facerisk folder", F,
               setup=lambda c: (c.out.joinpath("ing").mkdir(), c.out.joinpath("ing", "mine.txt").write_text("x"),
                                ingest()(c))[2], mention=("ing",), timeout=200,
               check=lambda c, r: [] if (c.out / "ing" / "mine.txt").is_file() else ["user file lost"]))

    # compare / bundle / verify / diff
    def run_copy(ctx, name="A", src=None) -> Path:
        dst = ctx.inp / name
        shutil.copytree(src or ctx.base.run_tiny, dst)
        return dst

    def cmp_(fn, **kw):
        def setup(ctx):
            a = run_copy(ctx, "A")
            b = run_copy(ctx, "B")
            extra = fn(ctx, a, b)
            extra = extra if isinstance(extra, list) else []  # write_text returns a count, not arguments
            return ["compare", str(a), str(b), "--out", str(ctx.out / "cmp"), "--replicates", "100", *extra]
        return A(kw.pop("name"), F, setup=setup, **kw)
    L.append(cmp_(lambda c, a, b: None, name="compare a run with its copy", rc=(0,)))
    L.append(cmp_(lambda c, a, b: (b / "results.json").write_text('{"schema_version": "1.1", "groups": [1'),
                  name="compare: truncated results.json", mention=("results.json",)))
    L.append(cmp_(lambda c, a, b: (b / "results.json").write_text("[1, 2]"), name="compare: results.json a list",
                  mention=("results.json",)))
    L.append(cmp_(lambda c, a, b: (b / "pairs.csv").unlink(), name="compare: pairs.csv missing", mention=("pairs.csv",)))
    L.append(cmp_(lambda c, a, b: (b / "pairs.csv").write_text("x\n"), name="compare: pairs.csv garbage",
                  mention=("pairs.csv",)))
    L.append(cmp_(lambda c, a, b: shutil.rmtree(b) or b.mkdir(), name="compare: not a run folder", mention=("B",)))
    L.append(cmp_(lambda c, a, b: ["--replicates", "-1"], name="compare --replicates -1", mention=("replicates",)))
    L.append(cmp_(lambda c, a, b: ["--replicates", "1000000000"], name="compare --replicates 1e9",
                  mention=("replicates",)))
    L.append(cmp_(lambda c, a, b: ["--seed", "-1"], name="compare --seed -1", mention=("seed",)))
    L.append(cmp_(lambda c, a, b: ["--exclude-subjects", *[f"{i:03d}" for i in range(1, 9)]],
                  name="compare excluding every subject", mention=("subject", "exclude")))
    L.append(cmp_(lambda c, a, b: (shutil.rmtree(b), shutil.copytree(c.base.run_medium, b)) and None,
                  name="compare runs on different data", mention=("data", "subject", "pairs", "image")))
    L.append(cmp_(lambda c, a, b: (c.out.joinpath("cmp").mkdir(), c.out.joinpath("cmp", "mine.txt").write_text("x"))
                  and None, name="compare --out a non-facerisk folder", mention=("cmp",),
                  check=lambda c, r: [] if (c.out / "cmp" / "mine.txt").is_file() else ["user file lost"]))

    def tamper(fn, name, rc=(1,), mention=(), multiline=True, cmd="verify", **kw):
        def setup(ctx):
            z = ctx.inp / "b.bundle.zip"
            shutil.copy(ctx.base.bundle, z)
            got = fn(ctx, z)  # a helper may return the path to verify; write_bytes/write_text return a count
            return [cmd, str(got if isinstance(got, (str, Path)) else z)]
        return A(name, F, setup=setup, rc=rc, mention=mention, multiline=multiline, **kw)

    def rezip(z: Path, edit: Callable[[dict], dict]) -> None:
        with zipfile.ZipFile(z) as zf:
            members = {i.filename: zf.read(i) for i in zf.infolist()}
        members = edit(members)
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, data in members.items():
                zf.writestr(n, data)

    def first(members, suffix):
        return next(n for n in members if n.endswith(suffix))

    def flip(members, suffix):
        n = first(members, suffix)
        d = bytearray(members[n])
        d[len(d) // 2] ^= 1
        members[n] = bytes(d)
        return members
    L.append(tamper(lambda c, z: None, "verify an untouched bundle", rc=(0,)))
    L.append(tamper(lambda c, z: rezip(z, lambda m: flip(m, "pairs.csv")), "verify: one bit of pairs.csv flipped",
                    mention=("pairs.csv",)))
    L.append(tamper(lambda c, z: rezip(z, lambda m: flip(m, "results.json")), "verify: results.json changed",
                    mention=("results.json",)))
    L.append(tamper(lambda c, z: rezip(z, lambda m: {k: v for k, v in m.items() if not k.endswith("groups.csv")}),
                    "verify: groups.csv removed", mention=("groups.csv",)))
    L.append(tamper(lambda c, z: rezip(z, lambda m: {**m, first(m, "pairs.csv").replace("pairs.csv", "extra.txt"): b"x"}),
                    "verify: an extra file added", mention=("extra.txt",)))

    def consistent(m):  # change a number in groups.csv and re-sign the manifest: only recomputation can tell
        g = first(m, "groups.csv")
        text = m[g].decode().splitlines()
        cells = text[1].split(",")
        idx = text[0].split(",").index("n_false_match")
        cells[idx] = str(int(float(cells[idx])) + 1)
        text[1] = ",".join(cells)
        m[g] = ("\n".join(text) + "\n").encode()
        import hashlib
        man = next(n for n in m if n.lower().endswith("manifest.json"))  # the bundle writes MANIFEST.json
        doc = json.loads(m[man])
        rel = g.split("/", 1)[1] if "/" in g else g
        for k in ("files", "sha256"):
            for key in (g, rel):  # members are listed by their archive name (run/groups.csv)
                if isinstance(doc.get(k), dict) and key in doc[k]:
                    entry = doc[k][key]
                    if isinstance(entry, dict):
                        entry["sha256"] = hashlib.sha256(m[g]).hexdigest()
                        entry["bytes"] = len(m[g])
                    else:
                        doc[k][key] = hashlib.sha256(m[g]).hexdigest()
        # re-sign the fingerprint too (sha256 of the sorted "sha256  name" lines of the run files but report.html)
        run_files = {n.split("/", 1)[1]: hashlib.sha256(b).hexdigest() for n, b in m.items()
                     if n.startswith("run/") and n != "run/report.html"}
        doc["fingerprint"] = hashlib.sha256("".join(f"{h}  {n}\n" for n, h in sorted(run_files.items()))
                                            .encode()).hexdigest()[:16]
        m[man] = json.dumps(doc).encode()
        return m
    L.append(tamper(lambda c, z: rezip(z, consistent), "verify: a count changed and the manifest re-signed",
                    mention=("groups.csv", "n_false_match", "fingerprint")))
    L.append(tamper(lambda c, z: z.write_bytes(z.read_bytes()[: len(z.read_bytes()) // 2]), "verify: truncated zip",
                    rc=(1, 2), mention=("b.bundle.zip",), multiline=False))
    L.append(tamper(lambda c, z: z.write_bytes(b""), "verify: 0-byte bundle", rc=(1, 2), mention=("b.bundle.zip",),
                    multiline=False))
    L.append(tamper(lambda c, z: z.write_text("not a zip"), "verify: not a zip", rc=(1, 2), mention=("b.bundle.zip",),
                    multiline=False))

    def slip(c, z):
        with zipfile.ZipFile(z, "a") as zf:
            zf.writestr("../../../hostile-slip.txt", "escaped")
            zf.writestr("/tmp/hostile-abs.txt", "escaped")
    L.append(tamper(slip, "verify: zip-slip members ../ and /abs", rc=(1, 2), mention=("hostile-slip", "..", "member"),
                    check=lambda c, r: [f"zip member extracted outside: {p}" for p in
                                        (Path("/tmp/hostile-abs.txt"), c.d.parent / "hostile-slip.txt",
                                         c.d / "hostile-slip.txt") if p.exists()]))

    def bomb(c, z):
        with zipfile.ZipFile(z, "a", zipfile.ZIP_DEFLATED) as zf:
            with zf.open("tiny/pairs.csv.bomb", "w", force_zip64=True) as f:  # 2 GiB: zip64 sizes
                chunk = b"\0" * (1 << 20)
                for _ in range(2048):
                    f.write(chunk)
    L.append(tamper(bomb, "verify: a 2 GiB zip bomb member", rc=(1, 2), mention=("bomb", "pairs.csv.bomb"),
                    timeout=240))

    def symlink_member(c, z):
        with zipfile.ZipFile(z, "a") as zf:
            info = zipfile.ZipInfo("tiny/link")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    L.append(tamper(symlink_member, "verify: a symlink member", rc=(1, 2), mention=("link",)))

    def extracted(c, z):
        d = c.inp / "x"
        with zipfile.ZipFile(z) as zf:
            zf.extractall(d)
        p = d / "run" / "pairs.csv"  # the bundle's layout: run/ beside MANIFEST.json and config.json
        p.write_text(p.read_text().replace("True", "False", 1))
        return d
    L.append(tamper(extracted, "verify: extracted bundle folder with pairs.csv edited", mention=("pairs.csv",)))
    L.append(A("bundle a folder that is not a run", F, setup=lambda c: ["bundle", str(c.inp), "--out",
                                                                        str(c.out / "b.zip")], mention=("in",)))
    L.append(A("bundle --out over an existing user file", F,
               setup=lambda c: (c.out.joinpath("thesis.tex").write_text("mine"),
                                ["bundle", str(run_copy(c)), "--out", str(c.out / "thesis.tex")])[1],
               rc=(0, 2), mention=("thesis.tex",),
               check=lambda c, r: [] if (c.out / "thesis.tex").read_text() == "mine" else ["user file overwritten"]))
    L.append(A("bundle --out into a missing folder", F, setup=lambda c: ["bundle", str(run_copy(c)), "--out",
                                                                         str(c.out / "no" / "such" / "b.zip")],
               rc=(0, 2), mention=("no",)))
    L.append(A("bundle a run whose results.json is damaged", F,
               setup=lambda c: (lambda r: ((r / "results.json").write_text("{"), ["bundle", str(r), "--out",
                                                                                 str(c.out / "b.zip")])[1])(run_copy(c)),
               mention=("results.json",)))
    L.append(A("diff a run with itself", F, setup=lambda c: ["diff", str(run_copy(c, "A")), str(run_copy(c, "B"))],
               rc=(0,), check=lambda c, r: [] if "no setting or number differs" in r.out else ["diff of copies differs"]))
    L.append(A("diff against a damaged results.json", F,
               setup=lambda c: (lambda b: ((b / "results.json").write_text("{"), ["diff", str(run_copy(c, "A")),
                                                                                 str(b)])[1])(run_copy(c, "B")),
               mention=("results.json",)))
    L.append(A("diff against a folder that is not a run", F, setup=lambda c: ["diff", str(run_copy(c, "A")), str(c.inp)],
               mention=("in", "results.json")))
    L.append(A("diff tiny vs medium", F, setup=lambda c: ["diff", str(run_copy(c, "A")),
                                                          str(run_copy(c, "B", c.base.run_medium))], rc=(0,)))
    L.append(A("diff --max-lines -1", F, setup=lambda c: ["diff", str(run_copy(c, "A")), str(run_copy(c, "B")),
                                                          "--max-lines", "-1"], mention=("max-lines",)))

    # models fetch against a loopback server
    def fetch(route, rc=(2,), mention=(), dest=True, extra=(), **kw):
        def setup(ctx):
            url = route if "://" in route else f"http://127.0.0.1:{ctx.base.port}/{route}/m.onnx"
            return ["models", "fetch", "opencv-sface-2021dec", "--url", url, "-q",
                    *(["--dest", str(ctx.out / "models")] if dest else []), *extra]

        def no_partial(ctx, res):
            d = ctx.out / "models"
            left = [p.name for p in d.iterdir()] if d.is_dir() else []
            return [f"download left files behind: {left}"] if left and res.rc != 0 else []
        return A(f"models fetch: {route}", F, setup=setup, rc=rc, mention=mention or ("127.0.0.1", route),
                 check=no_partial, **kw)
    L.append(fetch("wrong", mention=("sha256",), timeout=120))
    L.append(fetch("short", mention=("bytes", "size", "truncated")))
    L.append(fetch("trunc", mention=("truncated",), timeout=120))
    L.append(fetch("404", mention=("404",)))
    L.append(fetch("html", mention=("bytes", "size", "html")))
    L.append(fetch("redirect", mention=("404",)))
    L.append(fetch("huge", mention=("size", "bytes")))
    L.append(fetch("nolength", mention=("bytes", "size", "truncated")))
    L.append(fetch("file:///etc/passwd", mention=("passwd", "file")))
    L.append(fetch("not a url", mention=("not a url", "url")))
    L.append(A("models fetch: unknown card", F, setup=lambda c: ["models", "fetch", "no-such-model", "--dest",
                                                                 str(c.out / "models")], mention=("no-such-model",)))
    L.append(A("models fetch: card without sha256 and no --no-verify", F,
               setup=lambda c: ["models", "fetch", "insightface-buffalo-s", "--accept-licence", "--url",
                                f"http://127.0.0.1:{c.base.port}/short/x.zip", "--dest", str(c.out / "models")],
               rc=(2,), mention=("sha256", "verify")))
    L.append(A("models fetch: --dest a file", F, setup=lambda c: (c.out.joinpath("models").write_text("x"),
                                                                  ["models", "fetch", "opencv-sface-2021dec", "--url",
                                                                   f"http://127.0.0.1:{c.base.port}/404/m", "--dest",
                                                                   str(c.out / "models")])[1], mention=("models",)))
    return L


# ------------------------------------------------------------------------------------------------ faults
def _wait(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return True
        time.sleep(step)
    return False


def _medium(ctx: Ctx, cold=True) -> Path:
    ds = ctx.inp / "medium"
    shutil.copytree(ctx.base.medium, ds)
    if not cold:
        shutil.copytree(ctx.base.cache_medium, ctx.cache, dirs_exist_ok=True)
    return ds


def _medium_argv(ctx: Ctx, ds: Path, workers="2", name="r", reports=None, cache=None, *extra) -> list[str]:
    return ["run", "--dataset", str(ds), "--reports-dir", str(reports or ctx.reports), "--cache-dir",
            str(cache or ctx.cache), "--name", name, "-q", "--workers", workers, "--set", "metrics.bootstrap=20",
            *extra]


def interrupt_then_resume(sig: int, when: str, expect_rc: tuple[int, ...], scheduler: bool = False):
    """Start a medium run (cold cache), deliver ``sig`` during acquisition or report writing, check the message,
    leftovers and processes, then rerun and compare with the uninterrupted run."""
    def runner(ctx: Ctx) -> Result:
        # acquisition: the medium set from a cold cache (long enough to interrupt); report writing: the tiny set
        # with a warm cache (acquisition is instant, the report takes seconds)
        if when == "acquisition":
            ds, ref = _medium(ctx), ctx.base.run_medium
        else:
            ds, ref = ctx.tiny("tiny"), ctx.base.run_tiny  # named as the reference run's set
            shutil.copytree(ctx.base.cache_tiny, ctx.cache, dirs_exist_ok=True)
        extra = ["--scheduler", "local"] if scheduler else []
        p = Proc(ctx, _medium_argv(ctx, ds, "2", "r", None, None, *extra), tag="-1")
        pid = p.pid()
        probs = []
        if when == "acquisition":
            ok = _wait(lambda: len(_marked(ctx.marker)) >= (5 if scheduler else 4) and any(ctx.cache.rglob("*.npz")),
                       120)
        else:  # report writing: the run's hidden temporary folder has appeared
            ok = _wait(lambda: any(e.name.startswith(".r.") for e in ctx.reports.iterdir()), 240, 0.005)
        if not ok:
            probs.append(f"setup: never reached {when}")
        p.signal(sig)
        r1 = p.finish(240)
        r1.leftover = leftover_processes(ctx)
        if r1.rc not in expect_rc:
            probs.append(f"interrupted run: exit {r1.rc}, expected {expect_rc}")
        if sig != signal.SIGKILL:
            lines = [ln for ln in r1.err.splitlines() if ln.strip()]
            if len(lines) != 1 or "Traceback" in r1.err:
                probs.append(f"interrupted run: stderr not one line: {lines[:3]}")
            if (ctx.reports / "r").exists():
                probs.append("interrupted run left a report folder")
            probs += leftovers_in(ctx.reports)
        probs += [f"interrupted run: process left behind: {x}" for x in r1.leftover]
        probs += [f"interrupted run wrote outside: {w}" for w in r1.writes]
        r2 = Proc(ctx, _medium_argv(ctx, ds), tag="-2").finish(300)
        r2.leftover = leftover_processes(ctx)
        r2.writes = sorted(set(r2.writes) | set(r1.writes))
        r2.problems = probs
        if r2.rc == 0:
            r2.problems += same_results(ref / "results.json", ctx.reports / "r" / "results.json")
        return r2
    return runner


def fault_attempts() -> list[Attempt]:
    X = "faults"
    L: list[Attempt] = []
    for sig, rc in ((signal.SIGINT, (130,)), (signal.SIGTERM, (143,)), (signal.SIGKILL, (137, -9))):
        for when in ("acquisition", "report"):
            L.append(A(f"{signal.Signals(sig).name} during {when}, then rerun", X, rc=(0,), cache="cold",
                       runner=interrupt_then_resume(sig, when, rc), timeout=600))
    L.append(A("SIGTERM during --scheduler local (Dask), then rerun", X, rc=(0,), cache="cold",
               runner=interrupt_then_resume(signal.SIGTERM, "acquisition", (143,), scheduler=True), timeout=600))

    def dask_complete(ctx: Ctx) -> Result:
        ds = ctx.tiny("tiny")  # named as the base run's data set, so the two results name the same one
        r = invoke(ctx, _medium_argv(ctx, ds, "2", "r", None, None, "--scheduler", "local"), timeout=300)
        if r.rc == 0:
            r.problems += same_results(ctx.base.run_tiny / "results.json", ctx.reports / "r" / "results.json")
        return r
    L.append(A("--scheduler local (Dask) run to completion", X, rc=(0,), cache="cold", runner=dask_complete,
               timeout=300))

    # damaged cache entries: the tiny set with its warm cache, one class of damage each
    def cache_damage(how):
        def runner(ctx: Ctx) -> Result:
            ds = ctx.tiny("tiny")  # named as the reference run's set
            shutil.copytree(ctx.base.cache_tiny, ctx.cache, dirs_exist_ok=True)
            entries = sorted(ctx.cache.rglob("*.npz"))
            for i, e in enumerate(entries[:5]):
                data = e.read_bytes()
                if how == "truncated":
                    e.write_bytes(data[: len(data) // 2])
                elif how == "zero-length":
                    e.write_bytes(b"")
                elif how == "bit-flipped":
                    b = bytearray(data)
                    b[len(b) // 2] ^= 0x10
                    e.write_bytes(bytes(b))
                elif how == "swapped with another entry":
                    other = entries[-1 - i]
                    e.write_bytes(other.read_bytes())
                elif how == "garbage":
                    e.write_bytes(os.urandom(len(data)))
                elif how == "a folder":
                    e.unlink()
                    e.mkdir()
                elif how == "a symlink to /etc/passwd":
                    e.unlink()
                    e.symlink_to("/etc/passwd")
                elif how == "temp files of a killed writer":
                    (e.parent / f".{e.name}.x1.tmp").write_bytes(data[:100])
            r = invoke(ctx, _medium_argv(ctx, ds), timeout=400)
            if r.rc == 0:
                said = None if how == "temp files of a killed writer" else r"damaged cache entr.* removed and recomputed"
                r.problems += same_results(ctx.base.run_tiny / "results.json", ctx.reports / "r" / "results.json",
                                           said)
            return r
        return runner
    for how in ("truncated", "zero-length", "bit-flipped", "garbage", "swapped with another entry", "a folder",
                "a symlink to /etc/passwd", "temp files of a killed writer"):
        L.append(A(f"cache entries {how}", X, rc=(0,), cache="cold", runner=cache_damage(how), timeout=400))

    def ro(kind):
        def runner(ctx: Ctx) -> Result:
            ctx.tiny()
            mnt = ctx.mount_tmpfs("ro", "2m")
            if kind == "cache":
                shutil.copytree(ctx.base.cache_tiny, mnt / "cache")
            (mnt / "reports").mkdir()
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            argv = ctx.run_argv()
            if kind == "reports":
                argv[argv.index("--reports-dir") + 1] = str(mnt / "reports")
            elif kind == "cache":
                argv[argv.index("--cache-dir") + 1] = str(mnt / "cache")
            elif kind == "metrics-out":
                argv = ["metrics", str(ctx.base.run_tiny / "pairs.csv"), "--out", str(mnt / "m")]
            elif kind == "bundle-out":
                argv = ["bundle", str(ctx.base.run_tiny), "--out", str(mnt / "b.zip")]
            elif kind == "ingest-out":
                argv = ["ingest", str(ctx.base.clip), "--dataset", str(ctx.ds), "--out", str(mnt / "i"), "-q",
                        "--set", f"cache_dir={ctx.cache}"]
            elif kind == "models-dest":
                argv = ["models", "fetch", "opencv-sface-2021dec", "--url", f"http://127.0.0.1:{ctx.base.port}/404/m",
                        "--dest", str(mnt / "models")]
            elif kind == "compare-out":
                argv = ["compare", str(ctx.base.run_tiny), str(ctx.base.run_tiny), "--out", str(mnt / "c"),
                        "--replicates", "100"]
            t0 = time.time()
            r = invoke(ctx, argv, timeout=200)
            if kind in ("reports",) and r.wall > 60:
                r.problems.append(f"read-only {kind} found only after {r.wall:.0f} s")
            del t0
            return r
        return runner
    for kind, m in (("reports", "reports"), ("cache", "cache"), ("metrics-out", "m"), ("bundle-out", "b.zip"),
                    ("ingest-out", "i"), ("models-dest", "models"), ("compare-out", "c")):
        L.append(A(f"read-only {kind} folder (tmpfs ro)", X, rc=(0, 2) if kind == "cache" else (2,), mention=(m, "ro"),
                   runner=ro(kind), allow=("ro",), cache="cold", timeout=240))

    def full(kind):
        def runner(ctx: Ctx) -> Result:
            ctx.tiny()
            if kind == "reports-preflight":
                mnt = ctx.mount_tmpfs("full", "2m")
                return invoke(ctx, ctx.run_argv("--reports-dir", str(mnt)), timeout=120)
            if kind == "cache-fills":
                ds = _medium(ctx)
                mnt = ctx.mount_tmpfs("full", "2m")
                (mnt / "fill").write_bytes(b"\0" * (1600 * 1024))
                r = invoke(ctx, _medium_argv(ctx, ds, "2", "r", None, mnt), timeout=400)
                if r.rc == 0:
                    r.problems += same_results(ctx.base.run_medium / "results.json",
                                               ctx.reports / "r" / "results.json")
                    if "cache" not in r.err.lower() and "cache" not in r.out.lower():
                        r.problems.append("a full cache was not mentioned")
                return r
            # reports: the disk fills while the report is being written
            mnt = ctx.mount_tmpfs("full", "12m")
            p = Proc(ctx, ctx.run_argv("--reports-dir", str(mnt)))
            if _wait(lambda: any(e.name.startswith(".r.") for e in mnt.iterdir()), 120, 0.002):
                try:
                    with open(mnt / "fill", "wb") as f:
                        while True:
                            f.write(b"\0" * (1 << 16))
                except OSError:
                    pass
            r = p.finish(200)
            (mnt / "fill").unlink(missing_ok=True)
            probs = leftovers_in(mnt)
            if r.rc != 0 and (mnt / "r").exists():
                probs.append("full disk left a run folder")
            r.problems += probs
            return r
        return runner
    L.append(A("reports on a 2 MB tmpfs (refused before work)", X, mention=("free", "full"), runner=full("reports-preflight"),
               allow=("full",), cache="cold", early=True))
    L.append(A("cache tmpfs fills up mid-run", X, rc=(0,), runner=full("cache-fills"), allow=("full",), cache="cold",
               timeout=400))
    L.append(A("reports tmpfs fills while the report is written", X, rc=(0, 2), mention=("full", "space", "room"),
               runner=full("reports-mid"), allow=("full",), timeout=240))

    def concurrent(ctx: Ctx) -> Result:
        ds = _medium(ctx)
        a = Proc(ctx, _medium_argv(ctx, ds, "1", "one"), tag="-a")
        b = Proc(ctx, _medium_argv(ctx, ds, "1", "two"), tag="-b")
        ra, rb = a.finish(500), b.finish(500)
        r = rb
        r.problems = []
        if ra.rc != 0:
            r.problems.append(f"first concurrent run: exit {ra.rc}: {ra.err.strip()[-200:]}")
        for nm, rr in (("one", ra), ("two", rb)):
            if rr.rc == 0:
                r.problems += same_results(ctx.base.run_medium / "results.json", ctx.reports / nm / "results.json")
        r.writes = sorted(set(ra.writes) | set(rb.writes))
        r.err = ra.err + rb.err if ra.rc == 0 else rb.err
        return r
    L.append(A("two concurrent runs on one cache", X, rc=(0,), runner=concurrent, cache="cold", timeout=600))

    def same_name_concurrent(ctx: Ctx) -> Result:
        ctx.tiny()
        a = Proc(ctx, ctx.run_argv(), tag="-a")
        b = Proc(ctx, ctx.run_argv(), tag="-b")
        ra, rb = a.finish(300), b.finish(300)
        r = rb
        r.problems = [] if ra.rc == 0 else [f"first run: exit {ra.rc}"]
        r.writes = sorted(set(ra.writes) | set(rb.writes))
        r.err = rb.err
        return r
    L.append(A("two concurrent runs with one name", X, rc=(0,), runner=same_name_concurrent, timeout=400))

    def blocked(mod, argv_fn, **kw):
        def setup(ctx):
            site = ctx.inp / "site"
            site.mkdir()
            (site / "sitecustomize.py").write_text(
                "import sys\n"
                "class _Block:\n"
                "    def find_spec(self, name, path=None, target=None):\n"
                f"        if name == {mod!r} or name.startswith({mod!r} + '.'):\n"
                f"            raise ModuleNotFoundError(f'No module named {{name!r}}', name=name)\n"
                "        return None\n"
                "sys.meta_path.insert(0, _Block())\n")
            ctx.tiny()
            return argv_fn(ctx)
        return A(f"missing package {mod} ({kw.pop('what', 'run')})", X, setup=setup, mention=(mod,),
                 env={"PYTHONPATH": "{site}"}, **kw)
    for mod in ("distributed", "dask"):
        L.append(blocked(mod, lambda c: c.run_argv("--scheduler", "local"), what="run --scheduler local", early=True,
                         cache="cold"))  # a warm cache needs no cluster: nothing to compute
    for mod in ("matplotlib", "scipy", "jinja2", "dlib", "pyarrow"):
        L.append(blocked(mod, lambda c: c.run_argv(), rc=(0, 2) if mod in ("pyarrow",) else (2,)))
    L.append(blocked("av", lambda c: ["ingest", str(c.base.clip), "--dataset", str(c.ds), "--out", str(c.out / "i"),
                                      "-q", "--cache-dir", str(c.cache)], what="ingest", early=True, cache="cold"))
    L.append(blocked("onnxruntime", lambda c: c.run_argv("--embedder", "onnx", "--model-path", str(c.inp / "m.onnx")),
                     what="onnx embedder"))
    L.append(blocked("cv2", lambda c: c.run_argv("--detector", "haar"), what="haar"))
    L.append(blocked("pandas", lambda c: ["metrics", str(c.base.run_tiny / "pairs.csv"), "--out", str(c.out / "m")],
                     what="metrics"))
    return L


# ------------------------------------------------------------------------------------------------- main
def all_attempts() -> list[Attempt]:
    return dataset_attempts() + image_attempts() + config_attempts() + files_attempts() + fault_attempts()


def run_one(root: Path, idx: int, att: Attempt, base: Base) -> dict:
    ctx = Ctx(root, idx, att, base)
    t0 = time.time()
    problems: list[str] = []
    res = Result(rc=-1, out="", err="", wall=0.0)
    argv: list[str] = []
    try:
        att.env = {k: v.format(site=ctx.inp / "site") for k, v in att.env.items()}
        snap_a = snapshot(root)
        before = set(os.listdir(ctx.reports))
        before_out: frozenset = frozenset()
        if att.runner:
            res = att.runner(ctx)
        else:
            argv = list(att.argv)
            if att.setup:
                argv = att.setup(ctx) or argv
            before = set(os.listdir(ctx.reports))
            before_out = frozenset(os.listdir(ctx.out)) if ctx.out.is_dir() else frozenset()
            res = invoke(ctx, argv)
        if not res.leftover:
            res.leftover = leftover_processes(ctx)
        snap_b = snapshot(root)
        problems = judge(ctx, att, res, before, snap_a, snap_b, before_out)
        foreign = snap_diff(snap_a, snap_b)
        seen = set(res.writes)
        unexplained = [f for f in foreign if f[1:] not in seen]
        if unexplained:
            with open(root / "foreign-changes.log", "a") as f:
                f.write(f"{idx} {att.name}: {unexplained[:20]}\n")
    except Exception as exc:  # noqa: BLE001 - the driver's own failure is recorded, not fatal
        import traceback
        problems.append(f"driver error: {type(exc).__name__}: {exc} {traceback.format_exc()[-300:]}")
    finally:
        ctx.cleanup()
    return {"idx": idx, "name": att.name, "category": att.category, "argv": [str(a) for a in argv][:40],
            "rc": res.rc, "wall_s": round(time.time() - t0, 1), "ok": not problems, "problems": problems,
            "stderr": res.err.strip()[-400:], "stdout_tail": res.out.strip()[-200:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="run attempts whose name matches this regex")
    ap.add_argument("--category", help="run these categories (comma list), in that order")
    ap.add_argument("--log", default="hostile-results.jsonl", help="JSON lines log (one record per attempt)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch root")
    ap.add_argument("--list", action="store_true", help="list attempts and exit")
    a = ap.parse_args(argv)
    # A background job of a non-interactive shell starts with SIGINT ignored, and children inherit that: facerisk
    # would never see the Ctrl-C the fault attempts send. A handler (not SIG_IGN) is reset to default on exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    atts = all_attempts()
    cats = a.category.split(",") if a.category else []
    sel = [(i, t) for i, t in enumerate(atts, 1) if (not a.only or re.search(a.only, t.name))
           and (not cats or t.category in cats)]
    if cats:  # in the order given
        sel.sort(key=lambda it: cats.index(it[1].category))
    if a.list:
        for i, t in sel:
            print(f"{i:3d} {t.category:8} {t.name}")
        print(f"{len(sel)} attempts")
        return 0
    for tool in ("strace",):
        if not shutil.which(tool):
            sys.exit(f"retest: {tool} is needed")
    if not (FRL / "metadata.csv").is_file():
        sys.exit(f"retest: frl-london not found under {DATA_HOME}")
    root = Path(tempfile.mkdtemp(prefix="facerisk-hostile-"))
    srv, port = start_server()
    print(f"scratch root {root}; {len(sel)} attempts; building base assets", flush=True)
    venv_before = snapshot_venv()
    base = build_base(root, port)
    results = []
    log = open(a.log, "w")
    try:
        for i, t in sel:
            r = run_one(root, i, t, base)
            results.append(r)
            log.write(json.dumps(r) + "\n")
            log.flush()
            mark = "PASS" if r["ok"] else "FAIL"
            print(f"{mark} {i:3d} [{t.category}] {t.name} (rc {r['rc']}, {r['wall_s']} s)", flush=True)
            for p in r["problems"]:
                print(f"       - {p}", flush=True)
    finally:
        srv.shutdown()
        log.close()
        venv_changed = snap_diff(venv_before, snapshot_venv())
        if venv_changed:
            print(f"virtual environment changed during the re-test: {venv_changed[:10]}")
        if not a.keep:
            subprocess.run(["umount", "-l", *map(str, root.rglob("*"))], capture_output=True) if False else None
            shutil.rmtree(root, ignore_errors=True)
    by = {}
    for r in results:
        c = by.setdefault(r["category"], [0, 0])
        c[0 if r["ok"] else 1] += 1
    print("\ncategory   pass  fail")
    for c, (p, f) in by.items():
        print(f"{c:<10} {p:>4}  {f:>4}")
    n_ok = sum(r["ok"] for r in results)
    print(f"total      {n_ok:>4}  {len(results) - n_ok:>4}   ({len(results)} attempts)")
    return 0 if n_ok == len(results) else 1


def snapshot_venv() -> dict:
    snap = {}
    venv = CLI.parent.parent
    for dirpath, dirnames, filenames in os.walk(venv):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for n in filenames:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            snap[p] = (st.st_mtime_ns, st.st_size)
    return snap


if __name__ == "__main__":
    sys.exit(main())
