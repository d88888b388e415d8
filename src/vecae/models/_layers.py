"""Building blocks shared by the model families: MLP stacks and seeded initialisation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "init_weights", "mlp"]

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
