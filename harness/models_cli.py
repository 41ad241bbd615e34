"""``facerisk models``: list backends and model cards, fetch, convert and quantise model files.

- ``list``: detector and embedder backends, then every model card: present / fetchable / convertible;
- ``fetch NAME``: download a card's file into the model cache with progress, verify its sha256
  (a mismatch is refused and the download removed), rename it into place atomically;
- ``quantize SRC --to fp16|int8-dynamic|int8-static``: an onnxruntime.quantization variant of an ONNX
  embedder, with a provenance sidecar ``OUT.json`` (int8-static is calibrated on chips of a seeded,
  subject-disjoint calibration split whose subjects the sidecar lists);
- ``convert-dlib``: dlib's ResNet as ONNX (:mod:`harness.embed.dlib_convert`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from harness.errors import FaceriskError

if TYPE_CHECKING:
    import numpy as np


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list detector and embedder backends",
                       description="Backends usable with --detector and --embedder.")
    msub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    msub.add_parser("list", help="list backends and model cards: present, fetchable or convertible")
    _add_fetch_quantize(msub)
    c = msub.add_parser("convert-dlib", help="convert dlib's face recognition ResNet to ONNX",
                        description="Write dlib_face_recognition_resnet_model_v1.dat as an fp32 ONNX model "
                                    "(input: 150x150 RGB chip, NCHW, 0..255; output: 128-d) and print its path.")
    c.add_argument("--out", default=None, metavar="PATH",
                   help="output .onnx file or folder (default: the model cache, $FACERISK_MODELS)")
    c.add_argument("--source", default=None, metavar="DAT", help="the .dat file (default: face_recognition_models')")


def main(args) -> int:
    if args.action == "list":
        return _list()
    if args.action == "fetch":
        return _fetch_cmd(args)
    if args.action == "quantize":
        return _quantize_cmd(args)
    if args.action == "convert-dlib":
        from harness.embed.dlib_convert import convert

        print(convert(args.out, source=args.source))
        return 0
    raise FaceriskError(f"unknown models action {args.action!r}")


def _list() -> int:
    import importlib.util

    from harness import detect, embed
    from harness.modelfiles import dlib_model_dir

    try:
        have = dlib_model_dir().is_dir()
    except FaceriskError:
        have = False
    for kind, backends in (("detector", detect.BACKENDS), ("embedder", embed.BACKENDS)):
        for name, entry in backends.items():
            desc = entry[1] if isinstance(entry, tuple) else entry
            status = "ready" if (not name.startswith("dlib") or have) else "weights missing"
            if kind == "detector":
                status = detect.status(name)
            if name == "onnx":
                status = "ready (needs embedder.path)" if importlib.util.find_spec("onnxruntime") else \
                    "needs onnxruntime"
            print(f"{kind:<9} {name:<15} {status:<28} {desc}")
    home = models_dir()
    print(f"\nmodel cards (model cache: {home}):")
    for card in list_cards_safe():
        status, where = card_status(card, home)
        lic = "non-commercial only" if card.commercial_use is False else \
            "commercial use unclear" if card.commercial_use == "unclear" else "commercial use allowed"
        print(f"card      {card.name:<22} {status:<34} {lic:<24} {where}")
    import json

    for side in sorted(home.glob("*.onnx.json")) if home.is_dir() else []:
        try:
            info = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        model = side.with_name(side.name[:-len(".json")])
        if model.is_file() and isinstance(info, dict) and info.get("precision"):
            print(f"variant   {info['precision']:<22} {'present':<34} {'as ' + str(info.get('card')):<24} {model}")
    return 0


def list_cards_safe():
    from harness.embed.cards import list_cards

    return list_cards()


# ----------------------------------------------------------------------------------------------
# Model cache, card status, fetch and quantize.

def models_dir() -> Path:
    """The user's model cache (``$FACERISK_MODELS`` or the platform cache dir + ``/models``)."""
    from harness.embed.dlib_convert import models_dir as _models_dir

    return _models_dir()


