"""The registry of model kinds: each estimator family adds itself by being defined.

A family class sets ``kind = "..."``; :class:`vecae._base.BaseAutoencoder.__init_subclass__`
records it here, and :func:`vecae.load` looks the kind of a saved ``config.json`` up here.
The registry has no imports of its own, so persistence can use it without importing the
estimator base (no import cycle).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FAMILY_MODULES", "model_kinds", "register"]

# The modules that define the built-in families (importing one registers its kinds). A new
# family is a new module and one line here.
FAMILY_MODULES = ("vecae._dense", "vecae._categorical")

_KINDS: dict[str, Any] = {}


def register(kind: str, cls: Any) -> None:
    """Record estimator class ``cls`` under ``kind`` (called when the class is defined)."""
    _KINDS[kind] = cls


def model_kinds() -> dict[str, Any]:
    """Every registered model kind, by name, after importing the built-in families.

    Examples
    --------
    >>> sorted(model_kinds())
    ['categorical', 'dense', 'variational']
    """
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return dict(_KINDS)
