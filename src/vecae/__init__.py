"""vecae: autoencoders that turn the embeddings you already have into improved encodings.

The public surface is listed once, in ``__all__``; everything else lives in private modules.
The estimators and :func:`load` import torch and scikit-learn, so they are imported on first
use (PEP 562 ``__getattr__``): ``import vecae`` and ``vecae --help`` stay fast, and the
exceptions and ``__version__`` need nothing heavy.

Examples
--------
>>> import vecae
>>> issubclass(vecae.InputError, ValueError)
True
>>> vecae.Autoencoder(latent_dim=8).latent_dim
8
"""

# No ``from __future__ import annotations``: it would bind a public name, ``annotations``.
import importlib
import os
import typing

# OpenMP threads that spin while waiting for work steal the CPU from each other and from any
# other process on a small or shared machine: on 2 busy cores we measured 10-70x slower
# training steps. Passive waiting costs nothing measurable when the machine is idle. setdefault
# keeps a user's own choice, and it only takes effect if torch has not been imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from vecae._exceptions import (
    DimensionMismatchError,
    InputError,
    MissingDependencyError,
    ModelFileError,
    OutputExistsError,
    TrainingDivergedError,
    VecaeError,
)
from vecae._version import __version__

# Plain module imports only: the public-API test holds that every public name is in __all__.
if typing.TYPE_CHECKING:
    from vecae._categorical import CategoricalAutoencoder
    from vecae._dense import Autoencoder, VariationalAutoencoder
    from vecae._detector import AnomalyDetector
    from vecae._serialize import load
    from vecae._streaming import StreamedRows
    from vecae._train import Callback, EpochLog, PrintProgress

# Public name -> the private module that defines it; imported on first access.
_LAZY = {
    "AnomalyDetector": "vecae._detector",
    "Autoencoder": "vecae._dense",
    "VariationalAutoencoder": "vecae._dense",
    "CategoricalAutoencoder": "vecae._categorical",
    "load": "vecae._serialize",
    "Callback": "vecae._train",
    "EpochLog": "vecae._train",
    "PrintProgress": "vecae._train",
    "StreamedRows": "vecae._streaming",
}

__all__ = [
    "AnomalyDetector",
    "Autoencoder",
    "Callback",
    "CategoricalAutoencoder",
    "DimensionMismatchError",
    "EpochLog",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "OutputExistsError",
    "PrintProgress",
    "StreamedRows",
    "TrainingDivergedError",
    "VariationalAutoencoder",
    "VecaeError",
    "__version__",
    "load",
]


def __getattr__(name: str) -> typing.Any:
    """Import a heavy public name on first access and cache it in the package namespace."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vecae' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
