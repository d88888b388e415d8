"""Metrics used by the evaluation harness.

Every function takes plain arrays and returns plain numbers or arrays, so each can be
checked against a hand-computed case and used on its own.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vecae import _choices
from vecae._exceptions import InputError

__all__ = [
    "anomaly_scores",
    "as_matrix",
    "auroc",
    "average_precision",
    "exact_knn",
    "knn_accuracy",
    "knn_recall",
    "mean_cosine",
    "probe_accuracy",
    "reconstruction_mse",
    "row_cosine",
    "spearman_similarity",
    "split_indices",
    "trustworthiness",
]

Metric = _choices.Metric

# About 64 MiB of float32 scores per chunk: large enough for BLAS to be efficient,
# small enough that 100k x 100k never materialises.
_CHUNK_ELEMENTS = 1 << 24


def as_matrix(X: ArrayLike, name: str = "vectors", *, dtype: Any = np.float32) -> NDArray[Any]:
    """Return ``X`` as a finite 2-D floating array or raise :class:`InputError`.

    Parameters
    ----------
    X : array-like of shape (n, d)
        The vectors.
    name : str
        How the error message names the input.
    dtype : numpy dtype
        The floating type of the result.

    Returns
    -------
    ndarray of shape (n, d)
    """
    try:
        arr: NDArray[Any] = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be read as a float array ({exc})") from exc
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D array (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name}: empty array of shape {arr.shape}")
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise InputError(f"{name}: row {row} contains NaN or Inf")
    return arr


def _normalize(X: NDArray[Any]) -> NDArray[Any]:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    # Zero vectors stay zero (cosine 0 to everything) instead of becoming NaN.
    norms[norms == 0] = 1.0
    out: NDArray[Any] = X / norms
    return out


def exact_knn(
    queries: ArrayLike,
    base: ArrayLike,
    k: int,
    metric: Metric = "cosine",
    *,
    exclude_self: bool = False,
    self_index: ArrayLike | None = None,
    chunk_size: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Exact k nearest neighbours by chunked brute force.

    Parameters
    ----------
    queries : array-like of shape (n_queries, d)
    base : array-like of shape (n_base, d)
    k : int
        Number of neighbours.
    metric : {"cosine", "l2"}
        ``"cosine"`` ranks by cosine similarity (highest first); ``"l2"`` by Euclidean
        distance (smallest first).
    exclude_self : bool
        Leave each query's own base row out of its neighbours. Query ``i`` is base row
        ``self_index[i]``, or base row ``i`` when ``self_index`` is None.
    self_index : array-like of int, optional
        Base row of each query, used with ``exclude_self``.
    chunk_size : int, optional
        Queries per block. The default keeps each score block near 16M entries, so memory
        is bounded whatever the size of ``base``.

    Returns
    -------
    indices : ndarray of shape (n_queries, k), int64
        Base rows, best first. Ties are broken by the lower row index.
    scores : ndarray of shape (n_queries, k), float32
        Cosine similarity (``"cosine"``) or Euclidean distance (``"l2"``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    >>> idx, sims = exact_knn(X, X, 1, "cosine", exclude_self=True, self_index=np.arange(4))
    >>> idx.ravel().tolist()
    [1, 0, 1, 2]
    """
    Q = as_matrix(queries, "queries")
    B = as_matrix(base, "base")
    if Q.shape[1] != B.shape[1]:
        raise InputError(f"queries have width {Q.shape[1]} but base has width {B.shape[1]}")
    if metric not in _choices.METRICS:
        raise InputError(f"metric: expected 'cosine' or 'l2', got {metric!r}")
    n_q, n_b = Q.shape[0], B.shape[0]
    available = n_b - 1 if exclude_self else n_b
    if not 1 <= k <= available:
        raise InputError(f"k={k} must be between 1 and {available} (the usable base rows)")
    own: NDArray[np.int64] | None = None
    if exclude_self:
        own = np.arange(n_q) if self_index is None else np.asarray(self_index, dtype=np.int64)
        if own.shape != (n_q,) or (own.size and (own.min() < 0 or own.max() >= n_b)):
            raise InputError("self_index: need one base row (0 <= i < n_base) per query")
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // n_b)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be positive, got {chunk_size}")

    if metric == "cosine":
        Q, B = _normalize(Q), _normalize(B)
    else:
        b_sq = np.einsum("ij,ij->i", B, B)
    indices = np.empty((n_q, k), dtype=np.int64)
    scores = np.empty((n_q, k), dtype=np.float32)
    for start in range(0, n_q, chunk_size):
        stop = min(start + chunk_size, n_q)
        # Work with "higher is better" in both cases so one selection path serves both.
        block = Q[start:stop] @ B.T
        if metric == "l2":
            q_sq = np.einsum("ij,ij->i", Q[start:stop], Q[start:stop])
            block = -(q_sq[:, None] - 2.0 * block + b_sq[None, :])
        if own is not None:
            block[np.arange(stop - start), own[start:stop]] = -np.inf
        if k < n_b:
            part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n_b), (stop - start, n_b)).copy()
        if metric == "l2":
            # The expanded form loses precision for near points (a query's distance to
            # itself comes out ~1e-2, not 0): recompute the k chosen ones directly.
            diff = Q[start:stop, None, :].astype(np.float64) - B[part].astype(np.float64)
            vals = -np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        else:
            vals = np.take_along_axis(block, part, axis=1)
        # Sort by score, then by index, so results are deterministic under ties.
        order = np.lexsort((part, -vals), axis=1)
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        scores[start:stop] = -vals if metric == "l2" else vals
    return indices, scores


