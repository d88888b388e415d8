"""Implicit-feedback recommendation: data handling, baselines and the evaluation protocol.

This module holds everything around a collaborative-filtering autoencoder (Mult-DAE /
Mult-VAE, Liang et al. 2018, "Variational Autoencoders for Collaborative Filtering") that does
not need the autoencoder itself:

* :class:`InteractionMatrix` — a users x items CSR matrix with the user and item keys;
* :func:`split_users` — the strong-generalisation split of Liang et al.: whole users are held
  out, and each held-out user's items are split into a *fold-in* part (given to the model)
  and a *target* part (to be predicted);
* :func:`recall_at_k`, :func:`ndcg_at_k` — the paper's metric definitions;
* :func:`top_k_unseen` — ranking with already-seen items masked, shared by every recommender;
* :class:`PopularityRecommender`, :class:`ItemKNNRecommender` — the baselines a learned model
  has to beat;
* :func:`evaluate_recommender` — scores held-out users from their fold-in items and reports
  Recall@k and NDCG@k on their targets.

A recommender here is anything that maps a users x items CSR matrix of known interactions to a
dense users x items array of scores (higher is better): a :data:`ScoreFn`.

Ties between equal scores are broken in favour of the lower item index, except that the
*selection* of the top ``k`` among items tied exactly at the k-th score is arbitrary but
deterministic (``numpy.argpartition``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import DimensionMismatchError, InputError, VecaeError

__all__ = [
    "MULT_DAE_DEFAULTS",
    "InteractionMatrix",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "Recommender",
    "ScoreFn",
    "Split",
    "compare_recommenders",
    "evaluate_recommender",
    "ndcg_at_k",
    "recall_at_k",
    "split_users",
    "top_k_unseen",
]

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.intp]
ScoreFn = Callable[[sp.csr_matrix], npt.ArrayLike]
"""A recommender: users x items CSR of known interactions -> dense users x items scores."""

_MIN_ITEMS_FOR_TARGET: Final = 5


# ---------------------------------------------------------------------------- data


@dataclass(eq=False)
class InteractionMatrix:
    """Users x items implicit-feedback matrix with its row and column keys.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of float32, shape (n_users, n_items)
        Interaction weights (1.0 everywhere after binarisation). Indices are sorted and
        duplicates summed.
    users : list of str
        Key of each row.
    items : list of str
        Key of each column.
    """

    matrix: sp.csr_matrix
    users: list[str]
    items: list[str]
    _item_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not sp.issparse(self.matrix):
            raise InputError("matrix: expected a scipy sparse matrix")
        matrix = sp.csr_matrix(self.matrix, dtype=np.float32)
        matrix.sum_duplicates()  # also sorts indices, which the split relies on
        if matrix.shape != (len(self.users), len(self.items)):
            raise InputError(
                f"matrix: shape {matrix.shape} does not match {len(self.users)} users x "
                f"{len(self.items)} items"
            )
        self.matrix = matrix
        self.users = list(self.users)
        self.items = list(self.items)
        self._item_index = {key: j for j, key in enumerate(self.items)}
        if len(self._item_index) != len(self.items):
            raise InputError("items: item keys must be unique")
        if len(set(self.users)) != len(self.users):
            raise InputError("users: user keys must be unique")

    @classmethod
    def from_pairs(
        cls,
        users: Sequence[str],
        items: Sequence[str],
        weights: Sequence[float] | npt.ArrayLike | None = None,
        *,
        binarize: bool = True,
    ) -> InteractionMatrix:
        """Build the matrix from parallel ``(user, item[, weight])`` columns.

        Parameters
        ----------
        users, items : sequence of str
            One user key and one item key per interaction. Rows and columns are ordered by
            first appearance.
        weights : sequence of float, optional
            Non-negative strength of each interaction (play count, rating...). Defaults to 1.
            Repeated ``(user, item)`` pairs are summed.
        binarize : bool
            Turn every pair with a positive summed weight into 1.0 (the input Mult-DAE/VAE
            expects); pairs whose weights sum to 0 are dropped either way.

        Returns
        -------
        InteractionMatrix

        Raises
        ------
        InputError
            Columns of different lengths, no interactions, or a negative or non-finite weight
            (the message names the row).
        """
        user_keys = list(users)
        item_keys = list(items)
        if len(user_keys) != len(item_keys):
            raise InputError(
                f"from_pairs: {len(user_keys)} users but {len(item_keys)} items; "
                "need one of each per interaction"
            )
        if not user_keys:
            raise InputError("from_pairs: no interactions given")
        if weights is None:
            values = np.ones(len(user_keys), dtype=np.float64)
        else:
            values = np.asarray(weights, dtype=np.float64).ravel()
            if values.shape[0] != len(user_keys):
                raise InputError(
                    f"from_pairs: {values.shape[0]} weights for {len(user_keys)} interactions"
                )
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"from_pairs: weight at row {row} is {values[row]!r}; implicit feedback "
                    "weights must be finite and non-negative"
                )
        user_ids: dict[str, int] = {}
        item_ids: dict[str, int] = {}
        rows = np.fromiter(
            (user_ids.setdefault(u, len(user_ids)) for u in user_keys), np.intp, len(user_keys)
        )
        cols = np.fromiter(
            (item_ids.setdefault(i, len(item_ids)) for i in item_keys), np.intp, len(item_keys)
        )
        matrix = sp.csr_matrix(
            (values.astype(np.float32), (rows, cols)), shape=(len(user_ids), len(item_ids))
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        if binarize:
            matrix.data[:] = 1.0
        return cls(matrix, list(user_ids), list(item_ids))

    @property
    def n_users(self) -> int:
        """Number of users (rows)."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of items (columns)."""
        return len(self.items)

    def item_position(self, key: str) -> int:
        """Column of item ``key``; raises :class:`InputError` if it is unknown."""
        try:
            return self._item_index[key]
        except KeyError:
            raise InputError(f"items: {key!r} is not a known item") from None

    def row_for_history(
        self,
        item_keys: Iterable[str],
        *,
        on_unknown: Literal["warn", "ignore", "raise"] = "warn",
    ) -> sp.csr_matrix:
        """Encode a new user's history as a 1 x n_items row, for folding them in.

        Parameters
        ----------
        item_keys : iterable of str
            Items the user interacted with; repeats count once.
        on_unknown : {"warn", "ignore", "raise"}
            What to do about keys that are not columns of this matrix (a model cannot use
            them): emit one ``UserWarning`` with their count, skip them silently, or raise
            :class:`InputError` naming the first one.

        Returns
        -------
        scipy.sparse.csr_matrix of float32, shape (1, n_items)
            1.0 at each known item.
        """
        if on_unknown not in ("warn", "ignore", "raise"):
            raise InputError(
                f"on_unknown: expected 'warn', 'ignore' or 'raise', not {on_unknown!r}"
            )
        if isinstance(item_keys, str):
            item_keys = [item_keys]
        columns: set[int] = set()
        unknown: list[str] = []
        for key in item_keys:
            j = self._item_index.get(key)
            if j is None:
                if on_unknown == "raise":
                    raise InputError(f"history: {key!r} is not a known item")
                unknown.append(key)
            else:
                columns.add(j)
        if unknown and on_unknown == "warn":
            examples = ", ".join(repr(key) for key in unknown[:3])
            warnings.warn(
                f"history: {len(unknown)} unknown item(s) ignored (e.g. {examples})",
                UserWarning,
                stacklevel=2,
            )
        cols = np.array(sorted(columns), dtype=np.intp)
        return sp.csr_matrix(
            (np.ones(cols.size, dtype=np.float32), cols, np.array([0, cols.size])),
            shape=(1, self.n_items),
        )


