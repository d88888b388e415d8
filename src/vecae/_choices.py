"""The enumerations that the library and the command line share, each defined once.

Each is a ``Literal`` type (what the library's signatures and the CLI's typer options use) and
the tuple of its values (what validation and error messages use). The module imports nothing
heavy, so the command line can read it at start-up.

Examples
--------
>>> METRICS
('cosine', 'l2')
>>> "feature" in SCALE_MODES
True
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["INDEX_KINDS", "METRICS", "SCALE_MODES", "IndexKind", "Metric", "ScaleMode"]

Metric = Literal["cosine", "l2"]
"""Similarity of vectors: cosine, or (negative) Euclidean distance."""
METRICS: tuple[str, ...] = get_args(Metric)

ScaleMode = Literal["none", "global", "feature"]
"""Input scaling of the dense models: none, one global standard deviation, or per feature."""
SCALE_MODES: tuple[str, ...] = get_args(ScaleMode)

IndexKind = Literal["flat", "hnsw", "ivf"]
"""FAISS index structure: exact, HNSW graph, or inverted lists."""
INDEX_KINDS: tuple[str, ...] = get_args(IndexKind)
