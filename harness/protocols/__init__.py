"""Protocols: which images are enrolled, which are probes, and which pairs are compared.

A protocol turns a data set (and ``cfg.protocol``) into per-image roles and, once templates exist, a
pair table that every metric, the report and the subject bootstrap read. One module per kind:

- ``split``: an enrolment split against a probe split of one data set (facerisk's default).
- ``pairs``: a fixed pair list (LFW ``pairs.txt``, or CSV ``image_a,image_b,same[,fold]``) with folds.
- ``all``: every image against every other (mated and non-mated comparisons, NIST style).
- ``watchlist``: probes searched against a gallery of other people from another data set.

Backends are named here and imported lazily, like the detector and embedder registries.
"""

from __future__ import annotations

import importlib
import weakref
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.protocols.base import Protocol

REGISTRY: dict[str, tuple[str, str]] = {
    "split": ("harness.protocols.split:SplitProtocol", "enrolment split vs probe split of one data set"),
    "pairs": ("harness.protocols.pairs:PairsProtocol", "a pair list with folds (LFW pairs.txt or CSV)"),
    "all": ("harness.protocols.allpairs:AllPairsProtocol", "every image against every other image"),
    "watchlist": ("harness.protocols.watchlist:WatchlistProtocol",
                  "probes searched against a gallery of other people (FPIR, falsely flagged people)"),
}

_FOR_RUN: dict[int, tuple[weakref.ref, "Protocol"]] = {}


def make(cfg: "RunConfig") -> "Protocol":
    """A fresh protocol object for ``cfg`` (its ``protocol.kind``)."""
    kind = cfg.protocol.kind
    if kind not in REGISTRY:
        raise ConfigError(f"protocol.kind: {kind!r} is not one of {', '.join(map(repr, REGISTRY))}")
    module, cls = REGISTRY[kind][0].split(":")
    return getattr(importlib.import_module(module), cls)(cfg)


def start(cfg: "RunConfig") -> "Protocol":
    """A fresh protocol object for a new run of ``cfg``; :func:`for_run` returns it from then on."""
    proto = make(cfg)
    _FOR_RUN[id(cfg)] = (weakref.ref(cfg), proto)
    return proto


def for_run(cfg: "RunConfig") -> "Protocol":
    """The one protocol object of the run configured by ``cfg`` (created on first use).

    The pair list read when roles are assigned is the one used when pairs are scored, for the clean
    photos, under a capture model and along a sweep alike.
    """
    key = id(cfg)
    hit = _FOR_RUN.get(key)
    if hit is not None and hit[0]() is cfg and hit[1].kind == cfg.protocol.kind:
        return hit[1]
    for k in [k for k, (ref, _) in _FOR_RUN.items() if ref() is None]:
        del _FOR_RUN[k]
    proto = make(cfg)
    _FOR_RUN[key] = (weakref.ref(cfg), proto)
    return proto


__all__ = ["REGISTRY", "for_run", "make", "start"]
