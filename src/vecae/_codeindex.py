"""Search over compact codes, with optional float rescoring (exported as ``vecae.index.CodeIndex``).

Two code families, both FAISS indexes:

``"binary"``
    Packed bits (``numpy.packbits``, e.g. ``model.encode(X, precision="binary")``) in
    ``IndexBinaryFlat`` (exact Hamming search) or ``IndexBinaryHNSW``. The score is the cosine
    of the ±1 vectors the bits stand for, ``1 - 2 * hamming / bits``.
``"int8"``
    Float vectors stored as 8-bit scalar-quantised codes (``IndexScalarQuantizer`` with
    ``QT_8bit``, its ranges trained on the indexed vectors), searched by inner product.

``rescore_multiplier = m > 1`` fetches ``k * m`` candidates with the codes, then re-ranks them
by the inner product of the float query with stored rescoring vectors (float32, or int8 codes
as sentence-transformers' ``semantic_search_faiss`` does), and keeps the best ``k``. Rescoring
can only add true neighbours: the exact scores pick, among more candidates, every true
neighbour the codes found.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vecae._exceptions import DimensionMismatchError, InputError, require

__all__ = ["CodeIndex", "CodePrecision", "exact_top_k", "recall_at_k"]

CodePrecision = Literal["binary", "int8"]


class CodeIndex:
    """A FAISS index over binary or int8 codes; build it with :meth:`build`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 64)).astype("float32")
    >>> bits = np.packbits(X > 0, axis=1)
    >>> index = CodeIndex.build(bits, precision="binary", rescore_vectors=X)
    >>> scores, ids = index.search(bits[:2], k=3, queries=X[:2], rescore_multiplier=4)
    >>> ids[:, 0].tolist()
    [0, 1]
    """

    def __init__(
        self,
        index: Any,
        *,
        precision: CodePrecision,
        width: int,
        rescore_vectors: npt.NDArray[Any] | None,
    ) -> None:
        self._index = index
        self.precision: CodePrecision = precision
        self.width = width  # bytes per binary code, or coordinates per int8 vector
        self._rescore = rescore_vectors

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def code_bytes(self) -> int:
        """Bytes per stored code (without FAISS's own per-index overhead)."""
        return self.width

    @classmethod
    def build(
        cls,
        codes: npt.ArrayLike,
        *,
        precision: CodePrecision = "binary",
        kind: Literal["flat", "hnsw"] = "flat",
        hnsw_m: int = 32,
        rescore_vectors: npt.ArrayLike | None = None,
    ) -> CodeIndex:
        """Index ``codes``.

        Parameters
        ----------
        codes : array_like
            ``"binary"``: packed uint8 codes of shape (n, bits // 8). ``"int8"``: float
            vectors of shape (n, d) (unit rows for cosine search) that the index stores as
            8-bit codes.
        precision : {"binary", "int8"}
        kind : {"flat", "hnsw"}
            Exact search, or an HNSW graph (binary codes only).
        hnsw_m : int
            HNSW neighbours per node.
        rescore_vectors : array_like of shape (n, d), optional
            float32 or int8 rows kept for rescoring; needed for ``rescore_multiplier > 1``.

        Raises
        ------
        InputError
            Codes of the wrong dtype or shape, an unknown precision or kind.
        """
        faiss: Any = require("faiss", "index")
        if precision not in ("binary", "int8"):
            raise InputError(f"precision: expected 'binary' or 'int8', got {precision!r}")
        if kind not in ("flat", "hnsw"):
            raise InputError(f"kind: expected 'flat' or 'hnsw', got {kind!r}")
        arr = np.asarray(codes)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise InputError(f"codes: expected a non-empty 2-D array, got shape {arr.shape}")
        rescore = None
        if rescore_vectors is not None:
            rescore = np.asarray(rescore_vectors)
            if rescore.ndim != 2 or rescore.shape[0] != arr.shape[0]:
                raise InputError(
                    f"rescore_vectors: expected {arr.shape[0]} rows, got shape {rescore.shape}"
                )
            if rescore.dtype != np.int8:
                rescore = np.ascontiguousarray(rescore, dtype=np.float32)
        if precision == "binary":
            if arr.dtype != np.uint8:
                raise InputError(f"codes: binary codes must be packed uint8, got {arr.dtype}")
            n_bits = 8 * arr.shape[1]
            index = (
                faiss.IndexBinaryFlat(n_bits)
                if kind == "flat"
                else faiss.IndexBinaryHNSW(n_bits, int(hnsw_m))
            )
            index.add(np.ascontiguousarray(arr))
            return cls(index, precision=precision, width=arr.shape[1], rescore_vectors=rescore)
        if kind != "flat":
            raise InputError("kind: int8 codes are searched with kind='flat'")
        vectors = np.ascontiguousarray(arr, dtype=np.float32)
        index = faiss.IndexScalarQuantizer(
            vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.train(vectors)
        index.add(vectors)
        return cls(index, precision=precision, width=vectors.shape[1], rescore_vectors=rescore)

    def search(
        self,
        query_codes: npt.ArrayLike,
        k: int = 10,
        *,
        queries: npt.ArrayLike | None = None,
        rescore_multiplier: int = 1,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The ``k`` best rows for each query, as ``(scores, ids)`` of shape (n_queries, k).

        Parameters
        ----------
        query_codes : array_like
            Queries in the index's code form (packed bits, or float vectors for int8).
        k : int
        queries : array_like of shape (n_queries, d), optional
            Float queries for rescoring.
        rescore_multiplier : int, default=1
            ``m > 1`` re-ranks ``k * m`` code candidates by the inner product of ``queries``
            with the rescoring vectors. Missing ids (fewer rows than asked) are ``-1``.

        Raises
        ------
        InputError
            A bad ``k`` or multiplier, or rescoring without ``queries`` or stored vectors.
        DimensionMismatchError
            Query codes of another width than the indexed ones.
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if (
            isinstance(rescore_multiplier, bool)
            or not isinstance(rescore_multiplier, int | np.integer)
            or rescore_multiplier < 1
        ):
            raise InputError(
                f"rescore_multiplier must be an integer >= 1, got {rescore_multiplier!r}"
            )
        q = np.asarray(query_codes)
        if q.ndim == 1:
            q = q[None, :]
        if q.shape[1] != self.width:
            raise DimensionMismatchError(
                f"query codes have width {q.shape[1]}, the index holds width {self.width}"
            )
        depth = min(len(self), int(k) * int(rescore_multiplier))
        if self.precision == "binary":
            distances, ids = self._index.search(np.ascontiguousarray(q, dtype=np.uint8), depth)
            scores = 1.0 - 2.0 * distances.astype(np.float32) / (8 * self.width)
        else:
            scores, ids = self._index.search(np.ascontiguousarray(q, dtype=np.float32), depth)
        if rescore_multiplier > 1:
            scores, ids = self._rescored(ids, queries, int(k))
        return scores[:, :k].astype(np.float32), ids[:, :k].astype(np.int64)

    def _rescored(
        self, ids: npt.NDArray[np.int64], queries: npt.ArrayLike | None, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        if queries is None or self._rescore is None:
            raise InputError(
                "rescore_multiplier > 1 needs float queries and rescore_vectors given to build()"
            )
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.shape != (ids.shape[0], self._rescore.shape[1]):
            raise DimensionMismatchError(
                f"queries: expected shape ({ids.shape[0]}, {self._rescore.shape[1]}), got {q.shape}"
            )
        safe = np.where(ids < 0, 0, ids)
        candidates = self._rescore[safe].astype(np.float32)  # (n_queries, depth, d)
        exact = np.einsum("qd,qcd->qc", q, candidates)
        exact[ids < 0] = -np.inf
        order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        return (
            np.take_along_axis(exact, order, axis=1).astype(np.float32),
            np.take_along_axis(ids, order, axis=1),
        )


def recall_at_k(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    """Mean share of each row of ``truth`` (the exact top-k ids) present in ``found``."""
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
