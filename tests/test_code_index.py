"""Search on binary and int8 codes, and float rescoring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vecae import InputError
from vecae._codeindex import CodeIndex, exact_top_k, recall_at_k
from vecae._quantize import pack_bits, unpack_bits

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def unit_glove(glove_vectors: np.ndarray) -> np.ndarray:
    X = glove_vectors[:3000] - glove_vectors[:3000].mean(axis=0)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_binary_index_search_equals_brute_force_hamming(unit_glove: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    projection = rng.normal(size=(50, 64)).astype(np.float32)
    codes = pack_bits(unit_glove @ projection > 0)
    index = CodeIndex.build(codes, precision="binary")
    scores, ids = index.search(codes[:100], k=10)

    signs = np.where(unpack_bits(codes), 1, -1)
    hamming = (64 - signs[:100] @ signs.T) // 2  # brute force, in integers
    expected = np.sort(hamming, axis=1)[:, :10]
    found = hamming[np.arange(100)[:, None], ids]
    np.testing.assert_array_equal(found, expected)  # same distances (ties may swap ids)
    np.testing.assert_allclose(scores, 1 - 2 * expected / 64)


def test_rescoring_never_lowers_recall(unit_glove: np.ndarray) -> None:
    codes = pack_bits(unit_glove[:, :48] > 0)
    truth = exact_top_k(unit_glove[:200], unit_glove, 10)
    index = CodeIndex.build(codes, precision="binary", rescore_vectors=unit_glove)
    recalls = [
        recall_at_k(
            index.search(codes[:200], 10, queries=unit_glove[:200], rescore_multiplier=m)[1], truth
        )
        for m in (1, 2, 4, 8)
    ]
    assert all(b >= a for a, b in itertools.pairwise(recalls))
    assert recalls[-1] > recalls[0] + 0.1  # and on real data it adds a lot


def test_int8_index_with_int8_rescoring_finds_the_exact_neighbours(
    unit_glove: np.ndarray,
) -> None:
    int8_docs = np.clip(np.rint(unit_glove * 127), -127, 127).astype(np.int8)
    index = CodeIndex.build(unit_glove, precision="int8", rescore_vectors=int8_docs)
    truth = exact_top_k(unit_glove[:200], unit_glove, 10)
    _, ids = index.search(unit_glove[:200], 10, queries=unit_glove[:200], rescore_multiplier=2)
    assert recall_at_k(ids, truth) > 0.95


def test_rescoring_without_stored_vectors_is_refused(unit_glove: np.ndarray) -> None:
    codes = pack_bits(unit_glove[:, :16] > 0)
    index = CodeIndex.build(codes, precision="binary")
    with pytest.raises(InputError, match="rescore_vectors"):
        index.search(codes[:2], 3, queries=unit_glove[:2], rescore_multiplier=2)


def test_binary_codes_must_be_packed_bytes(unit_glove: np.ndarray) -> None:
    with pytest.raises(InputError, match="packed uint8"):
        CodeIndex.build(unit_glove[:, :16] > 0, precision="binary")
