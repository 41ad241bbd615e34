"""What a doorbell sees behind the visitor in whole-frame captures: a procedural porch.

Deterministic for a (height, width, seed): a wall of horizontal siding with a vertical light
gradient and pixel noise, a door in a white frame with a handle, a lamp and a step. It gives
detectors the edges and texture a real porch has (a flat grey frame would flatter them), with no
face-like structure; it is an assumption of this simulator, not a measured scene.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def _porch(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None, None]
    wall = np.array([186, 176, 160], np.float64) * (0.75 + 0.25 * (1 - y))
    img = np.broadcast_to(wall, (h, w, 3)).copy()
    img += rng.normal(0, 6, (h, w, 1))
    for row in range(0, h, max(8, h // 40)):  # siding boards: faint horizontal lines
        img[row:row + 2] *= 0.9
    dx0, dx1, dy0 = int(0.58 * w), int(0.80 * w), int(0.12 * h)
    img[max(0, dy0 - 12):, max(0, dx0 - 12):dx1 + 12] = [240, 240, 236]  # door frame
    img[dy0:, dx0:dx1] = [92, 52, 38]  # door
    img[int(0.55 * h):int(0.58 * h), dx0 + 10:dx0 + 30] = [200, 170, 60]  # handle
    lx, ly = int(0.50 * w), int(0.25 * h)
    img[ly:ly + h // 12, lx:lx + w // 40] = [60, 60, 60]  # lamp
    img[int(0.92 * h):] = [120, 118, 112]  # step
    out = np.clip(img, 0, 255).astype(np.uint8)
    out.setflags(write=False)  # shared between calls: nobody may draw on it
    return out


def porch(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A plausible porch background, uint8 RGB of ``h`` x ``w`` (read-only; the same array for the same arguments)."""
    return _porch(int(h), int(w), int(seed))
