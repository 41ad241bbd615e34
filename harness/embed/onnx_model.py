"""Any ONNX face-embedding model through onnxruntime.

The backend is split in two steps so chips can be batched:

- :meth:`OnnxEmbedder.align` ``(image, face) -> chip``: the (H, W, 3) uint8 RGB chip of the model's
  alignment template (:mod:`harness.embed.align`);
- :meth:`OnnxEmbedder.infer` ``(chips (N, H, W, 3) uint8) -> (N, D)``: colour order, normalisation
  ``(pixel - mean) / std`` and layout, then the graph, ``batch_size`` chips at a time (a graph with a
  fixed batch axis is fed exactly that many, the last batch padded).

``embed(image, face)`` is ``infer(align(image, face)[None])[0]``. How to feed the model comes from its
model card (:mod:`harness.embed.cards`: found by sha256, by file name, or by the ``FILE.json``
sidecar ``facerisk models quantize`` writes; or named with ``card=``), and any option given here
overrides the card. Without a card the old defaults hold: dlib's chip, RGB, (x - 127.5) / 128.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from harness.detect.base import Detection  # the data type only; no detector is called from here
from harness.embed import align as align_mod
from harness.embed.cards import ModelCard, card_for_file, get_card
from harness.errors import ConfigError
from harness.modelfiles import sha256_model

#: Short names accepted for ``provider``; full onnxruntime names are accepted too.
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
GRAPH_OPTIMIZATION = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
                      "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
_INT8_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger",
             "ConvInteger", "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul"}
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}
LEGACY = {"alignment": "dlib-chip", "colour": "RGB", "mean": 127.5, "std": 128.0}


def resolve_provider(name: str) -> str:
    """onnxruntime's name for ``name``, checked against this build's providers (ConfigError if absent)."""
    import onnxruntime as ort

    full = PROVIDERS.get(str(name).lower(), str(name))
    available = ort.get_available_providers()
    if full in available:
        return full
    if full not in PROVIDERS.values() and not full.endswith("ExecutionProvider"):
        raise ConfigError(f"embedder.provider={name}: unknown execution provider; choose one of "
                          f"{', '.join(PROVIDERS)} or a full onnxruntime name (this build has {', '.join(available)})")
    hint = {"CUDAExecutionProvider": "pip install onnxruntime-gpu",
            "TensorrtExecutionProvider": "pip install onnxruntime-gpu and the TensorRT libraries",
            "OpenVINOExecutionProvider": "pip install onnxruntime-openvino",
            "CoreMLExecutionProvider": "run on macOS"}.get(full, "install an onnxruntime build that has it")
    raise ConfigError(f"embedder.provider={name}: {full} is not available in onnxruntime {ort.__version__} "
                      f"(available: {', '.join(available)}); {hint}, or use embedder.provider=cpu")
    return full


def inspect_graph(path: Path) -> dict[str, Any]:
    """Opset, precision and IO of an ONNX file, read with ``onnx`` (weights not converted).

    Raises ConfigError naming the file when it is not a readable ONNX model.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: the bytes are not a model
        raise ConfigError(f"{path}: cannot load: not a readable ONNX model ({type(exc).__name__}: "
                          f"{str(exc)[:100]}); the file is corrupt or truncated: fetch or export it again") from None
    g = model.graph
    if not len(g.node) or not len(g.output):
        raise ConfigError(f"{path}: cannot load: it holds no graph (corrupt, truncated or not an ONNX file); "
                          "fetch or export it again")
    ops = {n.op_type for n in g.node}
    init_types = {t.data_type for t in g.initializer}
    T = onnx.TensorProto
    if ops & _INT8_OPS or init_types & {T.INT8, T.UINT8}:
        precision = "int8"
        quant = "static-qdq" if "QuantizeLinear" in ops and "DynamicQuantizeLinear" not in ops else "dynamic"
    elif T.FLOAT16 in init_types:
        precision, quant = "fp16", None
    else:
        precision, quant = "fp32", None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"opset": opset, "precision": precision, "quantisation": quant, "ir_version": model.ir_version,
            "n_nodes": len(g.node), "producer": f"{model.producer_name} {model.producer_version}".strip()}


def read_sidecar(path: Path) -> Optional[dict[str, Any]]:
    """The provenance sidecar ``FILE.json`` that 'facerisk models quantize' writes, if it describes ``path``.

    A sidecar whose recorded sha256 differs from the file's is ignored (the file was replaced).
    """
    side = path.with_name(path.name + ".json")
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("sha256") not in (None, sha256_model(path)):
        return None
    return data


