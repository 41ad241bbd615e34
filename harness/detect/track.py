"""Turning per-frame detections into visits: IoU tracking and frame quality. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One person's passage: the detections (frame index, detection index) that belong together."""

    id: int
    items: list = field(default_factory=list)  # (frame, det_index, box)
    last_frame: int = -1


def track(boxes_by_frame: list[list], min_iou: float = 0.2, max_gap: int = 5, min_frames: int = 2) -> list[Track]:
    """Greedy IoU tracking. ``boxes_by_frame[f]`` lists frame f's boxes.

    A detection joins the open track whose last box overlaps it most (IoU >= ``min_iou``); a track
    closes after ``max_gap`` frames without a detection; tracks shorter than ``min_frames`` are
    dropped as spurious detections.
    """
    open_tracks: list[Track] = []
    done: list[Track] = []
    next_id = 0
    for f, boxes in enumerate(boxes_by_frame):
        for t in list(open_tracks):
            if f - t.last_frame > max_gap:
                open_tracks.remove(t)
                done.append(t)
        taken = set()
        for d, box in sorted(enumerate(boxes), key=lambda x: -(x[1][2] - x[1][0]) * (x[1][3] - x[1][1])):
            best, best_iou = None, min_iou
            for t in open_tracks:
                if t.id in taken:
                    continue
                v = iou(t.items[-1][2], box)
                if v >= best_iou:
                    best, best_iou = t, v
            if best is None:
                best = Track(next_id)
                next_id += 1
                open_tracks.append(best)
            best.items.append((f, d, tuple(box)))
            best.last_frame = f
            taken.add(best.id)
    done.extend(open_tracks)
    return sorted([t for t in done if len(t.items) >= min_frames], key=lambda t: t.id)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian (higher = sharper) of a grayscale crop."""
    if gray.size == 0 or min(gray.shape) < 3:
        return 0.0
    g = gray.astype(np.float64)
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def frontalness(landmarks: np.ndarray) -> float:
    """1 for a frontal face, falling towards 0 as the nose moves off the eyes' midline (yaw proxy)."""
    lm = np.asarray(landmarks, dtype=float)
    if len(lm) != 5:
        return float("nan")
    right, left, nose = lm[0:2].mean(axis=0), lm[2:4].mean(axis=0), lm[4]
    iod = np.linalg.norm(left - right)
    if iod == 0:
        return 0.0
    mid = (left + right) / 2
    lateral = abs(np.dot(nose - mid, (left - right) / iod))  # nose offset along the eye line
    return float(max(0.0, 1.0 - lateral / (0.5 * iod)))


def quality(iod_px: float, sharp: float, frontal: float) -> float:
    """A heuristic 0..1 ranking score: enough pixels (40 px IOD saturates), sharpness, frontal pose.

    For choosing a visit's best frame; it is not a calibrated quality measure (ISO/IEC 29794-5).
    """
    size = min(1.0, iod_px / 40.0) if iod_px == iod_px else 0.0
    sharp_n = 1.0 - np.exp(-sharp / 100.0)
    front = frontal if frontal == frontal else 0.5
    return float(size * sharp_n * front)
