"""Estimators for dense vectors: :class:`Autoencoder` and :class:`VariationalAutoencoder`."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from vecae._base import BaseAutoencoder, check_finite_rows, check_width, column_count, validate_rows
from vecae._batches import BatchSource, SubsetSource, TensorSource
from vecae._exceptions import InputError
from vecae._objectives import ELBO
from vecae._preprocess import SCALE_MODES, DenseScaler
from vecae._quantize import PRECISIONS, pack_bits, quantize_int8
from vecae._similarity import (
    NeighbourSource,
    SimilarityObjective,
    SimilarityWeights,
    mine_neighbours,
)
from vecae._streaming import as_stream, prepare_stream, stream_source
from vecae._train import LR_SCHEDULES, Objective, TrainerConfig
from vecae.models._layers import FoldedEncoder
from vecae.models.dense import DenseConfig, DenseNet
from vecae.models.variational import VariationalConfig, VariationalNet

__all__ = ["OBJECTIVES", "Autoencoder", "VariationalAutoencoder"]

OBJECTIVES = ("auto", "reconstruction", "similarity")
# objective="auto" trains for similarity from this input width up: sentence and document
# embeddings (384-d and wider), which users search by cosine. Narrower inputs (50-300-d word
# vectors) keep the reconstruction objective, measured best on GloVe (docs/benchmarks.md).
AUTO_SIMILARITY_MIN_FEATURES = 128
AUTO_NESTED_MIN = 16  # automatic nested sizes: halvings of latent_dim down to 16 (at most 3)
N_NEIGHBOURS = 10  # top-k original neighbours mined per training row for the similarity loss
PCA_ROWS = 50_000  # rows the PCA initialisation of the skip path is computed from
# What epochs/batch_size/learning_rate="auto" mean for VariationalAutoencoder (see its
# _prepare_fit): the defaults, and the large-batch regime for large reconstruction fits.
DEFAULT_EPOCHS, DEFAULT_BATCH, DEFAULT_LEARNING_RATE = 100, 1024, 1e-3
LARGE_BATCH, LARGE_BATCH_MIN_STEPS, LARGE_BATCH_EPOCHS = 4096, 20, 45
# epochs="auto" and lr_schedule="auto" for the similarity objective: a short cosine anneal.
# Its codes (learned bits most) score best on held-out sentences after a few epochs and then
# drift while the validation loss still falls, and each epoch costs several times a
# reconstruction epoch (docs/benchmarks.md, section 2b).
SIMILARITY_EPOCHS = 10
CALIBRATION_QUANTILE = 0.999  # int8 range: this quantile of |code|, per coordinate, maximised
# transform folds standardisation into the first layer while every |mean| / std is at most
# this: the folded sums then round like the unfolded ones (see _folded_encoder). Measured on
# GloVe shifted to 4.3, 6.0 and 9.4: the folded codes' error against float64 was 0.9x, 1.4x
# and 5x the unfolded path's.
FOLD_MAX_SHIFT = 4.0


def _output_container(estimator: Any) -> str:
    """What ``set_output`` (or ``sklearn.set_config``) asks ``transform`` to return."""
    from sklearn.utils._set_output import _get_output_config

    return str(_get_output_config("transform", estimator)["dense"])


def resolve_objective(objective: str, n_features: int) -> str:
    """What ``objective="auto"`` means at this input width (``AUTO_SIMILARITY_MIN_FEATURES``)."""
    if objective != "auto":
        return objective
    return "similarity" if n_features >= AUTO_SIMILARITY_MIN_FEATURES else "reconstruction"


def auto_nested_dims(latent_dim: int) -> tuple[int, ...]:
    """``latent_dim / 2, / 4, / 8``, those of at least 16: (128, 64, 32) for 256."""
    return tuple(latent_dim >> i for i in (1, 2, 3) if (latent_dim >> i) >= AUTO_NESTED_MIN)


def nested_sizes(latent_dim: int, nested_dims: Any) -> tuple[int, ...]:
    """The code sizes a model is trained for: ``nested_dims`` plus ``latent_dim``, descending.

    Raises
    ------
    InputError
        When a size is not an integer in ``[1, latent_dim]``.
    """
    sizes = {int(latent_dim)}
    for size in nested_dims or ():
        if (
            isinstance(size, bool)
            or not isinstance(size, Integral)
            or not 1 <= int(size) <= latent_dim
        ):
            raise InputError(
                f"nested_dims must hold integers between 1 and latent_dim={latent_dim}, "
                f"got {size!r}"
            )
        sizes.add(int(size))
    return tuple(sorted(sizes, reverse=True))


CALIBRATION_ROWS = 262_144  # rows of streamed data the int8/bit calibration sees


class _DenseRows:
    """Rows of a dense array or CSR matrix, preprocessed one batch at a time."""

    def __init__(self, X: np.ndarray | sp.csr_matrix, scaler: DenseScaler, device: torch.device):
        self.X = X
        self.scaler = scaler
        self.device = device
        self.n_rows = X.shape[0]
        self._mean = torch.from_numpy(scaler.mean)
        self._std = torch.from_numpy(scaler.std)

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        return self._model_space(self.X[rows.numpy()])

    def span(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` by slicing (no gather copy): the inference path."""
        return self._model_space(self.X[start:stop])

    def _model_space(self, block: Any) -> torch.Tensor:
        if sp.issparse(block):
            block = block.toarray()
        elif not self.scaler.normalize:
            # The same IEEE float32 subtract and divide as DenseScaler.apply (bit-identical),
            # but on torch's intra-op threads and without a NumPy temporary.
            with warnings.catch_warnings():
                # A read-only memory-mapped batch: torch warns, but nothing writes to it.
                warnings.simplefilter("ignore", UserWarning)
                x = torch.from_numpy(np.asarray(block, dtype=np.float32))
            return torch.div(x - self._mean, self._std).to(self.device)
        return torch.from_numpy(self.scaler.apply(block)).to(self.device)