def card_status(card, home: Path) -> tuple[str, str]:
    """(status, path or hint) of one card: present / fetchable / convertible / manual."""
    from harness.modelfiles import dlib_model_dir, sha256_model

    if card.obtain == "package":
        try:
            p = dlib_model_dir() / card.file
        except FaceriskError:
            return "missing (install its package)", card.raw.get("shipped_by", "")
        return ("present (installed package)", str(p)) if p.is_file() else ("missing (reinstall its package)", "")
    p = home / card.file
    if p.is_file():
        if card.sha256:
            ok = sha256_model(p) == card.sha256
            return ("present (sha256 ok)" if ok else "present, sha256 MISMATCH: re-fetch", str(p))
        return "present (no pinned sha256)", str(p)
    if card.obtain == "fetch":
        pinned = card.sha256 or (card.archive or {}).get("sha256")
        return ("fetchable" if pinned else "fetchable (unverified: no sha256)",
                f"facerisk models fetch {card.name}")
    if card.obtain == "convert-dlib":
        try:
            ok = (dlib_model_dir() / "dlib_face_recognition_resnet_model_v1.dat").is_file()
        except FaceriskError:
            ok = False
        return ("convertible" if ok else "not convertible (dlib weights missing)", "facerisk models convert-dlib")
    return "manual (see its card)", str(card.url or card.source or card.path)


def _add_fetch_quantize(msub) -> None:
    f = msub.add_parser("fetch", help="download a model card's file, verifying its sha256",
                        description="Download the file a model card names into the model cache ($FACERISK_MODELS "
                                    "or the user cache), with progress; the sha256 is verified and a mismatch is "
                                    "refused (the download is removed). The file is renamed into place only when "
                                    "verified.")
    f.add_argument("name", help="model card name (see 'facerisk models list')")
    f.add_argument("--dest", metavar="DIR", help="folder to write into (default: the model cache)")
    f.add_argument("--url", metavar="URL", help="download from this URL instead of the card's (a mirror)")
    f.add_argument("--no-verify", action="store_true",
                   help="install a file whose card pins no sha256 (its computed sha256 is printed)")
    f.add_argument("--accept-licence", action="store_true",
                   help="confirm your use complies with a non-commercial licence")
    f.add_argument("--force", action="store_true", help="download again even if the file is present")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    q = msub.add_parser("quantize", help="write an fp16 or int8 variant of an ONNX embedder",
                        description="Quantise an ONNX embedding model with onnxruntime.quantization: fp16 (weights "
                                    "and compute, inputs/outputs kept float32), int8-dynamic, or int8-static (QDQ, "
                                    "per-channel weights, calibrated on aligned chips of a seeded, subject-disjoint "
                                    "calibration split of a dataset). Writes OUT and its provenance sidecar OUT.json.")
    q.add_argument("src", help="the fp32 .onnx file")
    q.add_argument("--to", required=True, choices=["fp16", "int8-dynamic", "int8-static"], dest="precision")
    q.add_argument("--out", metavar="FILE", help="output file (default: beside SRC, SRC-STEM.<precision>.onnx)")
    q.add_argument("--card", metavar="NAME_OR_FILE", help="the source model's card (default: found from SRC)")
    q.add_argument("--calibration", metavar="DATASET", default="frl-london",
                   help="int8-static: dataset card name or folder whose images calibrate (default frl-london)")
    q.add_argument("--calibration-subjects", type=int, default=20, metavar="N",
                   help="int8-static: people drawn (seeded) for calibration; 'facerisk compare' leaves them out")
    q.add_argument("--seed", type=int, default=0, help="seed of the calibration split")
    q.add_argument("--data-home", metavar="DIR", help="folder holding datasets")
    q.add_argument("--detector", default="dlib-hog", help="detector for the calibration faces (default dlib-hog)")
    q.add_argument("--landmarks", default="5", choices=["5", "68"], help="detector landmarks (default 5)")


# --------------------------------------------------------------------------- fetch

TIMEOUT_S = 60


