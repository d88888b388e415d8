"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data") in closed form.

EASE is a linear autoencoder over a user's history with one item-to-item weight matrix ``B``
whose diagonal is forced to zero, so an item can only be predicted from the *other* items. The
least-squares solution with an L2 penalty ``l2`` is closed form::

    P = (XᵀX + l2·I)⁻¹,    B = I − P · diagMat(1 / diag(P))     (so B_ij = −P_ij / P_jj, B_jj = 0)

and a user's scores are ``x @ B``. The cost is one dense ``n_items x n_items`` inverse: memory
``O(n_items²)``, time ``O(n_items³)`` (figures for this implementation in docs/benchmarks.md,
section 4). Inputs with more than ``max_items`` items are refused with a clear error instead of
exhausting memory.

With ``l2="auto"`` the penalty is chosen on a validation split of the training users (the
strong-generalisation protocol of :func:`vecae.recommend.split_users`): the candidate with the
best NDCG@100 on the validation users' held-out items wins, and the model is refitted on every
training user with it. Each candidate costs one more inverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import InputError
from vecae.recommend._baselines import _Fitted
from vecae.recommend._data import InteractionMatrix, _as_csr, split_users
from vecae.recommend._metrics import ndcg_at_k

__all__ = ["EASE_L2_GRID", "EASERecommender"]

# Candidates for l2="auto": Steck's best values span ~100 (small catalogues) to ~500-3000
# (MovieLens-20M, Netflix); the grid covers two decades either side.
EASE_L2_GRID: Final[tuple[float, ...]] = (10.0, 30.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)

_MIN_USERS_FOR_AUTO: Final = 20


