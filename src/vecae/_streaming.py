"""Training and encoding from data larger than memory: ``.npy`` files, Parquet files, shard dirs.

A :class:`RowStore` reads any range of rows of a file (or of a directory of shard files) as a
float32 array, with plain positioned reads: nothing is memory-mapped, so the pages read count
towards the OS page cache and not towards the process's resident memory. On top of it:

* preprocessing statistics come from one streamed pass (:meth:`DenseScaler.fit` reads the store
  in 65,536-row chunks);
* the validation rows are a random sample of at most ``max_validation_rows`` rows, read once
  into memory;
* training reads the other rows in shuffled blocks: the order of the blocks is random every
  epoch, blocks fill a shuffle buffer of ``buffer_rows`` rows, the buffer is permuted and cut
  into batches (the usual block shuffle plus shuffle buffer of streaming data loaders).

Peak memory is about ``2 * buffer_rows + max_validation_rows + 2 * block_rows`` rows (the
blocks read and the buffer they are joined into) whatever the file size. Rows within a buffer
are fully mixed; rows further apart meet only across epochs. On the benchmark data the
streamed fit's held-out error matched the in-memory fit's (benchmarks/streaming_fit.py).
"""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vecae._batches import TensorSource
from vecae._checks import read_npy_header
from vecae._exceptions import InputError, require
from vecae._preprocess import DenseScaler

__all__ = [
    "NpyStore",
    "ParquetStore",
    "RowStore",
    "ShardStore",
    "StoreSource",
    "StreamedRows",
    "as_stream",
    "open_store",
    "prepare_stream",
    "stream_source",
]

SHARD_SUFFIXES = (".npy", ".parquet")


class RowStore(ABC):
    """Read-only row access to float vectors on disk, in row blocks."""

    source: str
    n_rows: int
    n_features: int
    dtype = np.dtype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_features)

    @abstractmethod
    def blocks(self, block_rows: int) -> list[tuple[int, int]]:
        """``(start, stop)`` row ranges that cover the store and are cheap to read whole."""

    @abstractmethod
    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a new float32 array of shape ``(stop - start, n_features)``."""

    def __getitem__(self, key: slice) -> np.ndarray:
        """Contiguous slices only (what the streamed statistics pass needs)."""
        start, stop, step = key.indices(self.n_rows)
        if step != 1:
            raise TypeError("a RowStore reads contiguous slices only")
        return self.read(start, max(start, stop))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The given rows (any order), reading each touched block once."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.n_features), dtype=np.float32)
        if len(rows) == 0:
            return out
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        for start, stop in self.blocks(8192):  # small reads: a sparse sample costs little memory
            lo, hi = np.searchsorted(sorted_rows, [start, stop])
            if lo == hi:
                continue
            block = self.read(start, stop)
            out[order[lo:hi]] = block[sorted_rows[lo:hi] - start]
        return out


class NpyStore(RowStore):
    """A 2-D C-order float ``.npy`` file, read with ``os.pread`` (no memory map)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        try:
            with open(self.path, "rb") as fh:
                shape, fortran, dtype = read_npy_header(fh)
                self.offset = fh.tell()
        except ValueError as exc:
            raise InputError(f"{self.source}: not a readable .npy file ({exc})") from None
        if len(shape) != 2 or fortran or dtype.kind != "f":
            raise InputError(
                f"{self.source}: expected a 2-D C-order float array, got shape {shape}, "
                f"dtype {dtype}{', Fortran order' if fortran else ''} (rows are read as "
                "contiguous ranges: save np.ascontiguousarray(X, dtype='float32'))"
            )
        self.file_dtype = dtype
        self.n_rows, self.n_features = int(shape[0]), int(shape[1])
        self.row_bytes = self.n_features * dtype.itemsize
        expected = self.offset + self.n_rows * self.row_bytes
        if self.path.stat().st_size < expected:
            raise InputError(f"{self.source}: file is truncated ({expected} bytes expected)")

    def blocks(self, block_rows: int) -> list[tuple[int, int]]:
        return [(s, min(s + block_rows, self.n_rows)) for s in range(0, self.n_rows, block_rows)]

    def read(self, start: int, stop: int) -> np.ndarray:
        count = max(stop - start, 0)
        # Read straight into the array that is returned: one copy of the rows in memory, not
        # a bytes object plus its float32 conversion (which doubled every block's footprint).
        rows = np.empty((count, self.n_features), dtype=self.file_dtype)
        view = rows.reshape(-1).view(np.uint8).data
        fd = os.open(self.path, os.O_RDONLY)
        try:
            done, offset = 0, self.offset + start * self.row_bytes
            while done < len(view):  # preadv may return short counts for large reads
                got = os.preadv(fd, [view[done:]], offset + done)
                if got == 0:
                    raise InputError(f"{self.source}: file is truncated (rows {start}-{stop})")
                done += got
        finally:
            os.close(fd)
        return rows if rows.dtype == np.float32 else rows.astype(np.float32)


