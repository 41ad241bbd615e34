"""The embedder protocol: turn one detected face into a template vector."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from harness.detect.base import Detection  # the data type only; no detector is called from here


class Embedder(Protocol):
    """Backends implement these four members; see :mod:`harness.embed` for the registry."""

    name: str

    def load(self) -> None:
        """Load weights (called once per worker process)."""

    def embed(self, image: np.ndarray, face: Detection) -> np.ndarray:
        """A 1-D float template for ``face`` in the (H, W, 3) uint8 RGB ``image``."""

    def provenance(self) -> dict[str, Any]:
        """Name, parameters and weight hashes: everything that changes the output."""


__all__ = ["Detection", "Embedder"]
