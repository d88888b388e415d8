"""Shared pieces of the format readers and writers."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from vecae.io._errors import input_error, short

__all__ = [
    "BaseReader",
    "BaseWriter",
    "RawBatch",
    "check_input_path",
    "count_lines",
    "first_non_finite",
    "parse_rows",
]

FloatArray = np.ndarray[Any, np.dtype[np.float32]]

_CHECK_ROWS = 65536


class RawBatch(NamedTuple):
    """A batch as a reader produces it, before duplicate keys are dropped.

    ``where`` holds, for every row, its 1-based line (text formats) or row number, so that
    errors found later (NaN, duplicates) can name the exact place.
    """

    keys: list[str] | None
    vectors: FloatArray
    where: Sequence[int]


class BaseReader(ABC):
    """Reads one file of one format, in batches of bounded size.

    Subclasses set :attr:`dim`, :attr:`has_keys`, :attr:`n_rows` while opening (cheap
    header checks only) and implement :meth:`batches`.
    """

    format: str = ""
    unit: str = "row"  # what ``RawBatch.where`` counts: "line" or "row"

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self.dim = 0
        self.has_keys = False
        self.n_rows: int | None = None

    @abstractmethod
    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        """Yield the file's rows in order, at most ``batch_size`` at a time."""

    def max_rows(self) -> int:
        """An upper bound on the number of rows, used to preallocate one output array."""
        if self.n_rows is None:  # readers of formats without a row count override this
            raise TypeError(f"{type(self).__name__} does not know its row count up front")
        return self.n_rows

    def read_all(self, *, mmap: bool) -> tuple[FloatArray, list[str] | None] | None:
        """Read everything at once when the format allows a better path than batches.

        Returns ``None`` when the caller should assemble the result from :meth:`batches`.
        """
        return None


class BaseWriter(ABC):
    """Writes batches of already validated rows to ``temp``; finalised by :meth:`finish`."""

    def __init__(self, temp: Path, source: str, dim: int, has_keys: bool) -> None:
        self.temp = temp
        self.source = source
        self.dim = dim
        self.has_keys = has_keys
        self.rows = 0

    @abstractmethod
    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        """Append rows; ``keys`` is ``None`` exactly when the writer has no keys."""

    @abstractmethod
    def finish(self) -> None:
        """Complete the temporary file (headers, footers) and close it."""

    def close(self) -> None:  # noqa: B027 - optional hook; most writers hold no handles
        """Release open handles; called after :meth:`finish` and on failure."""


def count_lines(path: Path) -> int:
    """Count lines cheaply (a C-level scan in 1 MiB chunks); used to size one allocation."""
    count = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def first_non_finite(vectors: FloatArray) -> int | None:
    """Index of the first row holding NaN/Inf, or None; checks in chunks to bound memory.

    Each row is screened by its sum, which is cheaper than a boolean array the size of the
    chunk: NaN and Inf propagate through a sum, so a finite sum proves a finite row. Only rows
    whose sum is not finite, which includes finite rows whose sum overflows, are checked
    element by element. The sum is NumPy's own reduction, not a BLAS product: BLAS threads
    left spinning after the check slowed the encoder's next matrix products 2.5x.
    """
    for start in range(0, vectors.shape[0], _CHECK_ROWS):
        chunk = vectors[start : start + _CHECK_ROWS]
        with np.errstate(over="ignore", invalid="ignore"):
            suspect = np.flatnonzero(~np.isfinite(chunk.sum(axis=1)))
        if suspect.size:
            bad = suspect[~np.isfinite(chunk[suspect]).all(axis=1)]
            if bad.size:
                return start + int(bad[0])
    return None


def parse_rows(rows: list[list[str]], where: Sequence[int], source: str, unit: str) -> FloatArray:
    """Convert rows of equal length made of number strings into one float32 array.

    The fast path is a single C-level conversion; only on failure are rows re-parsed one
    by one to name the offending line and value.
    """
    try:
        # Overflow to inf is reported later by the finiteness check, with its line.
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array(rows, dtype=np.float32).reshape(len(rows), -1)
    except ValueError:
        pass
    for row, at in zip(rows, where, strict=True):
        for value in row:
            try:
                float(value)
            except ValueError:
                raise input_error(
                    source, f"{unit} {at}", f"non-numeric value {short(value)}"
                ) from None
    raise input_error(source, f"{unit} {where[0]}", "values could not be parsed as numbers")


def check_input_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it is a readable file.

    Raises
    ------
    InputError
        The path does not exist, is a directory, or cannot be read.
    """
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise input_error(source, None, "file not found")
    if not p.is_file():
        raise input_error(source, None, "not a regular file")
    if not os.access(p, os.R_OK):
        raise input_error(source, None, "file is not readable (permission denied)")
    return p
