"""Pure PyTorch model families; no data handling, no training loop, no I/O.

Each family is one module: :mod:`~vecae.models.dense`, :mod:`~vecae.models.variational` and
:mod:`~vecae.models.categorical`. The estimators in :mod:`vecae` build them from their configs.
"""

from vecae.models.categorical import CategoricalNet, CategoricalConfig
from vecae.models.dense import DenseNet, DenseConfig
from vecae.models.variational import VariationalNet, VariationalConfig

__all__ = [
    "CategoricalNet",
    "CategoricalConfig",
    "DenseNet",
    "DenseConfig",
    "VariationalNet",
    "VariationalConfig",
]
