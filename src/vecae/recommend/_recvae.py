"""RecVAE as a recommender: the network of :mod:`vecae.models.recvae` and its training schedule.

Training follows Shenbin et al. (2020). Each epoch has two turns:

1. the **encoder** trains for ``encoder_epochs`` passes over the users, with dropout on its
   input (the denoising) and the decoder frozen;
2. the prior's frozen encoder is replaced by a copy of the current one;
3. the **decoder** trains for one pass, without dropout, with the encoder frozen.

This alternation (two optimisers, a prior that changes between turns) is why RecVAE has its
own small loop rather than going through the generic trainer of :mod:`vecae._train`, which
runs one optimiser on one loss. Everything else follows vecae's conventions: seeded
initialisation, shuffling and noise from per-fit ``torch.Generator`` objects, nothing global.

The number of epochs is chosen on a validation split of the training users (NDCG@100 on their
held-out items, as for EASE's ``l2="auto"``); the model is then refitted on every training
user for that many epochs.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch

from vecae._exceptions import InputError
from vecae.models.recvae import RecVAEConfig, RecVAENet
from vecae.recommend._baselines import _Fitted
from vecae.recommend._data import InteractionMatrix, _as_csr, split_users
from vecae.recommend._metrics import ndcg_at_k

__all__ = ["RECVAE_DEFAULTS", "RecVAERecommender"]

RECVAE_DEFAULTS: Final[dict[str, Any]] = {
    "hidden_dim": 600,
    "latent_dim": 200,
    "gamma": 0.005,
    "epochs": 50,
    "encoder_epochs": 3,
    "batch_size": 500,
    "learning_rate": 5e-4,
    "dropout": 0.5,
}
"""The paper's settings (its MovieLens-20M / Netflix recipe)."""

_MIN_USERS: Final = 20
_SCORE_BATCH: Final = 2048


