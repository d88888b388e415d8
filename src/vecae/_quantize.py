"""Quantised codes: int8 with a fitted step, and packed bits.

The int8 step is fitted once on the training codes and stored in the model (see
:class:`vecae.models._codes.CodeCalibration`), never computed from the batch being encoded: a
query encoded alone is then quantised exactly like the corpus it is searched against (the bug
of calibrating on each call, sentence-transformers issue #2837, is avoided by construction).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PRECISIONS",
    "bytes_per_vector",
    "hamming_similarity",
    "pack_bits",
    "quantize_int8",
    "unpack_bits",
]

PRECISIONS = ("float32", "float16", "int8", "binary")


def quantize_int8(Z: np.ndarray, step: float) -> np.ndarray:
    """``round(Z / step)`` clipped to [-127, 127], as int8 (symmetric: 0 stays 0).

    Examples
    --------
    >>> quantize_int8(np.array([[0.5, -1.0, 9.0]]), 0.01)
    array([[  50, -100,  127]], dtype=int8)
    """
    scaled = np.rint(np.asarray(Z, dtype=np.float64) / step)
    return np.clip(scaled, -127, 127).astype(np.int8)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean (n, d) matrix, d a multiple of 8, into uint8 (n, d // 8), big-endian.

    Examples
    --------
    >>> pack_bits(np.array([[1, 0, 0, 0, 0, 0, 0, 1]], dtype=bool))
    array([[129]], dtype=uint8)
    """
    bits = np.asarray(bits, dtype=bool)
    if bits.ndim != 2 or bits.shape[1] % 8:
        raise ValueError(f"bits must be a 2-D array with a multiple of 8 columns, got {bits.shape}")
    return np.packbits(bits, axis=1)


def unpack_bits(codes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint8 (n, b) to boolean (n, 8 * b)."""
    return np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1).astype(bool)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``1 - 2 * hamming / bits`` of two packed code matrices of the same shape.

    It equals the cosine of the ±1 vectors the bits stand for.
    """
    a = np.asarray(a, dtype=np.uint8)
    b = np.asarray(b, dtype=np.uint8)
    distance = _POPCOUNT[np.bitwise_xor(a, b)].sum(axis=1, dtype=np.int64)
    n_bits = 8 * a.shape[1]
    return np.asarray(1.0 - 2.0 * distance / n_bits, dtype=np.float64)


def bytes_per_vector(dim: int, precision: str) -> int:
    """Storage of one code: 4, 2 or 1 byte per coordinate, or one bit."""
    per = {"float32": 32, "float16": 16, "int8": 8, "binary": 1}[precision]
    return dim * per // 8
