"""Dataset and model cards, shipped inside the package.

In a built wheel, ``harness._cards.datasets`` and ``harness._cards.models`` hold the repository's
``datasets/*.yaml`` and ``models/*.yaml`` (mapped in setup.py), so an installed facerisk knows its
cards without a checkout. In a checkout (editable install) the loaders read the repository folders.
"""
