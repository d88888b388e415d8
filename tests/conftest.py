"""Shared fixtures: small slices of real data (see tests/data/README.md)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from vecae.datasets import load_glove

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def glove() -> tuple[list[str], np.ndarray]:
    """The 4000 most frequent GloVe words, 50-d float32 (a writable copy)."""
    words, vectors = load_glove(4000)
    return words, np.array(vectors)


@pytest.fixture(scope="session")
def glove_vectors(glove: tuple[list[str], np.ndarray]) -> np.ndarray:
    return glove[1]


@pytest.fixture(scope="session")
def cardio() -> tuple[np.ndarray, np.ndarray]:
    """ADBench cardio: 1831 x 21 tabular rows with anomaly labels."""
    with np.load(DATA / "6_cardio.npz", allow_pickle=False) as data:
        return data["X"].astype(np.float32), data["y"].astype(int)


@pytest.fixture(scope="session")
def breastw_fields() -> np.ndarray:
    """ADBench breastw: 683 rows x 9 integer fields with values 1-10 (real categorical data)."""
    with np.load(DATA / "4_breastw.npz", allow_pickle=False) as data:
        return np.rint(data["X"]).astype(np.int64)


@pytest.fixture(scope="session")
def sst2_bags() -> sp.csr_matrix:
    """SST-2 sentences as multi-hot bags over the 300 most frequent words (872 x 300 CSR)."""
    lines = (DATA / "glue_dev_as_test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    docs = [set(re.findall(r"[a-z']+", line.split("\t")[0].lower())) for line in lines]
    vocabulary = [w for w, _ in Counter(w for d in docs for w in d).most_common(300)]
    column = {w: j for j, w in enumerate(vocabulary)}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        for w in doc:
            if w in column:
                rows.append(i)
                cols.append(column[w])
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(docs), len(vocabulary)))
