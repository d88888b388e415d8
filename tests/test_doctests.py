"""The examples in the library's docstrings run, and say what they print.

Every module of ``vecae`` (the command line excepted: its examples are the shell sessions in
README.md and docs/cli.md, run by ``tests/test_docs.py``) is imported and its docstring
examples executed with :mod:`doctest`, in a fresh working directory. A module whose optional
dependency is not installed is skipped.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vecae

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(vecae.__path__, prefix="vecae.")
    if not info.name.startswith("vecae.cli")
)


def _examples(name: str) -> int:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # MissingDependencyError is an ImportError
        pytest.skip(f"{name}: {exc}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    return sum(len(test.examples) for test in finder.find(module))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str, tmp_path, monkeypatch) -> None:
    if not _examples(name):
        pytest.skip(f"{name} has no examples")
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_public_api_has_examples() -> None:
    counts = {name: _examples(name) for name in ("vecae", "vecae.io", "vecae.evaluate")}
    assert all(counts.values()), counts


@pytest.mark.parametrize("package", ["vecae.io", "vecae.evaluate"])
def test_every_public_class_and_function_has_an_example(package: str) -> None:
    # Exceptions and warnings are documented by the exception tree, not by examples.
    module = importlib.import_module(package)
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) and issubclass(obj, BaseException | Warning):
            continue
        if (isinstance(obj, type) or callable(obj)) and ">>>" not in (obj.__doc__ or ""):
            missing.append(name)
    assert missing == []
