"""Estimator for one-hot and multi-hot data: :class:`CategoricalAutoencoder`."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from vecae._base import BaseAutoencoder, check_finite_rows, check_width, column_count, validate_rows
from vecae._batches import BatchSource, CodesSource, SparseSource, TensorSource
from vecae._checks import check_sparse_structure
from vecae._exceptions import InputError
from vecae.models.categorical import LIKELIHOODS, CategoricalConfig, CategoricalNet

__all__ = ["CategoricalAutoencoder"]


def _as_category_column(column: np.ndarray, kind: str) -> np.ndarray:
    """Values of one field in a sortable dtype: integers stay integers, the rest become str."""
    if kind == "int":
        return column.astype(np.int64)
    if kind == "float":
        return column.astype(np.float64)
    return column.astype(str)


def _column_kind(column: np.ndarray) -> str:
    if column.dtype.kind in "iub":
        return "int"
    if column.dtype.kind == "f":
        return "float"
    return "str"


class CategoricalAutoencoder(BaseAutoencoder):
    """Autoencoder for categorical fields (one-hot) and bags of items (multi-hot).

    Two input kinds:

    * a 2-D array with **one column per categorical field** (integers or strings). Each field is
      one-hot encoded with the categories seen in ``fit`` (kept in ``categories_``) and decoded
      by its own softmax with cross-entropy. A value never seen in ``fit`` leaves its field's
      block empty instead of failing, so new rows can always be encoded;
    * a **scipy sparse matrix** of multi-hot rows (bags of items, or pre-encoded one-hot
      blocks). It is densified one batch at a time, never whole.

    Parameters
    ----------
    latent_dim : int, default=32
    likelihood : {"auto", "softmax", "multinomial", "binary"}, default="auto"
        ``"softmax"``: one softmax per field (needs ``field_sizes`` for sparse input);
        ``"multinomial"``: one softmax over all items (Mult-DAE); ``"binary"``: independent
        sigmoids. ``"auto"`` picks softmax for field columns and multinomial for sparse input.
    field_sizes : tuple of int or None, default=None
        Widths of the one-hot blocks of a sparse input read with the softmax likelihood.
    max_categories : int, default=50_000
        Most distinct values one field column may have. A column with more is almost always a
        key (an id per row), whose one-hot block would exhaust memory; ``fit`` refuses it
        with an :class:`~vecae.InputError` that says so.
    mask_rate : float, default=0.0
        Share of input entries dropped during training (Mult-DAE uses 0.5 on item bags).
    (other parameters as in :class:`vecae.Autoencoder`)

    Attributes
    ----------
    categories_ : list of ndarray or None
        The values of each field, in one-hot order; ``None`` for sparse input.
    field_sizes_ : tuple of int
        Width of each one-hot block (empty for multi-hot likelihoods).
    likelihood_ : str
        The likelihood actually used.
    n_features_in_ : int
        Number of fields (columns) or, for sparse input, number of items.

    Examples
    --------
    >>> import numpy as np
    >>> from vecae import CategoricalAutoencoder
    >>> rng = np.random.default_rng(0)
    >>> X = np.stack([rng.integers(0, 5, 300), rng.integers(0, 3, 300)], axis=1)
    >>> model = CategoricalAutoencoder(latent_dim=2, epochs=3, random_state=0).fit(X)
    >>> model.inverse_transform(model.transform(X)).shape
    (300, 2)
    """

    kind = "categorical"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseAutoencoder._parameter_constraints,
        "likelihood": [StrOptions({"auto", *LIKELIHOODS})],
        "field_sizes": ["array-like", None],
        "max_categories": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        latent_dim: int = 32,
        *,
        likelihood: str = "auto",
        field_sizes: tuple[int, ...] | None = None,
        max_categories: int = 50_000,
        hidden: tuple[int, ...] = (256,),
        activation: str = "relu",
        dropout: float = 0.0,
        noise_std: float = 0.0,
        mask_rate: float = 0.0,
        epochs: int = 100,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int = 10,
        lr_schedule: str = "plateau",
        lr_patience: int = 4,
        lr_factor: float = 0.5,
        min_delta: float = 1e-4,
        grad_clip: float = 5.0,
        contamination: float = 0.01,
        device: str = "auto",
        n_threads: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
    ) -> None:
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.field_sizes = field_sizes
        self.max_categories = max_categories
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.noise_std = noise_std
        self.mask_rate = mask_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.min_delta = min_delta
        self.grad_clip = grad_clip
        self.contamination = contamination
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # -- input layout -------------------------------------------------------------------------

    def _validate_input(self, X: Any, *, reset: bool) -> np.ndarray | sp.csr_matrix:
        check_sparse_structure(X)
        if not reset and (n_columns := column_count(X)) is not None:
            check_width(self, n_columns)
        X = validate_rows(
            self, X, reset=reset, accept_sparse="csr", dtype=None, ensure_all_finite=False
        )
        if sp.issparse(X):
            X = X.astype(np.float32)
            check_finite_rows(X)
            if (X.data < 0).any():
                raise InputError("X: multi-hot input must not hold negative values")
        else:
            check_finite_rows(X)
        return X

    def _prepare_fit(self, X: Any) -> BatchSource:
        X = self._validate_input(X, reset=True)
        if sp.issparse(X):
            self.categories_ = None
            self.likelihood_ = "multinomial" if self.likelihood == "auto" else self.likelihood
            sizes = tuple(int(s) for s in self.field_sizes) if self.field_sizes else ()
            if self.likelihood_ == "softmax" and sum(sizes) != X.shape[1]:
                raise ValueError(
                    "likelihood='softmax' on sparse input needs field_sizes that add up to the "
                    f"{X.shape[1]} columns; got {sizes or None}"
                )
            self.field_sizes_ = sizes if self.likelihood_ == "softmax" else ()
            self.one_hot_width_ = int(X.shape[1])
            return SparseSource(X, self.device_)
        self.likelihood_ = "softmax" if self.likelihood == "auto" else self.likelihood
        self.category_kinds_ = [_column_kind(X[:, j]) for j in range(X.shape[1])]
        self.categories_ = [
            np.unique(_as_category_column(X[:, j], kind))
            for j, kind in enumerate(self.category_kinds_)
        ]
        for j, values in enumerate(self.categories_):
            if len(values) > self.max_categories:
                raise InputError(
                    f"X: column {j} has {len(values)} distinct values, more than "
                    f"max_categories={self.max_categories}; a column of ids is a key, not a "
                    "category (on the command line, pass it with --key-column)"
                )
        sizes = tuple(len(c) for c in self.categories_)
        self.field_sizes_ = sizes if self.likelihood_ == "softmax" else ()
        self.one_hot_width_ = int(sum(sizes))
        return self._codes_source(X)

    def _codes_source(self, X: np.ndarray) -> CodesSource:
        assert self.categories_ is not None  # only called for field input
        codes = np.empty(X.shape, dtype=np.int64)
        for j, (cats, kind) in enumerate(zip(self.categories_, self.category_kinds_, strict=True)):
            column = _as_category_column(X[:, j], kind)
            position = np.minimum(np.searchsorted(cats, column), len(cats) - 1)
            codes[:, j] = np.where(cats[position] == column, position, -1)
        sizes = [len(c) for c in self.categories_]
        offsets = torch.tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]), dtype=torch.int64)
        return CodesSource(
            torch.from_numpy(codes).to(self.device_), offsets.to(self.device_), self.one_hot_width_
        )

    def _prepare(self, X: Any) -> BatchSource:
        X = self._validate_input(X, reset=False)
        if self.categories_ is None:
            if not sp.issparse(X):
                X = sp.csr_matrix(np.asarray(X, dtype=np.float32))
            return SparseSource(X, self.device_)
        if sp.issparse(X):
            raise InputError("X: this model was fitted on categorical columns, not a sparse matrix")
        return self._codes_source(X)

    # -- persistence --------------------------------------------------------------------------

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "likelihood_": self.likelihood_,
            "field_sizes_": list(self.field_sizes_),
            "one_hot_width_": self.one_hot_width_,
        }
        if self.categories_ is not None:
            state["category_kinds_"] = list(self.category_kinds_)
            state["categories_"] = [c.tolist() for c in self.categories_]
        return state

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        self.likelihood_ = str(state["likelihood_"])
        self.field_sizes_ = tuple(int(s) for s in state["field_sizes_"])
        self.one_hot_width_ = int(state["one_hot_width_"])
        self.categories_ = None
        if "categories_" in state:
            self.category_kinds_ = [str(k) for k in state["category_kinds_"]]
            dtypes = {"int": np.int64, "float": np.float64, "str": str}
            self.categories_ = [
                np.asarray(values, dtype=dtypes[kind])
                for values, kind in zip(state["categories_"], self.category_kinds_, strict=True)
            ]

    # -- model --------------------------------------------------------------------------------

    def _build_module(self) -> CategoricalNet:
        return CategoricalNet(
            CategoricalConfig(
                n_features=self.one_hot_width_,
                latent_dim=self.latent_dim,
                hidden=tuple(int(h) for h in self.hidden),
                activation=self.activation,
                dropout=self.dropout,
                likelihood=self.likelihood_,
                field_sizes=self.field_sizes_,
            )
        )

    def _row_errors(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_.sample_errors(batch)  # type: ignore[no-any-return]

    # -- decoding -----------------------------------------------------------------------------

    def decision_scores(self, Z: Any) -> np.ndarray:
        """Decoder logits for each one-hot column or item, shape ``(n, width)``.

        Rank items by these to recommend; :meth:`inverse_transform` turns them into values.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32)
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but this model encodes to "
                f"latent_dim={self.latent_dim}"
            )
        source = TensorSource(torch.from_numpy(Z).to(self.device_))
        return self._map(source, self.module_.decode).reshape(len(Z), self.one_hot_width_)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode encodings.

        Returns
        -------
        ndarray
            For field columns: the most likely value of each field, shape
            ``(n_samples, n_fields)``. For multi-hot input: item probabilities, shape
            ``(n_samples, n_items)`` (softmax for multinomial, sigmoid for binary).
        """
        logits = torch.from_numpy(self.decision_scores(Z))
        if self.likelihood_ == "multinomial":
            return torch.softmax(logits, dim=1).numpy()
        if self.likelihood_ == "binary":
            return torch.sigmoid(logits).numpy()
        predictions: np.ndarray = self.module_.field_predictions(logits).numpy()
        if self.categories_ is None:
            return predictions
        columns = [cats[predictions[:, j]] for j, cats in enumerate(self.categories_)]
        if all(kind == "int" for kind in self.category_kinds_):
            return np.stack(columns, axis=1)
        return np.stack([c.astype(object) for c in columns], axis=1)