def _download(url: str, dest: Path, expected_size: Optional[int], progress: bool) -> str:
    """Stream ``url`` into ``dest``; return its sha256. FaceriskError for HTTP errors or a short download."""
    import hashlib
    import http.client
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    h = hashlib.sha256()
    got = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 - URL from a card or the user
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else expected_size
            with open(dest, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=dest.name.lstrip("."),
                                               disable=not progress) as bar:
                while True:
                    chunk = resp.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            if length and length.isdigit() and got != int(length):
                raise FaceriskError(f"{url}: download truncated ({got} of {length} bytes); try again or pass --url MIRROR")
    except urllib.error.HTTPError as exc:
        raise FaceriskError(f"{url}: HTTP {exc.code} {exc.reason}; the file may have moved: pass --url MIRROR, or "
                            "download it yourself into the model cache") from None
    except http.client.IncompleteRead as exc:
        raise FaceriskError(f"{url}: download truncated ({got + len(exc.partial)} bytes received); try again or pass "
                            "--url MIRROR") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        if isinstance(exc, FaceriskError):
            raise
        reason = getattr(exc, "reason", None) or exc
        raise FaceriskError(f"{url}: download failed ({reason}); check the network or pass --url MIRROR") from None
    if expected_size and got != expected_size:
        raise FaceriskError(f"{url}: got {got} bytes, the card says {expected_size}: truncated or a different file; "
                            "try again or pass --url MIRROR")
    return h.hexdigest()


def fetch_model(card, dest_dir: Path, url: Optional[str] = None, verify: bool = True, accept_licence: bool = False,
                force: bool = False, progress: bool = True) -> tuple[Path, str]:
    """Download ``card``'s file into ``dest_dir``; return (path, sha256).

    The bytes go to a hidden partial file beside the target and are renamed into place only after
    the sha256 check; any failure removes the partial file.
    """
    import hashlib
    import os
    import tempfile
    import zipfile

    if card.obtain != "fetch":
        how = {"convert-dlib": "run 'facerisk models convert-dlib'", "package": "install its package",
               "manual": f"obtain it yourself ({card.url or card.source})"}[card.obtain]
        raise FaceriskError(f"model card {card.name} ({card.path}) is not downloadable: {how}")
    if card.commercial_use is False and not accept_licence:
        raise FaceriskError(f"{card.name} is licensed for non-commercial research only ({card.path}); re-run with "
                            "--accept-licence to confirm your use complies")
    member_sha = card.sha256
    archive = card.archive
    archive_sha = (archive or {}).get("sha256")
    if verify and not member_sha and not archive_sha:
        raise FaceriskError(f"model card {card.name} ({card.path}) pins no sha256, so the download cannot be verified; "
                            "re-run with --no-verify to install it unverified (its sha256 is printed so you can pin it)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / card.file
    if target.is_file() and not force:
        have = hashlib.sha256(target.read_bytes()).hexdigest()
        if not member_sha or have == member_sha:
            return target, have
    src_url = url or (archive["url"] if archive else card.url)
    fd, tmp = tempfile.mkstemp(prefix=f".{card.file}.", suffix=".partial", dir=dest_dir)
    os.close(fd)
    tmp_path = Path(tmp)
    extracted: Optional[Path] = None
    try:
        sha = _download(src_url, tmp_path, None if archive else card.size_bytes, progress)
        if archive:
            if archive_sha and sha != archive_sha:
                raise FaceriskError(f"{src_url}: sha256 {sha} does not match card {card.name}'s archive sha256 "
                                    f"{archive_sha} ({card.path}); the download was removed")
            try:
                with zipfile.ZipFile(tmp_path) as zf:
                    names = [n for n in zf.namelist() if Path(n).name == archive["member"]]
                    if not names:
                        raise FaceriskError(f"{src_url}: the archive has no {archive['member']}; the card "
                                            f"({card.path}) is out of date")
                    fd2, tmp2 = tempfile.mkstemp(prefix=f".{card.file}.", suffix=".partial", dir=dest_dir)
                    extracted = Path(tmp2)
                    h = hashlib.sha256()
                    with zf.open(names[0]) as src, os.fdopen(fd2, "wb") as out:
                        for chunk in iter(lambda: src.read(1 << 20), b""):
                            out.write(chunk)
                            h.update(chunk)
                    sha = h.hexdigest()
            except zipfile.BadZipFile:
                raise FaceriskError(f"{src_url}: not a zip archive (truncated or an error page); the download was "
                                    "removed: try again or pass --url MIRROR") from None
            tmp_path.unlink(missing_ok=True)
            tmp_path, extracted = extracted, None
        if member_sha and sha != member_sha:
            raise FaceriskError(f"{src_url}: sha256 {sha} does not match card {card.name}'s {member_sha} "
                                f"({card.path}); refused and removed: the upstream file changed or the download is "
                                "corrupt (check the source, or pass --url MIRROR)")
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)  # atomic: the final name only ever holds a verified file
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        if extracted is not None:
            extracted.unlink(missing_ok=True)
        raise
    return target, sha


