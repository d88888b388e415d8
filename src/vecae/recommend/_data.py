"""Interaction data and the strong-generalisation user split of Liang et al. (2018)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import InputError

__all__ = ["InteractionMatrix", "Split", "split_users"]

IntArray = npt.NDArray[np.intp]

_MIN_ITEMS_FOR_TARGET: Final = 5


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
