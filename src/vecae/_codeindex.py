"""The compact-code half of :class:`vecae.index.VectorIndex`: codes, rescoring, safe loading.

A :class:`~vecae.index.VectorIndex` stores its vectors at one of three precisions:

``"float32"``
    The vectors themselves (``IndexFlat``, ``IndexHNSWFlat``, ``IndexIVFFlat``).
``"int8"``
    8-bit scalar-quantised codes (``IndexScalarQuantizer`` with ``QT_8bit``): one byte per
    coordinate, each coordinate's range trained on the indexed vectors. Queries stay float
    (asymmetric search), so a query is never quantised on its own.
``"binary"``
    Packed bits (``numpy.packbits``), searched by Hamming distance (``IndexBinaryFlat``, or
    ``IndexBinaryHNSW``). The bits are either given (a model's learned bits,
    ``model.encode(X, precision="binary")``) or the sign bits of the vectors. The score is the
    cosine of the ±1 vectors the bits stand for, ``1 - 2 * hamming / bits``.

Rescoring (``rescore_multiplier = m > 1``) fetches ``k * m`` candidates with the codes, then
re-ranks them with the float query against stored float32 or int8 copies of the vectors, as
sentence-transformers' ``semantic_search_faiss`` does. It can only add true neighbours: exact
scores pick, among more candidates, every true neighbour the codes found.

Loading never trusts a size a file declares: the FAISS header's width and row count must match
the manifest, and a flat code file must have exactly the size those imply, before FAISS reads
it (and allocates what it declares).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from vecae._checks import read_npy_header
from vecae._exceptions import ModelFileError, require
from vecae._quantize import pack_bits, quantize_int8

__all__ = [
    "PRECISIONS",
    "RESCORE",
    "IndexPrecision",
    "Rescore",
    "bytes_per_code",
    "check_code_file",
    "exact_top_k",
    "int8_rescore_vectors",
    "read_rescore_file",
    "recall_at_k",
    "rescored",
    "sign_bits",
]

IndexPrecision = Literal["float32", "int8", "binary"]
PRECISIONS: Final[tuple[str, ...]] = ("float32", "int8", "binary")
Rescore = Literal["float32", "int8"]
RESCORE: Final[tuple[str, ...]] = ("float32", "int8")

# FAISS's serialised headers (faiss/impl/index_write.cpp): a four-character code, then the
# width and row count; the flat formats then hold exactly one vector of codes.
_BINARY_FLAT: Final = b"IBxF"
_BINARY_HNSW: Final = b"IBHf"
_SQ: Final = b"IxSQ"
_FLAT: Final = {"cosine": b"IxFI", "l2": b"IxF2"}
# Bytes around the codes in a flat file: binary = fourcc, d, code_size, ntotal, is_trained,
# metric, vector length; SQ adds its trained ranges (2 floats per coordinate).
_BINARY_FLAT_OVERHEAD: Final = 33
_SQ_OVERHEAD: Final = 81
_FLAT_OVERHEAD: Final = 45


def bytes_per_code(precision: str, dim: int, bits: int) -> int:
    """Bytes one vector takes in the search index (without rescoring copies).

    Examples
    --------
    >>> [bytes_per_code(p, 64, 50) for p in ("float32", "int8", "binary")]
    [256, 64, 7]
    """
    return {"float32": 4 * dim, "int8": dim, "binary": -(-bits // 8)}[precision]


def sign_bits(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Packed sign bits (bit set where a coordinate is positive), one bit per coordinate.

    A width that is not a multiple of 8 is padded with zero bits, which every code shares, so
    Hamming distances are unchanged.

    Examples
    --------
    >>> sign_bits(np.array([[1.0, -1, 0, 2, -3, 4, 5, -6, 7]], dtype=np.float32))
    array([[150, 128]], dtype=uint8)
    """
    positive = vectors > 0
    pad = -positive.shape[1] % 8
    if pad:
        positive = np.pad(positive, ((0, 0), (0, pad)))
    return pack_bits(positive)


def int8_rescore_vectors(
    vectors: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], float]:
    """int8 copies for rescoring: one step for every coordinate (``max |x| / 127``).

    One step keeps the ratios between coordinates, so inner products are scaled, not bent.

    Examples
    --------
    >>> codes, step = int8_rescore_vectors(np.array([[0.5, -1.0]], dtype=np.float32))
    >>> codes.tolist(), round(step * 127, 6)
    ([[64, -127]], 1.0)
    """
    peak = float(np.abs(vectors).max()) if vectors.size else 0.0
    step = peak / 127 if peak > 0 else 1.0
    return quantize_int8(vectors, step), step


