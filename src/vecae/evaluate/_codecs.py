"""Compact codes side by side: baselines at byte budgets, quality per byte and its Pareto front.

A *codec* turns vectors into a stored code of a fixed number of bytes per vector, and gives
back, for any rows, a float *representation* whose cosine is the codec's similarity: the
decoded vector for int8 and PQ/OPQ, the ±1 vector for bits (its cosine is
``1 - 2 * hamming / bits``), the vector itself for floats. Every codec is fitted on training
rows only; nothing is fitted on the rows it is evaluated on.

Baselines (the ones users reach for):

* ``original``: the float32 vectors (4 bytes per coordinate);
* ``int8``: per-coordinate scalar quantisation, ranges fitted on the training rows;
* ``sign``: the sign bit of each original coordinate (sentence-transformers' ``"binary"``);
* ``itq``: sign bits of centred, PCA-rotated vectors, rotation refined by ITQ
  (Gong & Lazebnik 2011) for 50 iterations;
* ``truncate``: the first k coordinates (what Matryoshka users do);
* ``pca``: k principal components, float32;
* ``pq`` / ``opq``: FAISS product quantisation with 8-bit sub-codes (one byte each), the
  latter after an OPQ rotation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vecae._exceptions import InputError, require

__all__ = [
    "Codec",
    "FloatCodec",
    "ITQCodec",
    "Int8Codec",
    "ModelCodec",
    "PQCodec",
    "QualityRow",
    "SignCodec",
    "baseline_codecs",
    "compare_codes",
    "model_codecs",
    "pareto_front",
    "quality_rows",
    "recall_at_k",
    "retrieval_recall",
]

FloatArray = NDArray[np.float32]
OPQ_ITERATIONS = 20  # rotation updates (FAISS default 50): fewer, to bound fitting time


def _unit(X: NDArray[Any]) -> FloatArray:
    X = np.asarray(X, dtype=np.float32)
    return np.asarray(X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12), np.float32)


class Codec(ABC):
    """A fitted-on-training-rows encoder to a fixed-size code."""

    name: str
    bytes_per_vector: int
    n_fit_rows: int = 0  # rows the codec was fitted on (0: nothing was fitted)

    @abstractmethod
    def fit(self, X: FloatArray) -> Codec:
        """Fit on training rows ``X`` and return ``self``."""

    @abstractmethod
    def represent(self, X: FloatArray) -> FloatArray:
        """Float rows whose cosine similarity is this codec's similarity of the codes."""


class FloatCodec(Codec):
    """A float32 (or float16) code from a fitted transform: original, truncation or PCA."""

    def __init__(self, name: str, dim: int, kind: str = "original", bytes_per_value: int = 4):
        self.name = name
        self.dim = dim
        self.kind = kind
        self.bytes_per_vector = bytes_per_value * dim
        self.bytes_per_value = bytes_per_value

    def fit(self, X: FloatArray) -> FloatCodec:
        if self.kind == "pca":
            self.mean_ = X.mean(axis=0)
            _, _, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
            self.components_ = vt[: self.dim].astype(np.float32)
            self.n_fit_rows = len(X)
        return self

    def represent(self, X: FloatArray) -> FloatArray:
        X = np.asarray(X, dtype=np.float32)
        Z = (X - self.mean_) @ self.components_.T if self.kind == "pca" else X[:, : self.dim]
        if self.bytes_per_value == 2:
            Z = Z.astype(np.float16).astype(np.float32)
        return np.asarray(Z, dtype=np.float32)


class Int8Codec(Codec):
    """Per-coordinate int8 scalar quantisation with [min, max] ranges from the training rows
    (sentence-transformers' ``quantize_embeddings(..., "int8")`` with calibration)."""

    def __init__(self, name: str = "int8") -> None:
        self.name = name
        self.bytes_per_vector = 0

    def fit(self, X: FloatArray) -> Int8Codec:
        self.low_ = X.min(axis=0)
        self.step_ = np.maximum(X.max(axis=0) - self.low_, 1e-12) / 255.0
        self.bytes_per_vector = X.shape[1]
        self.n_fit_rows = len(X)
        return self

    def represent(self, X: FloatArray) -> FloatArray:
        q = np.clip(np.rint((np.asarray(X) - self.low_) / self.step_) - 128, -128, 127)
        return np.asarray(q, dtype=np.float32)  # the int8 values themselves, as ST compares


class SignCodec(Codec):
    """One bit per coordinate: ``x > 0`` (the original's signs, nothing fitted)."""

    def __init__(self, name: str = "sign") -> None:
        self.name = name
        self.bytes_per_vector = 0

    def fit(self, X: FloatArray) -> SignCodec:
        self.bytes_per_vector = X.shape[1] // 8
        return self

    def represent(self, X: FloatArray) -> FloatArray:
        return np.where(np.asarray(X) > 0, 1.0, -1.0).astype(np.float32)


