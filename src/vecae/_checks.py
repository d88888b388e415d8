"""Structural checks on user data that must run before anything indexes into it."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from vecae._exceptions import InputError

__all__ = ["check_sparse_structure"]


def check_sparse_structure(matrix: Any, source: str = "X") -> None:
    """Raise :class:`InputError` unless a sparse matrix's index arrays are consistent.

    scipy builds a CSR/CSC matrix from ``(data, indices, indptr)`` without checking that the
    indices lie inside the shape; densifying or slicing such a matrix then reads and writes out
    of bounds (heap corruption or a segfault). This runs scipy's full check, plus a check for
    negative indices, before the matrix is used.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> bad = sp.csr_matrix((np.ones(1), np.array([7]), np.array([0, 1])), shape=(1, 3))
    >>> check_sparse_structure(bad, "x.npz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vecae._exceptions.InputError: x.npz: invalid sparse matrix: column index 7 is out of range...
    """
    if not sp.issparse(matrix):
        return
    fmt = matrix.format
    if fmt in ("csr", "csc", "bsr"):
        indices, indptr = np.asarray(matrix.indices), np.asarray(matrix.indptr)
        n_minor = matrix.shape[1] if fmt != "csc" else matrix.shape[0]
        axis = "column" if fmt != "csc" else "row"
        if indices.size and int(indices.min()) < 0:
            raise InputError(f"{source}: invalid sparse matrix: negative {axis} index")
        if indices.size and fmt != "bsr" and int(indices.max()) >= n_minor:
            raise InputError(
                f"{source}: invalid sparse matrix: {axis} index {int(indices.max())} is out of "
                f"range for {n_minor} {axis}s"
            )
        try:
            matrix.check_format(full_check=True)
        except ValueError as exc:
            raise InputError(f"{source}: invalid sparse matrix: {exc}") from None
        if indptr.size and int(indptr[-1]) > len(matrix.data):
            raise InputError(f"{source}: invalid sparse matrix: indptr points past the data")
    elif fmt == "coo":
        rows, cols = np.asarray(matrix.row), np.asarray(matrix.col)
        n_rows, n_cols = matrix.shape
        if rows.size and (rows.min() < 0 or cols.min() < 0):
            raise InputError(f"{source}: invalid sparse matrix: negative index")
        if rows.size and (rows.max() >= n_rows or cols.max() >= n_cols):
            raise InputError(f"{source}: invalid sparse matrix: index out of range for the shape")
