"""RecVAE (Shenbin et al. 2020, "RecVAE: a New Variational Autoencoder for Top-N
Recommendations with Implicit Feedback"): a Mult-VAE with three changes to the model.

* **A deeper encoder**: five dense layers, each fed the sum of all previous layers' outputs
  (dense residual connections), with the swish activation and layer normalisation; the
  input is the L2-normalised history, with dropout on it while the *encoder* trains.
* **A composite prior**: the KL term compares the posterior with a mixture of N(0, I), the
  posterior of a frozen copy of the encoder from the previous epoch, and a wide N(0, e^10 I).
  The frozen copy keeps each user's code from drifting far between epochs.
* **β per user**: the KL weight is ``gamma`` times the user's number of interactions, so long
  histories, which pin the posterior down well, may move further from the prior.

The decoder is one linear layer from the code to item logits, scored by a multinomial
likelihood (a softmax over all items). The alternating encoder / decoder schedule lives with
the trainer (:mod:`vecae.recommend._recvae`); this module is only the network.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["RecVAEConfig", "RecVAEEncoder", "RecVAENet"]

# Weights of the composite prior's parts: N(0, I), the previous posterior, N(0, e^10 I)
# (the paper's values).
_MIXTURE = (3 / 20, 3 / 4, 1 / 10)
_WIDE_LOGVAR = 10.0
_N_LAYERS = 5


@dataclass
class RecVAEConfig:
    n_items: int
    hidden_dim: int = 600
    latent_dim: int = 200


def _log_normal(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Element-wise log density of N(mean, exp(logvar)) at ``x``."""
    return -0.5 * (logvar + math.log(2 * math.pi) + (x - mean).pow(2) / logvar.exp())


class RecVAEEncoder(nn.Module):
    """Five swish + layer-norm layers with dense residual connections, then (mean, logvar).

    Examples
    --------
    >>> import torch
    >>> encoder = RecVAEEncoder(n_items=30, hidden_dim=16, latent_dim=4)
    >>> mean, logvar = encoder(torch.ones(2, 30), dropout=0.0)
    >>> mean.shape, logvar.shape
    (torch.Size([2, 4]), torch.Size([2, 4]))
    """

    def __init__(self, n_items: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        widths = [n_items] + [hidden_dim] * _N_LAYERS
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        # eps=0.1 as in the authors' code: the sums of residual branches stay well-conditioned.
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim, eps=0.1) for _ in range(_N_LAYERS))
        self.mean_head = nn.Linear(hidden_dim, latent_dim)
        self.logvar_head = nn.Linear(hidden_dim, latent_dim)

    def forward(
        self,
        x: torch.Tensor,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance; with ``dropout > 0`` (and a ``generator`` for
        the mask) that share of the normalised input is dropped, as in training."""
        h = F.normalize(x, dim=1)
        if dropout > 0:
            # An explicit mask from the caller's generator: no global RNG (F.dropout has none).
            keep = torch.rand(h.shape, generator=generator, device=h.device) >= dropout
            h = h * keep / (1.0 - dropout)
        total: torch.Tensor | None = None  # the sum of all previous layers' outputs
        for layer, norm in zip(self.layers, self.norms, strict=True):
            pre = layer(h) if total is None else layer(h) + total
            h = norm(F.silu(pre))  # silu is swish
            total = h if total is None else total + h
        return self.mean_head(h), self.logvar_head(h)


class RecVAENet(nn.Module):
    """Encoder, linear decoder and composite prior of RecVAE.

    Examples
    --------
    >>> import torch
    >>> net = RecVAENet(RecVAEConfig(n_items=30, hidden_dim=16, latent_dim=4))
    >>> x = (torch.rand(3, 30, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    >>> net.scores(x).shape
    torch.Size([3, 30])
    >>> loss = net.loss(x, gamma=0.005, dropout=0.5, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.isfinite(loss))
    True
    """

    def __init__(self, config: RecVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = RecVAEEncoder(config.n_items, config.hidden_dim, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, config.n_items)
        # The previous epoch's encoder, the learned part of the prior: never trained directly.
        self.encoder_old = copy.deepcopy(self.encoder).requires_grad_(False)

    def update_prior(self) -> None:
        """Copy the current encoder into the prior (once per epoch, after the encoder's turn)."""
        self.encoder_old.load_state_dict(self.encoder.state_dict())

    def _log_prior(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            old_mean, old_logvar = self.encoder_old(x)
        zero = torch.zeros_like(z)
        parts = [
            _log_normal(z, zero, zero) + math.log(_MIXTURE[0]),
            _log_normal(z, old_mean, old_logvar) + math.log(_MIXTURE[1]),
            _log_normal(z, zero, zero + _WIDE_LOGVAR) + math.log(_MIXTURE[2]),
        ]
        return torch.logsumexp(torch.stack(parts, dim=-1), dim=-1)

    def loss(
        self,
        x: torch.Tensor,
        *,
        gamma: float,
        dropout: float,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Negative ELBO averaged over the rows of ``x`` (multi-hot histories).

        One sample of z per row (reparameterisation, noise from ``generator``); the KL term is
        a one-sample estimate against the composite prior, weighted by ``gamma * |x_u|``.
        """
        mean, logvar = self.encoder(x, dropout=dropout, generator=generator)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + eps * (0.5 * logvar).exp()
        log_likelihood = (F.log_softmax(self.decoder(z), dim=1) * x).sum(dim=1)
        kl = (_log_normal(z, mean, logvar) - self._log_prior(x, z)).sum(dim=1)
        kl_weight = gamma * x.sum(dim=1)
        return (kl_weight * kl - log_likelihood).mean()

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Item logits from the posterior mean (deterministic): higher is a better fit."""
        mean, _ = self.encoder(x)
        return self.decoder(mean)
