"""Compare stage: templates to comparison scores for the protocol's pairs."""

from harness.compare.pairs import build_pairs, cosine_similarity, euclidean_distance

__all__ = ["build_pairs", "cosine_similarity", "euclidean_distance"]
