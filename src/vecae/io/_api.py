"""The public reading and writing functions, independent of the format."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from vecae._artefact import FileOutput, check_destination
from vecae._checks import NonFiniteRowError
from vecae._exceptions import DimensionMismatchError
from vecae.io._base import BaseReader, BaseWriter, FloatArray, RawBatch, first_non_finite
from vecae.io._errors import DuplicateKeyWarning, input_error, short
from vecae.io._formats import check_input_path, detect_format, format_for_writing
from vecae.io._numpy import load_sparse, save_sparse
from vecae.io._registry import FORMAT_REGISTRY, ReadOptions, WriteTarget
from vecae.io._text import check_word_key

__all__ = [
    "EmbeddingStream",
    "EmbeddingWriter",
    "Embeddings",
    "iter_embeddings",
    "read_embeddings",
    "read_sparse",
    "write_embeddings",
]

_WRITE_BATCH = 8192


@dataclass
class Embeddings:
    """Vectors and their keys, as read from a file.

    Attributes
    ----------
    vectors
        ``(n, d)`` float32; a read-only ``np.memmap`` when a float32 ``.npy`` is read with
        ``mmap=True``.
    keys
        One key per row, in file order, or ``None`` for key-less formats.
    source
        The path read, for error messages.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embeddings(np.zeros((3, 4), dtype=np.float32), ["a", "b", "c"], "memory")
    >>> len(emb), emb.dim
    (3, 4)
    """

    vectors: FloatArray
    keys: list[str] | None
    source: str

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        """The vector dimension."""
        return int(self.vectors.shape[1])


def _open_reader(
    path: str | os.PathLike[str],
    format: str | None,
    key_column: str | None,
    vector_column: str | None,
    keys_file: str | os.PathLike[str] | None = None,
) -> BaseReader:
    source = str(path)
    p = check_input_path(path)
    fmt = detect_format(path, format, keys_file=keys_file)
    if fmt != "parquet" and (key_column is not None or vector_column is not None):
        raise input_error(source, None, "key_column/vector_column apply only to Parquet files")
    if fmt != "npy-keys" and keys_file is not None:
        raise input_error(
            source, None, f"a keys file pairs only with a key-less .npy, not with {fmt}"
        )
    options = ReadOptions(
        key_column=key_column,
        vector_column=vector_column,
        keys_file=None if keys_file is None else Path(keys_file),
    )
    return FORMAT_REGISTRY[fmt].reader(p, source, options)


def _non_finite_error(source: str, where: str) -> Exception:
    return input_error(source, where, "non-finite value (NaN, Inf, or beyond float32 range)")


def _non_finite_row(reader: BaseReader, batch: RawBatch, row: int) -> Exception:
    """The error for row ``row`` of ``batch``, named by its line or row in the file."""
    return _non_finite_error(reader.source, f"{reader.unit} {batch.where[row]}")


_Rows = TypeVar("_Rows", np.ndarray, sp.csr_matrix)
_Result = TypeVar("_Result")


class _Dedup:
    """Drops repeated keys (keeping the first) and warns once per file."""

    def __init__(self, source: str, unit: str) -> None:
        self.source = source
        self.unit = unit
        self.seen: set[str] = set()
        self.warned = False

    def keep(self, keys: list[str], where: Sequence[int]) -> list[int] | None:
        """Indices of the rows to keep, or None when all are kept (the common case)."""
        seen = self.seen
        if seen.isdisjoint(keys) and len(set(keys)) == len(keys):
            seen.update(keys)
            return None
        kept: list[int] = []
        for i, key in enumerate(keys):
            if key in seen:
                if not self.warned:
                    self.warned = True
                    warnings.warn(
                        f"{self.source}: {self.unit} {where[i]}: duplicate key {short(key)}; "
                        "keeping the first occurrence of every duplicate key",
                        DuplicateKeyWarning,
                        stacklevel=4,
                    )
                continue
            seen.add(key)
            kept.append(i)
        return kept

    def apply(self, keys: list[str], rows: _Rows, where: Sequence[int]) -> tuple[list[str], _Rows]:
        """``keys`` and ``rows`` without the rows whose key was seen before (first kept)."""
        kept = self.keep(keys, where)
        if kept is None:
            return keys, rows
        return [keys[i] for i in kept], rows[kept]


def _unique(keys: list[str], rows: _Rows, source: str, unit: str) -> tuple[list[str], _Rows]:
    """A whole array's keys and rows with duplicate keys dropped (first kept), warning once."""
    return _Dedup(source, unit).apply(keys, rows, range(1, len(keys) + 1))


