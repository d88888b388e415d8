"""Baselines that a learned encoding has to beat, as scikit-learn estimators.

Two families, each with its registry that the harness reads:

* dimension **reducers** (``fit`` / ``transform`` / ``inverse_transform``), built at the
  model's encoding width by the factories in :data:`REDUCERS`;
* anomaly **detectors** (``fit`` / ``anomaly_score``, higher = more anomalous) on the
  original vectors, built by the factories in :data:`DETECTORS`.

All are fitted on training vectors only; the harness never shows them evaluation items.
Adding a baseline is a class (here or in a module of its own) plus one registry line.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
>>> PCABaseline(2).fit(X).transform(X).shape
(50, 2)
>>> sorted(REDUCERS)
['abtt-pca', 'pca', 'random-projection', 'whitened-pca']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, TransformerMixin

from vecae._exceptions import InputError
from vecae.evaluate._metrics import Metric, as_matrix, exact_knn

__all__ = [
    "ABTTPCA",
    "DETECTORS",
    "REDUCERS",
    "BaseDetector",
    "BaseReducer",
    "Identity",
    "IsolationForestDetector",
    "KNNDistanceDetector",
    "PCABaseline",
    "PCAReconstructionDetector",
    "RandomProjection",
    "WhitenedPCA",
]

FloatArray = NDArray[np.float32]


class _WidthChecked(BaseEstimator):  # type: ignore[misc]
    """Shared input checks: width recorded at fit and enforced afterwards."""

    n_features_in_: int

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise InputError(f"{type(self).__name__} is not fitted yet; call fit(X) first")

    def _check_width(self, X: ArrayLike, name: str = "X") -> FloatArray:
        self._check_fitted()
        arr = as_matrix(X, name)
        if arr.shape[1] != self.n_features_in_:
            raise InputError(
                f"{name}: width {arr.shape[1]} differs from the {self.n_features_in_} seen in fit"
            )
        return arr


class BaseReducer(TransformerMixin, _WidthChecked):  # type: ignore[misc]
    """A dimension reducer: ``fit``, ``transform`` and ``inverse_transform``."""

    def fit_transform(self, X: ArrayLike, y: Any = None, **fit_params: Any) -> FloatArray:
        """Fit on ``X`` and return its encoding."""
        return self.fit(X).transform(X)  # type: ignore[no-any-return]


class BaseDetector(ABC, _WidthChecked):
    """An anomaly detector: ``fit`` and ``anomaly_score`` (higher = more anomalous)."""

    @abstractmethod
    def fit(self, X: ArrayLike, y: Any = None) -> BaseDetector:
        """Fit on training vectors; return ``self``."""

    @abstractmethod
    def anomaly_score(self, X: ArrayLike) -> NDArray[np.float64]:
        """One score per row of ``X``; higher = more anomalous."""


def _check_n_components(n_components: int, X: FloatArray, limit: int | None = None) -> None:
    cap = min(X.shape) if limit is None else limit
    if not 1 <= n_components <= cap:
        raise InputError(
            f"n_components={n_components} must be between 1 and {cap} for data of shape {X.shape}"
        )


class Identity(BaseReducer):
    """The original vectors, unchanged (the "do nothing" reference).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> Identity().fit(X).transform(X[:3]).shape[0]
    3
    """

    def fit(self, X: ArrayLike, y: Any = None) -> Identity:
        """Record the input width.

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : ignored

        Returns
        -------
        self
        """
        arr = as_matrix(X)
        self.n_features_in_ = arr.shape[1]
        self.n_components_ = arr.shape[1]
        return self

    def transform(self, X: ArrayLike) -> FloatArray:
        """Return ``X`` as float32."""
        return self._check_width(X).copy()

    def inverse_transform(self, Z: ArrayLike) -> FloatArray:
        """Return ``Z`` as float32."""
        return self._check_width(Z, "Z").copy()


class PCABaseline(BaseReducer):
    """Principal component analysis to ``n_components`` dimensions.

    Parameters
    ----------
    n_components : int
        Output dimension.
    whiten : bool
        Scale each component to unit variance (see :class:`WhitenedPCA`).
    random_state : int
        Seed for the randomised SVD solver that scikit-learn may pick on large inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> pca = PCABaseline(2).fit(X)
    >>> pca.transform(X[:3]).shape, pca.inverse_transform(pca.transform(X[:3])).shape
    ((3, 2), (3, 6))
    """

    def __init__(self, n_components: int, *, whiten: bool = False, random_state: int = 0) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> PCABaseline:
        """Fit the principal components of ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Training vectors.
        y : ignored

        Returns
        -------
        self
        """
        from sklearn.decomposition import PCA

        arr = as_matrix(X)
        _check_n_components(self.n_components, arr)
        self.pca_ = PCA(self.n_components, whiten=self.whiten, random_state=self.random_state)
        self.pca_.fit(arr)
        self.n_features_in_ = arr.shape[1]
        self.mean_: NDArray[Any] = self.pca_.mean_
        self.components_: NDArray[Any] = self.pca_.components_
        self.explained_variance_ratio_: NDArray[Any] = self.pca_.explained_variance_ratio_
        return self

    def transform(self, X: ArrayLike) -> FloatArray:
        """Project ``X`` on the principal components."""
        arr = self._check_width(X)
        return np.asarray(self.pca_.transform(arr), dtype=np.float32)

    def inverse_transform(self, Z: ArrayLike) -> FloatArray:
        """Map encodings back to the input space (best rank-``n_components`` approximation)."""
        self._check_fitted()
        z = as_matrix(Z, "Z")
        if z.shape[1] != self.n_components:
            raise InputError(f"Z: width {z.shape[1]} differs from n_components={self.n_components}")
        return np.asarray(self.pca_.inverse_transform(z), dtype=np.float32)


class WhitenedPCA(PCABaseline):
    """PCA whose components are scaled to unit variance.

    Whitening gives every kept direction equal weight in cosine or L2 comparisons.

    Parameters
    ----------
    n_components : int
        Output dimension.
    random_state : int
        Seed for scikit-learn's solver choice.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> WhitenedPCA(2).fit(X).transform(X[:3]).shape[0]
    3
    """

    def __init__(self, n_components: int, *, random_state: int = 0) -> None:
        super().__init__(n_components, whiten=True, random_state=random_state)


class ABTTPCA(BaseReducer):
    """All-but-the-top post-processing followed by PCA (Mu & Viswanath, ICLR 2018).

    Subtract the mean, remove the projection on the top ``n_remove`` principal
    directions (which carry frequency rather than meaning in word vectors), then reduce
    with PCA.

    Parameters
    ----------
    n_components : int
        Output dimension.
    n_remove : int, optional
        Dominant directions to remove; default ``max(1, round(d / 100))``.
    random_state : int
        Seed for scikit-learn's solver choice.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> ABTTPCA(2).fit(X).transform(X[:3]).shape[0]
    3
    """

    def __init__(
        self, n_components: int, *, n_remove: int | None = None, random_state: int = 0
    ) -> None:
        self.n_components = n_components
        self.n_remove = n_remove
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> ABTTPCA:
        """Fit the mean, the removed directions and the final PCA on ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Training vectors.
        y : ignored

        Returns
        -------
        self
        """
        from sklearn.decomposition import PCA

        arr = as_matrix(X)
        d = arr.shape[1]
        n_remove = max(1, round(d / 100)) if self.n_remove is None else self.n_remove
        if not 1 <= n_remove < min(arr.shape):
            raise InputError(f"n_remove={n_remove} must be between 1 and {min(arr.shape) - 1}")
        _check_n_components(self.n_components, arr, min(d - n_remove, arr.shape[0]))
        self.n_remove_ = n_remove
        self.mean_: NDArray[Any] = arr.mean(axis=0, dtype=np.float64)
        centred = arr - self.mean_
        top = PCA(n_remove, random_state=self.random_state).fit(centred)
        self.removed_components_: NDArray[Any] = top.components_
        self.pca_ = PCA(self.n_components, random_state=self.random_state)
        self.pca_.fit(self._remove_top(centred))
        self.components_: NDArray[Any] = self.pca_.components_
        self.n_features_in_ = d
        return self

    def _remove_top(self, centred: NDArray[Any]) -> NDArray[Any]:
        U = self.removed_components_
        out: NDArray[Any] = centred - (centred @ U.T) @ U
        return out

    def post_process(self, X: ArrayLike) -> FloatArray:
        """ABTT alone: centre and remove the top directions, keeping the full width."""
        arr = self._check_width(X)
        return np.asarray(self._remove_top(arr - self.mean_), dtype=np.float32)

    def transform(self, X: ArrayLike) -> FloatArray:
        """Post-process ``X`` and project it on the PCA components."""
        return np.asarray(self.pca_.transform(self.post_process(X)), dtype=np.float32)

    def inverse_transform(self, Z: ArrayLike) -> FloatArray:
        """Map encodings back to the input space; the removed directions come back as zero."""
        self._check_fitted()
        z = as_matrix(Z, "Z")
        if z.shape[1] != self.n_components:
            raise InputError(f"Z: width {z.shape[1]} differs from n_components={self.n_components}")
        return np.asarray(self.pca_.inverse_transform(z) + self.mean_, dtype=np.float32)


class RandomProjection(BaseReducer):
    """Gaussian random projection (Johnson–Lindenstrauss), seeded.

    ``Z = X @ R`` with ``R[i, j] ~ N(0, 1 / n_components)``; the inverse uses the
    pseudo-inverse of ``R``.

    Parameters
    ----------
    n_components : int
        Output dimension.
    random_state : int
        Seed of the projection matrix.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    >>> RandomProjection(2).fit(X).transform(X[:3]).shape[0]
    3
    """

    def __init__(self, n_components: int, *, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> RandomProjection:
        """Draw the projection for the width of ``X`` (the values of ``X`` are not used).

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : ignored

        Returns
        -------
        self
        """
        arr = as_matrix(X)
        if self.n_components < 1:
            raise InputError(f"n_components={self.n_components} must be at least 1")
        rng = np.random.default_rng(self.random_state)
        d = arr.shape[1]
        scale = 1.0 / np.sqrt(self.n_components)
        self.projection_ = rng.normal(0.0, scale, size=(d, self.n_components)).astype(np.float32)
        self.inverse_projection_ = np.linalg.pinv(self.projection_).astype(np.float32)
        self.n_features_in_ = d
        return self

    def transform(self, X: ArrayLike) -> FloatArray:
        """Project ``X``."""
        out: FloatArray = self._check_width(X) @ self.projection_
        return out

    def inverse_transform(self, Z: ArrayLike) -> FloatArray:
        """Least-squares map back to the input space."""
        self._check_fitted()
        z = as_matrix(Z, "Z")
        if z.shape[1] != self.n_components:
            raise InputError(f"Z: width {z.shape[1]} differs from n_components={self.n_components}")
        out: FloatArray = z @ self.inverse_projection_
        return out


# ---------------------------------------------------------------------------------------
# Anomaly detectors on the original vectors


class PCAReconstructionDetector(BaseDetector):
    """Anomaly score = squared error of the rank-``n_components`` PCA reconstruction.

    Parameters
    ----------
    n_components : int
        Rank of the reconstruction.
    random_state : int
        Seed for scikit-learn's solver choice.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    >>> detector = PCAReconstructionDetector(2).fit(X)
    >>> far = np.full((1, 4), 8.0, dtype=np.float32)
    >>> bool(detector.anomaly_score(far)[0] > detector.anomaly_score(X[:50]).max())
    True
    """

    def __init__(self, n_components: int, *, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> PCAReconstructionDetector:
        """Fit the PCA on training vectors."""
        self.pca_ = PCABaseline(self.n_components, random_state=self.random_state).fit(X)
        self.n_features_in_ = self.pca_.n_features_in_
        return self

    def anomaly_score(self, X: ArrayLike) -> NDArray[np.float64]:
        """Sum of squared reconstruction errors per row (higher = more anomalous)."""
        arr = self._check_width(X)
        rec = self.pca_.inverse_transform(self.pca_.transform(arr))
        out: NDArray[np.float64] = np.sum((arr.astype(np.float64) - rec) ** 2, axis=1)
        return out


class IsolationForestDetector(BaseDetector):
    """scikit-learn's IsolationForest; anomaly score = minus its ``score_samples``.

    Parameters
    ----------
    n_estimators : int
        Number of trees.
    random_state : int
        Seed of the forest.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    >>> detector = IsolationForestDetector(random_state=0).fit(X)
    >>> far = np.full((1, 4), 8.0, dtype=np.float32)
    >>> bool(detector.anomaly_score(far)[0] > detector.anomaly_score(X[:50]).max())
    True
    """

    def __init__(self, *, n_estimators: int = 100, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> IsolationForestDetector:
        """Grow the forest on training vectors."""
        from sklearn.ensemble import IsolationForest

        arr = as_matrix(X)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state
        ).fit(arr)
        self.n_features_in_ = arr.shape[1]
        return self

    def anomaly_score(self, X: ArrayLike) -> NDArray[np.float64]:
        """Higher = shorter average isolation path = more anomalous."""
        return -np.asarray(self.forest_.score_samples(self._check_width(X)), dtype=np.float64)


class KNNDistanceDetector(BaseDetector):
    """Anomaly score = mean distance to the ``k`` nearest training vectors.

    Parameters
    ----------
    k : int
        Neighbours averaged.
    metric : {"cosine", "l2"}
        ``"cosine"`` uses the cosine distance ``1 - cos``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    >>> detector = KNNDistanceDetector(5, metric="l2").fit(X)
    >>> far = np.full((1, 4), 8.0, dtype=np.float32)
    >>> bool(detector.anomaly_score(far)[0] > detector.anomaly_score(X[:50]).max())
    True
    """

    def __init__(self, k: int = 5, *, metric: Metric = "cosine") -> None:
        self.k = k
        self.metric = metric

    def fit(self, X: ArrayLike, y: Any = None) -> KNNDistanceDetector:
        """Keep the training vectors."""
        self.train_ = as_matrix(X)
        if not 1 <= self.k <= self.train_.shape[0]:
            raise InputError(f"k={self.k} must be between 1 and {self.train_.shape[0]}")
        self.n_features_in_ = self.train_.shape[1]
        return self

    def anomaly_score(self, X: ArrayLike) -> NDArray[np.float64]:
        """Mean distance of each row of ``X`` to its ``k`` nearest training vectors."""
        arr = self._check_width(X)
        _, scores = exact_knn(arr, self.train_, self.k, self.metric)
        dist = 1.0 - scores.astype(np.float64) if self.metric == "cosine" else scores
        return np.asarray(dist.mean(axis=1), dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Registries: what the harness compares against, by the name its tables use.

ReducerFactory = Callable[[int, int], BaseReducer]
"""``factory(n_components, random_state)`` -> an unfitted reducer."""

DetectorFactory = Callable[[int, int, Metric, int], BaseDetector]
"""``factory(n_components, n_features, metric, random_state)`` -> an unfitted detector."""

REDUCERS: dict[str, ReducerFactory] = {
    "pca": lambda m, seed: PCABaseline(m, random_state=seed),
    "abtt-pca": lambda m, seed: ABTTPCA(m, random_state=seed),
    "whitened-pca": lambda m, seed: WhitenedPCA(m, random_state=seed),
    "random-projection": lambda m, seed: RandomProjection(m, random_state=seed),
}

DETECTORS: dict[str, DetectorFactory] = {
    # The same rank as the model's encoding, kept below full rank so it can miss something.
    "pca-reconstruction": lambda m, d, metric, seed: PCAReconstructionDetector(
        min(m, d - 1) if m >= d else m
    ),
    "isolation-forest": lambda m, d, metric, seed: IsolationForestDetector(random_state=seed),
    "knn-distance": lambda m, d, metric, seed: KNNDistanceDetector(5, metric=metric),
}