class ITQCodec(Codec):
    """``bits`` sign bits of centred, PCA-projected vectors, with an ITQ rotation."""

    def __init__(self, bits: int, *, iterations: int = 50, random_state: int = 0) -> None:
        self.name = f"itq-{bits}b"
        self.bits = bits
        self.iterations = iterations
        self.random_state = random_state
        self.bytes_per_vector = bits // 8

    def fit(self, X: FloatArray) -> ITQCodec:
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        projection = vt[: self.bits].T  # (d, bits); bits <= d
        V = centred @ projection
        rng = np.random.default_rng(self.random_state)
        R, _ = np.linalg.qr(rng.normal(size=(self.bits, self.bits)))
        for _ in range(self.iterations):
            B = np.where(V @ R >= 0, 1.0, -1.0)
            u, _, wt = np.linalg.svd(B.T @ V)
            R = (u @ wt).T
        self.projection_ = (projection @ R).astype(np.float32)
        self.n_fit_rows = len(X)
        return self

    def represent(self, X: FloatArray) -> FloatArray:
        return np.where((np.asarray(X) - self.mean_) @ self.projection_ >= 0, 1.0, -1.0).astype(
            np.float32
        )


class PQCodec(Codec):
    """FAISS product quantisation: ``n_bytes`` sub-quantisers of 256 centroids (OPQ optional)."""

    def __init__(self, n_bytes: int, *, opq: bool = False, random_state: int = 0) -> None:
        self.name = f"{'opq' if opq else 'pq'}-{n_bytes}B"
        self.n_bytes = n_bytes
        self.opq = opq
        self.random_state = random_state
        self.bytes_per_vector = n_bytes

    def fit(self, X: FloatArray) -> PQCodec:
        faiss: Any = require("faiss", "index")
        d = X.shape[1]
        if d % self.n_bytes:
            raise InputError(f"{self.name}: {d} dimensions do not split into {self.n_bytes}")
        pq = faiss.IndexPQ(d, self.n_bytes, 8)
        pq.pq.cp.seed = self.random_state
        if self.opq:
            rotation = faiss.OPQMatrix(d, self.n_bytes)
            rotation.niter = OPQ_ITERATIONS
            index = faiss.IndexPreTransform(rotation, pq)
        else:
            index = pq
        index.train(np.ascontiguousarray(_unit(X)))
        self.index_ = index
        self.n_fit_rows = len(X)
        return self

    def represent(self, X: FloatArray) -> FloatArray:
        unit = np.ascontiguousarray(_unit(X))
        return np.asarray(self.index_.sa_decode(self.index_.sa_encode(unit)), dtype=np.float32)


class ModelCodec(Codec):
    """A fitted vecae dense model's codes: ``model.encode(X, dim=dim, precision=precision)``."""

    def __init__(self, name: str, model: Any, dim: int, precision: str) -> None:
        from vecae._quantize import bytes_per_vector

        self.name = name
        self.model = model
        self.dim = dim
        self.precision = precision
        self.bytes_per_vector = bytes_per_vector(dim, precision)

    def fit(self, X: FloatArray) -> ModelCodec:
        return self  # the model is fitted already, on training rows only

    def represent(self, X: FloatArray) -> FloatArray:
        codes = self.model.encode(X, dim=self.dim, precision=self.precision)
        if self.precision == "binary":
            return np.where(np.unpackbits(codes, axis=1), 1.0, -1.0).astype(np.float32)
        return np.asarray(codes, dtype=np.float32)


def baseline_codecs(
    n_features: int, budgets: Iterable[int], *, random_state: int = 0
) -> list[Codec]:
    """Every baseline that fits one of the byte ``budgets`` exactly, plus the full-size ones.

    Per budget ``B``: PCA and truncation at ``B / 4`` float32 coordinates, ITQ at ``8 B`` bits
    (when at most ``n_features``), PQ and OPQ at ``B`` sub-codes (when they divide
    ``n_features``). Always: the original float32, int8 and sign bits.
    """
    codecs: list[Codec] = [
        FloatCodec(f"original-{n_features}d", n_features),
        Int8Codec(),
        SignCodec(),
    ]
    for budget in sorted(set(budgets)):
        dim = budget // 4
        if 1 <= dim < n_features:
            codecs.append(FloatCodec(f"pca-{dim}d", dim, "pca"))
            codecs.append(FloatCodec(f"truncate-{dim}d", dim))
        if 8 * budget <= n_features:
            codecs.append(ITQCodec(8 * budget, random_state=random_state))
        if budget < n_features and n_features % budget == 0:
            codecs.append(PQCodec(budget, random_state=random_state))
            codecs.append(PQCodec(budget, opq=True, random_state=random_state))
    return codecs


# -- tasks ---------------------------------------------------------------------------------------