def _screen(reader: BaseReader, batch: RawBatch) -> None:
    bad = first_non_finite(batch.vectors)
    if bad is not None:
        raise _non_finite_row(reader, batch, bad)


def _clean(
    reader: BaseReader, batches: Iterator[RawBatch], *, screen: bool = True
) -> Iterator[RawBatch]:
    """Check finiteness (naming the line) and drop duplicate keys, batch by batch.

    Without ``screen`` the caller checks the rows it is given; a batch that loses rows to
    duplicate keys is screened here all the same, since the dropped rows never reach it.
    """
    dedup = _Dedup(reader.source, reader.unit) if reader.has_keys else None
    for batch in batches:
        if screen:
            _screen(reader, batch)
        if dedup is not None and batch.keys is not None:
            kept = dedup.keep(batch.keys, batch.where)
            if kept is not None:  # the rows' line numbers go with them, for later errors
                if not screen:
                    _screen(reader, batch)
                batch = RawBatch(
                    [batch.keys[i] for i in kept],
                    batch.vectors[kept],
                    [batch.where[i] for i in kept],
                )
        yield batch


class EmbeddingStream:
    """Batches of an embeddings file, read lazily with bounded memory.

    Iterating yields ``(keys, vectors)`` pairs: ``keys`` is a list of str (``None`` for
    key-less formats) and ``vectors`` a float32 ``(batch, dim)`` array. Each iteration
    re-reads the file from the start. Duplicate keys are dropped (first kept) with a
    :class:`DuplicateKeyWarning`; :attr:`n_rows` counts the rows in the file, before that.

    Attributes
    ----------
    n_rows
        Rows in the file when cheaply known (header, metadata, array shape), else ``None``.
    dim
        The vector dimension.
    has_keys
        Whether batches carry keys.
    format
        The file's format, one of :data:`FORMATS`.
    source
        The path.

    Examples
    --------
    >>> import numpy as np
    >>> write_embeddings("v.csv", np.ones((5, 2)), ["a", "b", "c", "d", "e"])
    >>> stream = iter_embeddings("v.csv", batch_size=3)
    >>> stream.format, stream.has_keys, [keys for keys, _ in stream]
    ('csv', True, [['a', 'b', 'c'], ['d', 'e']])
    """

    def __init__(self, reader: BaseReader, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._reader = reader
        self.batch_size = batch_size
        self.n_rows = reader.n_rows
        self.dim = reader.dim
        self.has_keys = reader.has_keys
        self.format = reader.format
        self.source = reader.source

    def __iter__(self) -> Iterator[tuple[list[str] | None, FloatArray]]:
        for batch in self._batches(screen=True):
            yield batch.keys, batch.vectors

    def map_batches(
        self, fn: Callable[[FloatArray], _Result], *, fn_checks_finite: bool = False
    ) -> Iterator[tuple[list[str] | None, FloatArray, _Result]]:
        """``(keys, vectors, fn(vectors))`` per batch, ``fn`` possibly doing the NaN/Inf check.

        With ``fn_checks_finite`` the stream skips its own screen (a pass over every row);
        ``fn`` must then raise :class:`~vecae._checks.NonFiniteRowError` for a row holding
        NaN or Inf, with the row's index in the batch it was given. Either way that error is
        re-raised naming the row's line or row in the file, in the screen's words.
        (``vecae encode``: a folded encoder checks its first layer's output, at no cost.)
        """
        for batch in self._batches(screen=not fn_checks_finite):
            try:
                result = fn(batch.vectors)
            except NonFiniteRowError as exc:
                raise _non_finite_row(self._reader, batch, exc.row) from None
            yield batch.keys, batch.vectors, result

    def _batches(self, *, screen: bool) -> Iterator[RawBatch]:
        empty = True
        for batch in _clean(self._reader, self._reader.batches(self.batch_size), screen=screen):
            if len(batch.vectors):
                empty = False
                yield batch
        if empty:
            raise input_error(self.source, None, "file has no vectors")

    def __repr__(self) -> str:
        return (
            f"EmbeddingStream({self.source!r}, format={self.format!r}, n_rows={self.n_rows}, "
            f"dim={self.dim}, has_keys={self.has_keys})"
        )


def iter_embeddings(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    batch_size: int = 8192,
    key_column: str | None = None,
    vector_column: str | None = None,
    keys_file: str | os.PathLike[str] | None = None,
) -> EmbeddingStream:
    """Stream an embeddings file in batches without holding it in memory.

    ``.npy`` batches are slices of a read-only memmap; Parquet is read by record batches;
    text, CSV and word2vec binary by lines or records. Dense ``.npz`` and sparse ``.npz``
    are loaded whole (a zip member cannot be memory-mapped) and then sliced.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`FORMATS`; detected from the extension and header when omitted.
    batch_size
        Rows per batch.
    key_column, vector_column
        Parquet only: override the detected key and vector columns.
    keys_file
        A key-less ``.npy`` only: a UTF-8 text file with the key of each row, one per line
        (format ``"npy-keys"``).

    Returns
    -------
    EmbeddingStream
        Header-level problems raise here; row-level ones while iterating.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, or bad content (the message names the
        line or row).

    Examples
    --------
    >>> import numpy as np
    >>> write_embeddings("v.npy", np.arange(10, dtype=np.float32).reshape(5, 2))
    >>> stream = iter_embeddings("v.npy", batch_size=2)
    >>> stream.n_rows, stream.dim, [len(vectors) for _, vectors in stream]
    (5, 2, [2, 2, 1])
    """
    reader = _open_reader(path, format, key_column, vector_column, keys_file)
    return EmbeddingStream(reader, batch_size)


def read_embeddings(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    mmap: bool = True,
    key_column: str | None = None,
    vector_column: str | None = None,
    keys_file: str | os.PathLike[str] | None = None,
) -> Embeddings:
    """Read a whole embeddings file.

    The word2vec family is loaded by gensim (``KeyedVectors.load_word2vec_format``; the
    optional extra ``io``); when gensim rejects a file or its result fails our checks,
    the file is re-read by vecae's own parser, which names the bad line or row.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`FORMATS`; detected from the extension and header when omitted.
    mmap
        For a float32 C-order ``.npy``: return a read-only memmap instead of loading it.
    key_column, vector_column
        Parquet only: override the detected key and vector columns.
    keys_file
        A key-less ``.npy`` only: a UTF-8 text file with the key of each row, one per line
        (format ``"npy-keys"``).

    Returns
    -------
    Embeddings
        float32 vectors and keys in file order; a sparse ``.npz`` is densified (use
        :func:`read_sparse` to keep it sparse).

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, or bad content: empty file, ragged rows,
        non-numeric values, NaN/Inf, a header that disagrees with the data, truncation.
        The message names the file and the line or row.
    MissingDependencyError
        gensim (word2vec family) or pyarrow (Parquet) is not installed: extra ``io``.

    Warns
    -----
    DuplicateKeyWarning
        A key repeats; the first occurrence is kept.

    Examples
    --------
    >>> import pathlib
    >>> _ = pathlib.Path("words.txt").write_text("cat 0.5 1.0\\ndog 0.25 -1.5\\n")
    >>> emb = read_embeddings("words.txt")  # GloVe text: no header line
    >>> emb.keys, emb.vectors.tolist()
    (['cat', 'dog'], [[0.5, 1.0], [0.25, -1.5]])
    >>> read_embeddings("missing.npy")
    Traceback (most recent call last):
    ...
    vecae._exceptions.InputError: missing.npy: file not found
    """
    reader = _open_reader(path, format, key_column, vector_column, keys_file)
    whole = reader.read_all(mmap=mmap)
    if whole is not None:
        vectors, keys = whole
        bad = first_non_finite(vectors)
        if bad is not None:
            raise _non_finite_error(reader.source, f"{reader.unit} {bad + 1}")
        if keys is not None:
            keys, vectors = _unique(keys, vectors, reader.source, reader.unit)
        return Embeddings(vectors=vectors, keys=keys, source=reader.source)
    # One preallocated array filled batch by batch: the file is never held twice. (For the
    # word2vec family this is the fallback when gensim's result was not accepted.)
    out = np.empty((reader.max_rows(), reader.dim), dtype=np.float32)
    all_keys: list[str] | None = [] if reader.has_keys else None
    filled = 0
    for batch in _clean(reader, reader.batches(_WRITE_BATCH)):
        m = len(batch.vectors)
        out[filled : filled + m] = batch.vectors
        filled += m
        if all_keys is not None and batch.keys is not None:
            all_keys.extend(batch.keys)
    if filled == 0:
        raise input_error(reader.source, None, "file has no vectors")
    return Embeddings(vectors=out[:filled], keys=all_keys, source=reader.source)


def read_sparse(path: str | os.PathLike[str]) -> tuple[sp.csr_matrix, list[str] | None]:
    """Read a ``scipy.sparse.save_npz`` file as a float32 CSR matrix.

    Returns
    -------
    matrix, keys
        ``keys`` is ``None`` unless the file carries a ``keys`` array (as
        :func:`write_embeddings` writes); duplicate keys keep their first row.

    Raises
    ------
    InputError
        Missing or unreadable file, not a sparse save, no rows, or non-finite values.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> write_embeddings("bags.npz", sp.identity(3, format="csr"), ["a", "b", "c"])
    >>> matrix, keys = read_sparse("bags.npz")
    >>> matrix.nnz, keys
    (3, ['a', 'b', 'c'])
    """
    source = str(path)
    matrix, keys = load_sparse(check_input_path(path), source)
    if keys is not None:
        keys, matrix = _unique(keys, matrix, source, "row")
    return matrix, keys


class EmbeddingWriter:
    """Write embeddings batch by batch; the output appears only when everything succeeded.

    Rows go to a temporary file beside ``path``. A clean exit from the ``with`` block
    renames it into place (``os.replace``); an exception deletes it, so no partial output
    ever exists at ``path``.

    Parameters
    ----------
    path
        The output file.
    format
        One of :data:`FORMATS` except ``"sparse-npz"``; from the extension when ``None``
        (``.txt`` is written as word2vec text).
    dim
        The vector dimension.
    has_keys
        Whether every :meth:`write` passes keys. Word formats require keys.
    n_rows_hint
        The number of rows that will be written, if known. word2vec/fastText text and
        binary then write their header at once and ``.npy`` fills a memmap; without it they
        spill to a scratch file and copy at the end. A wrong hint is an error at close.
    overwrite
        Replace an existing file; otherwise :class:`OutputExistsError`.
    unique_keys
        The caller guarantees that no key repeats (the keys of an :class:`EmbeddingStream`,
        which drops duplicates while reading): the writer then keeps no set of the keys seen,
        so duplicates are checked once per pipeline, not twice.

    Examples
    --------
    >>> import numpy as np
    >>> with EmbeddingWriter("out.npy", None, dim=3, has_keys=False) as w:
    ...     w.write(None, np.ones((2, 3)))
    >>> np.load("out.npy").shape
    (2, 3)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str | None,
        dim: int,
        has_keys: bool,
        n_rows_hint: int | None = None,
        overwrite: bool = False,
        *,
        unique_keys: bool = False,
    ) -> None:
        self.source = str(path)
        self.format = format_for_writing(path, format)
        self._spec = FORMAT_REGISTRY[self.format]
        if self._spec.writer is None:
            raise input_error(
                self.source, None, f"{self.format} cannot be streamed; use write_embeddings()"
            )
        if dim < 1:
            raise input_error(self.source, None, f"dim must be positive, got {dim}")
        if self._spec.word_keys and not has_keys:
            raise input_error(self.source, None, f"{self.format} files need keys (has_keys=True)")
        self.path = Path(path)
        self.dim = dim
        self.has_keys = has_keys
        self.n_rows_hint = n_rows_hint
        self.overwrite = overwrite
        self._output: FileOutput | None = None
        self._backend: BaseWriter | None = None
        self._dedup = _Dedup(self.source, "row") if has_keys and not unique_keys else None
        self._offered = 0  # rows passed to write(), before dropping duplicates
        # Fail early (before any work) if the output cannot be written.
        check_destination(self.path.absolute(), kind=None, overwrite=overwrite, source=self.source)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        format: str | None,
        dim: int,
        has_keys: bool,
        n_rows_hint: int | None = None,
        overwrite: bool = False,
    ) -> EmbeddingWriter:
        """Same as the constructor; reads well as ``with EmbeddingWriter.open(...) as w``."""
        return cls(path, format, dim, has_keys, n_rows_hint, overwrite)

    def __enter__(self) -> EmbeddingWriter:
        output = FileOutput(self.path, overwrite=self.overwrite)
        self._output = output
        try:
            self._backend = self._make_backend(output)
        except BaseException:
            output.abort()
            self._output = None
            raise
        return self

    def _make_backend(self, output: FileOutput) -> BaseWriter:
        assert self._spec.writer is not None
        target = WriteTarget(
            temp=output.temp,
            source=self.source,
            dim=self.dim,
            has_keys=self.has_keys,
            n_rows=self.n_rows_hint,
            scratch=output.scratch,
        )
        return self._spec.writer(target)

    def write(self, keys: Sequence[str] | None, vectors: Any) -> None:
        """Append a batch of rows.

        Parameters
        ----------
        keys
            One str per row, or ``None`` when ``has_keys`` is False.
        vectors
            ``(rows, dim)`` array-like, converted to float32.

        Raises
        ------
        InputError
            Wrong keys, non-finite values (naming the row, 1-based over the whole output).
        DimensionMismatchError
            The width differs from ``dim``.
        """
        if self._backend is None:
            raise RuntimeError("EmbeddingWriter.write() outside its 'with' block")
        with np.errstate(over="ignore", invalid="ignore"):
            array = np.asarray(vectors, dtype=np.float32)
        first = self._offered + 1
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise DimensionMismatchError(
                f"{self.source}: row {first}: expected vectors of shape (rows, {self.dim}), "
                f"got {array.shape}"
            )
        m = array.shape[0]
        where = range(first, first + m)
        bad = first_non_finite(array)
        if bad is not None:
            raise _non_finite_error(self.source, f"row {where[bad]}")
        key_list: list[str] | None = None
        if self.has_keys:
            if keys is None or len(keys) != m:
                got = "no keys" if keys is None else f"{len(keys)} keys"
                raise input_error(self.source, f"row {first}", f"{got} for {m} vectors")
            key_list = list(keys)
            for i, key in enumerate(key_list):
                if not isinstance(key, str):
                    raise input_error(
                        self.source, f"row {where[i]}", f"key {short(key)} is not a str"
                    )
                if self._spec.word_keys:
                    check_word_key(key, self.source, where[i])
            if self._dedup is not None:
                key_list, array = self._dedup.apply(key_list, array, where)
        elif keys is not None:
            raise input_error(self.source, f"row {first}", "keys given but has_keys=False")
        self._offered += m
        if len(array):
            self._backend.write(key_list, array)

    def close(self) -> None:
        """Finish the file and move it into place (what a clean ``with`` exit does)."""
        backend, output = self._backend, self._output
        if backend is None or output is None:
            return
        try:
            if backend.rows == 0:
                raise input_error(self.source, None, "no vectors were written")
            if self.n_rows_hint is not None and backend.rows != self.n_rows_hint:
                raise input_error(
                    self.source,
                    f"row {backend.rows}",
                    f"n_rows_hint={self.n_rows_hint} but {backend.rows} rows were written",
                )
            backend.finish()
            backend.close()
            output.commit()
        except BaseException:
            self.abort()
            raise
        finally:
            self._backend = self._output = None

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was."""
        backend, output = self._backend, self._output
        self._backend = self._output = None
        try:
            if backend is not None:
                backend.close()
        finally:
            if output is not None:
                output.abort()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_embeddings(
    path: str | os.PathLike[str],
    vectors: Any,
    keys: Sequence[str] | None = None,
    format: str | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Write embeddings atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    path
        The output file.
    vectors
        ``(n, d)`` array-like (converted to float32 in batches), or a scipy sparse matrix for
        ``"sparse-npz"``.
    keys
        ``n`` strings, or ``None``. Required by the word formats.
    format
        One of :data:`FORMATS`; from the extension when ``None`` (``.txt`` -> word2vec,
        ``.npz`` -> npz, or sparse-npz for sparse input).
    overwrite
        Replace an existing file; otherwise :class:`OutputExistsError`.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    InputError
        Bad keys or values (naming the row), or sparse input for a dense format.
    MissingDependencyError
        gensim (word2vec family) or pyarrow (Parquet) is not installed: extra ``io``.

    Warns
    -----
    DuplicateKeyWarning
        A key repeats; only its first row is written.

    Examples
    --------
    >>> import numpy as np
    >>> write_embeddings("v.parquet", np.ones((2, 4)), ["a", "b"])
    >>> read_embeddings("v.parquet").keys
    ['a', 'b']
    >>> write_embeddings("v.parquet", np.ones((2, 4)), ["a", "b"])
    Traceback (most recent call last):
    ...
    vecae._exceptions.OutputExistsError: v.parquet: output already exists; ...
    """
    source = str(path)
    is_sparse = sp.issparse(vectors)
    fmt = format_for_writing(path, format, sparse=is_sparse)
    n = int(vectors.shape[0]) if hasattr(vectors, "shape") else len(vectors)
    if keys is not None and len(keys) != n:
        raise input_error(source, None, f"{len(keys)} keys for {n} vectors")
    if fmt == "sparse-npz":
        _write_sparse(path, vectors, keys, overwrite=overwrite)
        return
    if is_sparse:
        raise input_error(
            source, None, f"sparse input cannot be written as {fmt}; densify it or use sparse-npz"
        )
    if not hasattr(vectors, "shape"):
        vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise input_error(source, None, f"vectors must be 2-D (rows x dim), got {vectors.shape}")
    # The header/memmap size is the number of distinct keys (duplicates are dropped).
    n_out = len(set(keys)) if keys is not None else n
    with EmbeddingWriter(
        path, fmt, int(vectors.shape[1]), keys is not None, n_rows_hint=n_out, overwrite=overwrite
    ) as writer:
        for start in range(0, n, _WRITE_BATCH):
            batch_keys = None if keys is None else keys[start : start + _WRITE_BATCH]
            writer.write(batch_keys, vectors[start : start + _WRITE_BATCH])


def _write_sparse(
    path: str | os.PathLike[str], vectors: Any, keys: Sequence[str] | None, *, overwrite: bool
) -> None:
    source = str(path)
    with np.errstate(over="ignore", invalid="ignore"):
        matrix = sp.csr_matrix(vectors, dtype=np.float32)
    if matrix.shape[0] == 0:
        raise input_error(source, None, "no vectors to write")
    bad = np.flatnonzero(~np.isfinite(matrix.data))
    if bad.size:
        row = int(np.searchsorted(matrix.indptr, bad[0], side="right"))
        raise _non_finite_error(source, f"row {row}")
    key_list = None if keys is None else list(keys)
    if key_list is not None:
        key_list, matrix = _unique(key_list, matrix, source, "row")
    output = FileOutput(Path(path), overwrite=overwrite)
    try:
        save_sparse(output.temp, matrix, key_list)
        output.commit()
    except BaseException:
        output.abort()
        raise
