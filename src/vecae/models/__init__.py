"""Pure PyTorch model families; no data handling, no training loop, no I/O.

Each family is one module: :mod:`~vecae.models.dense`, :mod:`~vecae.models.variational` and
:mod:`~vecae.models.categorical`. The estimators in :mod:`vecae` build them from their configs.
"""

from vecae.models.categorical import CategoricalConfig, CategoricalNet
from vecae.models.dense import DenseConfig, DenseNet
from vecae.models.variational import VariationalConfig, VariationalNet

__all__ = [
    "CategoricalConfig",
    "CategoricalNet",
    "DenseConfig",
    "DenseNet",
    "VariationalConfig",
    "VariationalNet",
]
