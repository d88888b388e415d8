"""Batch sources: what the trainer and inference read rows from.

A batch source has ``n_rows`` and ``batch(rows)``, which turns a 1-D tensor of row indices into
a dense float32 batch on the training device. Each source densifies or one-hot encodes only the
rows asked for, so sparse and categorical inputs never exist densely in full, while dense data
already on the device stays on the fast path of one ``index_select`` per batch.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["BatchSource", "CodesSource", "SparseSource", "SubsetSource", "TensorSource"]


class BatchSource(Protocol):
    """Anything with ``n_rows`` and ``batch(rows) -> float32 tensor on the device``."""

    n_rows: int

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        """Dense float32 rows ``rows`` on the training device."""
        ...


class TensorSource:
    """Rows of a dense tensor that is already on the device.

    Examples
    --------
    >>> import torch
    >>> TensorSource(torch.arange(6.0).reshape(3, 2)).batch(torch.tensor([2, 0]))
    tensor([[4., 5.],
            [0., 1.]])
    """

    def __init__(self, data: torch.Tensor) -> None:
        self.data = data
        self.n_rows = data.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        return self.data.index_select(0, rows.to(self.data.device))

    def span(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` as a view (the inference path; no gather)."""
        return self.data[start:stop]


class SparseSource:
    """Rows of a CSR matrix, densified one batch at a time (the whole matrix never is)."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.matrix = matrix
        self.device = device
        self.n_rows = matrix.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        dense = self.matrix[rows.numpy()].toarray().astype(np.float32, copy=False)
        return torch.from_numpy(dense).to(self.device)


class CodesSource:
    """Integer category codes per field, one-hot encoded one batch at a time.

    ``codes[i, f]`` is the index of row i's value within field f, or -1 for a value the model
    never saw (its block stays all-zero).
    """

    def __init__(self, codes: torch.Tensor, offsets: torch.Tensor, width: int) -> None:
        self.codes = codes
        self.offsets = offsets
        self.width = width
        self.n_rows = codes.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        codes = self.codes.index_select(0, rows.to(self.codes.device))
        out = torch.zeros((codes.shape[0], self.width), device=codes.device)
        known = codes >= 0
        columns = (codes + self.offsets).clamp_min(0)
        # scatter_add, not scatter: an unknown value (weight 0) may share a column index with a
        # known one after clamping, and must not overwrite it.
        out.scatter_add_(1, columns, known.to(out.dtype))
        return out


class SubsetSource:
    """A view of another batch source restricted to some of its rows (train or validation)."""

    def __init__(self, source: BatchSource, rows: torch.Tensor) -> None:
        self.source = source
        self.rows = rows
        self.n_rows = int(rows.shape[0])

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        return self.source.batch(self.rows[rows])
