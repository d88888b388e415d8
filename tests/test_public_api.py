"""The public surface is declared once: ``__all__`` lists exactly what the package exports."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "vecae",
    "vecae.io",
    "vecae.evaluate",
    "vecae.models",
    "vecae.index",
    "vecae.anomaly",
    "vecae.recommend",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists(name):
    module = importlib.import_module(name)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_package_exports_nothing_public_outside_all():
    import vecae

    public = {
        n
        for n, v in vars(vecae).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public - set(vecae.__all__) == set()


def test_exception_tree_matches_its_documentation():
    import vecae

    assert issubclass(vecae.DimensionMismatchError, vecae.InputError)
    assert issubclass(vecae.InputError, ValueError) and issubclass(vecae.ModelFileError, OSError)
    assert all(
        issubclass(getattr(vecae, n), vecae.VecaeError)
        for n in ("InputError", "ModelFileError", "TrainingDivergedError", "MissingDependencyError")
    )