@dataclass(frozen=True, eq=False)
class Split:
    """Result of :func:`split_users`; every matrix has all ``n_items`` columns.

    Attributes
    ----------
    train : scipy.sparse.csr_matrix, shape (n_train_users, n_items)
        Every interaction of the training users.
    heldout_fold_in : scipy.sparse.csr_matrix, shape (n_heldout_users, n_items)
        The part of each held-out user's history given to the model.
    heldout_target : scipy.sparse.csr_matrix, shape (n_heldout_users, n_items)
        The part to be predicted; disjoint from ``heldout_fold_in``. Empty rows are users too
        short to hold anything out; the metrics skip them. Unlike Liang et al., items never
        seen in ``train`` are kept as columns (a collaborative model scores them from nothing,
        so drop them beforehand for a like-for-like comparison with the paper).
    train_users : ndarray of intp
        Rows of the source matrix that form ``train``, in order.
    heldout_users : ndarray of intp
        Rows of the source matrix that form the held-out matrices, in order.
    """

    train: sp.csr_matrix
    heldout_fold_in: sp.csr_matrix
    heldout_target: sp.csr_matrix
    train_users: IntArray
    heldout_users: IntArray


def _as_csr(matrix: InteractionMatrix | sp.spmatrix | sp.sparray, *, source: str) -> sp.csr_matrix:
    if isinstance(matrix, InteractionMatrix):
        return matrix.matrix
    if not sp.issparse(matrix):
        raise InputError(f"{source}: expected a scipy sparse matrix or InteractionMatrix")
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sum_duplicates()
    return csr


