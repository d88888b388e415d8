"""Pieces the dense model families share for similarity-preserving, quantisable codes.

* :class:`LinearSkip`: a linear path from the input straight to the code, added to the MLP's
  output. The estimator initialises it with the leading principal directions of the training
  data, so an untrained model already encodes like PCA (ordered by variance, which suits
  nested sizes) and the MLP learns a residual correction.
* :class:`CodeCalibration`: the quantisation state fitted on the training codes and saved with
  the weights, so one query row is quantised exactly like a corpus batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["CodeCalibration", "LinearSkip"]


class LinearSkip(nn.Module):
    """``x -> x @ weight.T`` with a plain parameter (not ``nn.Linear``, which the seeded
    re-initialisation of the estimators would overwrite)."""

    def __init__(self, n_features: int, latent_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(latent_dim, n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T


class CodeCalibration(nn.Module):
    """Buffers: one int8 step size for all coordinates, and a threshold per coordinate for bits.

    One step size, not one per coordinate, keeps the code's geometry: scaling coordinates
    differently would change every cosine. Models saved before calibration existed load with
    NaN buffers, which :meth:`vecae.Autoencoder.encode` reports as "not calibrated".
    """

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.register_buffer("int8_step", torch.full((1,), float("nan")))
        self.register_buffer("bit_threshold", torch.full((latent_dim,), float("nan")))

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        for name, buffer in self.named_buffers(recurse=False):
            state_dict.setdefault(prefix + name, buffer.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
