"""Building blocks shared by the model families: MLP stacks, seeded initialisation, and the
inference-only encoder that folds input standardisation into the first layer."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["ACTIVATIONS", "FoldedEncoder", "init_weights", "mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


def mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    final_activation: bool = False,
) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with an activation between them.

    The last layer stays linear unless ``final_activation``: encoders feed a linear latent
    and decoders emit unbounded values (or logits).
    """
    layers: list[nn.Module] = []
    n_layers = len(sizes) - 1
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < n_layers - 1 or final_activation:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every ``nn.Linear`` from ``generator``.

    PyTorch's default initialisation draws from the global RNG; drawing from a per-fit generator
    is what lets ``random_state`` pin results without seeding anything global. The scheme is
    PyTorch's own default (Kaiming-uniform with a=sqrt(5), fan-in-scaled bias).
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            fan_in = layer.weight.shape[1]
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            # kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=generator)


_SCRATCH = threading.local()  # FoldedEncoder's reusable layer outputs, one pool per thread


def _activate_in_place(layer: nn.Module, t: torch.Tensor) -> bool:
    """Apply ``layer`` to ``t`` in place when it has an in-place form (same kernel, same bits)."""
    functional = nn.functional
    if isinstance(layer, nn.ReLU):
        torch.relu_(t)
    elif isinstance(layer, nn.Tanh):
        t.tanh_()
    elif isinstance(layer, nn.SiLU):
        functional.silu(t, inplace=True)
    elif isinstance(layer, nn.ELU):
        functional.elu_(t, alpha=layer.alpha)
    elif isinstance(layer, nn.LeakyReLU):
        functional.leaky_relu_(t, layer.negative_slope)
    else:
        return False
    return True


class FoldedEncoder:
    """Inference-only ``encode`` of an MLP (plus linear skip) on raw, unstandardised rows.

    Computes ``layers(u) + skip(u)`` for ``u = (x - mean) / std`` without forming ``u``: the
    standardisation is folded into the first linear map (``W' = W / std``,
    ``b' = b - W' @ mean``, in float64, then float32), the skip path is stacked under it so
    that one matrix product reads the input once, and every layer writes into a buffer reused
    from batch to batch. The results equal the unfolded forward to float32 rounding, not bit
    for bit: each output is a sum of the same terms, rounded in another order. The rounding
    grows with ``|mean| / std``; callers fold only where that ratio is small.

    Parameters
    ----------
    layers : sequence of nn.Module
        What ``encode`` applies in order: ``nn.Linear`` first, then linear layers and
        activations (``nn.Dropout`` and ``nn.Identity`` are skipped: inference only).
    skip_weight : Tensor of shape (latent_dim, n_features), optional
        The linear skip path's weight, added to the last layer's output.
    mean, std : ndarray of shape (n_features,)
        The standardisation to fold.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> layers = [nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2)]
    >>> mean, std = np.full(6, 0.5, np.float32), np.full(6, 2.0, np.float32)
    >>> x = torch.randn(3, 6, generator=torch.Generator().manual_seed(0))
    >>> folded = FoldedEncoder(layers, None, mean, std)
    >>> z, suspect = folded(x)
    >>> with torch.no_grad():
    ...     reference = nn.Sequential(*layers)((x - torch.from_numpy(mean)) / 2.0)
    >>> bool(torch.allclose(z, reference, atol=1e-6)), bool(suspect.any())
    (True, False)
    """

    def __init__(
        self,
        layers: Sequence[nn.Module],
        skip_weight: torch.Tensor | None,
        mean: np.ndarray,
        std: np.ndarray,
    ) -> None:
        stack = [m for m in layers if not isinstance(m, nn.Dropout | nn.Identity)]
        first = stack[0]
        if not isinstance(first, nn.Linear):
            raise TypeError("the first layer to fold must be nn.Linear")
        with torch.no_grad():
            mean64 = torch.from_numpy(np.asarray(mean, dtype=np.float64))
            inv_std64 = 1.0 / torch.from_numpy(np.asarray(std, dtype=np.float64))
            weights = [first.weight.detach().double()]
            biases = [
                first.bias.detach().double()
                if first.bias is not None
                else torch.zeros(first.out_features, dtype=torch.float64)
            ]
            if skip_weight is not None:
                weights.append(skip_weight.detach().double())
                biases.append(torch.zeros(skip_weight.shape[0], dtype=torch.float64))
            weight = torch.cat(weights) * inv_std64
            bias = torch.cat(biases) - weight @ mean64
            device = first.weight.device
            self.weight_t = weight.float().to(device).t()  # a transposed view, as F.linear uses
            self.bias = bias.float().to(device)
        self.hidden = first.out_features
        self.has_skip = skip_weight is not None
        self.rest = stack[1:]

    @staticmethod
    def _buffer(slot: int, rows: int, width: int, like: torch.Tensor) -> torch.Tensor:
        # Scratch is per thread and outlives the encoder: transform is often called once per
        # batch (vecae encode, Ray), and fresh multi-MB tensors cost page faults every call
        # (11% of the time at 8192 rows). Per thread, so concurrent transforms never share.
        pool: dict[tuple[Any, ...], torch.Tensor] = _SCRATCH.__dict__.setdefault("pool", {})
        key = (slot, width, like.dtype, like.device)
        buffer = pool.get(key)
        if buffer is None or buffer.shape[0] < rows:
            buffer = torch.empty((rows, width), dtype=like.dtype, device=like.device)
            pool[key] = buffer
        return buffer[:rows]

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes of the raw rows ``x``, and which rows may hold NaN or Inf.

        The codes live in a buffer that the next call overwrites: copy them out first.
        ``suspect`` flags the rows whose first pre-activation is not finite. A NaN or
        infinite input value makes every pre-activation of its row non-finite (``w * inf`` is
        infinite or NaN, and NaN propagates), so no such row escapes the flag; a finite row
        is flagged only when its sum overflows float32. Callers confirm on ``x`` itself.
        """
        n = x.shape[0]
        pre = torch.addmm(self.bias, x, self.weight_t, out=self._buffer(0, n, len(self.bias), x))
        suspect = ~torch.isfinite(pre[:, 0])
        h = pre[:, : self.hidden] if self.has_skip else pre
        for slot, layer in enumerate(self.rest, start=1):
            if isinstance(layer, nn.Linear):
                out = self._buffer(slot, n, layer.out_features, x)
                if layer.bias is None:
                    h = torch.mm(h, layer.weight.t(), out=out)
                else:
                    h = torch.addmm(layer.bias, h, layer.weight.t(), out=out)
            elif not _activate_in_place(layer, h):
                h = layer(h)
        if self.has_skip:
            # The skip columns follow the hidden ones in ``pre``: no overlap with ``h``.
            h = h.add_(pre[:, self.hidden :])
        return h, suspect