def _closed_form(inverse: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """``B = I - P diagMat(1/diag(P))`` from ``P``, with an exactly zero diagonal."""
    weights = inverse / (-np.diag(inverse))[None, :]
    np.fill_diagonal(weights, 0.0)
    # C order: LAPACK hands back Fortran order, which safetensors would save transposed.
    return np.ascontiguousarray(weights, dtype=np.float32)


def _regularised_inverse(gram: npt.NDArray[np.floating], l2: float) -> npt.NDArray[np.floating]:
    """``(gram + l2 I)⁻¹`` through a Cholesky factorisation, in ``gram``'s precision."""
    import scipy.linalg

    system = gram.copy()
    system[np.diag_indices_from(system)] += l2
    try:
        factor = scipy.linalg.cho_factor(system, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:  # only possible through round-off at a tiny l2
        raise InputError(
            f"EASE: the regularised Gram matrix is singular at l2={l2}; raise l2"
        ) from None
    # cho_solve against the identity: faster here than LAPACK's potri or numpy's inv.
    identity = np.eye(len(system), dtype=system.dtype)
    inverse = scipy.linalg.cho_solve(factor, identity, overwrite_b=True, check_finite=False)
    return np.asarray(inverse, dtype=system.dtype)


def _gram(csr: sp.csr_matrix) -> npt.NDArray[np.float64]:
    return np.asarray((csr.T @ csr).toarray(), dtype=np.float64)


class EASERecommender(_Fitted):
    """Closed-form item-to-item linear autoencoder with a zero diagonal (EASE).

    Parameters
    ----------
    l2 : float or "auto", default="auto"
        L2 penalty. ``"auto"`` picks the best of ``l2_grid`` on a validation user split.
    l2_grid : sequence of float, default=EASE_L2_GRID
        Candidates for ``l2="auto"``.
    max_items : int, default=20000
        Refuse larger catalogues: the dense ``n_items x n_items`` solve needs about
        ``24 * n_items²`` bytes at its peak (9.6 GB at 20k items, 60 GB at 50k).
    validation_fraction : float, default=0.1
        Share of training users held out to choose ``l2``.
    random_state : int, default=0
        Seed of the validation split.

    Attributes
    ----------
    weights_ : ndarray of float32, shape (n_items, n_items)
        ``B``; a user's scores are ``history @ weights_``.
    l2_ : float
        The penalty used.
    validation_ : dict of float to float
        NDCG@100 of each candidate on the validation users (empty unless ``l2="auto"``).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype="float32")
    >>> ease = EASERecommender(l2=1.0).fit(X)
    >>> ease.weights_.shape, float(ease.weights_[0, 0])
    ((3, 3), 0.0)
    """

    def __init__(
        self,
        l2: float | str = "auto",
        *,
        l2_grid: Sequence[float] = EASE_L2_GRID,
        max_items: int = 20000,
        validation_fraction: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.l2 = l2
        self.l2_grid = tuple(l2_grid)
        self.max_items = max_items
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.weights_: npt.NDArray[np.float32] | None = None
        self.l2_: float | None = None
        self.validation_: dict[float, float] = {}

    def _check_params(self, n_users: int, n_items: int) -> None:
        if isinstance(self.max_items, bool) or not isinstance(self.max_items, int | np.integer):
            raise InputError(f"max_items: must be an integer, got {self.max_items!r}")
        if n_items > self.max_items:
            gb = 24 * n_items**2 / 1e9
            raise InputError(
                f"EASE: {n_items:,} items exceed max_items={self.max_items:,}; the dense "
                f"{n_items:,} x {n_items:,} solve needs about {gb:.1f} GB. Drop rare items, or "
                "raise max_items if the memory is there"
            )
        if self.l2 == "auto":
            if not self.l2_grid or not all(float(v) > 0 for v in self.l2_grid):
                raise InputError(f"l2_grid: need positive candidates, got {self.l2_grid!r}")
            if not 0.0 < self.validation_fraction < 1.0:
                raise InputError(
                    f"validation_fraction: must be in (0, 1), got {self.validation_fraction}"
                )
            if n_users < _MIN_USERS_FOR_AUTO:
                raise InputError(
                    f"EASE: l2='auto' holds out validation users and needs at least "
                    f"{_MIN_USERS_FOR_AUTO} users, got {n_users}; pass l2 explicitly"
                )
        elif isinstance(self.l2, bool) or not (
            isinstance(self.l2, int | float | np.floating) and np.isfinite(self.l2) and self.l2 > 0
        ):
            raise InputError(f"l2: must be a positive number or 'auto', got {self.l2!r}")

    def fit(self, train: sp.spmatrix | sp.sparray | InteractionMatrix) -> EASERecommender:
        """Solve for ``B`` on the training histories (choosing ``l2`` first if ``"auto"``).

        Parameters
        ----------
        train : sparse matrix or InteractionMatrix, shape (n_users, n_items)

        Returns
        -------
        EASERecommender
            ``self``.

        Raises
        ------
        InputError
            More than ``max_items`` items, an invalid ``l2``, or too few users for ``"auto"``.
        """
        csr = _as_csr(train, source="EASERecommender.fit")
        self._check_params(*csr.shape)
        self.validation_ = {}
        l2 = self._choose_l2(csr) if self.l2 == "auto" else float(self.l2)
        self.weights_ = _closed_form(_regularised_inverse(_gram(csr), l2))
        self.l2_ = l2
        self._n_items = csr.shape[1]
        return self

    def _choose_l2(self, csr: sp.csr_matrix) -> float:
        n_heldout = max(1, round(self.validation_fraction * csr.shape[0]))
        split = split_users(csr, n_heldout_users=n_heldout, random_state=self.random_state)
        # Single precision is enough to rank candidates and halves the cost of each inverse;
        # the final fit is in double precision.
        gram = _gram(split.train).astype(np.float32)
        fold_in = split.heldout_fold_in
        seen = fold_in.nonzero()
        for candidate in self.l2_grid:
            scores = fold_in @ _closed_form(_regularised_inverse(gram, float(candidate)))
            scores[seen] = -np.inf  # a seen item is never a recommendation
            self.validation_[float(candidate)] = ndcg_at_k(scores, split.heldout_target, 100)
        # Ties go to the larger penalty (the smoother model).
        return max(self.validation_, key=lambda v: (self.validation_[v], v))

    def score(self, fold_in: sp.spmatrix | sp.sparray) -> npt.NDArray[np.float32]:
        """Scores ``history @ B`` of every item for each row of ``fold_in``.

        Parameters
        ----------
        fold_in : sparse matrix, shape (n_users, n_items)

        Returns
        -------
        ndarray of float32, shape (n_users, n_items)
        """
        csr = self._check_input(fold_in)
        assert self.weights_ is not None
        return np.asarray(csr @ self.weights_, dtype=np.float32)