def _fetch_cmd(args) -> int:
    from harness.embed.cards import get_card

    card = get_card(args.name)
    dest = Path(args.dest).expanduser() if args.dest else models_dir()
    path, sha = fetch_model(card, dest, url=args.url, verify=not args.no_verify, accept_licence=args.accept_licence,
                            force=args.force, progress=not args.quiet)
    verified = "verified" if card.sha256 or (card.archive or {}).get("sha256") else "NOT verified (no pinned sha256)"
    print(f"{path}\nsha256 {sha} ({verified})\nlicence: {card.licence.strip()}")
    return 0


# --------------------------------------------------------------------------- quantize

def calibration_split(subjects, n: int, seed: int) -> list[str]:
    """``n`` subject ids drawn without replacement by a seeded generator (sorted)."""
    import numpy as np

    uniq = sorted({str(s) for s in subjects})
    if not 0 < n < len(uniq):
        raise FaceriskError(f"--calibration-subjects {n}: choose between 1 and {len(uniq) - 1} (the dataset has "
                            f"{len(uniq)} people; some must remain for evaluation)")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(uniq, size=n, replace=False).tolist())


def calibration_chips(emb, dataset: str, data_home: Optional[str], n_subjects: int, seed: int, detector: str,
                      landmarks: str) -> tuple[np.ndarray, dict]:
    """Aligned chips of every image of ``n_subjects`` seeded people of ``dataset`` (and what was used)."""
    import numpy as np

    from harness import data, detect
    from harness.data.images import load_rgb

    ds = data.resolve(dataset, home=data_home, download=False)
    subjects = calibration_split(ds.frame["subject_id"], n_subjects, seed)
    rows = ds.frame[ds.frame["subject_id"].astype(str).isin(subjects)]
    det = detect.make(detector, landmarks=landmarks) if detector.startswith("dlib") else detect.make(detector)
    det.load()
    chips, used = [], []
    for img in rows["image"]:
        faces = det.detect(load_rgb(ds.path_of(img)))
        if faces:
            chips.append(emb.align(load_rgb(ds.path_of(img)), max(faces, key=lambda f: f.area)))
            used.append(img)
    if not chips:
        raise FaceriskError(f"no face found in the {len(rows)} calibration images of {dataset}; choose another "
                            "--calibration dataset or --detector")
    info = {"dataset": ds.name, "root": str(ds.root), "seed": seed, "n_subjects": len(subjects),
            "subjects": subjects, "n_images": len(used), "images": used,
            "detector": det.provenance(), "method": "MinMax, per-channel int8 weights, uint8 activations, QDQ",
            "note": "subject-disjoint: 'facerisk compare' leaves these subjects out of both runs"}
    return np.stack(chips), info