class ParquetStore(RowStore):
    """The vector column (``list``/``fixed_size_list`` of numbers) of a Parquet file."""

    def __init__(self, path: Path) -> None:
        from vecae.io._parquet import ParquetReader

        self.reader = ParquetReader(Path(path), str(path))
        self.source = str(path)
        self.n_rows = int(self.reader.n_rows or 0)
        self.n_features = int(self.reader.dim)
        meta = self.reader.file.metadata
        bounds = np.cumsum([0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
        self.group_bounds = bounds

    def blocks(self, block_rows: int) -> list[tuple[int, int]]:
        # Row groups are Parquet's unit of reading; they are the blocks whatever block_rows.
        return [(int(a), int(b)) for a, b in itertools.pairwise(self.group_bounds)]

    def _group(self, index: int) -> np.ndarray:
        pa: Any = require("pyarrow", "io")
        table = self.reader.file.read_row_group(index, columns=[self.reader.vector_column])
        column = table.column(0).combine_chunks()
        first = int(self.group_bounds[index])
        if column.null_count:
            bad = int(np.flatnonzero(~column.is_valid().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{self.source}: row {first + bad + 1}: missing (null) vector")
        flat = column.flatten()
        if len(flat) != len(column) * self.n_features or flat.null_count:
            raise InputError(
                f"{self.source}: rows {first + 1}-{first + len(column)}: vectors must all have "
                f"{self.n_features} non-null values"
            )
        values = flat.to_numpy(zero_copy_only=False) if isinstance(flat, pa.Array) else flat
        return np.asarray(values, dtype=np.float32).reshape(len(column), self.n_features)

    def read(self, start: int, stop: int) -> np.ndarray:
        first = int(np.searchsorted(self.group_bounds, start, side="right") - 1)
        parts, group = [], max(first, 0)
        while group < len(self.group_bounds) - 1 and self.group_bounds[group] < stop:
            rows = self._group(group)
            g0 = int(self.group_bounds[group])
            parts.append(rows[max(start - g0, 0) : stop - g0])
            group += 1
        if not parts:
            return np.empty((0, self.n_features), dtype=np.float32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


class ShardStore(RowStore):
    """The ``.npy`` or ``.parquet`` shards of a directory, in file-name order, as one store."""

    def __init__(self, directory: Path) -> None:
        self.source = str(directory)
        files = sorted(p for p in Path(directory).iterdir() if p.suffix in SHARD_SUFFIXES)
        if not files:
            raise InputError(f"{self.source}: no .npy or .parquet shards in the directory")
        self.shards = [open_store(p) for p in files]
        widths = {s.n_features for s in self.shards}
        if len(widths) != 1:
            detail = ", ".join(f"{s.source}: {s.n_features}" for s in self.shards)
            raise InputError(f"{self.source}: shards have different widths ({detail})")
        self.n_features = widths.pop()
        self.starts = np.cumsum([0] + [s.n_rows for s in self.shards])
        self.n_rows = int(self.starts[-1])

    def blocks(self, block_rows: int) -> list[tuple[int, int]]:
        return [
            (int(offset) + a, int(offset) + b)
            for shard, offset in zip(self.shards, self.starts[:-1], strict=True)
            for a, b in shard.blocks(block_rows)
        ]

    def read(self, start: int, stop: int) -> np.ndarray:
        parts = []
        for shard, offset in zip(self.shards, self.starts[:-1], strict=True):
            a, b = max(start - int(offset), 0), min(stop - int(offset), shard.n_rows)
            if a < b:
                parts.append(shard.read(a, b))
        if not parts:
            return np.empty((0, self.n_features), dtype=np.float32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def open_store(path: Path) -> RowStore:
    """The store for a ``.npy`` file, a ``.parquet`` file or a directory of such shards."""
    path = Path(path)
    if path.is_dir():
        return ShardStore(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.suffix == ".npy":
        return NpyStore(path)
    if path.suffix == ".parquet":
        return ParquetStore(path)
    raise InputError(f"{path}: streamed input must be .npy, .parquet or a directory of them")


class StreamedRows:
    """Training data read from disk in shuffled blocks instead of loaded into memory.

    Pass one to ``fit`` (or to ``transform``) of :class:`vecae.Autoencoder` or
    :class:`vecae.VariationalAutoencoder`. ``fit`` also accepts a path (``str`` or
    ``pathlib.Path``) or an ``np.load(..., mmap_mode="r")`` array directly, with these defaults.

    Parameters
    ----------
    path : str or Path
        A 2-D float ``.npy`` file, a Parquet file with a list-of-numbers vector column, or a
        directory of such shards (read in file-name order).
    block_rows : int, default=8192
        Rows per contiguous read (``.npy``); Parquet reads whole row groups.
    buffer_rows : int, default=65536
        Rows shuffled together in memory; larger mixes better and costs memory.
    max_validation_rows : int, default=65536
        Cap on the random validation sample (``validation_fraction`` of the rows, at most this).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from vecae import Autoencoder, StreamedRows
    >>> path = os.path.join(tempfile.mkdtemp(), "vectors.npy")
    >>> np.save(path, np.random.default_rng(0).normal(size=(3000, 16)).astype("float32"))
    >>> model = Autoencoder(latent_dim=4, epochs=2, random_state=0)
    >>> model.fit(StreamedRows(path, block_rows=500, buffer_rows=1000)).transform(path).shape
    (3000, 4)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        block_rows: int = 8192,
        buffer_rows: int = 65536,
        max_validation_rows: int = 65536,
    ) -> None:
        for name, value in (
            ("block_rows", block_rows),
            ("buffer_rows", buffer_rows),
            ("max_validation_rows", max_validation_rows),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        self.path = Path(path)
        self.block_rows = block_rows
        self.buffer_rows = buffer_rows
        self.max_validation_rows = max_validation_rows
        self.store = open_store(self.path)

    @property
    def shape(self) -> tuple[int, int]:
        return self.store.shape


def as_stream(X: Any, *, memmap: bool = False) -> StreamedRows | None:
    """``X`` as streamed rows when it is one or a path; else None.

    With ``memmap=True`` (fit), an ``np.load(path, mmap_mode="r")`` array that maps the whole
    of its ``.npy`` file is streamed from that file too, instead of being copied into memory.
    A slice of such a map (what ``iter_embeddings`` yields) is an ordinary array.
    """
    if isinstance(X, StreamedRows):
        return X
    if isinstance(X, str | os.PathLike):
        return StreamedRows(X)
    if (
        memmap
        and isinstance(X, np.memmap)
        and X.ndim == 2
        and X.flags.c_contiguous
        and str(X.filename or "").endswith(".npy")
    ):
        try:
            stream = StreamedRows(str(X.filename))
        except InputError:  # not a file we can stream: train on the array as it is
            return None
        store = stream.store
        whole = (
            isinstance(store, NpyStore)
            and X.offset == store.offset
            and X.shape == store.shape
            and X.dtype == store.file_dtype
            and X.flags.c_contiguous
        )
        return stream if whole else None
    return None


# ---------------------------------------------------------------------------------------------
# Batch sources over a store


class StoreSource:
    """All rows of a store in model space, read on demand (inference and training scores)."""

    def __init__(self, stream: StreamedRows, scaler: DenseScaler, device: torch.device) -> None:
        self.stream = stream
        self.store = stream.store
        self.scaler = scaler
        self.device = device
        self.n_rows = self.store.n_rows

    def _model_space(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.scaler.apply(rows)).to(self.device)

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        index = rows.numpy()
        if len(index) and index[-1] - index[0] + 1 == len(index) and (np.diff(index) == 1).all():
            return self._model_space(self.store.read(int(index[0]), int(index[-1]) + 1))
        return self._model_space(self.store.take(index))

    def span(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` in model space, read as one range."""
        return self._model_space(self.store.read(start, stop))

    def split(
        self, fraction: float, generator: torch.Generator
    ) -> tuple[ShuffledStream, TensorSource | None]:
        """Training stream and in-memory validation rows (a capped random sample), or None."""
        n, stream = self.n_rows, self.stream
        n_val = min(round(fraction * n), stream.max_validation_rows)
        if n_val == 0 or n - n_val < 1:
            return ShuffledStream(self, None, stream.block_rows, stream.buffer_rows), None
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rows = np.sort(np.random.default_rng(seed).choice(n, size=n_val, replace=False))
        held_out = np.zeros(n, dtype=bool)
        held_out[rows] = True
        validation = TensorSource(self._model_space(self.store.take(rows)))
        return ShuffledStream(self, held_out, stream.block_rows, stream.buffer_rows), validation


class ShuffledStream:
    """Training rows of a store: block shuffle plus a shuffle buffer, excluding held-out rows."""

    def __init__(
        self,
        source: StoreSource,
        held_out: np.ndarray | None,
        block_rows: int,
        buffer_rows: int,
    ) -> None:
        self.source = source
        self.held_out = held_out  # boolean mask over the store's rows, or None
        self.block_rows = block_rows
        self.buffer_rows = buffer_rows
        self.n_rows = source.n_rows - (int(held_out.sum()) if held_out is not None else 0)

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        kept = np.flatnonzero(~self.held_out) if self.held_out is not None else None
        index = rows.numpy() if kept is None else kept[rows.numpy()]
        return self.source.batch(torch.from_numpy(np.asarray(index, dtype=np.int64)))

    def shuffled_batches(
        self, batch_size: int, generator: torch.Generator
    ) -> Iterator[torch.Tensor]:
        blocks = self.source.store.blocks(self.block_rows)
        order = torch.randperm(len(blocks), generator=generator).tolist()
        carry = np.empty((0, self.source.store.n_features), dtype=np.float32)
        pending: list[np.ndarray] = []
        pending_rows = 0
        for position, index in enumerate(order):
            start, stop = blocks[index]
            rows = self.source.store.read(start, stop)
            if self.held_out is not None:
                rows = rows[~self.held_out[start:stop]]
            pending.append(rows)
            pending_rows += len(rows)
            if pending_rows < self.buffer_rows and position < len(order) - 1:
                continue
            buffer = np.concatenate([carry, *pending])
            pending, pending_rows = [], 0
            # Batches gather rows through a permutation: no second, shuffled copy of the buffer.
            perm = torch.randperm(len(buffer), generator=generator).numpy()
            full = len(buffer) - len(buffer) % batch_size
            last = position == len(order) - 1
            stop_at = len(buffer) if last else full
            for a in range(0, stop_at, batch_size):
                yield self.source._model_space(buffer[perm[a : a + batch_size]])
            carry = buffer[perm[full:]] if not last else carry[:0]


def prepare_stream(stream: StreamedRows, estimator: Any) -> StoreSource:
    """Fit the estimator's preprocessing in one streamed pass; the store as a batch source.

    Sets ``n_features_in_`` and ``scaler_`` like an in-memory fit does.
    """
    from vecae._base import check_finite_rows

    store = stream.store
    if store.n_rows < 2:
        raise InputError(f"{store.source}: at least 2 rows are needed to fit, got {store.n_rows}")
    estimator.n_features_in_ = store.n_features
    estimator.__dict__.pop("feature_names_in_", None)
    check_finite_rows(store, source=store.source)
    estimator.scaler_ = DenseScaler.fit(
        store,
        normalize=estimator.normalize,
        center=estimator.center,
        scale=estimator.scale,
    )
    return StoreSource(stream, estimator.scaler_, estimator.device_)


def stream_source(stream: StreamedRows, estimator: Any) -> StoreSource:
    """A fitted estimator's view of streamed rows, for transform and scores."""
    from vecae._base import check_width

    check_width(estimator, stream.store.n_features)
    return StoreSource(stream, estimator.scaler_, estimator.device_)