def knn_recall(reference_idx: ArrayLike, candidate_idx: ArrayLike) -> float:
    """Mean over queries of ``|reference ∩ candidate| / k`` (k-recall@k).

    Parameters
    ----------
    reference_idx : array-like of int, shape (n_queries, k)
        True neighbours (for example, exact neighbours in the original space).
    candidate_idx : array-like of int, shape (n_queries, k')
        Neighbours to score. ``k`` is the reference width.

    Returns
    -------
    float
        In [0, 1]; 1 means every reference neighbour was found.

    Examples
    --------
    >>> knn_recall([[1, 2], [0, 3]], [[2, 1], [0, 2]])
    0.75
    """
    ref = np.asarray(reference_idx)
    cand = np.asarray(candidate_idx)
    if ref.ndim != 2 or cand.ndim != 2 or ref.shape[0] != cand.shape[0] or ref.shape[1] == 0:
        raise InputError(
            f"knn_recall: need two 2-D index arrays with the same number of rows, "
            f"got {ref.shape} and {cand.shape}"
        )
    hits = (ref[:, :, None] == cand[:, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(hits / ref.shape[1]))


def _pair(X: ArrayLike, X_hat: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
    A = as_matrix(X, "X", dtype=np.float64)
    B = as_matrix(X_hat, "X_hat", dtype=np.float64)
    if A.shape != B.shape:
        raise InputError(f"X has shape {A.shape} but X_hat has shape {B.shape}")
    return A, B


def reconstruction_mse(X: ArrayLike, X_hat: ArrayLike) -> float:
    """Mean squared error over all entries, ``mean((X - X_hat) ** 2)``.

    Examples
    --------
    >>> reconstruction_mse([[1.0, 2.0]], [[1.0, 0.0]])
    2.0
    """
    A, B = _pair(X, X_hat)
    return float(np.mean((A - B) ** 2))


def row_cosine(A: ArrayLike, B: ArrayLike) -> NDArray[np.float64]:
    """Cosine similarity of each row of ``A`` with the same row of ``B`` (0 for zero rows)."""
    a, b = _pair(A, B)
    out: NDArray[np.float64] = np.einsum("ij,ij->i", _normalize(a), _normalize(b))
    return out


def mean_cosine(X: ArrayLike, X_hat: ArrayLike) -> float:
    """Mean row-wise cosine similarity between ``X`` and its reconstruction ``X_hat``.

    Examples
    --------
    >>> mean_cosine([[1.0, 0.0]], [[2.0, 0.0]])
    1.0
    """
    return float(np.mean(row_cosine(X, X_hat)))


def trustworthiness(
    X: ArrayLike,
    Z: ArrayLike,
    *,
    n_neighbors: int = 10,
    n_samples: int | None = 1000,
    metric: Metric = "cosine",
    random_state: int = 0,
) -> float:
    """Trustworthiness of the embedding ``Z`` of ``X`` on a seeded subsample.

    Wraps :func:`sklearn.manifold.trustworthiness`, which is quadratic in the number of
    rows; hence the subsample. For ``"cosine"`` both spaces are L2-normalised first, so
    that the same metric ranks neighbours in both (scikit-learn itself always ranks the
    embedded neighbours by Euclidean distance).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Original vectors.
    Z : array-like of shape (n, m)
        Their encodings, row-aligned with ``X``.
    n_neighbors : int
        Neighbourhood size.
    n_samples : int or None
        Rows to sample (all rows when None or larger than ``n``).
    metric : {"cosine", "l2"}
        Distance used in both spaces.
    random_state : int
        Seed of the subsample.

    Returns
    -------
    float
        In [0, 1]; 1 means no false neighbours appear in ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> trustworthiness(X, X, n_neighbors=5, random_state=0)  # an isometry keeps every neighbour
    1.0
    """
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    A = as_matrix(X, "X", dtype=np.float64)
    B = as_matrix(Z, "Z", dtype=np.float64)
    if A.shape[0] != B.shape[0]:
        raise InputError(f"X has {A.shape[0]} rows but Z has {B.shape[0]}")
    if n_samples is not None and n_samples < A.shape[0]:
        rows = np.sort(np.random.default_rng(random_state).choice(A.shape[0], n_samples, False))
        A, B = A[rows], B[rows]
    if not 1 <= n_neighbors < A.shape[0] / 2:
        raise InputError(f"n_neighbors={n_neighbors} must be below half the rows ({A.shape[0]})")
    if metric == "cosine":
        # scikit-learn ranks the embedded neighbours with Euclidean distance whatever
        # `metric` says; on unit vectors Euclidean order is cosine order in both spaces.
        A, B = _normalize(A), _normalize(B)
    return float(sk_trustworthiness(A, B, n_neighbors=n_neighbors, metric="euclidean"))


def spearman_similarity(vecs_a: ArrayLike, vecs_b: ArrayLike, gold: ArrayLike) -> float:
    """Spearman rho between row-wise cosine of two vector sets and gold scores.

    Parameters
    ----------
    vecs_a, vecs_b : array-like of shape (n_pairs, d)
        The two sides of each pair.
    gold : array-like of shape (n_pairs,)
        Human similarity scores.

    Returns
    -------
    float
        Spearman's rho; NaN when fewer than two pairs or either side is constant,
        where rho is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 0], [1, 0], [1, 0]])
    >>> b = np.array([[1.0, 0], [1, 1], [0, 1]])  # cosines 1, 0.71, 0
    >>> spearman_similarity(a, b, [9.0, 5.0, 1.0])
    1.0
    """
    from scipy.stats import spearmanr

    g = np.asarray(gold, dtype=np.float64).ravel()
    a = np.asarray(vecs_a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != g.shape[0]:
        raise InputError(f"need one gold score per pair: {a.shape[0]} pairs, {g.shape[0]} scores")
    if g.shape[0] < 2:
        return float("nan")
    sims = row_cosine(a, vecs_b)
    if np.ptp(sims) == 0 or np.ptp(g) == 0:
        return float("nan")
    rho = spearmanr(sims, g).statistic
    return float(rho)


def split_indices(
    y: ArrayLike, *, test_size: float = 0.3, random_state: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Fixed seeded train/test split of row indices, stratified when every class allows it.

    Returns
    -------
    train_idx, test_idx : ndarray of int64

    Examples
    --------
    >>> import numpy as np
    >>> train, test = split_indices(np.array([0] * 4 + [1] * 6), random_state=0)
    >>> len(train), len(test)
    (7, 3)
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(y)
    _, counts = np.unique(labels, return_counts=True)
    if counts.size < 2:
        raise InputError("labels: need at least two classes")
    stratify = labels if counts.min() >= 2 else None
    train, test = train_test_split(
        np.arange(labels.shape[0]),
        test_size=test_size,
        random_state=random_state,
        stratify=stratify,
    )
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


def knn_accuracy(
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    k: int = 10,
    metric: Metric = "cosine",
) -> float:
    """Accuracy of a majority-vote k-nearest-neighbour classifier (brute force).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[0.0, 1], [0, 2], [1, 0], [2, 0]]), np.array([0, 0, 1, 1])
    >>> knn_accuracy(X, y, [[0.1, 3.0], [3.0, 0.1]], [0, 1], k=1)
    1.0
    """
    from sklearn.neighbors import KNeighborsClassifier

    sk_metric = "cosine" if metric == "cosine" else "euclidean"
    A = as_matrix(X_train, "X_train")
    clf = KNeighborsClassifier(n_neighbors=min(k, A.shape[0]), metric=sk_metric, algorithm="brute")
    clf.fit(A, np.asarray(y_train))
    return float(np.mean(clf.predict(as_matrix(X_test, "X_test")) == np.asarray(y_test)))


def probe_accuracy(
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    max_iter: int = 1000,
) -> float:
    """Accuracy of a standardised logistic-regression probe (linear separability).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.array([[0.0, 1], [0, 2], [1, 0], [2, 0]]), np.array([0, 0, 1, 1])
    >>> probe_accuracy(X, y, [[0.1, 3.0], [3.0, 0.1]], [0, 1])
    1.0
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    with warnings.catch_warnings():
        # A probe that is still improving at max_iter is still a valid measurement.
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(as_matrix(X_train, "X_train"), np.asarray(y_train))
    return float(np.mean(probe.predict(as_matrix(X_test, "X_test")) == np.asarray(y_test)))


def _binary(y_true: ArrayLike, scores: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
    y = np.asarray(y_true).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputError(f"{y.shape[0]} labels but {s.shape[0]} scores")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise InputError("anomaly labels: need both 0 (normal) and 1 (anomaly)")
    if not np.isfinite(s).all():
        raise InputError("anomaly scores contain NaN or Inf")
    return y.astype(np.int64), s


def auroc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve; ``scores`` higher = more anomalous, ``y_true`` 1 = anomaly.

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y, s = _binary(y_true, scores)
    return float(roc_auc_score(y, s))


def average_precision(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Average precision with anomalies (``y_true == 1``) as the positive class.

    Examples
    --------
    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8333333333333333
    """
    from sklearn.metrics import average_precision_score

    y, s = _binary(y_true, scores)
    return float(average_precision_score(y, s))


def anomaly_scores(y_true: ArrayLike, scores: ArrayLike) -> dict[str, float]:
    """``{"auroc": ..., "ap": ...}`` for one detector.

    Examples
    --------
    >>> anomaly_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    {'auroc': 0.75, 'ap': 0.8333333333333333}
    """
    return {"auroc": auroc(y_true, scores), "ap": average_precision(y_true, scores)}