def split_users(
    matrix: InteractionMatrix | sp.spmatrix | sp.sparray,
    *,
    n_heldout_users: int,
    holdout_fraction: float = 0.2,
    min_items: int = _MIN_ITEMS_FOR_TARGET,
    random_state: int = 0,
) -> Split:
    """Hold out whole users, then split each held-out user's items (Liang et al. 2018).

    Users are shuffled; the last ``n_heldout_users`` are held out and the rest form
    ``train``. For each held-out user with at least ``min_items`` interactions,
    ``int(holdout_fraction * n_u)`` randomly chosen items become targets and the rest are the
    fold-in part; shorter users keep everything as fold-in and have no targets.

    Parameters
    ----------
    matrix : InteractionMatrix or scipy sparse matrix, shape (n_users, n_items)
        Interactions to split.
    n_heldout_users : int
        How many users to hold out; ``1 <= n_heldout_users < n_users``.
    holdout_fraction : float
        Share of a held-out user's items that become targets, in ``(0, 1)``.
    min_items : int
        Held-out users with fewer interactions get no targets (5 in the paper).
    random_state : int
        Seed for the user shuffle and the item split.

    Returns
    -------
    Split
    """
    csr = _as_csr(matrix, source="split_users")
    n_users = csr.shape[0]
    if not 1 <= n_heldout_users < n_users:
        raise InputError(
            f"n_heldout_users: must be between 1 and {n_users - 1} for {n_users} users, "
            f"got {n_heldout_users}"
        )
    if not 0.0 < holdout_fraction < 1.0:
        raise InputError(f"holdout_fraction: must be in (0, 1), got {holdout_fraction}")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(n_users)
    train_users = np.sort(order[: n_users - n_heldout_users]).astype(np.intp)
    heldout_users = np.sort(order[n_users - n_heldout_users :]).astype(np.intp)

    heldout = csr[heldout_users]
    heldout.sort_indices()
    lengths = np.diff(heldout.indptr)
    n_target = np.where(lengths >= min_items, (holdout_fraction * lengths).astype(np.intp), 0)
    # Rank each entry within its row by a random key; the n_target lowest ranks are targets.
    row_of = np.repeat(np.arange(heldout.shape[0]), lengths)
    order_in_row = np.lexsort((rng.random(heldout.nnz), row_of))
    rank = np.empty(heldout.nnz, dtype=np.intp)
    rank[order_in_row] = np.arange(heldout.nnz) - heldout.indptr[row_of[order_in_row]]
    is_target = rank < n_target[row_of]

    def part(mask: npt.NDArray[np.bool_]) -> sp.csr_matrix:
        return sp.csr_matrix(
            (heldout.data[mask], (row_of[mask], heldout.indices[mask])), shape=heldout.shape
        )

    return Split(
        train=csr[train_users],
        heldout_fold_in=part(~is_target),
        heldout_target=part(is_target),
        train_users=train_users,
        heldout_users=heldout_users,
    )


