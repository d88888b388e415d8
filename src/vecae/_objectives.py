"""Training objectives: the one object per fit that the trainer asks for losses.

Each objective implements :class:`vecae._train.Objective` (``training_loss(batch, epoch)`` and
``validation_loss(batch)``) and owns what is specific to a loss: the denoising corruption, the
KL weight and its warm-up, and the random generators they draw from. Estimators build theirs in
``_objective``; the trainer never knows which one it runs.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ELBO", "Corruption", "Reconstruction"]


class Corruption:
    """Denoising corruption in model space: masking noise, then additive Gaussian noise.

    Parameters
    ----------
    noise_std : float
        Standard deviation of the Gaussian noise (0 adds none).
    mask_rate : float
        Share of entries set to zero (0 masks none).
    generator : torch.Generator
        CPU generator the noise is drawn from, so ``random_state`` pins it.

    Examples
    --------
    >>> import torch
    >>> corrupt = Corruption(0.0, 0.5, torch.Generator().manual_seed(0))
    >>> noisy = corrupt(torch.ones(1000, 10))
    >>> bool((noisy == 0).any()), bool((noisy == 1).any())
    (True, True)
    """

    def __init__(self, noise_std: float, mask_rate: float, generator: torch.Generator) -> None:
        self.noise_std = float(noise_std)
        self.mask_rate = float(mask_rate)
        self.generator = generator

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.mask_rate > 0:
            keep = torch.rand(batch.shape, generator=self.generator) >= self.mask_rate
            batch = batch * keep.to(batch.device, batch.dtype)
        if self.noise_std > 0:
            noise = torch.randn(batch.shape, generator=self.generator).to(batch.device)
            batch = batch + self.noise_std * noise
        return batch


class Reconstruction:
    """Reconstruct the clean batch from its corrupted copy with the module's own loss.

    ``module.loss(x_input, x_target)`` is the family's likelihood: mean squared error for
    :class:`~vecae.models.DenseNet`, categorical cross-entropy for
    :class:`~vecae.models.CategoricalNet`. Validation scores the clean reconstruction, which is
    what ``transform`` will deliver.
    """

    def __init__(self, module: Any, corrupt: Corruption) -> None:
        self.module = module
        self.corrupt = corrupt

    def training_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return self.module.loss(self.corrupt(batch), batch)  # type: ignore[no-any-return]

    def validation_loss(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module.loss(batch, batch)  # type: ignore[no-any-return]


class ELBO:
    """The β-weighted negative ELBO of :class:`~vecae.models.VariationalNet`, KL warm-up included.

    The KL weight rises linearly from ``beta / kl_warmup`` in the first epoch to ``beta`` at
    epoch ``kl_warmup`` (avoids posterior collapse early on). Validation always uses the full
    ``beta`` and its own fixed generator, so the validation losses of epochs during warm-up
    compare fairly with later ones.

    Parameters
    ----------
    module : VariationalNet
    corrupt : Corruption
    beta : float
    kl_warmup : int
        Epochs of warm-up; 0 uses ``beta`` from the start.
    generator, val_generator : torch.Generator
        The reparameterisation noise of training and of validation batches.
    """

    def __init__(
        self,
        module: Any,
        corrupt: Corruption,
        *,
        beta: float,
        kl_warmup: int,
        generator: torch.Generator,
        val_generator: torch.Generator,
    ) -> None:
        self.module = module
        self.corrupt = corrupt
        self.beta = float(beta)
        self.kl_warmup = int(kl_warmup)
        self.generator = generator
        self.val_generator = val_generator

    def kl_weight(self, epoch: int) -> float:
        """The KL weight used in (0-based) ``epoch``."""
        if self.kl_warmup == 0:
            return self.beta
        return self.beta * min(1.0, (epoch + 1) / self.kl_warmup)

    def training_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return self.module.loss(  # type: ignore[no-any-return]
            self.corrupt(batch), batch, beta=self.kl_weight(epoch), generator=self.generator
        ).total

    def validation_loss(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module.loss(  # type: ignore[no-any-return]
            batch, batch, beta=self.beta, generator=self.val_generator
        ).total
