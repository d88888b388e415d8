"""The package version: the single source that pyproject.toml and ``vecae --version`` read."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