class _DenseBase(BaseAutoencoder):
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseAutoencoder._parameter_constraints,
        "normalize": ["boolean"],
        "center": ["boolean"],
        "scale": [StrOptions(set(SCALE_MODES))],
        "objective": [StrOptions(set(OBJECTIVES))],
        "nested_dims": ["array-like", None],
    }

    def _validate_input(
        self, X: Any, *, reset: bool, check_finite: bool = True
    ) -> np.ndarray | sp.csr_matrix:
        if not reset and (n_columns := column_count(X)) is not None:
            check_width(self, n_columns)
        X = validate_rows(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=np.float32,
            ensure_all_finite=False,
        )
        if check_finite:
            check_finite_rows(X)
        return X

    def _prepare_fit(self, X: Any) -> BatchSource:
        if (stream := as_stream(X, memmap=True)) is not None:  # a path, mapped .npy, StreamedRows
            return prepare_stream(stream, self)
        X = self._validate_input(X, reset=True)
        self.scaler_ = DenseScaler.fit(
            X, normalize=self.normalize, center=self.center, scale=self.scale
        )
        if sp.issparse(X):
            source: BatchSource = _DenseRows(X, self.scaler_, self.device_)
        else:
            # Dense training data is preprocessed once: every epoch then only gathers rows.
            source = TensorSource(torch.from_numpy(self.scaler_.apply(X)).to(self.device_))
        return source

    def _uses_skip(self) -> bool:
        return self.objective_ == "similarity"

    # -- the similarity objective and nested sizes -------------------------------------------

    @property
    def nested_dims_(self) -> tuple[int, ...]:
        """The code sizes the model was trained for, largest first (``latent_dim`` included)."""
        check_is_fitted(self, "module_")
        return self._nested_sizes()

    def _nested_sizes(self) -> tuple[int, ...]:
        nested = self.nested_dims
        if nested is None:
            nested = auto_nested_dims(self.latent_dim) if self.objective_ == "similarity" else ()
        return nested_sizes(self.latent_dim, nested)

    @property
    def objective_(self) -> str:
        """The objective trained: ``objective``, with ``"auto"`` resolved by the input width."""
        return resolve_objective(self.objective, int(self.n_features_in_))

    @property
    def metric_(self) -> str:
        """How encodings are compared: ``"cosine"`` for the similarity objective."""
        return "cosine" if self.objective_ == "similarity" else "euclidean"

    def _likelihood_objective(
        self, generator: torch.Generator, val_generator: torch.Generator
    ) -> Objective:
        return super()._objective(generator, val_generator)

    def _objective(self, generator: torch.Generator, val_generator: torch.Generator) -> Objective:
        inner = self._likelihood_objective(generator, val_generator)
        if self.objective_ != "similarity":
            return inner
        return SimilarityObjective(self.module_, inner, self.nested_dims_, SimilarityWeights())

    def _split(
        self, source: BatchSource, generator: torch.Generator
    ) -> tuple[BatchSource, BatchSource | None]:
        train, val = super()._split(source, generator)
        # The skip path starts at the training rows' principal directions: the untrained
        # model encodes like PCA (ordered by variance, as nested sizes need) and the MLP
        # learns the correction.
        if self.module_.skip is not None:
            with torch.no_grad():
                self.module_.skip.weight.copy_(_principal_directions(train, self.latent_dim))
        if self.objective_ != "similarity":
            return train, val
        if not isinstance(source, TensorSource):
            return train, val  # streamed or sparse rows: no neighbour mining
        # Each training batch also holds one of every anchor's top-k neighbours, mined once
        # here among the training rows only (validation rows never become neighbours).
        if not isinstance(train, SubsetSource):
            train = SubsetSource(source, torch.arange(source.n_rows))
        rows = train.rows
        train_rows = source.data.index_select(0, rows.to(source.data.device))
        local = mine_neighbours(train_rows, N_NEIGHBOURS)
        if local.shape[1] == 0:
            return train, val
        table = torch.zeros((source.n_rows, local.shape[1]), dtype=torch.long)
        table[rows] = rows[local]
        return NeighbourSource(train, table, generator), val

    def fit(self, X: Any, y: object = None, **kwargs: Any) -> _DenseBase:
        """Fit the model to ``X``; see the class docstring. Returns ``self``."""
        nested_sizes(self.latent_dim, self.nested_dims)  # fail before any training
        super().fit(X, y, **kwargs)
        self._calibrate(X)
        return self

    def _calibrate(self, X: Any) -> None:
        """Fit the int8 step and the bit thresholds on the training codes; they are saved."""
        stream = as_stream(X, memmap=True)
        if stream is not None:
            # Data larger than memory: calibrate on evenly spaced rows, so memory stays
            # bounded (all codes plus their sorted copies would grow with the file).
            n = stream.store.n_rows
            rows = np.linspace(0, n - 1, min(n, CALIBRATION_ROWS)).astype(np.int64)
            # Read and encode a piece at a time: only the small codes are kept together.
            pieces = [
                self._encode_rows(stream.store.take(rows[a : a + 16384]))
                for a in range(0, len(rows), 16384)
            ]
            Z = np.concatenate(pieces)
        else:
            Z = self._encode_rows(X)
        calibration = self.module_.calibration
        if len(Z) == 0:
            return
        top = np.quantile(np.abs(Z), CALIBRATION_QUANTILE, axis=0).max()
        step = float(top) / 127.0 if top > 0 else 1.0
        # Codes trained through the straight-through sign are thresholded where they were
        # trained, at 0; other codes at each coordinate's median (balanced, informative bits).
        if self.objective_ == "similarity":
            threshold = np.zeros(Z.shape[1], dtype=np.float32)
        else:
            threshold = np.median(Z, axis=0).astype(np.float32)
        with torch.no_grad():
            calibration.int8_step.fill_(step)
            calibration.bit_threshold.copy_(torch.from_numpy(threshold))

    # -- encodings ----------------------------------------------------------------------------

    def _code_width(self, dim: Any) -> int:
        if dim is None:
            return int(self.latent_dim)
        if (
            isinstance(dim, bool)
            or not isinstance(dim, Integral)
            or not 1 <= int(dim) <= self.latent_dim
        ):
            raise InputError(
                f"dim must be an integer between 1 and latent_dim={self.latent_dim} (trained "
                f"sizes: {', '.join(map(str, self.nested_dims_))}), got {dim!r}"
            )
        return int(dim)

    def _normalised(self, Z: np.ndarray) -> np.ndarray:
        if self.metric_ != "cosine":
            return Z
        unit: np.ndarray = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
        return unit

    def transform(self, X: Any, dim: int | None = None) -> np.ndarray:
        """The improved encodings: the bottleneck activations of each row of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        dim : int, optional
            Keep the first ``dim`` coordinates only (a nested size, see ``nested_dims``),
            re-normalised to unit length when the model's ``metric_`` is cosine. ``None``
            returns the whole code, unnormalised.

        Returns
        -------
        Z : ndarray of shape (n_samples, dim or latent_dim), float32

        Raises
        ------
        InputError
            When ``dim`` is not an integer in ``[1, latent_dim]``.
        """
        width = self._code_width(dim)
        Z = self._encode_rows(X)
        if dim is None:
            return Z
        if dim != self.latent_dim and _output_container(self) != "default":
            raise InputError(
                "transform(dim=...) returns an array; set_output(transform=...) applies to the "
                f"whole {self.latent_dim}-d code only (use encode(X, dim=...))"
            )
        return np.ascontiguousarray(self._normalised(Z[:, :width]), dtype=np.float32)

    def encode(self, X: Any, *, dim: int | None = None, precision: str = "float32") -> np.ndarray:
        """Encodings at a chosen size and precision, ready to store or search.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        dim : int, optional
            Code size (the first ``dim`` coordinates); default ``latent_dim``.
        precision : {"float32", "float16", "int8", "binary"}, default="float32"
            ``float32`` / ``float16``: the code, re-normalised where the metric is cosine.
            ``int8``: the code divided by the int8 step fitted on the training codes (one step
            for every coordinate, so cosines are kept) and rounded; a row encodes the same
            alone or in a batch. ``binary``: one bit per coordinate (code above the fitted
            threshold), packed with ``numpy.packbits``; ``dim`` must be a multiple of 8.

        Returns
        -------
        codes : ndarray
            float32 or float16 of shape (n, dim); int8 of shape (n, dim); uint8 of shape
            (n, dim // 8) for ``binary``.

        Raises
        ------
        InputError
            Unknown precision, a ``dim`` out of range, bits not a multiple of 8, or a model
            saved without calibration.

        Examples
        --------
        >>> import numpy as np
        >>> from vecae import Autoencoder
        >>> X = np.random.default_rng(0).normal(size=(300, 20)).astype("float32")
        >>> ae = Autoencoder(latent_dim=16, epochs=2, random_state=0).fit(X)
        >>> ae.encode(X, precision="binary").shape, ae.encode(X, precision="int8").dtype
        ((300, 2), dtype('int8'))
        """
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        width = self._code_width(dim)
        if precision == "binary" and width % 8:
            raise InputError(
                f"binary codes need a multiple of 8 coordinates to pack into bytes; "
                f"dim={width} is not (use e.g. {max(8, width - width % 8)})"
            )
        Z = self._encode_rows(X)[:, :width]
        calibration = self.module_.calibration
        if precision == "int8":
            step = float(calibration.int8_step[0])
            if not np.isfinite(step):
                raise InputError(
                    "this model has no int8 calibration (saved by an older vecae); refit it"
                )
            return quantize_int8(Z, step)
        if precision == "binary":
            threshold = calibration.bit_threshold[:width].cpu().numpy()
            if not np.isfinite(threshold).all():
                raise InputError(
                    "this model has no bit thresholds (saved by an older vecae); refit it"
                )
            return pack_bits(threshold < Z)
        Z = np.ascontiguousarray(self._normalised(Z), dtype=np.float32)
        return Z.astype(np.float16) if precision == "float16" else Z

    def _prepare(self, X: Any) -> BatchSource:
        if (stream := as_stream(X)) is not None:
            return stream_source(stream, self)
        return _DenseRows(self._validate_input(X, reset=False), self.scaler_, self.device_)

    def _encode_rows(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        if (stream := as_stream(X)) is not None:
            # Rows on disk take the same folded path, so a path encodes like its array.
            streamed = stream_source(stream, self)
            folded = self._folded_encoder(stream.store)
            if folded is None:
                Z = self._map(streamed, self.module_.encode)
                return Z.reshape(streamed.n_rows, self.latent_dim)
            return self._map_folded(stream.store, folded, source=stream.store.source)
        X = self._validate_input(X, reset=False, check_finite=False)
        encoder = self._folded_encoder(X)
        if encoder is None:
            check_finite_rows(X)
            source = _DenseRows(X, self.scaler_, self.device_)
            return self._map(source, self.module_.encode).reshape(source.n_rows, self.latent_dim)
        return self._map_folded(X, encoder)

    def _folded_encoder(self, X: Any) -> FoldedEncoder | None:
        """The encoder with standardisation folded in, where that is accurate; else None.

        Folding saves a pass over the input (about a fifth of ``transform``'s time for a
        300 -> 256 -> 32 model) but changes the rounding: codes then match the unfolded
        forward to float32 rounding, not bit for bit. It is used only where the rounding
        stays at that level: dense input without L2 normalisation (a per-row divisor cannot
        be folded) and a mean within ``FOLD_MAX_SHIFT`` standard deviations of zero in every
        feature (embeddings measured 0.6-4.3), since a folded product sums the raw,
        uncentred values.
        """
        if sp.issparse(X) or self.normalize:
            return None
        scaler = self.scaler_
        if np.max(np.abs(scaler.mean) / scaler.std, initial=0.0) > FOLD_MAX_SHIFT:
            return None
        # Folding costs a few ms, as much as 10% of an 8192-row batch, and vecae encode and
        # Ray call transform once per batch: reuse it while the very same module and scaler
        # (held here, so their ids cannot be recycled) have unchanged weights and statistics
        # (an in-place update, from an optimiser step or load_state_dict, bumps _version).
        layers, skip = self.module_.encode_stack()
        params: list[torch.Tensor] = [p for layer in layers for p in layer.parameters()]
        if skip is not None:
            params.append(skip)
        versions = tuple(p._version for p in params)
        cached = self.__dict__.get("_folded")
        if (
            cached is not None
            and cached[0] is self.module_
            and cached[1] is scaler
            and cached[2] == versions
            and np.array_equal(cached[3], scaler.mean)
            and np.array_equal(cached[4], scaler.std)
        ):
            encoder: FoldedEncoder = cached[5]
            return encoder
        encoder = FoldedEncoder(layers, skip, scaler.mean, scaler.std)
        self._folded = (
            self.module_,
            scaler,
            versions,
            scaler.mean.copy(),
            scaler.std.copy(),
            encoder,
        )
        return encoder

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode encodings back to the input space.

        Parameters
        ----------
        Z : array-like of shape (n_samples, latent_dim)

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), float32
            Reconstructions. With ``normalize=True`` they approximate the unit-norm inputs.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32)
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but {type(self).__name__} encodes to "
                f"latent_dim={self.latent_dim}"
            )
        source = TensorSource(torch.from_numpy(Z).to(self.device_))
        decoded = self._map(source, self.module_.decode).reshape(len(Z), self.n_features_in_)
        return self.scaler_.invert(decoded)


