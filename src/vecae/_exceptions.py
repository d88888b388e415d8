"""The exceptions vecae raises.

The tree is part of the public contract::

    VecaeError                      base class of everything below
    ├── InputError (ValueError)     bad data: names the source, the row or line, and the problem
    │   ├── DimensionMismatchError  vectors whose width differs from what the model was fitted on
    │   └── OutputExistsError       the output exists (and no overwrite), is not vecae's to
    │       (FileExistsError)       replace, is an input, or another process is writing it
    ├── ModelFileError (OSError)    a model or index directory that is missing, truncated,
    │                               tampered with, or written by an incompatible version
    ├── TrainingDivergedError       the loss became NaN/Inf; the best weights so far are kept
    │   (FloatingPointError)
    └── MissingDependencyError      an optional extra is not installed; says what to pip install
        (ImportError)

``InputError`` subclasses ``ValueError`` so that scikit-learn tooling, which expects
``ValueError`` for bad input, keeps working.
"""

from __future__ import annotations

__all__ = [
    "DimensionMismatchError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "OutputExistsError",
    "TrainingDivergedError",
    "VecaeError",
]


class VecaeError(Exception):
    """Base class of every error vecae raises on purpose."""


class InputError(VecaeError, ValueError):
    """Input data is malformed: the message names the source, the row or line, and the problem."""


class DimensionMismatchError(InputError):
    """Vectors have a different width from the one the model was fitted on."""


class OutputExistsError(InputError, FileExistsError):
    """The output cannot be written: it exists, is not vecae's to replace, or is busy.

    It is both an :class:`InputError` (so one ``except InputError`` catches every bad-argument
    case) and a :class:`FileExistsError` (so generic file-handling code recognises it). The
    message says which of the reasons applies.
    """


class ModelFileError(VecaeError, OSError):
    """A saved model or index directory cannot be used; the message names the file."""


class TrainingDivergedError(VecaeError, FloatingPointError):
    """The training loss stopped being finite. The best weights seen so far are restored."""


class MissingDependencyError(VecaeError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` command."""


def require(module: str, extra: str) -> object:
    """Import an optional dependency, or explain which extra provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module} is needed for this feature; install it with: pip install 'vecae[{extra}]'"
        ) from exc