def recall_at_k(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean share of each row of ``truth`` found in the same row of ``found``."""
    hits = [
        len(set(f.tolist()) & set(t.tolist())) / t.shape[0]
        for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits)) if hits else float("nan")


def _top_k(scores: FloatArray, k: int, exclude: NDArray[np.int64] | None) -> NDArray[np.int64]:
    if exclude is not None:
        scores = scores.copy()
        scores[np.arange(len(exclude)), exclude] = -np.inf
    part = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def retrieval_recall(
    codec: Codec,
    queries: FloatArray,
    corpus: FloatArray,
    *,
    k: int = 10,
    rescore_multiplier: int = 1,
    query_rows: NDArray[np.int64] | None = None,
) -> float:
    """k-recall@k of cosine search on the codes against exact cosine search on the originals.

    With ``rescore_multiplier = m > 1``, the codes fetch ``k * m`` candidates that the float
    query then re-ranks against the original float vectors. ``query_rows``: the position of
    each query in ``corpus``, left out of its own results.
    """
    truth = _top_k(_unit(queries) @ _unit(corpus).T, k, query_rows)
    code_scores = _unit(codec.represent(queries)) @ _unit(codec.represent(corpus)).T
    found = _top_k(code_scores, k * rescore_multiplier, query_rows)
    if rescore_multiplier > 1:
        exact = np.einsum("qd,qcd->qc", _unit(queries), _unit(corpus)[found])
        found = np.take_along_axis(found, np.argsort(-exact, axis=1, kind="stable")[:, :k], axis=1)
    return recall_at_k(found, truth)


@dataclass
class QualityRow:
    """One code's figures: its bytes per vector and any quality measures (higher is better)."""

    method: str
    bytes_per_vector: int
    scores: dict[str, float] = field(default_factory=dict)
    vecae: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "bytes_per_vector": self.bytes_per_vector, **self.scores}


def pareto_front(rows: Sequence[QualityRow], measure: str) -> list[QualityRow]:
    """The rows no other row beats: none has at most as many bytes and a higher ``measure``
    (or equal quality in fewer bytes). Ordered by bytes."""
    front: list[QualityRow] = []
    ranked = sorted(
        (r for r in rows if np.isfinite(r.scores.get(measure, np.nan))),
        key=lambda r: (r.bytes_per_vector, -r.scores[measure]),
    )
    best = -np.inf
    for row in ranked:
        if row.scores[measure] > best:
            front.append(row)
            best = row.scores[measure]
    return front


def quality_rows(
    codecs: Sequence[Codec],
    measures: Mapping[str, Callable[[Codec], float]],
    *,
    is_vecae: Callable[[Codec], bool] = lambda c: isinstance(c, ModelCodec),
) -> list[QualityRow]:
    """Every codec's figures under every measure, sorted by bytes per vector."""
    rows = [
        QualityRow(
            c.name,
            c.bytes_per_vector,
            {name: float(fn(c)) for name, fn in measures.items()},
            vecae=is_vecae(c),
        )
        for c in codecs
    ]
    return sorted(rows, key=lambda r: (r.bytes_per_vector, r.method))


def model_codecs(
    model: Any, *, precisions: Sequence[str] = ("float32", "int8", "binary")
) -> list[Codec]:
    """The model's codes at every trained size (``nested_dims_``) and precision."""
    codecs: list[Codec] = []
    for dim in model.nested_dims_:
        for precision in precisions:
            if precision == "binary" and dim % 8:
                continue
            codecs.append(ModelCodec(f"vecae-{dim}d-{precision}", model, dim, precision))
    return codecs


def compare_codes(
    model: Any,
    train: FloatArray,
    eval_vectors: FloatArray,
    *,
    n_queries: int = 1000,
    k: int = 10,
    rescore_multiplier: int = 4,
    random_state: int = 0,
) -> tuple[list[QualityRow], list[Codec]]:
    """Retrieval quality per byte of the model's codes and of every baseline.

    Baselines are fitted on ``train`` only, at the byte budgets of the model's codes. Queries
    are ``n_queries`` rows of ``eval_vectors`` searched among all of them (themselves left
    out); the measures are ``recall@k`` and ``recall@k_rescored`` (see
    :func:`retrieval_recall`).

    Returns
    -------
    rows : list of QualityRow
    codecs : list of Codec
        The fitted codecs, the model's first.
    """
    train = np.asarray(train, dtype=np.float32)
    E = np.asarray(eval_vectors, dtype=np.float32)
    ours = model_codecs(model)
    budgets = sorted({c.bytes_per_vector for c in ours})
    baselines = [
        c.fit(train) for c in baseline_codecs(train.shape[1], budgets, random_state=random_state)
    ]
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(len(E), size=min(n_queries, len(E)), replace=False)).astype(np.int64)
    Q = E[rows]
    measures = {
        f"recall@{k}": lambda c: retrieval_recall(c, Q, E, k=k, query_rows=rows),
        f"recall@{k}_rescored": lambda c: retrieval_recall(
            c, Q, E, k=k, rescore_multiplier=rescore_multiplier, query_rows=rows
        ),
    }
    codecs = [*ours, *baselines]
    return quality_rows(codecs, measures), codecs
