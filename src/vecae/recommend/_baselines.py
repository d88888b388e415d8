"""The baselines a learned recommender has to beat: most-popular and item-kNN."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import DimensionMismatchError, InputError, VecaeError
from vecae.recommend._data import InteractionMatrix, _as_csr

__all__ = ["ItemKNNRecommender", "PopularityRecommender"]


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