def quantize(src: Path, precision: str, out: Optional[Path] = None, card: Optional[str] = None,
             calibration: Optional[dict] = None, chips: Optional[np.ndarray] = None) -> Path:
    """Write the ``precision`` variant of ONNX model ``src`` and its sidecar ``OUT.json``; return OUT.

    ``calibration`` (int8-static): ``{"dataset", "data_home", "subjects", "seed", "detector", "landmarks"}``;
    or pass ``chips`` (N, H, W, 3) uint8 to calibrate on them instead (recorded as caller-provided).
    """
    import json
    import os
    import tempfile

    import onnxruntime as ort

    from harness.cache import atomic_write_text
    from harness.embed.onnx_model import OnnxEmbedder
    from harness.modelfiles import sha256_model
    from harness.provenance import now_utc

    src = Path(src).expanduser()
    emb = OnnxEmbedder(str(src), card=card)
    emb.load()  # validates the file and finds its card (normalisation, alignment)
    if emb.graph["precision"] != "fp32":
        raise FaceriskError(f"{src}: already {emb.graph['precision']}; quantise the fp32 original")
    out = Path(out).expanduser() if out else src.with_name(f"{src.stem}.{precision}.onnx")
    if out.resolve() == src.resolve():
        raise FaceriskError(f"--out {out}: would overwrite the source model; choose another file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial.onnx", dir=out.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    cal_info = None
    import logging

    root = logging.getLogger()
    level = root.level
    # onnxruntime.quantization logs "consider pre-processing" on the root logger at every call
    root.setLevel(logging.ERROR)
    try:
        if precision == "fp16":
            import onnx
            from onnxruntime.transformers.float16 import convert_float_to_float16

            model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
            onnx.save(model, str(tmp_path))
            method = "onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)"
        elif precision == "int8-dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(src), str(tmp_path), weight_type=QuantType.QInt8)
            method = "onnxruntime.quantization.quantize_dynamic(weight_type=QInt8)"
        elif precision == "int8-static":
            from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                                  quantize_static)

            c = calibration or {}
            if chips is None:
                chips, cal_info = calibration_chips(emb, c.get("dataset", "frl-london"), c.get("data_home"),
                                                    int(c.get("subjects", 20)), int(c.get("seed", 0)),
                                                    c.get("detector", "dlib-hog"), str(c.get("landmarks", "5")))
            else:
                cal_info = {"dataset": None, "n_images": int(len(chips)), "subjects": [],
                            "note": "chips provided by the caller (not from a dataset split)"}
            x = emb.preprocess(chips)
            name = emb._input_name

            class _Reader(CalibrationDataReader):
                def __init__(self):
                    self._it = iter([{name: x[i:i + 1]} for i in range(len(x))])

                def get_next(self):
                    return next(self._it, None)

            quantize_static(str(src), str(tmp_path), _Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            calibrate_method=CalibrationMethod.MinMax)
            method = ("onnxruntime.quantization.quantize_static(QDQ, per_channel, weights QInt8, activations QUInt8, "
                      "MinMax)")
        else:
            raise FaceriskError(f"--to {precision}: choose fp16, int8-dynamic or int8-static")
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, out)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    finally:
        root.setLevel(level)
    for leftover in out.parent.glob(f".{out.name}.*"):  # onnxruntime's augmented calibration model
        leftover.unlink(missing_ok=True)
    side = {
        "created_utc": now_utc(), "source": str(src), "source_sha256": sha256_model(src),
        "card": emb.card.name if emb.card else None, "precision": precision, "method": method,
        "onnxruntime": ort.__version__, "sha256": sha256_model(out), "size_bytes": out.stat().st_size,
        "source_size_bytes": src.stat().st_size, "calibration": cal_info,
    }
    atomic_write_text(out.with_name(out.name + ".json"), json.dumps(side, indent=2))
    return out


def _quantize_cmd(args) -> int:
    cal = {"dataset": args.calibration, "data_home": args.data_home, "subjects": args.calibration_subjects,
           "seed": args.seed, "detector": args.detector, "landmarks": args.landmarks}
    out = quantize(Path(args.src), args.precision, Path(args.out) if args.out else None, args.card,
                   cal if args.precision == "int8-static" else None)
    print(out)
    return 0
