"""Ranking with seen items masked, and the Recall@k / NDCG@k definitions of Liang et al. (2018)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import DimensionMismatchError, InputError
from vecae.recommend._data import IntArray

__all__ = ["ndcg_at_k", "recall_at_k", "top_k_unseen"]


def _as_scores(scores: npt.ArrayLike, *, source: str) -> npt.NDArray[np.float64]:
    arr = np.array(scores, dtype=np.float64)  # a copy: callers' arrays are never modified
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{source}: expected a (users x items) array, got shape {arr.shape}")
    if np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr).any(axis=1))[0])
        raise InputError(f"{source}: row {row} contains NaN")
    return arr


def _as_mask(
    matrix: sp.spmatrix | sp.sparray | npt.ArrayLike, shape: tuple[int, ...], *, source: str
) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix) if sp.issparse(matrix) else sp.csr_matrix(np.atleast_2d(matrix))
    if csr.shape != shape:
        raise DimensionMismatchError(f"{source}: shape {csr.shape} does not match scores {shape}")
    csr.eliminate_zeros()
    return csr


def _ranked(scores: npt.NDArray[np.float64], k: int) -> IntArray:
    """Column indices of the ``k`` highest scores per row, best first."""
    k = min(k, scores.shape[1])
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    # Best first; equal scores in column order so results do not depend on argpartition.
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.intp)


def top_k_unseen(
    scores: npt.ArrayLike,
    seen: sp.spmatrix | sp.sparray | npt.ArrayLike,
    k: int,
) -> IntArray:
    """Indices of the ``k`` best-scored items per user, never returning a seen item.

    Parameters
    ----------
    scores : array_like, shape (n_users, n_items) or (n_items,)
        Higher is better. Not modified.
    seen : sparse matrix or array_like, same shape as ``scores``
        Non-zero where the user already interacted with the item.
    k : int
        How many items to return per user.

    Returns
    -------
    ndarray of intp, shape (n_users, min(k, n_items))
        Item indices, best first (one row for 1-D ``scores``). A user with fewer than ``k``
        unseen items gets ``-1`` in the remaining slots.
    """
    if k < 1:
        raise InputError(f"k: must be a positive integer, got {k}")
    arr = _as_scores(scores, source="scores")
    mask = _as_mask(seen, arr.shape, source="seen")
    # Keep caller-supplied -inf strictly above masked items so they are still "unseen".
    np.maximum(arr, np.finfo(np.float64).min, out=arr)
    rows = np.repeat(np.arange(arr.shape[0]), np.diff(mask.indptr))
    arr[rows, mask.indices] = -np.inf
    top = _ranked(arr, k)
    top[np.take_along_axis(arr, top, axis=1) == -np.inf] = -1
    return top


def _target_sets(
    targets: sp.spmatrix | sp.sparray | npt.ArrayLike, shape: tuple[int, ...]
) -> sp.csr_matrix:
    return _as_mask(targets, shape, source="targets")


def _metric_sums(
    ranked: IntArray, targets: sp.csr_matrix, ks: Iterable[int]
) -> tuple[dict[str, float], int]:
    """Sums over users with >= 1 target of Recall@k and NDCG@k, plus that user count."""
    n_targets = np.diff(targets.indptr)
    users = np.flatnonzero(n_targets > 0)
    relevant = targets[users].toarray() != 0
    top = ranked[users]
    # -1 pads rows with too few unseen items; it must not pick up the last column.
    hits = np.take_along_axis(relevant, np.maximum(top, 0), axis=1) & (top >= 0)
    discount = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    ideal_dcg = np.cumsum(discount)  # ideal_dcg[m - 1]: DCG of m hits at the top
    sums: dict[str, float] = {}
    for k in ks:
        # min(k, |targets|) never exceeds the ranked width: targets are columns too.
        n_ideal = np.minimum(k, n_targets[users])
        sums[f"recall@{k}"] = float((hits[:, :k].sum(axis=1) / n_ideal).sum())
        dcg = (hits[:, :k] * discount[:k]).sum(axis=1)
        sums[f"ndcg@{k}"] = float((dcg / ideal_dcg[n_ideal - 1]).sum())
    return sums, int(users.size)


def _single_metric(
    name: str,
    scores: npt.ArrayLike,
    targets: sp.spmatrix | sp.sparray | npt.ArrayLike,
    k: int,
) -> float:
    if k < 1:
        raise InputError(f"k: must be a positive integer, got {k}")
    arr = _as_scores(scores, source="scores")
    target_csr = _target_sets(targets, arr.shape)
    sums, n_users = _metric_sums(_ranked(arr, k), target_csr, [k])
    if n_users == 0:
        raise InputError("targets: no user has a target item, so the metric is undefined")
    return sums[f"{name}@{k}"] / n_users


def recall_at_k(
    scores: npt.ArrayLike, targets: sp.spmatrix | sp.sparray | npt.ArrayLike, k: int = 20
) -> float:
    """Recall@k as defined by Liang et al. (2018).

    For each user, ``|top_k(scores) ∩ targets| / min(k, |targets|)``, averaged over the users
    with at least one target. Dividing by ``min(k, |targets|)`` rather than ``|targets|``
    makes a perfect ranking score 1 for every user.

    Parameters
    ----------
    scores : array_like, shape (n_users, n_items)
        Ranking scores, higher is better. Mask items that must not be recommended (for
        example with :func:`top_k_unseen`'s convention, ``-inf``) before calling.
    targets : sparse matrix or array_like, same shape
        Non-zero at each relevant item.
    k : int
        Cut-off.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    return _single_metric("recall", scores, targets, k)


def ndcg_at_k(
    scores: npt.ArrayLike, targets: sp.spmatrix | sp.sparray | npt.ArrayLike, k: int = 100
) -> float:
    """NDCG@k with binary relevance, as defined by Liang et al. (2018).

    ``DCG@k = sum_{i=1..k} rel_i / log2(i + 1)`` over the ranked list, divided by the ideal DCG
    of ``min(k, |targets|)`` hits at the top, averaged over users with at least one target.

    Parameters
    ----------
    scores : array_like, shape (n_users, n_items)
        Ranking scores, higher is better.
    targets : sparse matrix or array_like, same shape
        Non-zero at each relevant item.
    k : int
        Cut-off.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    return _single_metric("ndcg", scores, targets, k)
