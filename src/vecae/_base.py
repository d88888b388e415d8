"""The private base class that every vecae estimator shares.

It owns what does not depend on the model family: parameter validation, the seeded
train/validation split, the call into the one trainer, batched inference, anomaly scores and
the fitted threshold, and saving. A concrete estimator supplies four things: how to validate
and prepare its input, how to build its ``nn.Module``, its training loss, and its per-row
reconstruction error.
"""

from __future__ import annotations

import copy
import warnings
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from vecae._batches import BatchSource, SubsetSource
from vecae._checks import NonFiniteRowError
from vecae._exceptions import DimensionMismatchError, InputError, TrainingDivergedError
from vecae._kinds import register
from vecae._objectives import Corruption, Reconstruction
from vecae._train import (
    LR_SCHEDULES,
    Callback,
    NonFiniteLoss,
    Objective,
    PrintProgress,
    TrainerConfig,
    TrainResult,
    make_optimizer,
    resolve_device,
    run_epoch,
    torch_threads,
    train,
)
from vecae.models._layers import ACTIVATIONS, FoldedEncoder, init_weights

__all__ = [
    "MAX_WIDTH",
    "BaseAutoencoder",
    "check_finite_rows",
    "check_hidden",
    "check_width",
    "column_count",
    "validate_rows",
]

INFERENCE_BATCH = 8192  # rows per forward pass at inference: bounded memory, fast matmuls
SCORE_QUANTILES = 1001  # resolution of the stored training-score distribution (0.1% steps)


def validate_rows(estimator: BaseEstimator, X: Any, **kwargs: Any) -> Any:
    """scikit-learn's ``validate_data``, its errors raised as :class:`InputError`.

    Empty, 1-D, ragged or non-numeric input then surfaces as a member of vecae's error tree
    (still a ``ValueError``, with scikit-learn's wording, so its tooling keeps working).
    """
    try:
        return validate_data(estimator, X, **kwargs)
    except ValueError as exc:  # a TypeError (e.g. dicts in X) stays one, as sklearn expects
        if isinstance(exc, InputError):
            raise
        raise InputError(f"X: {' '.join(str(exc).split())}") from exc


def check_finite_rows(X: np.ndarray | sp.spmatrix, source: str = "X") -> None:
    """Raise :class:`~vecae._checks.NonFiniteRowError` naming the first row with NaN or Inf."""
    if sp.issparse(X):
        csr = sp.csr_matrix(X)
        bad = ~np.isfinite(csr.data)
        if bad.any():
            row = int(np.searchsorted(csr.indptr, np.flatnonzero(bad)[0], side="right") - 1)
            raise NonFiniteRowError(source, row)
        return
    if X.dtype.kind not in "fc":
        return
    for start in range(0, X.shape[0], 65536):
        block = X[start : start + 65536]
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            raise NonFiniteRowError(source, start + int(np.flatnonzero(~finite)[0]))


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


MAX_WIDTH = 1 << 20  # a layer wider than this is a typo, not a model


def check_hidden(hidden: object) -> tuple[int, ...]:
    """``hidden`` as a tuple of layer widths, each a positive integer up to :data:`MAX_WIDTH`.

    Raises
    ------
    InputError
        A width is not an integer (``2.5`` is not truncated), or is not in ``[1, MAX_WIDTH]``.
    """
    if not isinstance(hidden, Iterable):
        raise InputError(f"hidden must be a sequence of layer widths, got {hidden!r}")
    try:
        widths: tuple[object, ...] = tuple(hidden)
    except TypeError:
        raise InputError(f"hidden must be a sequence of layer widths, got {hidden!r}") from None
    checked: list[int] = []
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, Integral):
            raise InputError(f"hidden: every width must be an integer, got {width!r}")
        if not 1 <= int(width) <= MAX_WIDTH:
            raise InputError(f"hidden: every width must be in [1, {MAX_WIDTH}], got {width}")
        checked.append(int(width))
    return tuple(checked)


class BaseAutoencoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Shared fit / transform / score / save machinery. Not for direct use.

    A concrete family sets :attr:`kind`; defining the class registers it, and that name is
    what a saved model's ``config.json`` records and what :func:`vecae.load` looks up.
    """

    #: The model family's public name ("dense", "variational", "categorical").
    kind: ClassVar[str]
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
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "lr_patience": [Interval(Integral, 1, None, closed="left")],
        "lr_factor": [Interval(Real, 0, 1, closed="neither")],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "grad_clip": [Interval(Real, 0, None, closed="left")],
        "contamination": [Interval(Real, 0, 0.5, closed="neither")],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str):
            register(kind, cls)

    def _validate_params(self) -> None:
        """scikit-learn's constraint checks, plus the layer widths it cannot express."""
        super()._validate_params()
        check_hidden(self.hidden)

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

    def _objective(self, generator: torch.Generator, val_generator: torch.Generator) -> Objective:
        """What the trainer minimises (see :class:`vecae._train.Objective`).

        ``generator`` drives training noise (corruption, sampling); ``val_generator`` is a
        separate fixed one, so validation noise is identical every epoch. A family with another
        loss overrides this; an extra term wraps the objective returned here.
        """
        return Reconstruction(self.module_, self._corruption(generator))

    def _corruption(self, generator: torch.Generator) -> Corruption:
        """Denoising corruption from ``noise_std`` and ``mask_rate``, drawn from ``generator``."""
        return Corruption(self.noise_std, self.mask_rate, generator)

    def _trainer_config(self) -> TrainerConfig:
        """The trainer settings, each taken from the estimator parameter of the same name."""
        return TrainerConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            lr_schedule=self.lr_schedule,
            patience=self.patience,
            lr_patience=self.lr_patience,
            lr_factor=self.lr_factor,
            min_delta=self.min_delta,
            grad_clip=self.grad_clip,
        )

    # -- fitting ------------------------------------------------------------------------------

    def fit(
        self, X: Any, y: object = None, *, callbacks: Sequence[Callback] | None = None
    ) -> BaseAutoencoder:
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training vectors. Dense models also take data larger than memory: a path to a
            ``.npy``, a Parquet file or a directory of shards, a whole-file
            ``np.load(..., mmap_mode="r")``, or a :class:`vecae.StreamedRows`; rows are then
            read from disk in shuffled blocks (see docs/scale.md).
        y : Ignored
            Present for API consistency.
        callbacks : sequence of vecae.Callback, optional
            Hooks called at the start, after every epoch (one may stop training) and at the
            end; a progress bar, a logger or a custom stopping rule. ``verbose=True`` adds a
            :class:`vecae.PrintProgress`.

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
            # A separate, fixed generator keeps the VAE's validation noise identical every epoch.
            val_generator = torch.Generator().manual_seed(seed + 1)
            hooks = list(callbacks or ())
            if self.verbose:
                hooks.append(PrintProgress())
            try:
                result = train(
                    self.module_,
                    self._objective(generator, val_generator),
                    train_source,
                    val_source,
                    self._trainer_config(),
                    generator,
                    hooks,
                )
            except TrainingDivergedError:
                self.module_.eval()
                raise
            self._set_history(result)
            self._fit_threshold(source)
        self.__dict__.pop("_partial", None)  # a later partial_fit starts a fresh optimiser
        return self

    def _fit_threshold(self, source: BatchSource) -> None:
        # 1001 quantiles of the training scores are kept (and saved), so a threshold for any
        # other contamination can be derived later without the training data.
        self.score_quantiles_ = np.quantile(
            self._scores(source), np.linspace(0.0, 1.0, SCORE_QUANTILES)
        ).astype(np.float64)
        self.threshold_ = self.threshold_for(float(self.contamination))

    def partial_fit(self, X: Any, y: object = None) -> BaseAutoencoder:
        """One pass of optimiser steps over ``X``, continuing from the current weights.

        For data that arrives in chunks or does not fit in memory, in the manner of
        scikit-learn's ``IncrementalPCA.partial_fit``. The first call (on an unfitted model)
        fits the preprocessing statistics on its chunk, builds the network and the optimiser;
        later calls reuse them, so make the first chunk representative (or call ``fit`` on a
        sample first). Each call appends one entry to ``history_`` (no validation loss, no
        early stopping, a constant ``learning_rate``) and refits the anomaly threshold on the
        chunk. Shuffle the chunks yourself: rows are shuffled only within a chunk.

        Parameters
        ----------
        X : array-like, sparse matrix, path or StreamedRows
            One chunk of training vectors.
        y : Ignored

        Returns
        -------
        self : object

        Raises
        ------
        TrainingDivergedError
            The loss stopped being finite; the weights from before this call are restored.

        Examples
        --------
        >>> import numpy as np
        >>> from vecae import Autoencoder
        >>> chunks = np.random.default_rng(0).normal(size=(4, 250, 8)).astype("float32")
        >>> model = Autoencoder(latent_dim=2, random_state=0)
        >>> for chunk in chunks:
        ...     model = model.partial_fit(chunk)
        >>> model.n_epochs_, model.transform(chunks[0]).shape
        (4, (250, 2))
        """
        first = not hasattr(self, "module_")
        if first:
            self._validate_params()
            check_hidden(self.hidden)
            self.device_ = resolve_device(self.device)
        with torch_threads(self.n_threads):
            state = self.__dict__.get("_partial")
            if state is None:
                seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
                generator = torch.Generator().manual_seed(seed)
            else:
                generator = state[0]
            if first:
                source = self._prepare_fit(X)
                with torch.random.fork_rng(devices=[]):
                    self.module_ = self._build_module()
                init_weights(self.module_, generator)
                self.module_.to(self.device_)
                self.history_: dict[str, list[float]] = {
                    "train_loss": [],
                    "val_loss": [],
                    "learning_rate": [],
                }
                self.n_epochs_ = 0
            else:
                source = self._prepare(X)
            config = self._trainer_config()
            if state is None:
                val_generator = torch.Generator().manual_seed(seed + 1)
                objective = self._objective(generator, val_generator)
                state = (generator, objective, make_optimizer(self.module_, config))
                self._partial = state
            before = copy.deepcopy(self.module_.state_dict())
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
                    loss, rate = run_epoch(
                        self.module_, state[1], source, state[2], config, generator, self.n_epochs_
                    )
            except NonFiniteLoss as exc:
                self.module_.load_state_dict(before)
                self.module_.eval()
                raise TrainingDivergedError(
                    f"training loss became {exc.value} in partial_fit call {self.n_epochs_ + 1}; "
                    "the weights from before the call were kept. Try a lower learning_rate or "
                    "check the input scale."
                ) from None
            self.module_.eval()
            self.n_epochs_ += 1
            self.history_["train_loss"].append(loss)
            self.history_["val_loss"].append(float("nan"))
            self.history_["learning_rate"].append(rate)
            self.best_epoch_ = self.n_epochs_
            self.stop_reason_ = "partial_fit"
            self.fit_seconds_ = getattr(self, "fit_seconds_", 0.0)
            self._fit_threshold(source)
        return self

    def _split(
        self, source: BatchSource, generator: torch.Generator
    ) -> tuple[BatchSource, BatchSource | None]:
        split = getattr(source, "split", None)
        if split is not None:  # a streamed source samples its own (capped) validation rows
            return split(self.validation_fraction, generator)  # type: ignore[no-any-return]
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

    # -- inference ----------------------------------------------------------------------------

    def _batches(self, source: BatchSource) -> Iterator[torch.Tensor]:
        # Sources that can read a contiguous range directly (a slice, not a gather) do so.
        span = getattr(source, "span", None)
        for start in range(0, source.n_rows, INFERENCE_BATCH):
            stop = min(start + INFERENCE_BATCH, source.n_rows)
            yield span(start, stop) if span is not None else source.batch(torch.arange(start, stop))

    def _map(self, source: BatchSource, fn: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        self.module_.eval()
        out: np.ndarray | None = None
        start = 0
        # Results go straight into one preallocated array: no list of parts, no concatenate.
        with torch.inference_mode(), torch_threads(self.n_threads):
            for batch in self._batches(source):
                part = fn(batch).cpu().numpy()
                if out is None:
                    out = np.empty((source.n_rows, *part.shape[1:]), dtype=np.float32)
                out[start : start + len(part)] = part
                start += len(part)
        if out is None:
            return np.empty((0,), dtype=np.float32)
        return out

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
            A pandas or polars DataFrame instead after ``set_output(transform=...)``.
        """
        return self._encode_rows(X)

    def _encode_rows(self, X: Any) -> np.ndarray:
        # transform() itself is wrapped by scikit-learn's set_output machinery; subclasses
        # that post-process the codes call this instead, so they always get an array.
        check_is_fitted(self)
        source = self._prepare(X)
        Z = self._map(source, self.module_.encode)
        return Z.reshape(source.n_rows, self.latent_dim)

    def _map_folded(self, X: Any, encoder: FoldedEncoder, source: str = "X") -> np.ndarray:
        """Codes of the raw float32 rows ``X`` through an encoder that standardises itself.

        ``X`` is an array or a :class:`~vecae._streaming.RowStore` (anything with ``shape``
        whose contiguous slices are float32 arrays).

        The NaN/Inf check rides on the encoder's first pre-activation (see
        :class:`~vecae.models._layers.FoldedEncoder`) instead of a separate pass over ``X``;
        a flagged row is confirmed on ``X`` and raised as :func:`check_finite_rows` raises it,
        a :class:`~vecae._checks.NonFiniteRowError` with the row's index in ``X``.
        """
        self.module_.eval()
        out = np.empty((X.shape[0], self.latent_dim), dtype=np.float32)
        with torch.inference_mode(), torch_threads(self.n_threads):
            for start in range(0, X.shape[0], INFERENCE_BATCH):
                block = X[start : start + INFERENCE_BATCH]
                with warnings.catch_warnings():
                    # A read-only memory-mapped block: torch warns, but nothing writes to it.
                    warnings.simplefilter("ignore", UserWarning)
                    x = torch.from_numpy(block)
                z, suspect = encoder(x.to(self.device_))
                if bool(suspect.any()):
                    for row in np.flatnonzero(suspect.cpu().numpy()):
                        if not np.isfinite(block[row]).all():
                            raise NonFiniteRowError(source, start + int(row))
                out[start : start + len(block)] = z.cpu().numpy()
        return out

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
        if not np.isfinite(limit):
            raise InputError(f"threshold must be a finite number, got {limit}")
        return self.anomaly_score(X) > limit

    # -- persistence --------------------------------------------------------------------------

    def _extra_state(self) -> dict[str, Any]:
        """Family-specific fitted state to store in ``config.json`` (JSON values only)."""
        return {}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        """Set the attributes :meth:`_extra_state` saved; raise KeyError/TypeError if bad."""

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to ``directory`` (``config.json`` + safetensors files).

        Nothing is pickled. The directory is written under a temporary name and renamed into
        place, so a failure never leaves a half-written model behind.
        """
        from vecae._serialize import save_model

        check_is_fitted(self)
        return save_model(self, Path(directory), overwrite=overwrite)

    # -- scikit-learn interop -----------------------------------------------------------------

    def score(self, X: Any, y: object = None) -> float:
        """Mean of :meth:`score_samples`: higher is better, as scikit-learn's searches expect.

        For the dense and categorical autoencoders this is the mean negative reconstruction
        error; for the variational autoencoder it is the mean evidence lower bound (ELBO, KL
        weight 1). ``GridSearchCV`` and ``cross_val_score`` use it when no ``scoring`` is given.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.model_selection import GridSearchCV
        >>> from vecae import Autoencoder
        >>> X = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
        >>> search = GridSearchCV(
        ...     Autoencoder(hidden=(), epochs=3, random_state=0), {"latent_dim": [2, 6]}, cv=2
        ... ).fit(X)
        >>> search.best_params_["latent_dim"] in (2, 6)
        True
        """
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the encoding's columns: the class name in lower case and an index.

        Parameters
        ----------
        input_features : array-like of str, optional
            Only checked against the names seen in ``fit`` (the encodings' names do not
            depend on them).

        Returns
        -------
        ndarray of str objects, shape (latent_dim,)

        Examples
        --------
        >>> import numpy as np
        >>> from vecae import Autoencoder
        >>> X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
        >>> Autoencoder(latent_dim=3, epochs=1).fit(X).get_feature_names_out().tolist()
        ['autoencoder0', 'autoencoder1', 'autoencoder2']
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(int(self.latent_dim))], dtype=object)

    # -- scikit-learn plumbing ----------------------------------------------------------------

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True
        tags.non_deterministic = self.random_state is None
        return tags
