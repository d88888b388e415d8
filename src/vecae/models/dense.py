"""Dense autoencoder: an MLP encoder to a linear latent layer and a mirrored MLP decoder.

The classic undercomplete autoencoder (Hinton & Salakhutdinov 2006) trained with mean squared
error. Denoising (Vincent et al. 2008) is a training-time choice of the caller, which feeds a
corrupted input and asks for the clean target back; the module itself does not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from vecae.models._codes import CodeCalibration, LinearSkip
from vecae.models._layers import mlp

__all__ = ["DenseConfig", "DenseNet"]


@dataclass
class DenseConfig:
    n_features: int
    latent_dim: int = 32
    hidden: tuple[int, ...] = field(default=(256,))  # encoder widths; the decoder mirrors them
    activation: str = "relu"
    dropout: float = 0.0  # dropout after each hidden activation; 0 keeps training deterministic
    skip: bool = False  # add a linear input -> code path (PCA-initialised by the estimator)


class DenseNet(nn.Module):
    """MLP autoencoder: ``n_features -> hidden... -> latent_dim`` and the mirror image back.

    Examples
    --------
    >>> import torch
    >>> net = DenseNet(DenseConfig(n_features=50, latent_dim=8, hidden=(32,)))
    >>> x = torch.randn(4, 50, generator=torch.Generator().manual_seed(0))
    >>> net.encode(x).shape, net(x).shape
    (torch.Size([4, 8]), torch.Size([4, 50]))
    """

    def __init__(self, config: DenseConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.n_features, *config.hidden, config.latent_dim]
        self.encoder = mlp(widths, activation=config.activation, dropout=config.dropout)
        self.decoder = mlp(widths[::-1], activation=config.activation, dropout=config.dropout)
        self.skip = LinearSkip(config.n_features, config.latent_dim) if config.skip else None
        self.calibration = CodeCalibration(config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return z if self.skip is None else z + self.skip(x)

    def encode_stack(self) -> tuple[list[nn.Module], torch.Tensor | None]:
        """What :meth:`encode` applies, in order, and the skip path's weight (or None).

        The pieces an inference-only encoder folds the input standardisation into
        (``vecae.models._layers.FoldedEncoder``); kept beside ``encode`` so the two agree.
        """
        return list(self.encoder), None if self.skip is None else self.skip.weight

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x_input: torch.Tensor, x_target: torch.Tensor) -> torch.Tensor:
        """Mean squared error of reconstructing ``x_target`` from ``x_input``."""
        return nn.functional.mse_loss(self(x_input), x_target)

    @torch.no_grad()
    def sample_errors(self, x: torch.Tensor) -> torch.Tensor:
        """Per-row mean squared reconstruction error (the anomaly score)."""
        return (self(x) - x).pow(2).mean(dim=1)