class OnnxEmbedder:
    """Embeds with an ONNX model file; the first output (N, D) is the template.

    Parameters
    ----------
    path : the .onnx file.
    card : a model card name or YAML file; default: the card matching the file (or none).
    provider : execution provider, ``cpu`` (default), ``cuda``, ``tensorrt``, ``openvino``, ``coreml``
        or a full onnxruntime name; it must be in ``onnxruntime.get_available_providers()``.
    threads : intra-op threads (default 1: the pipeline already runs one process per core).
    batch_size : chips per ``run`` call for a dynamic batch axis.
    graph_optimization : onnxruntime graph optimisation level: disable, basic, extended, all.
    layout, colour, mean, std, alignment, input_size, padding : override the card.
    partial_landmarks : allow an eyes-only arcface-112 alignment from dlib 5-point landmarks.
    jitters : only 1 is supported (jittering is dlib-resnet-v1's).
    """

    def __init__(self, path: Optional[str] = None, card: Optional[str] = None, provider: str = "cpu",
                 threads: int = 1, batch_size: int = 32, graph_optimization: str = "all",
                 layout: Optional[str] = None, colour: Optional[str] = None,
                 mean: Optional[Sequence[float] | float] = None, std: Optional[Sequence[float] | float] = None,
                 alignment: Optional[str] = None, input_size: Optional[Sequence[int]] = None,
                 padding: float = align_mod.DLIB_CHIP_PADDING, partial_landmarks: bool = False, jitters: int = 1):
        self.path = Path(path).expanduser() if path else None
        self.card_name = card
        self.provider = provider
        self.threads = int(threads)
        self.batch_size = int(batch_size)
        self.graph_optimization = graph_optimization
        self._over = {"layout": layout, "colour": colour, "mean": mean, "std": std, "alignment": alignment,
                      "input_size": input_size}
        self.padding = float(padding)
        self.partial = bool(partial_landmarks)
        self.name = f"onnx:{self.path.name}" if self.path else "onnx"
        if int(jitters) != 1:
            raise ConfigError("embedder.jitters > 1 is supported by dlib-resnet-v1 only; set embedder.jitters=1")
        if self.threads < 0:
            raise ConfigError("embedder.threads must be 0 (onnxruntime's default) or more")
        if self.batch_size < 1:
            raise ConfigError("embedder.batch_size must be at least 1")
        if graph_optimization not in GRAPH_OPTIMIZATION:
            raise ConfigError(f"embedder.graph_optimization {graph_optimization!r} is not one of "
                              f"{', '.join(GRAPH_OPTIMIZATION)}")
        self._sess = None
        self.card: Optional[ModelCard] = None

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        """Check the file against its card, open an onnxruntime session, read the IO shapes."""
        if self._sess is not None:
            return
        if self.path is None or not self.path.is_file():
            raise ConfigError(f"embedder.path {self.path!s}: ONNX model file not found (set embedder.path=FILE.onnx "
                              "or --model-path FILE; 'facerisk models list' shows what is installed)")
        self.sha256 = sha256_model(self.path)
        try:  # read with onnx first: a file that is not an ONNX protobuf never reaches onnxruntime
            self.graph = inspect_graph(self.path)
        except ConfigError as exc:
            card = self._card_by_name_only()
            if card is None:
                raise
            how = {"fetch": f"facerisk models fetch {card.name} --force", "convert-dlib": "facerisk models convert-dlib"
                   }.get(card.obtain, f"see {card.path}")
            size = (f"it has {self.path.stat().st_size} bytes, card {card.name} says {card.size_bytes}; "
                    if card.size_bytes and card.size_bytes != self.path.stat().st_size else "")
            raise ConfigError(f"{exc} ({size}to replace it: {how})") from None
        import onnxruntime as ort

        full_provider = resolve_provider(self.provider)
        self.sidecar = read_sidecar(self.path)
        self.card = self._resolve_card()
        if self.card is None and not any(v is not None for v in self._over.values()):
            import logging

            logging.getLogger("facerisk").warning(
                "%s: no model card matches this file; feeding it dlib's chip, RGB, (pixel - 127.5) / 128 "
                "(write a card and pass embedder.card=FILE.yaml if the model expects otherwise)", self.path.name)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, GRAPH_OPTIMIZATION[self.graph_optimization])
        providers = [full_provider] + (["CPUExecutionProvider"] if full_provider != "CPUExecutionProvider" else [])
        try:
            self._sess = ort.InferenceSession(str(self.path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{self.path}: onnxruntime cannot load the model ({first}); the file may be corrupt, "
                              "truncated or need a newer onnxruntime: fetch or export it again") from None
        try:
            used = self._sess.get_providers()
            if used[0] != full_provider:
                raise ConfigError(f"embedder.provider={self.provider}: onnxruntime fell back to {used[0]} for "
                                  f"{self.path.name} ({full_provider} failed to initialise: check its libraries)")
            self._setup_io()
        except ConfigError:
            self._sess = None  # a half-checked model must not look loaded
            raise

    def _card_by_name_only(self) -> Optional[ModelCard]:
        from harness.embed.cards import list_cards

        return next((c for c in list_cards() if c.backend == "onnx" and c.file == self.path.name), None)

    def _resolve_card(self) -> Optional[ModelCard]:
        if self.card_name:
            card = get_card(self.card_name)
        else:
            side = (self.sidecar or {}).get("card")
            card = get_card(side) if side else card_for_file(self.path, self.sha256)
        if card is not None and card.backend != "onnx":
            raise ConfigError(f"embedder.card {card.name} ({card.path}) describes a {card.backend} model, not an ONNX "
                              "file; pass an ONNX model's card")
        return card

    def _setup_io(self) -> None:
        sess, path, card = self._sess, self.path, self.card
        inputs = sess.get_inputs()
        if len(inputs) != 1:
            raise ConfigError(f"{path}: the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                              "an embedder takes one image tensor")
        inp, outs = inputs[0], sess.get_outputs()
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ConfigError(f"{path}: expected a 4-D image input (N, 3, H, W) or (N, H, W, 3), got "
                              f"{inp.name} {shape}: this is not a face-embedding model")
        oshape = list(outs[0].shape)
        if len(oshape) != 2:
            raise ConfigError(f"{path}: expected a 2-D output (N, D) of templates, got {outs[0].name} {oshape}: "
                              "this is not a face-embedding model (or export it with a flattened output)")
        if inp.type not in _ORT_DTYPES:
            raise ConfigError(f"{path}: input {inp.name} is {inp.type}; an image embedder needs a float input")
        static = [d if isinstance(d, int) and d > 0 else None for d in shape]
        spec = card.input if card else None
        layout = self._over["layout"] or (spec.layout if spec else None)
        detected = "NCHW" if static[1] == 3 else "NHWC" if static[3] == 3 else None
        if detected is None and static[1] is not None and static[3] is not None:
            raise ConfigError(f"{path}: input {shape} has no colour axis of size 3 (NCHW or NHWC expected)")
        if layout and detected and layout != detected:
            where = f"card {card.name} ({card.path})" if card and not self._over["layout"] else "embedder.layout"
            raise ConfigError(f"{path}: the model's input {shape} is {detected} but {where} says {layout}; "
                              "pass the right card with embedder.card=NAME_OR_FILE, or correct the card")
        layout = layout or detected or "NCHW"
        hw = (static[2], static[3]) if layout == "NCHW" else (static[1], static[2])
        want = tuple(self._over["input_size"]) if self._over["input_size"] else (spec.size if spec else None)
        if want and all(hw) and tuple(hw) != tuple(want):
            where = f"card {card.name} ({card.path})" if card and not self._over["input_size"] else "input_size"
            raise ConfigError(f"{path}: the model's input {shape} takes {hw[0]}x{hw[1]} chips but {where} says "
                              f"{want[0]}x{want[1]}; pass the right card with embedder.card=NAME_OR_FILE, or "
                              "correct the card")
        size = tuple(int(v) for v in (hw if all(hw) else want or (112, 112)))
        dim = oshape[1] if isinstance(oshape[1], int) and oshape[1] > 0 else None
        if card and card.output_dim and dim and dim != card.output_dim:
            raise ConfigError(f"{path}: the model outputs {dim}-d templates but card {card.name} ({card.path}) says "
                              f"{card.output_dim}; pass the right card with embedder.card=NAME_OR_FILE")
        self._input_name, self._output_name = inp.name, outs[0].name
        self._dtype = _ORT_DTYPES[inp.type]
        self._input_shape = shape
        self._fixed_batch = static[0]
        self._layout, self._size, self._dim = layout, size, dim or (card.output_dim if card else None)
        self._colour = self._over["colour"] or (spec.colour if spec else LEGACY["colour"])
        self._mean = np.asarray(self._triple(self._over["mean"], spec.mean if spec else LEGACY["mean"]), np.float32)
        self._std = np.asarray(self._triple(self._over["std"], spec.std if spec else LEGACY["std"]), np.float32)
        self._alignment = self._over["alignment"] or (card.alignment if card else LEGACY["alignment"])
        if self._alignment not in align_mod.TEMPLATES:
            raise ConfigError(f"embedder alignment {self._alignment!r} is not one of {', '.join(align_mod.TEMPLATES)}")
        if self._colour not in ("RGB", "BGR"):
            raise ConfigError(f"embedder colour {self._colour!r} must be RGB or BGR")

    @staticmethod
    def _triple(value, default) -> list[float]:
        v = default if value is None else value
        return [float(v)] * 3 if np.isscalar(v) else [float(x) for x in v]

    # ------------------------------------------------------------------ the two steps

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the chips :meth:`infer` takes."""
        self.load()
        return self._size

    @property
    def effective_batch(self) -> int:
        """Chips per onnxruntime call: the graph's fixed batch, or ``batch_size``."""
        self.load()
        return self._fixed_batch or self.batch_size

    def align(self, image: np.ndarray, face: Detection) -> np.ndarray:
        """The (H, W, 3) uint8 RGB chip for ``face`` in ``image`` under the model's alignment template."""
        self.load()
        return align_mod.align(image, face, self._alignment, self._size, self.padding, self.partial)

    def preprocess(self, chips: np.ndarray) -> np.ndarray:
        """Chips (N, H, W, 3) uint8 RGB -> the model's input tensor (colour order, normalisation, layout)."""
        x = np.asarray(chips, dtype=np.float32)
        if self._colour == "BGR":
            x = x[..., ::-1]
        x = (x - self._mean) / self._std
        if self._layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=self._dtype)

    def infer(self, chips: np.ndarray) -> np.ndarray:
        """Templates (N, D) float64 for chips (N, H, W, 3) uint8 RGB of size :attr:`input_size`."""
        self.load()
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (*self._size, 3):
            raise ValueError(f"infer needs chips of shape (N, {self._size[0]}, {self._size[1]}, 3), got {chips.shape}")
        n = len(chips)
        if n == 0:
            return np.zeros((0, self._dim or 0))
        b = self.effective_batch
        out = []
        for start in range(0, n, b):
            x = self.preprocess(chips[start:start + b])
            k = len(x)
            if self._fixed_batch and k < b:  # a fixed batch axis takes exactly b: pad, then drop the padding
                x = np.concatenate([x, np.zeros((b - k, *x.shape[1:]), x.dtype)])
            y = self._sess.run([self._output_name], {self._input_name: x})[0]
            out.append(np.asarray(y[:k], dtype=np.float64).reshape(k, -1))
        return np.concatenate(out)

    def embed(self, image: np.ndarray, face: Detection) -> np.ndarray:
        """One template: ``infer(align(image, face)[None])[0]``."""
        return self.infer(self.align(image, face)[None])[0]

    # ------------------------------------------------------------------ provenance

    def _variant(self) -> Optional[dict[str, Any]]:
        """What 'facerisk models quantize' recorded about this file (source, method, calibration people)."""
        side = self.sidecar
        if not side:
            return None
        cal = side.get("calibration")
        return {"precision": side.get("precision"), "method": side.get("method"),
                "source_sha256": side.get("source_sha256"), "source_size_bytes": side.get("source_size_bytes"),
                "calibration": None if not cal else {k: cal.get(k) for k in ("dataset", "seed", "n_subjects",
                                                                            "subjects", "n_images", "method")}}

    def provenance(self) -> dict[str, Any]:
        """Everything that changes the templates (it keys the acquisition cache)."""
        import onnxruntime as ort

        self.load()
        return {
            "name": self.name,
            "library": f"onnxruntime {ort.__version__}",
            "runtime": "onnxruntime",
            "runtime_version": ort.__version__,
            "provider": self._sess.get_providers()[0],
            "graph_optimization": self.graph_optimization,
            "threads": self.threads,
            "opset": self.graph["opset"],
            "precision": self.graph["precision"],
            "quantisation": self.graph["quantisation"],
            "input": {"name": self._input_name, "shape": [d if isinstance(d, int) else str(d) for d in self._input_shape],
                      "dtype": np.dtype(self._dtype).name, "size": list(self._size), "layout": self._layout,
                      "colour": self._colour},
            "input_size": list(self._size),
            "normalisation": {"mean": self._mean.tolist(), "std": self._std.tolist(),
                              "formula": "(pixel - mean) / std, per channel in the input's colour order"},
            "batch_size": self.effective_batch,
            "batch_axis": "dynamic" if self._fixed_batch is None else int(self._fixed_batch),
            "dim": self._dim,
            "alignment": align_mod.describe(self._alignment, self._size, self.padding, self.partial),
            "card": self.card.summary() if self.card else None,
            "variant": self._variant(),
            "weights": {self.path.name: self.sha256},
            "file_size_bytes": self.path.stat().st_size,
        }
