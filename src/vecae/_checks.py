"""Structural checks on user data that must run before anything indexes into it."""

from __future__ import annotations

from typing import IO, Any

import numpy as np
import scipy.sparse as sp

from vecae._exceptions import InputError

__all__ = ["NonFiniteRowError", "check_sparse_structure", "read_npy_header"]


class NonFiniteRowError(InputError):
    """A row holds NaN or Inf: the one message for it, and the row's index for a caller.

    The models' checks raise it (:func:`vecae._base.check_finite_rows` and the folded
    encoder's check); ``row`` is the index in the rows they were given. A caller that knows
    where those rows sit in a file (``vecae encode`` reading batches) catches it to name the
    file's own line or row instead.

    Parameters
    ----------
    source
        What the rows came from, for the message (``"X"`` for an array).
    row
        The first bad row's index among the rows checked.

    Examples
    --------
    >>> error = NonFiniteRowError("X", 3)
    >>> str(error), error.row
    ('X: row 3 contains NaN or Inf; remove or impute it', 3)
    """

    def __init__(self, source: str, row: int) -> None:
        super().__init__(f"{source}: row {row} contains NaN or Inf; remove or impute it")
        self.source = source
        self.row = row

    def __reduce__(self) -> tuple[type[NonFiniteRowError], tuple[str, int]]:
        # The default pickles the message as the one argument; Ray ships errors pickled.
        return (type(self), (self.source, self.row))


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


def read_npy_header(handle: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """``(shape, fortran_order, dtype)`` from a ``.npy`` header, leaving ``handle`` at the data.

    Reads only the magic string and the header (at most 10,000 bytes), so a caller can check
    a declared shape against the file's size before anything is allocated. Raises what
    NumPy's header readers raise (``ValueError``, ``EOFError``) on a malformed header.

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> np.save(buffer, np.zeros((3, 2), dtype=np.float32))
    >>> _ = buffer.seek(0)
    >>> read_npy_header(buffer)
    ((3, 2), False, dtype('float32'))
    """
    version = np.lib.format.read_magic(handle)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = read_header(handle, max_header_size=10_000)
    return tuple(shape), bool(fortran), dtype
