"""Autoencoder for one-hot and multi-hot data.

Three output likelihoods share one MLP body:

* ``"softmax"``: one softmax per categorical field with cross-entropy, for rows made of several
  fields that each take exactly one value (a one-hot block per field, own cardinality each);
* ``"multinomial"``: one softmax over all items, for bags of items (Mult-DAE, Liang et al. 2018);
  inputs are L2-normalised per row, as in that paper, so long histories do not dominate;
* ``"binary"``: independent sigmoids with binary cross-entropy, for multi-hot rows whose items
  are not competing for probability mass.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from vecae.models._layers import mlp

__all__ = ["LIKELIHOODS", "CategoricalConfig", "CategoricalNet"]

LIKELIHOODS = ("softmax", "multinomial", "binary")


@dataclass
class CategoricalConfig:
    n_features: int  # total one-hot width (sum of field sizes, or number of items)
    latent_dim: int = 32
    hidden: tuple[int, ...] = field(default=(256,))
    activation: str = "relu"
    dropout: float = 0.0
    likelihood: str = "softmax"
    field_sizes: tuple[int, ...] = ()  # only for "softmax": widths of the one-hot blocks


class CategoricalNet(nn.Module):
    """MLP autoencoder whose decoder emits logits scored by a categorical likelihood.

    Examples
    --------
    >>> import torch
    >>> config = CategoricalConfig(n_features=5, latent_dim=2, hidden=(8,), field_sizes=(3, 2))
    >>> net = CategoricalNet(config)
    >>> x = torch.tensor([[1.0, 0, 0, 0, 1], [0, 0, 1, 1, 0]])  # two fields: 3 and 2 values
    >>> net.field_predictions(net(x)).shape
    torch.Size([2, 2])
    """

    def __init__(self, config: CategoricalConfig) -> None:
        super().__init__()
        if config.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {config.likelihood!r}")
        if config.likelihood == "softmax" and sum(config.field_sizes) != config.n_features:
            raise ValueError("field_sizes must add up to n_features for the softmax likelihood")
        self.config = config
        widths = [config.n_features, *config.hidden, config.latent_dim]
        self.encoder = mlp(widths, activation=config.activation, dropout=config.dropout)
        self.decoder = mlp(widths[::-1], activation=config.activation, dropout=config.dropout)
        # Plain Python, not a tensor: the network must also build on the meta device.
        bounds = list(itertools.accumulate(config.field_sizes, initial=0))
        self.field_bounds: list[tuple[int, int]] = list(itertools.pairwise(bounds))

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.likelihood == "multinomial":
            return F.normalize(x, dim=1)
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._prepare(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits over the one-hot / item columns."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def row_losses(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each target row under the decoder's logits."""
        likelihood = self.config.likelihood
        if likelihood == "multinomial":
            return -(F.log_softmax(logits, dim=1) * target).sum(dim=1)
        if likelihood == "binary":
            return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=1)
        # A row with an unseen category has an all-zero block and contributes nothing for it.
        return sum(
            (
                -(F.log_softmax(logits[:, a:b], dim=1) * target[:, a:b]).sum(dim=1)
                for a, b in self.field_bounds
            ),
            start=torch.zeros(target.shape[0], device=target.device),
        )

    def loss(self, x_input: torch.Tensor, x_target: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per row (per field for the softmax likelihood)."""
        per_row = self.row_losses(self(x_input), x_target)
        return per_row.mean() / max(1, len(self.field_bounds))

    @torch.no_grad()
    def sample_errors(self, x: torch.Tensor) -> torch.Tensor:
        return self.row_losses(self(x), x)

    @torch.no_grad()
    def field_predictions(self, logits: torch.Tensor) -> torch.Tensor:
        """Index of the most likely value within each field, shape ``(n, n_fields)``."""
        return torch.stack([logits[:, a:b].argmax(dim=1) for a, b in self.field_bounds], dim=1)
