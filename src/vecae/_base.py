"""The private base class that every vecae estimator shares.

It owns what does not depend on the model family: parameter validation, the seeded
train/validation split, the call into the one trainer, batched inference, anomaly scores and
the fitted threshold, and saving. A concrete estimator supplies four things: how to validate
and prepare its input, how to build its ``nn.Module``, its training loss, and its per-row
reconstruction error.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from vecae._exceptions import DimensionMismatchError, InputError, TrainingDivergedError
from vecae._train import (
    BatchSource,
    TrainerConfig,
    TrainResult,
    resolve_device,
    torch_threads,
    train,
)
from vecae.models._layers import ACTIVATIONS, init_weights

__all__ = ["BaseAutoencoder", "SubsetSource", "check_finite_rows", "check_width", "column_count"]

INFERENCE_BATCH = 8192  # rows per forward pass at inference: bounded memory, fast matmuls
SCORE_QUANTILES = 1001  # resolution of the stored training-score distribution (0.1% steps)


class SubsetSource:
    """A view of another batch source restricted to some of its rows (train or validation)."""

    def __init__(self, source: BatchSource, rows: torch.Tensor) -> None:
        self.source = source
        self.rows = rows
        self.n_rows = int(rows.shape[0])

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        return self.source.batch(self.rows[rows])


def check_finite_rows(X: np.ndarray | sp.spmatrix, source: str = "X") -> None:
    """Raise :class:`InputError` naming the first row that holds NaN or Inf."""
    if sp.issparse(X):
        csr = sp.csr_matrix(X)
        bad = ~np.isfinite(csr.data)
        if bad.any():
            row = int(np.searchsorted(csr.indptr, np.flatnonzero(bad)[0], side="right") - 1)
            raise InputError(f"{source}: row {row} contains NaN or Inf; remove or impute it")
        return
    if X.dtype.kind not in "fc":
        return
    for start in range(0, X.shape[0], 65536):
        block = X[start : start + 65536]
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0])
            raise InputError(f"{source}: row {row} contains NaN or Inf; remove or impute it")


def column_count(X: object) -> int | None:
    """Width of a 2-D array, sparse matrix or DataFrame, read without converting it."""
    if isinstance(X, np.ndarray) or sp.issparse(X):
        shape = X.shape  # type: ignore[attr-defined]
        return int(shape[1]) if len(shape) == 2 else None
    columns = getattr(X, "columns", None)
    return len(columns) if columns is not None else None


def check_width(estimator: BaseEstimator, n_features: int) -> None:
    """Same wording as scikit-learn, as a :class:`DimensionMismatchError`."""
    expected = estimator.n_features_in_
    if n_features != expected:
        raise DimensionMismatchError(
            f"X has {n_features} features, but {type(estimator).__name__} is expecting "
            f"{expected} features as input."
        )


class BaseAutoencoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Shared fit / transform / score / save machinery. Not for direct use."""

    _kind: ClassVar[str]
    # The family's network (DenseNet, VariationalNet or CategoricalNet). Typed loosely because
    # each family calls its own methods on it and nn.Module attribute access is untyped anyway.
    module_: Any
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "mask_rate": [Interval(Real, 0, 1, closed="left")],
        "epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "contamination": [Interval(Real, 0, 0.5, closed="neither")],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    # -- what a concrete estimator provides ---------------------------------------------------

    @abstractmethod
    def _prepare_fit(self, X: Any) -> BatchSource:
        """Validate ``X``, fit preprocessing, set input-layout attributes; return all rows."""

    @abstractmethod
    def _prepare(self, X: Any) -> BatchSource:
        """Validate ``X`` against the fitted layout; return its rows in model space."""

    @abstractmethod
    def _build_module(self) -> nn.Module:
        """A freshly constructed, untrained module for the fitted input layout."""

    @abstractmethod
    def _row_errors(self, batch: torch.Tensor) -> torch.Tensor:
        """Per-row anomaly score in model space; higher is more anomalous."""

    def _training_loss(
        self, batch: torch.Tensor, epoch: int, generator: torch.Generator
    ) -> torch.Tensor:
        return self.module_.loss(self._corrupt(batch, generator), batch)  # type: ignore[no-any-return]

    def _validation_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # Validation scores the clean reconstruction: it measures what transform will deliver.
        return self.module_.loss(batch, batch)  # type: ignore[no-any-return]

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, X: Any, y: object = None) -> BaseAutoencoder:
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training vectors.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        generator = torch.Generator().manual_seed(seed)
        self.device_ = resolve_device(self.device)
        with torch_threads(self.n_threads):
            source = self._prepare_fit(X)
            # nn.Linear's constructor draws a default init from the global RNG; we overwrite it
            # from our generator, and the fork keeps the caller's global RNG state untouched.
            with torch.random.fork_rng(devices=[]):
                self.module_ = self._build_module()
            init_weights(self.module_, generator)
            self.module_.to(self.device_)
            train_source, val_source = self._split(source, generator)
            config = TrainerConfig(
                epochs=self.epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                patience=self.patience,
                verbose=self.verbose,
            )
            # A separate, fixed generator keeps the VAE's validation noise identical every epoch.
            val_generator = torch.Generator().manual_seed(seed + 1)
            try:
                result = train(
                    self.module_,
                    lambda batch, epoch: self._training_loss(batch, epoch, generator),
                    lambda batch: self._validation_loss(batch, val_generator),
                    train_source,
                    val_source,
                    config,
                    generator,
                )
            except TrainingDivergedError:
                self.module_.eval()
                raise
            self._set_history(result)
            training_scores = self._scores(source)
            # 1001 quantiles of the training scores are kept (and saved), so a threshold for any
            # other contamination can be derived later without the training data.
            self.score_quantiles_ = np.quantile(
                training_scores, np.linspace(0.0, 1.0, SCORE_QUANTILES)
            ).astype(np.float64)
            self.threshold_ = self.threshold_for(float(self.contamination))
        return self

    def _split(
        self, source: BatchSource, generator: torch.Generator
    ) -> tuple[BatchSource, BatchSource | None]:
        n = source.n_rows
        n_val = round(self.validation_fraction * n)
        if n_val == 0 or n - n_val < 1:
            return source, None
        order = torch.randperm(n, generator=generator)
        return SubsetSource(source, order[n_val:]), SubsetSource(source, order[:n_val])

    def _set_history(self, result: TrainResult) -> None:
        self.history_ = {key: list(values) for key, values in result.history.items()}
        self.n_epochs_ = result.epochs_run
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = result.stop_reason
        self.fit_seconds_ = result.seconds

    def _corrupt(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Denoising corruption: masking noise, then additive Gaussian noise, in model space."""
        if self.mask_rate > 0:
            keep = torch.rand(batch.shape, generator=generator) >= self.mask_rate
            batch = batch * keep.to(batch.device, batch.dtype)
        if self.noise_std > 0:
            noise = torch.randn(batch.shape, generator=generator).to(batch.device)
            batch = batch + self.noise_std * noise
        return batch

    # -- inference ----------------------------------------------------------------------------

    def _batches(self, source: BatchSource) -> Iterator[torch.Tensor]:
        for start in range(0, source.n_rows, INFERENCE_BATCH):
            yield source.batch(torch.arange(start, min(start + INFERENCE_BATCH, source.n_rows)))

    def _map(self, source: BatchSource, fn: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        self.module_.eval()
        with torch.no_grad(), torch_threads(self.n_threads):
            parts = [fn(batch).cpu().numpy() for batch in self._batches(source)]
        if not parts:
            return np.empty((0,), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _scores(self, source: BatchSource) -> np.ndarray:
        return self._map(source, self._row_errors)

    def transform(self, X: Any) -> np.ndarray:
        """The improved encodings: the bottleneck activations of each row of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim), float32
        """
        check_is_fitted(self)
        source = self._prepare(X)
        Z = self._map(source, self.module_.encode)
        return Z.reshape(source.n_rows, self.latent_dim)

    def score_samples(self, X: Any) -> np.ndarray:
        """One score per row; higher means more typical of the training data.

        The negative of :meth:`anomaly_score`, following scikit-learn's convention.
        """
        return -self.anomaly_score(X)

    def anomaly_score(self, X: Any) -> np.ndarray:
        """One score per row; higher means more anomalous (reconstruction error)."""
        check_is_fitted(self)
        return self._scores(self._prepare(X))

    def threshold_for(self, contamination: float) -> float:
        """Anomaly-score threshold that flags ``contamination`` of the training rows."""
        check_is_fitted(self, "score_quantiles_")
        if not 0.0 <= contamination <= 1.0:
            raise ValueError(f"contamination must be in [0, 1], got {contamination}")
        levels = np.linspace(0.0, 1.0, len(self.score_quantiles_))
        return float(np.interp(1.0 - contamination, levels, self.score_quantiles_))

    def is_anomaly(self, X: Any, *, threshold: float | None = None) -> np.ndarray:
        """Boolean flag per row: its anomaly score exceeds the fitted (or given) threshold."""
        limit = self.threshold_ if threshold is None else threshold
        return self.anomaly_score(X) > limit

    # -- persistence --------------------------------------------------------------------------

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to ``directory`` (``config.json`` + safetensors files).

        Nothing is pickled. The directory is written under a temporary name and renamed into
        place, so a failure never leaves a half-written model behind.
        """
        from vecae._serialize import save_model

        check_is_fitted(self)
        return save_model(self, Path(directory), overwrite=overwrite)

    # -- scikit-learn plumbing ----------------------------------------------------------------

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True
        tags.non_deterministic = self.random_state is None
        return tags
