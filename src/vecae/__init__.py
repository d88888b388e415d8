"""vecae: autoencoders that turn the embeddings you already have into improved encodings.

The public surface is listed once, in ``__all__``; everything else lives in private modules.
"""

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