class RecVAERecommender(_Fitted):
    """RecVAE (Shenbin et al. 2020): a Mult-VAE with a composite prior, per-user β and an
    alternating encoder / decoder schedule.

    Parameters
    ----------
    hidden_dim : int, default=600
        Width of the encoder's five layers.
    latent_dim : int, default=200
    gamma : float, default=0.005
        KL weight per interaction: a user with ``n`` items has β = ``gamma * n``.
    epochs : int, default=50
        Most epochs (each: ``encoder_epochs`` encoder passes, then one decoder pass).
    encoder_epochs : int, default=3
    batch_size : int, default=500
    learning_rate : float, default=5e-4
        Adam's, for both the encoder and the decoder.
    dropout : float, default=0.5
        Share of each history dropped from the encoder's input while it trains.
    validation_fraction : float, default=0.1
        Share of users held out to choose the number of epochs; ``0`` trains all ``epochs``
        on every user without validation.
    patience : int, default=10
        Validation epochs without a better NDCG@100 before the search stops.
    n_threads : int or None, default=None
        Torch intra-op threads during fit and scoring; ``None`` leaves torch's setting.
    random_state : int, default=0
        Seeds initialisation, shuffling, dropout, the reparameterisation noise and the
        validation split: two fits with the same value give identical weights on CPU.

    Attributes
    ----------
    module_ : RecVAENet
    n_epochs_ : int
        Epochs of the final fit.
    validation_ : list of float
        NDCG@100 of the validation users after each epoch of the search.
    history_ : list of float
        Mean negative ELBO of the decoder's pass in each epoch of the final fit.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> rng = np.random.default_rng(0)
    >>> X = sp.csr_matrix((rng.random((60, 40)) < 0.2).astype("float32"))
    >>> model = RecVAERecommender(hidden_dim=16, latent_dim=4, epochs=2).fit(X)
    >>> model.score(X[:2]).shape
    (2, 40)
    """

    def __init__(
        self,
        *,
        hidden_dim: int = 600,
        latent_dim: int = 200,
        gamma: float = 0.005,
        epochs: int = 50,
        encoder_epochs: int = 3,
        batch_size: int = 500,
        learning_rate: float = 5e-4,
        dropout: float = 0.5,
        validation_fraction: float = 0.1,
        patience: int = 10,
        n_threads: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.gamma = gamma
        self.epochs = epochs
        self.encoder_epochs = encoder_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.n_threads = n_threads
        self.random_state = random_state
        self.module_: RecVAENet | None = None
        self.n_epochs_ = 0
        self.validation_: list[float] = []
        self.history_: list[float] = []

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, by name (what ``save`` records)."""
        names = (*RECVAE_DEFAULTS, "validation_fraction", "patience", "n_threads", "random_state")
        return {name: getattr(self, name) for name in names}

    def _check_params(self) -> None:
        """Raise :class:`~vecae.InputError` for an out-of-range parameter."""
        positive_ints = ("hidden_dim", "latent_dim", "epochs", "encoder_epochs", "batch_size")
        for name in (*positive_ints, "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError(f"{name}: must be a positive integer, got {value!r}")
        for name in ("gamma", "learning_rate"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise InputError(f"{name}: must be a positive number, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout: must be in [0, 1), got {self.dropout!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise InputError(
                f"validation_fraction: must be in [0, 1), got {self.validation_fraction!r}"
            )

    def fit(self, train: sp.spmatrix | sp.sparray | InteractionMatrix) -> RecVAERecommender:
        """Train on the users' histories (choosing the number of epochs first).

        Parameters
        ----------
        train : sparse matrix or InteractionMatrix, shape (n_users, n_items)
            Interactions; any positive value counts as one (implicit feedback).

        Returns
        -------
        RecVAERecommender
            ``self``.

        Raises
        ------
        InputError
            Invalid parameters, or too few users to hold some out.
        """
        csr = _as_csr(train, source="RecVAERecommender.fit")
        self._check_params()
        if self.validation_fraction > 0 and csr.shape[0] < _MIN_USERS:
            raise InputError(
                f"RecVAE: choosing the epochs on held-out users needs at least {_MIN_USERS} "
                f"users, got {csr.shape[0]}; pass validation_fraction=0"
            )
        if csr.shape[0] < 1:
            raise InputError("RecVAE: no users to train on")
        binary = csr.copy()
        binary.data = (binary.data > 0).astype(np.float32)
        binary.eliminate_zeros()
        threads = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            self.validation_, self.history_ = [], []
            epochs = self.epochs
            if self.validation_fraction > 0:
                n_heldout = max(1, round(self.validation_fraction * binary.shape[0]))
                split = split_users(
                    binary, n_heldout_users=n_heldout, random_state=self.random_state
                )
                self._train(split.train, self.epochs, split.heldout_fold_in, split.heldout_target)
                epochs = int(np.argmax(self.validation_)) + 1
            self.module_ = self._train(binary, epochs, None, None, self.history_)
            self.n_epochs_ = epochs
            self._n_items = binary.shape[1]
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(
        self,
        data: sp.csr_matrix,
        epochs: int,
        fold_in: sp.csr_matrix | None,
        target: sp.csr_matrix | None,
        history: list[float] | None = None,
    ) -> RecVAENet:
        """Train a fresh network for ``epochs``; with validation rows, record NDCG@100 per
        epoch in ``validation_`` and stop after ``patience`` epochs without improvement.
        ``history`` receives each epoch's mean decoder-pass loss."""
        from vecae.models._layers import init_weights

        generator = torch.Generator().manual_seed(int(self.random_state))
        config = RecVAEConfig(data.shape[1], int(self.hidden_dim), int(self.latent_dim))
        net = RecVAENet(config)
        init_weights(net, generator)
        net.update_prior()
        encoder_opt = torch.optim.Adam(net.encoder.parameters(), lr=self.learning_rate)
        decoder_opt = torch.optim.Adam(net.decoder.parameters(), lr=self.learning_rate)
        best, since_best = -np.inf, 0
        for _ in range(epochs):
            net.train()
            for _ in range(self.encoder_epochs):
                self._pass(net, data, encoder_opt, self.dropout, generator)
            net.update_prior()
            decoder_loss = self._pass(net, data, decoder_opt, 0.0, generator)
            if history is not None:
                history.append(decoder_loss)
            if fold_in is None or target is None:
                continue
            scores = _scores(net, fold_in)
            scores[fold_in.nonzero()] = -np.inf  # seen items are never recommendations
            self.validation_.append(ndcg_at_k(scores, target, 100))
            if self.validation_[-1] > best:
                best, since_best = self.validation_[-1], 0
            else:
                since_best += 1
                if since_best >= self.patience:
                    break
        net.eval()
        return net

    def _pass(
        self,
        net: RecVAENet,
        data: sp.csr_matrix,
        optimizer: torch.optim.Optimizer,
        dropout: float,
        generator: torch.Generator,
    ) -> float:
        """One shuffled pass over the users, stepping only ``optimizer``'s parameters; returns
        the mean loss per user."""
        order = torch.randperm(data.shape[0], generator=generator).numpy()
        total = 0.0
        for start in range(0, len(order), self.batch_size):
            batch = torch.from_numpy(data[order[start : start + self.batch_size]].toarray())
            net.zero_grad(set_to_none=True)
            loss = net.loss(batch, gamma=float(self.gamma), dropout=dropout, generator=generator)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        return total / max(1, int(data.shape[0]))

    def score(self, fold_in: sp.spmatrix | sp.sparray) -> npt.NDArray[np.float32]:
        """Item logits for each row of ``fold_in`` (higher is better), from the posterior mean.

        Parameters
        ----------
        fold_in : sparse matrix, shape (n_users, n_items)

        Returns
        -------
        ndarray of float32, shape (n_users, n_items)
        """
        csr = self._check_input(fold_in)
        assert self.module_ is not None
        return _scores(self.module_, csr)


def _scores(net: RecVAENet, rows: sp.csr_matrix) -> npt.NDArray[np.float32]:
    net.eval()
    out = np.empty(rows.shape, dtype=np.float32)
    for start in range(0, rows.shape[0], _SCORE_BATCH):
        block = rows[start : start + _SCORE_BATCH].toarray().astype(np.float32)
        out[start : start + len(block)] = net.scores(torch.from_numpy(block)).numpy()
    return out
