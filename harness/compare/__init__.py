"""Compare stage: templates to comparison scores for the protocol's pairs.

Names are imported on first use, so a Dask worker that needs only :mod:`harness.compare.blocks` (numpy
alone) does not import pandas.
"""

__all__ = ["build_pairs", "cosine_similarity", "euclidean_distance"]


_MODULES = ("blocks", "columnar", "pairs", "visits")


def __getattr__(name: str):
    if name in __all__:
        from harness.compare import pairs

        return getattr(pairs, name)
    if name in _MODULES:  # ``compare.columnar`` works without importing it first
        import importlib

        return importlib.import_module(f"harness.compare.{name}")
    raise AttributeError(f"module 'harness.compare' has no attribute {name!r}")