class Autoencoder(_DenseBase):
    """Dense (optionally denoising) autoencoder for embeddings.

    An MLP encoder maps each vector to ``latent_dim`` numbers, the improved encoding; a mirrored
    decoder reconstructs the input, trained with mean squared error and Adam. With
    ``noise_std`` or ``mask_rate`` above zero it becomes a denoising autoencoder: it sees
    corrupted inputs and must reconstruct the clean ones, which makes encodings resist noise.

    Parameters
    ----------
    latent_dim : int, default=32
        Width of the bottleneck, i.e. of the encodings.
    hidden : tuple of int, default=(256,)
        Encoder hidden widths; the decoder mirrors them. ``()`` gives a linear autoencoder.
        One wide layer measured best on both 50-d word vectors and 384-d sentence vectors: a
        first layer narrower than the input (e.g. 384 -> 128) lost 1-2 points of STS-B
        Spearman (docs/benchmarks.md).
    activation : {"relu", "gelu", "silu", "tanh", "elu", "leaky_relu"}, default="relu"
    dropout : float, default=0.0
        Dropout after each hidden activation.
    noise_std : float, default=0.0
        Std of Gaussian noise added to training inputs, in units of the standardised input.
    mask_rate : float, default=0.0
        Share of input entries set to zero (the mean, after centring) during training.
    normalize : bool, default=False
        L2-normalise each row before anything else (cosine geometry).
    center : bool, default=True
        Subtract the training mean.
    scale : {"global", "feature", "none"}, default="global"
        Divide by one global standard deviation, by per-feature ones, or not at all.
    objective : {"auto", "similarity", "reconstruction"}, default="auto"
        ``"similarity"`` keeps the encodings' pairwise cosine similarities close to the
        inputs' (:mod:`vecae._similarity`: in-batch softmax distillation and squared error,
        one mined neighbour per row in every batch, the same terms on the code's signs, plus
        0.1 x the reconstruction loss); codes are then compared by cosine (``metric_``) and
        serve ``encode(precision="int8"|"binary")`` well. ``"reconstruction"`` only rebuilds
        the input. ``"auto"`` picks similarity for inputs of 128 or more dimensions (sentence
        and document embeddings) and reconstruction below (word vectors).
    nested_dims : tuple of int or None, default=None
        Smaller code sizes trained at once (Matryoshka): the first k coordinates are a good
        k-dimensional code for each k listed. ``None``: for the similarity objective,
        ``latent_dim`` halved up to three times, down to 16 (e.g. 128, 64, 32 for 256);
        none for reconstruction. ``()`` trains the full size only. With the similarity
        objective, the sign bits are trained too at the sizes of at least half of
        ``latent_dim`` (256 and 128 of 256/128/64/32); smaller sizes' bits are only their
        floats' signs.
    epochs : int, default=100
        Maximum number of passes; early stopping usually ends sooner. ``0`` keeps the
        untrained network (a baseline).
    batch_size : int, default=1024
        Rows per optimiser step. Large batches keep CPU cores busy in each matmul.
    learning_rate : float, default=1e-3
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping and the learning-rate schedule.
    patience : int, default=10
        Epochs without validation improvement before stopping.
    lr_schedule : {"plateau", "cosine"}, default="plateau"
        ``"plateau"`` multiplies the learning rate by ``lr_factor`` after ``lr_patience``
        epochs without improvement; ``"cosine"`` anneals it to zero over ``epochs``.
    lr_patience : int, default=4
    lr_factor : float, default=0.5
    min_delta : float, default=1e-4
        Relative decrease of the validation loss that counts as an improvement.
    grad_clip : float, default=5.0
        Maximum global gradient norm per step; ``0`` turns clipping off.
    contamination : float, default=0.01
        Expected share of anomalies; sets ``threshold_`` from the training scores.
    device : str, default="auto"
        ``"auto"`` picks CUDA, then MPS, then CPU.
    n_threads : int or None, default=None
        Torch intra-op threads during fit and inference; ``None`` leaves torch's setting.
    random_state : int, RandomState instance or None, default=None
        Pins initialisation, shuffling, the validation split and noise. Two fits with the same
        integer give bit-identical models on CPU.
    verbose : bool, default=False
        Show a progress bar with the losses of each epoch.

    Attributes
    ----------
    n_features_in_ : int
    module_ : torch.nn.Module
        The trained network (:class:`vecae.models.DenseNet`).
    scaler_ : DenseScaler
        Preprocessing statistics applied at transform time.
    history_ : dict of list
        ``train_loss``, ``val_loss`` and ``learning_rate`` per epoch.
    n_epochs_, best_epoch_ : int
    stop_reason_ : str
    threshold_ : float
        Anomaly-score threshold at the ``1 - contamination`` quantile of the training scores.

    Examples
    --------
    >>> import numpy as np
    >>> from vecae import Autoencoder
    >>> X = np.random.default_rng(0).normal(size=(500, 20)).astype("float32")
    >>> ae = Autoencoder(latent_dim=4, epochs=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (500, 4)
    """

    kind = "dense"

    def __init__(
        self,
        latent_dim: int = 32,
        *,
        hidden: tuple[int, ...] = (256,),
        activation: str = "relu",
        dropout: float = 0.0,
        noise_std: float = 0.0,
        mask_rate: float = 0.0,
        normalize: bool = False,
        center: bool = True,
        scale: str = "global",
        objective: str = "auto",
        nested_dims: tuple[int, ...] | None = None,
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
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.noise_std = noise_std
        self.mask_rate = mask_rate
        self.normalize = normalize
        self.center = center
        self.scale = scale
        self.objective = objective
        self.nested_dims = nested_dims
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

    def _build_module(self) -> DenseNet:
        return DenseNet(
            DenseConfig(
                n_features=self.n_features_in_,
                latent_dim=self.latent_dim,
                hidden=tuple(int(h) for h in self.hidden),
                activation=self.activation,
                dropout=self.dropout,
                skip=self._uses_skip(),
            )
        )

    def _row_errors(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module_.sample_errors(batch)  # type: ignore[no-any-return]


class VariationalAutoencoder(_DenseBase):
    """Variational autoencoder for embeddings (Kingma & Welling 2014), optionally denoising.

    The encoder outputs a Gaussian posterior per row. Training minimises reconstruction error
    plus ``beta`` times the KL divergence to N(0, I), with the KL weight ramped up linearly over
    ``kl_warmup`` epochs. :meth:`transform` returns the posterior mean, which is deterministic;
    :meth:`sample` decodes draws from the prior into new vectors.

    Inputs are standardised to unit average variance before the loss is computed, so ``beta``
    weighs the KL against a reconstruction term of the same scale on any embedding.

    Parameters
    ----------
    latent_dim : int, default=32
    beta : float, default=0.1
        Weight of the KL term. Small values keep more detail; 1.0 is the textbook VAE.
    kl_warmup : int, default=10
        Epochs over which the KL weight rises from 0 to ``beta`` (avoids early collapse).
    normalize : bool, default=False
    epochs, batch_size, learning_rate : int, int, float or "auto", default="auto"
        ``"auto"`` is 100 epochs of batch 1024 at rate 1e-3, except for the reconstruction
        objective with ``batch_size="auto"`` on at least 81,920 training rows (20 steps of
        4096 rows per epoch): there it is 45 epochs of batch 4096 at rate 4e-3 (the same
        rate per row) from a PCA-initialised linear skip path, which reaches the quality of
        the 100-epoch recipe in about a third of the time (docs/scale.md). For the
        similarity objective, ``epochs="auto"`` is 10.
    lr_schedule : {"auto", "plateau", "cosine"}, default="auto"
        ``"auto"``: ``"cosine"`` (annealed to zero over ``epochs``) for the similarity
        objective, ``"plateau"`` otherwise (see :class:`Autoencoder`).
    (all other parameters as in :class:`Autoencoder`)

    Attributes
    ----------
    As :class:`Autoencoder`; ``module_`` is a :class:`vecae.models.VariationalNet` and
    ``threshold_`` applies to the negative ELBO.
    large_batch_ : bool
        Whether ``fit`` trained in the large-batch regime described under ``epochs``.

    Examples
    --------
    >>> import numpy as np
    >>> from vecae import VariationalAutoencoder
    >>> X = np.random.default_rng(0).normal(size=(500, 20)).astype("float32")
    >>> vae = VariationalAutoencoder(latent_dim=4, epochs=5, random_state=0).fit(X)
    >>> vae.sample(3, random_state=0).shape
    (3, 20)
    """

    kind = "variational"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_DenseBase._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "lr_schedule": [StrOptions({*LR_SCHEDULES, "auto"})],
    }

    def __init__(
        self,
        latent_dim: int = 32,
        *,
        hidden: tuple[int, ...] = (256,),
        activation: str = "relu",
        dropout: float = 0.0,
        beta: float = 0.1,
        kl_warmup: int = 10,
        noise_std: float = 0.0,
        mask_rate: float = 0.0,
        normalize: bool = False,
        center: bool = True,
        scale: str = "global",
        objective: str = "auto",
        nested_dims: tuple[int, ...] | None = None,
        epochs: int | str = "auto",
        batch_size: int | str = "auto",
        learning_rate: float | str = "auto",
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int = 10,
        lr_schedule: str = "auto",
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
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.noise_std = noise_std
        self.mask_rate = mask_rate
        self.normalize = normalize
        self.center = center
        self.scale = scale
        self.objective = objective
        self.nested_dims = nested_dims
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

    def _build_module(self) -> VariationalNet:
        return VariationalNet(
            VariationalConfig(
                n_features=self.n_features_in_,
                latent_dim=self.latent_dim,
                hidden=tuple(int(h) for h in self.hidden),
                activation=self.activation,
                dropout=self.dropout,
                skip=self._uses_skip(),
            )
        )

    def _prepare_fit(self, X: Any) -> BatchSource:
        source = super()._prepare_fit(X)
        n_train = source.n_rows - round(self.validation_fraction * source.n_rows)
        # Large-batch regime (docs/scale.md, time to quality): with enough rows for
        # LARGE_BATCH_MIN_STEPS steps per epoch at LARGE_BATCH, the reconstruction VAE trains
        # with 4x the batch and 4x the rate (the same rate per row), for fewer epochs, from a
        # PCA-initialised skip path: the same quality per epoch at less cost per epoch. The
        # skip path is what makes the larger steps safe (GloVe 100k, 25-d, 40 epochs: rho
        # 0.420 without it, 0.433 with it).
        self.large_batch_ = (
            self.objective_ != "similarity"
            and self.batch_size == "auto"
            and not self.__dict__.get("_incremental", False)
            and n_train >= LARGE_BATCH * LARGE_BATCH_MIN_STEPS
        )
        return source

    def _uses_skip(self) -> bool:
        return super()._uses_skip() or bool(getattr(self, "large_batch_", False))

    def partial_fit(self, X: Any, y: object = None) -> VariationalAutoencoder:
        """One pass over ``X`` (see :meth:`BaseAutoencoder.partial_fit`).

        Incremental fits keep the standard recipe: the large-batch regime's skip path is
        initialised from the training split that only ``fit`` makes.
        """
        self.__dict__["_incremental"] = True
        try:
            super().partial_fit(X, y)
        finally:
            del self.__dict__["_incremental"]
        return self

    def _trainer_config(self) -> TrainerConfig:
        """The trainer settings, with ``"auto"`` resolved by the regime ``fit`` chose."""
        large = bool(getattr(self, "large_batch_", False))
        config = super()._trainer_config()
        if self.batch_size == "auto":
            config.batch_size = LARGE_BATCH if large else DEFAULT_BATCH
        if self.learning_rate == "auto":
            config.learning_rate = DEFAULT_LEARNING_RATE * (
                LARGE_BATCH // DEFAULT_BATCH if large else 1
            )
        similarity = self.objective_ == "similarity"
        if self.epochs == "auto":
            if similarity:
                config.epochs = SIMILARITY_EPOCHS
            else:
                config.epochs = LARGE_BATCH_EPOCHS if large else DEFAULT_EPOCHS
        if self.lr_schedule == "auto":
            config.lr_schedule = "cosine" if similarity else "plateau"
        return config

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "large_batch_": bool(self.large_batch_)}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        super()._restore_extra_state(state)
        # Models saved before the large-batch regime existed have no flag: they did not use it.
        flag = state.get("large_batch_", False)
        if not isinstance(flag, bool):
            raise TypeError("large_batch_ is not a boolean")
        self.large_batch_ = flag

    def _likelihood_objective(
        self, generator: torch.Generator, val_generator: torch.Generator
    ) -> Objective:
        return ELBO(
            self.module_,
            self._corruption(generator),
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            generator=generator,
            val_generator=val_generator,
        )

    def _row_errors(self, batch: torch.Tensor) -> torch.Tensor:
        # The true negative ELBO (KL weight 1), whatever beta trained the model: a row whose
        # posterior sits far out in the latent space is unusual even when it reconstructs
        # well. Measured on 16 ADBench sets: mean AUROC 0.8115 vs 0.8072 with the beta-weighted
        # score (docs/benchmarks.md).
        return self.module_.negative_elbo(batch, beta=1.0)  # type: ignore[no-any-return]

    def score_samples(self, X: Any) -> np.ndarray:
        """The ELBO of each row (posterior-mean estimate); higher means more typical."""
        return super().score_samples(X)

    def sample(self, n_samples: int = 1, *, random_state: int | None = None) -> np.ndarray:
        """Generate ``n_samples`` new vectors by decoding draws from the prior.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32, in the input space.
        """
        check_is_fitted(self)
        seed = int(np.random.default_rng(random_state).integers(0, 2**62))
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        self.module_.eval()
        decoded = self.module_.sample(int(n_samples), generator=generator).cpu().numpy()
        return self.scaler_.invert(decoded)


def _principal_directions(source: BatchSource, k: int) -> torch.Tensor:
    """The ``k`` leading principal directions of (up to ``PCA_ROWS``) model-space rows, as a
    (k, n_features) matrix; rows past the data's rank stay zero."""
    n = min(source.n_rows, PCA_ROWS)
    # Evenly spaced rows: deterministic, and no generator draw that would shift the seeds.
    rows = torch.linspace(0, source.n_rows - 1, n).long() if n else torch.zeros(0, dtype=torch.long)
    sample = source.batch(rows).double().cpu()
    sample = sample - sample.mean(dim=0)
    _, _, vh = torch.linalg.svd(sample, full_matrices=False)
    directions = torch.zeros((k, sample.shape[1]), dtype=torch.float32)
    m = min(k, vh.shape[0])
    directions[:m] = vh[:m].float()
    return directions
