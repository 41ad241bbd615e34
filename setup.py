"""Packaging detail pyproject.toml cannot express: the repository's card folders ship inside the package.

``datasets/`` and ``models/`` stay at the top of the repository (the project's fixed layout) and are
installed as ``harness/_cards/datasets`` and ``harness/_cards/models``. Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

CARDS = {"harness._cards.datasets": "datasets", "harness._cards.models": "models"}

setup(
    # Namespace search so data-only folders (report/templates) are packages too: no "would be ignored" banner.
    packages=find_namespace_packages(include=["harness", "harness.*"], exclude=["*.__pycache__", "harness._cards.*"])
    + list(CARDS),
    package_dir=CARDS,
    package_data={
        "harness": ["report/*.json", "degrade/*.yaml", "bench/*.json"],
        "harness.report.templates": ["*.html"],
        **{pkg: ["*.yaml", "*.md"] for pkg in CARDS},
    },
)
