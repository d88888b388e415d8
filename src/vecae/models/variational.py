"""Variational autoencoder (Kingma & Welling 2014) with a Gaussian decoder and a β-weighted KL.

The encoder gives the mean and log-variance of q(z|x); training samples z with the
reparameterisation trick, while encoding for users returns the mean, which is deterministic.
The loss per row is ``0.5 * ||x - x_hat||^2 + beta * KL(q(z|x) || N(0, I))``: a unit-variance
Gaussian likelihood. Because the estimator standardises inputs to unit average variance first,
the reconstruction term has the same scale whatever the embedding's raw magnitude, so one
``beta`` means the same thing for 50-d GloVe and 384-d unit-norm sentence vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from vecae.models._codes import CodeCalibration, LinearSkip
from vecae.models._layers import mlp

__all__ = ["VariationalConfig", "VariationalNet"]

# exp(logvar) must stay finite in float32 and the KL gradient well-scaled; 1e-5 < var < 3e3.
LOGVAR_MIN = -12.0
LOGVAR_MAX = 8.0


@dataclass
class VariationalConfig:
    n_features: int
    latent_dim: int = 32
    hidden: tuple[int, ...] = field(default=(256,))
    activation: str = "relu"
    dropout: float = 0.0
    skip: bool = False  # add a linear input -> posterior-mean path (PCA-initialised)


@dataclass
class VAELoss:
    total: torch.Tensor  # per-feature mean of reconstruction + beta * KL (what is minimised)
    reconstruction: torch.Tensor  # per-row mean, in units of 0.5 * squared error
    kl: torch.Tensor  # per-row mean


class VariationalNet(nn.Module):
    """Gaussian VAE: ``n_features -> hidden... -> (mu, logvar)``, decoded by the mirror image.

    Examples
    --------
    >>> import torch
    >>> net = VariationalNet(VariationalConfig(n_features=50, latent_dim=8, hidden=(32,)))
    >>> x = torch.randn(4, 50, generator=torch.Generator().manual_seed(0))
    >>> mean, logvar = net.posterior(x)
    >>> mean.shape, net.negative_elbo(x).shape
    (torch.Size([4, 8]), torch.Size([4]))
    """

    def __init__(self, config: VariationalConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.n_features, *config.hidden]
        # The body ends in an activation so the two heads see a non-linear feature.
        self.body = (
            mlp(widths, activation=config.activation, dropout=config.dropout, final_activation=True)
            if config.hidden
            else nn.Identity()
        )
        last = widths[-1]
        self.mean_head = nn.Linear(last, config.latent_dim)
        self.logvar_head = nn.Linear(last, config.latent_dim)
        self.decoder = mlp(
            [config.latent_dim, *reversed(config.hidden), config.n_features],
            activation=config.activation,
            dropout=config.dropout,
        )
        self.skip = LinearSkip(config.n_features, config.latent_dim) if config.skip else None
        self.calibration = CodeCalibration(config.latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (clamped) log-variance of q(z|x)."""
        h = self.body(x)
        logvar = self.logvar_head(h).clamp(LOGVAR_MIN, LOGVAR_MAX)
        mean = self.mean_head(h)
        return (mean if self.skip is None else mean + self.skip(x)), logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: the deterministic encoding (the log-variance head is skipped)."""
        mean = self.mean_head(self.body(x))
        return mean if self.skip is None else mean + self.skip(x)

    def encode_stack(self) -> tuple[list[nn.Module], torch.Tensor | None]:
        """What :meth:`encode` applies, in order, and the skip path's weight (or None).

        The pieces an inference-only encoder folds the input standardisation into
        (``vecae.models._layers.FoldedEncoder``); kept beside ``encode`` so the two agree.
        """
        body = list(self.body) if isinstance(self.body, nn.Sequential) else []
        return [*body, self.mean_head], None if self.skip is None else self.skip.weight

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(
        self,
        x_input: torch.Tensor,
        x_target: torch.Tensor,
        *,
        beta: float,
        generator: torch.Generator | None,
    ) -> VAELoss:
        mean, logvar = self.posterior(x_input)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + eps * torch.exp(0.5 * logvar)
        reconstruction = 0.5 * (self.decode(z) - x_target).pow(2).sum(dim=1).mean()
        kl = kl_to_standard_normal(mean, logvar).mean()
        total = (reconstruction + beta * kl) / self.config.n_features
        return VAELoss(total=total, reconstruction=reconstruction, kl=kl)

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, *, beta: float = 1.0) -> torch.Tensor:
        """Per-row negative ELBO, with the reconstruction taken at the posterior mean.

        Using the mean rather than a sampled z makes the score deterministic, which anomaly
        thresholds and tests need; it is the usual single-point estimate.
        """
        mean, logvar = self.posterior(x)
        reconstruction = 0.5 * (self.decode(mean) - x).pow(2).sum(dim=1)
        return reconstruction + beta * kl_to_standard_normal(mean, logvar)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I)."""
        device = self.mean_head.weight.device
        z = torch.randn((n, self.config.latent_dim), generator=generator, device=device)
        return self.decode(z)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per row, in closed form."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
