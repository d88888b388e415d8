"""vecae: autoencoders that turn the embeddings you already have into improved encodings.

The public surface is listed once, in ``__all__``; everything else lives in private modules.
"""

import os

# OpenMP threads that spin while waiting for work steal the CPU from each other and from any
# other process on a small or shared machine: on 2 busy cores we measured 10-70x slower
# training steps. Passive waiting costs nothing measurable when the machine is idle. setdefault
# keeps a user's own choice, and it only takes effect if torch has not been imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from vecae._categorical import CategoricalAutoencoder
from vecae._dense import Autoencoder, VariationalAutoencoder
from vecae._exceptions import (
    DimensionMismatchError,
    InputError,
    MissingDependencyError,
    ModelFileError,
    TrainingDivergedError,
    VecaeError,
)
from vecae._serialize import load

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "CategoricalAutoencoder",
    "DimensionMismatchError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "TrainingDivergedError",
    "VariationalAutoencoder",
    "VecaeError",
    "__version__",
    "load",
]