# ---------------------------------------------------------------------------- ranking


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


# ---------------------------------------------------------------------------- baselines


class _Fitted:
    _n_items: int | None = None

    def _check_input(self, fold_in: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
        if self._n_items is None:
            raise VecaeError(f"{type(self).__name__}: call fit() before score()")
        csr = _as_csr(fold_in, source=f"{type(self).__name__}.score")
        if csr.shape[1] != self._n_items:
            raise DimensionMismatchError(
                f"{type(self).__name__}.score: {csr.shape[1]} item columns, fitted on "
                f"{self._n_items}"
            )
        return csr


class PopularityRecommender(_Fitted):
    """Recommend the items most users interacted with, to everyone.

    Scores are the share of training users who have each item, identical for every user;
    combine with :func:`top_k_unseen` to skip what a user already has.
    """

    def __init__(self) -> None:
        self.popularity_: npt.NDArray[np.float32] | None = None

    def fit(self, train: sp.spmatrix | sp.sparray | InteractionMatrix) -> PopularityRecommender:
        """Count, for each item, the share of training users who interacted with it.

        Parameters
        ----------
        train : sparse matrix or InteractionMatrix, shape (n_users, n_items)

        Returns
        -------
        PopularityRecommender
            ``self``.
        """
        csr = _as_csr(train, source="PopularityRecommender.fit")
        users_per_item = np.bincount(csr.indices[csr.data != 0], minlength=csr.shape[1])
        self.popularity_ = (users_per_item / max(csr.shape[0], 1)).astype(np.float32)
        self._n_items = csr.shape[1]
        return self

    def score(self, fold_in: sp.spmatrix | sp.sparray) -> npt.NDArray[np.float32]:
        """Popularity of every item, repeated for each row of ``fold_in``.

        Parameters
        ----------
        fold_in : sparse matrix, shape (n_users, n_items)
            Known interactions; only its shape is used.

        Returns
        -------
        ndarray of float32, shape (n_users, n_items)
        """
        csr = self._check_input(fold_in)
        assert self.popularity_ is not None
        return np.tile(self.popularity_, (csr.shape[0], 1))


def _check_n_neighbors(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"n_neighbors: must be a positive integer, got {value!r}")
    return int(value)


def _check_shrink(value: float) -> float:
    if not (isinstance(value, int | float | np.floating) and np.isfinite(value) and value >= 0):
        raise InputError(f"shrink: must be a finite non-negative number, got {value!r}")
    return float(value)


class ItemKNNRecommender(_Fitted):
    """Item-based k-nearest-neighbours collaborative filtering.

    Item-item similarity is the shrunk cosine of item co-occurrence,
    ``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i|) sqrt(|U_j|) + shrink)`` (with weights, the
    dot product of the item columns over the product of their norms plus ``shrink``). Each
    item keeps only its ``n_neighbors`` most similar items, and a user's score for item ``i``
    is the sum of ``sim(j, i)`` over the items ``j`` in their history.

    The co-occurrence product ``train.T @ train`` is computed sparsely; catalogues whose items
    nearly all co-occur need O(n_items²) memory.

    Parameters
    ----------
    n_neighbors : int
        Neighbours kept per item.
    shrink : float
        Added to the denominator: damps similarities supported by few users.
    """

    def __init__(self, n_neighbors: int = 100, shrink: float = 10.0) -> None:
        self.n_neighbors = _check_n_neighbors(n_neighbors)
        self.shrink = _check_shrink(shrink)
        self.similarity_: sp.csr_matrix | None = None

    def fit(
        self,
        train: sp.spmatrix | sp.sparray | InteractionMatrix,
        n_neighbors: int | None = None,
        shrink: float | None = None,
    ) -> ItemKNNRecommender:
        """Compute the pruned item-item similarity matrix.

        Parameters
        ----------
        train : sparse matrix or InteractionMatrix, shape (n_users, n_items)
        n_neighbors, shrink : optional
            Override the values given to the constructor.

        Returns
        -------
        ItemKNNRecommender
            ``self``; the similarity is in ``similarity_`` (n_items x n_items CSR, row ``j``
            holds ``sim(j, i)`` for the items ``i`` that kept ``j`` as a neighbour).
        """
        if n_neighbors is not None:
            self.n_neighbors = _check_n_neighbors(n_neighbors)
        if shrink is not None:
            self.shrink = _check_shrink(shrink)
        csr = _as_csr(train, source="ItemKNNRecommender.fit")
        x = csr.tocsc().astype(np.float32)
        co = (x.T @ x).tocoo()
        norms = np.sqrt(np.asarray(co.diagonal(), dtype=np.float64))
        # An item is not its own neighbour. (Masking instead of setdiag(0), which would insert
        # explicit zeros for items without interactions.)
        off_diagonal = (co.row != co.col) & (co.data != 0)
        rows, cols = co.row[off_diagonal], co.col[off_diagonal]
        sim = co.data[off_diagonal] / (norms[rows] * norms[cols] + self.shrink)
        # Keep, for each target item (column), its n_neighbors most similar items (rows).
        order = np.lexsort((-sim, cols))
        cols_sorted = cols[order]
        starts = np.searchsorted(cols_sorted, np.arange(co.shape[1]))
        rank = np.arange(order.size) - starts[cols_sorted]
        keep = order[rank < self.n_neighbors]
        self.similarity_ = sp.csr_matrix(
            (sim[keep].astype(np.float32), (rows[keep], cols[keep])), shape=co.shape
        )
        self._n_items = csr.shape[1]
        return self

    def score(self, fold_in: sp.spmatrix | sp.sparray) -> npt.NDArray[np.float32]:
        """Score every item for each user from their known items.

        Parameters
        ----------
        fold_in : sparse matrix, shape (n_users, n_items)
            Known interactions of the users to score.

        Returns
        -------
        ndarray of float32, shape (n_users, n_items)
        """
        csr = self._check_input(fold_in)
        assert self.similarity_ is not None
        return np.asarray((csr @ self.similarity_).todense(), dtype=np.float32)


# ---------------------------------------------------------------------------- protocol


def evaluate_recommender(
    score_fn: ScoreFn,
    split: Split,
    ks: Sequence[int] = (20, 100),
    *,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Evaluate a recommender on the held-out users of a :class:`Split`.

    Each held-out user with at least one target is scored from their fold-in items;
    fold-in items are masked so they are never counted as recommendations, and the ranking
    is compared with the targets.

    Parameters
    ----------
    score_fn : callable
        Maps a CSR batch of fold-in rows (n_batch x n_items) to scores of the same shape,
        for example ``model.score`` of a recommender fitted on ``split.train``.
    split : Split
        From :func:`split_users`.
    ks : sequence of int
        Cut-offs. Recall@k and NDCG@k are reported for every ``k`` (the paper quotes
        Recall@20, Recall@50 and NDCG@100).
    batch_size : int
        Users scored per call, to bound memory.

    Returns
    -------
    dict
        ``"recall@k"`` and ``"ndcg@k"`` for each ``k``, and ``"n_users"``: the number of
        held-out users evaluated.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise InputError(f"ks: need positive cut-offs, got {ks}")
    if batch_size < 1:
        raise InputError(f"batch_size: must be positive, got {batch_size}")
    fold_in, targets = split.heldout_fold_in, split.heldout_target
    users = np.flatnonzero(np.diff(targets.indptr) > 0)
    if users.size == 0:
        raise InputError("split: no held-out user has a target item; hold out longer users")
    totals = dict.fromkeys([f"{m}@{k}" for k in ks for m in ("recall", "ndcg")], 0.0)
    n_items = fold_in.shape[1]
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        seen = fold_in[batch]
        raw = score_fn(seen)
        # Accept sparse scores too (e.g. an item-kNN product left sparse).
        dense = raw.toarray() if sp.issparse(raw) else raw  # type: ignore[union-attr]
        scores = _as_scores(dense, source="score_fn output")
        if scores.shape != (batch.size, n_items):
            raise DimensionMismatchError(
                f"score_fn output: shape {scores.shape}, expected {(batch.size, n_items)}"
            )
        ranked = top_k_unseen(scores, seen, ks[-1])
        sums, _ = _metric_sums(ranked, targets[batch], ks)
        for name, value in sums.items():
            totals[name] += value
    result = {name: value / users.size for name, value in totals.items()}
    result["n_users"] = float(users.size)
    return result


# ---------------------------------------------------------------------------- the autoencoder


# Mult-DAE (Liang et al. 2018) settings, scaled for CPUs: one tanh hidden layer, a multinomial
# likelihood over all items, and half of each training history dropped so the model learns to
# complete histories rather than copy them.
MULT_DAE_DEFAULTS: Final[dict[str, object]] = {
    "latent_dim": 200,
    "hidden": (600,),
    "activation": "tanh",
    "mask_rate": 0.5,
    "likelihood": "multinomial",
    "epochs": 100,
    "batch_size": 512,
    "patience": 10,
}

_RECOMMENDER_FILE: Final = "recommender.json"
_HISTORY_FILE: Final = "interactions.safetensors"
_MODEL_DIR: Final = "model"


@dataclass(eq=False)
class Recommender:
    """A Mult-DAE-style autoencoder over user histories, with the histories it was fitted on.

    It scores every item for a user from the items they interacted with, and recommends the
    best-scored items they have not seen. New users are handled the same way from a list of
    items (fold-in): nothing is retrained.

    Attributes
    ----------
    model : vecae.CategoricalAutoencoder
        Fitted on the multi-hot rows of ``interactions``.
    interactions : InteractionMatrix
        Known histories; ``recommend_user`` excludes what a user has already seen.
    """

    model: object  # a fitted vecae.CategoricalAutoencoder (typed loosely: no import cycle)
    interactions: InteractionMatrix

    @classmethod
    def fit(cls, interactions: InteractionMatrix, **params: object) -> Recommender:
        """Train on every user's history; ``params`` override :data:`MULT_DAE_DEFAULTS`."""
        from vecae import CategoricalAutoencoder

        model = CategoricalAutoencoder(**{**MULT_DAE_DEFAULTS, **params})  # type: ignore[arg-type]
        model.fit(interactions.matrix)
        return cls(model=model, interactions=interactions)

    def score(self, histories: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """Scores (decoder logits) of every item for each history row: a :data:`ScoreFn`."""
        model = self.model
        return model.decision_scores(model.transform(histories))  # type: ignore[attr-defined, no-any-return]

    def _top(self, history: sp.csr_matrix, k: int) -> list[tuple[str, float]]:
        scores = self.score(history)
        ranked = top_k_unseen(scores, history, k)[0]
        return [(self.interactions.items[j], float(scores[0, j])) for j in ranked if j >= 0]

    def recommend_user(self, user: str, k: int = 10) -> list[tuple[str, float]]:
        """Top ``k`` items that known user ``user`` has not interacted with."""
        try:
            row = self.interactions.users.index(user)
        except ValueError:
            raise InputError(f"user {user!r} is not in the fitted interactions") from None
        return self._top(self.interactions.matrix[row], k)

    def recommend_history(self, items: Iterable[str], k: int = 10) -> list[tuple[str, float]]:
        """Top ``k`` items for a new user given by their items (unknown items are ignored)."""
        history = self.interactions.row_for_history(items)
        if history.nnz == 0:
            raise InputError("history: none of the given items is known to the model")
        return self._top(history, k)

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model and the histories (safetensors + JSON, no pickle) atomically."""
        import json
        import os
        import shutil
        import tempfile

        import safetensors.numpy

        target = Path(directory).expanduser().resolve()
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target}: already exists; pass overwrite=True to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            self.model.save(staging / _MODEL_DIR)  # type: ignore[attr-defined]
            matrix = self.interactions.matrix
            safetensors.numpy.save_file(
                {
                    "indptr": matrix.indptr.astype(np.int64),
                    "indices": matrix.indices.astype(np.int64),
                    "data": matrix.data.astype(np.float32),
                },
                str(staging / _HISTORY_FILE),
            )
            meta = {
                "format": "vecae-recommender",
                "format_version": 1,
                "users": self.interactions.users,
                "items": self.interactions.items,
            }
            (staging / _RECOMMENDER_FILE).write_text(json.dumps(meta))
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        """Load a directory written by :meth:`save`; errors name the offending file."""
        import json

        import safetensors.numpy

        import vecae
        from vecae._exceptions import ModelFileError

        root = Path(directory).expanduser()
        meta_path = root / _RECOMMENDER_FILE
        try:
            meta = json.loads(meta_path.read_text())
            users, items = list(meta["users"]), list(meta["items"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(
                f"{meta_path}: missing or not a vecae recommender ({exc})"
            ) from exc
        history_path = root / _HISTORY_FILE
        try:
            arrays = safetensors.numpy.load_file(str(history_path))
            matrix = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(len(users), len(items)),
            )
        except Exception as exc:
            raise ModelFileError(f"{history_path}: unreadable interactions ({exc})") from exc
        model = vecae.load(root / _MODEL_DIR)
        return cls(model=model, interactions=InteractionMatrix(matrix, users, items))


def compare_recommenders(
    interactions: InteractionMatrix,
    *,
    n_heldout_users: int | None = None,
    holdout_fraction: float = 0.2,
    random_state: int = 0,
    **fit_params: object,
) -> list[dict[str, float | str]]:
    """Recall@20 and NDCG@100 of the autoencoder against most-popular and item-kNN.

    Users are held out as in Liang et al. (2018) (default: 10% of users, at least 1); every
    method is fitted on the training users only and scores held-out users from their fold-in
    items.
    """
    n_heldout = n_heldout_users or max(1, interactions.n_users // 10)
    split = split_users(
        interactions,
        n_heldout_users=n_heldout,
        holdout_fraction=holdout_fraction,
        random_state=random_state,
    )
    train = InteractionMatrix(
        split.train, [interactions.users[i] for i in split.train_users], interactions.items
    )
    fit_params.setdefault("random_state", random_state)
    methods: list[tuple[str, ScoreFn]] = [
        ("vecae (Mult-DAE)", Recommender.fit(train, **fit_params).score),
        ("most popular", PopularityRecommender().fit(split.train).score),
        ("item-kNN", ItemKNNRecommender().fit(split.train).score),
    ]
    rows: list[dict[str, float | str]] = []
    for name, score_fn in methods:
        metrics = evaluate_recommender(score_fn, split, ks=(20, 100))
        rows.append(
            {
                "method": name,
                "recall@20": metrics["recall@20"],
                "ndcg@100": metrics["ndcg@100"],
                "n_users": metrics["n_users"],
            }
        )
    return rows