def rescored(
    queries: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    stored: npt.NDArray[Any],
    step: float,
    *,
    metric: str,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Re-rank candidate ``ids`` (``-1`` = none) by exact scores against ``stored`` rows.

    Scores: inner product for ``metric="cosine"`` (unit queries and rows), ``-||q - x||²`` for
    ``"l2"``. int8 rows are multiplied by ``step`` first. Returns every candidate, best first.
    """
    safe = np.where(ids < 0, 0, ids)
    candidates = stored[safe].astype(np.float32)  # (n_queries, depth, d)
    if stored.dtype == np.int8:
        candidates *= np.float32(step)
    if metric == "cosine":
        exact = np.einsum("qd,qcd->qc", queries, candidates)
    else:
        diff = candidates - queries[:, None, :]
        exact = -np.einsum("qcd,qcd->qc", diff, diff)
    exact[ids < 0] = -np.inf
    order = np.argsort(-exact, axis=1, kind="stable")
    return (
        np.take_along_axis(exact, order, axis=1).astype(np.float32),
        np.take_along_axis(ids, order, axis=1),
    )


def check_code_file(
    path: Path, precision: str, kind: str, *, n: int, dim: int, code_bytes: int, metric: str
) -> None:
    """Refuse an index file whose header or size disagrees with its manifest.

    FAISS allocates what a file declares before reading it, so a crafted file claiming many
    more codes than it holds is caught here first. Covers int8 and binary indexes and flat
    float32 ones (HNSW and IVF float32 files are left to FAISS's reader). Raises
    :class:`ModelFileError` naming the file.
    """
    expected = {
        "int8": _SQ,
        "binary": _BINARY_FLAT if kind == "flat" else _BINARY_HNSW,
        "float32": _FLAT[metric],
    }
    fourcc = expected[precision]
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(24)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc})") from exc
    if len(head) < 24 or head[:4] != fourcc:
        raise ModelFileError(
            f"{path}: not a readable FAISS index (a {precision} {kind} index starts with "
            f"{fourcc.decode()})"
        )
    if precision == "binary":
        width, code_size, total = struct.unpack("<iiq", head[4:20])
        expected_width = 8 * code_bytes
        ok = width == expected_width and code_size == code_bytes and total == n
        flat_size = _BINARY_FLAT_OVERHEAD + n * code_bytes
    else:
        width, total = struct.unpack("<iq", head[4:16])
        expected_width = dim
        ok = width == dim and total == n
        if precision == "int8":
            flat_size = _SQ_OVERHEAD + n * dim + 8 * dim
        else:
            flat_size = _FLAT_OVERHEAD + 4 * n * dim
    if not ok:
        raise ModelFileError(
            f"{path}: the FAISS header declares {total} codes of width {width}, but the "
            f"index's config.json describes {n} of width {expected_width}"
        )
    # An HNSW file also holds its graph, whose size depends on the random levels: it must at
    # least hold the codes, and the graph's arrays are bounded by FAISS's own reader.
    if (kind == "flat" and size != flat_size) or size < flat_size:
        raise ModelFileError(
            f"{path}: {size:,} bytes, but {n} vectors of {code_bytes} bytes need "
            f"{flat_size:,}; the file is truncated or altered"
        )


def read_rescore_file(path: Path, *, n: int, dim: int, dtype: str) -> npt.NDArray[Any]:
    """Read the rescoring copies (``.npy``), checking shape, dtype and size before loading."""
    try:
        with path.open("rb") as handle:
            shape, fortran, found = read_npy_header(handle)
            offset = handle.tell()
        size = path.stat().st_size
    except (OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"{path}: not a readable .npy file ({exc})") from exc
    if tuple(shape) != (n, dim) or found != np.dtype(dtype) or fortran:
        raise ModelFileError(
            f"{path}: holds {found} of shape {tuple(shape)}, but the index's config.json "
            f"describes {dtype} of shape ({n}, {dim})"
        )
    if size != offset + n * dim * found.itemsize:
        raise ModelFileError(f"{path}: {size:,} bytes do not match its header; truncated?")
    try:
        return np.ascontiguousarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable .npy file ({exc})") from exc


def recall_at_k(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    """Mean share of each row of ``truth`` (the exact top-k ids) present in ``found``.

    Examples
    --------
    >>> recall_at_k(np.array([[1, 2], [3, 4]]), np.array([[2, 5], [3, 4]]))
    0.75
    """
    hits = [
        len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits)) if hits else float("nan")


def exact_top_k(
    queries: npt.NDArray[np.float32], corpus: npt.NDArray[np.float32], k: int
) -> npt.NDArray[np.int64]:
    """Ids of the ``k`` largest inner products of each query with ``corpus`` (exact)."""
    faiss: Any = require("faiss", "index")
    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(np.ascontiguousarray(corpus, dtype=np.float32))
    _, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return np.asarray(ids, dtype=np.int64)
