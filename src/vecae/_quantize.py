"""Quantised codes: int8 with a fitted step, and packed bits.

The int8 step is fitted once on the training codes and stored in the model (see
:class:`vecae.models._codes.CodeCalibration`), never computed from the batch being encoded: a
query encoded alone is then quantised exactly like the corpus it is searched against (the bug
of calibrating on each call, sentence-transformers issue #2837, is avoided by construction).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vecae._exceptions import InputError, require

__all__ = [
    "PRECISIONS",
    "bytes_per_vector",
    "hamming_similarity",
    "pack_bits",
    "quantize_int8",
    "unpack_bits",
    "write_codes",
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


CODE_SUFFIXES = (".npy", ".npz", ".parquet", ".pq")


def write_codes(
    path: str | Path,
    codes: np.ndarray,
    keys: Sequence[str] | None,
    *,
    precision: str,
    overwrite: bool = False,
) -> Path:
    """Write quantised codes atomically: ``.npy`` (the array), ``.npz`` (``codes`` and
    ``keys``) or Parquet (``key`` and ``code``: fixed-size binary for bits, a fixed-size
    list of int8 or float16 otherwise). The dtype is kept: int8, packed uint8 or float16.

    Raises
    ------
    InputError
        For any other extension.
    """
    from vecae._artefact import FileOutput

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in CODE_SUFFIXES:
        raise InputError(
            f"{target}: {precision} codes are written to .npy, .npz or .parquet, "
            f"not {suffix or 'a file without extension'}"
        )
    with FileOutput(target, overwrite=overwrite) as output, open(output.temp, "wb") as fh:
        if suffix == ".npy":
            np.save(fh, codes, allow_pickle=False)
        elif suffix == ".npz":
            if keys is None:
                np.savez(fh, codes=codes)
            else:
                np.savez(fh, codes=codes, keys=np.asarray(list(keys), dtype=str))
        else:
            _write_parquet(fh, codes, keys, precision)
    return target


def _write_parquet(fh: Any, codes: np.ndarray, keys: Sequence[str] | None, precision: str) -> None:
    pa: Any = require("pyarrow", "io")
    pq: Any = require("pyarrow.parquet", "io")
    n, width = codes.shape
    if precision == "binary":
        column = pa.array([row.tobytes() for row in codes], type=pa.binary(width))
    else:
        value_type = pa.int8() if precision == "int8" else pa.float16()
        flat = pa.array(np.ascontiguousarray(codes).reshape(-1), type=value_type)
        column = pa.FixedSizeListArray.from_arrays(flat, width)
    fields = {"code": column} if keys is None else {"key": pa.array(list(keys)), "code": column}
    table = pa.table(fields).replace_schema_metadata(
        {"vecae.precision": precision, "vecae.rows": str(n)}
    )
    pq.write_table(table, fh)
