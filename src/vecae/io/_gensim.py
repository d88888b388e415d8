"""Whole-file reads and batch writes of the word2vec family through gensim's ``KeyedVectors``.

Reading calls ``KeyedVectors.load_word2vec_format`` and then checks what gensim does not:
NaN/Inf, rows beyond the header count, duplicate keys, one-value rows that NumPy broadcast
across a whole vector. Whenever gensim fails or a check is not passed, :func:`load` returns
``None`` and the caller reads the file with the streaming parser in :mod:`vecae.io._text`,
which either raises our one-line error naming the line or row, or (for files gensim is
stricter about, such as blank lines) returns the rows. gensim's own messages, log records
and warnings never reach the user.

Memory: gensim does not hold the file twice. ``_load_word2vec_format`` (gensim 4.x,
``models/keyedvectors.py``) preallocates ``zeros((count, dim))`` once and fills it line by
line (``fin.readline()``) or from 100 KiB chunks (binary); for GloVe (``no_header=True``)
it first counts the lines in a separate streaming pass. The array it returns is handed to
the caller without a copy. The one exception is a file with duplicate keys, which we read
with the streaming parser instead. The header count is checked against what the file size
can hold *before* gensim preallocates, so a lying header cannot allocate an absurd array.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vecae._exceptions import require
from vecae.io._base import BaseWriter, FloatArray, count_lines

__all__ = ["GensimWriter", "load", "quiet"]

# gensim and smart_open log while loading and saving (the duplicate-word and "attribute
# count not present" warnings, lifecycle events, opened files); records from their loggers
# are dropped during our calls. A logger's filters apply only to records logged on that
# logger itself, so every logger of the two packages gets the filter.
_QUIET_PACKAGES = ("gensim", "smart_open")
_CHECK_ROWS = 65536


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep gensim's log records, Python warnings and NumPy floating-point warnings from the user.

    The warning filters are process-wide while the block runs (as with any use of
    :func:`warnings.catch_warnings`).
    """
    drop = _DropAll()
    names = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".", 1)[0] in _QUIET_PACKAGES
    ]
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


def keyed_vectors() -> Any:
    """gensim's ``KeyedVectors`` class (gensim is part of the optional extra ``io``)."""
    gensim: Any = require("gensim", "io")
    return gensim.models.KeyedVectors


def _compressed(path: Path) -> bool:
    # gensim opens paths with smart_open, which decompresses by extension. The streaming
    # parser does not, so such files are left to it to keep both paths consistent.
    smart_open: Any = require("smart_open", "io")
    extensions: list[str] = smart_open.compression.get_supported_extensions()
    return path.suffix.lower() in extensions


def _suspect_rows(vectors: FloatArray, *, text: bool) -> bool:
    """Whether some row holds NaN/Inf or (text only) has all its values equal.

    gensim assigns each parsed line into its preallocated row, so a text line with a single
    value is broadcast across the row instead of refused: such a row looks constant.
    Temporaries are per row (max and min), never the size of a chunk of the matrix.
    """
    for start in range(0, vectors.shape[0], _CHECK_ROWS):
        chunk = vectors[start : start + _CHECK_ROWS]
        high, low = chunk.max(axis=1), chunk.min(axis=1)  # NaN propagates through both
        if not (np.isfinite(high).all() and np.isfinite(low).all()):
            return True
        if text and vectors.shape[1] > 1 and bool((high == low).any()):
            return True
    return False


def load(
    path: Path,
    fmt: str,
    *,
    n_rows: int | None,
    dim: int,
    header_bytes: int,
) -> tuple[FloatArray, list[str]] | None:
    """Read a whole word2vec/GloVe/fastText file with gensim.

    Parameters
    ----------
    path
        The file; its header (if any) has already been parsed and bounded by the caller.
    fmt
        ``"word2vec"``, ``"word2vec-binary"``, ``"glove"`` or ``"fasttext"``.
    n_rows, dim, header_bytes
        What the header declares (``n_rows`` is ``None`` for GloVe, where ``dim`` comes from
        the first line) and the header's length in bytes.

    Returns
    -------
    (vectors, keys) or None
        ``None`` when the streaming parser has to decide: gensim failed, or the result
        does not pass the checks gensim does not make.
    """
    KeyedVectors = keyed_vectors()
    if _compressed(path):
        return None
    binary = fmt == "word2vec-binary"
    # gensim's GloVe path (no_header=True) re-opens the file and never closes it. The
    # handle is freed (by reference counting) when gensim's frame goes, on return or when
    # the except clause below ends, both inside quiet(), where its ResourceWarning is
    # ignored. (A gc.collect() here would cost ~0.2 s per read in a process with torch.)
    with quiet():
        try:
            kv = KeyedVectors.load_word2vec_format(
                str(path), binary=binary, no_header=fmt == "glove"
            )
        except Exception:  # gensim's errors are replaced by the streaming parser's
            kv = None
    if kv is None:
        return None
    vectors: FloatArray = kv.vectors
    keys: list[str] = kv.index_to_key
    n = vectors.shape[0]
    # Duplicate keys: gensim keeps the first occurrence (and logs), but leaves the slots
    # it preallocated for the dropped ones as zero rows keyed None. The streaming parser
    # then drops them with a DuplicateKeyWarning naming the line.
    if kv.next_index != n or vectors.ndim != 2 or vectors.shape[1] != dim or n == 0:
        return None
    if n_rows is not None and n != n_rows:
        return None
    if vectors.dtype != np.float32 or _suspect_rows(vectors, text=not binary):
        return None
    if binary:
        if not _binary_consumed_exactly(path, keys, n, dim, header_bytes):
            return None
    # gensim reads exactly the declared number of lines and ignores anything after.
    elif n_rows is not None and count_lines(path) > n_rows + 1:
        return None
    return vectors, keys


def _binary_consumed_exactly(
    path: Path, keys: list[str], n: int, dim: int, header_bytes: int
) -> bool:
    """Whether the records gensim read account for the whole file.

    gensim ignores bytes after the declared count, and strips newlines before a key
    (which the C tool writes after every record). Accepted layouts: no separators
    (gensim's own) or one newline after every record (the C tool's).
    """
    joined = "".join(keys)
    if "\n" in joined or "\r" in joined:
        return False  # CRLF or odd separators: let the streaming parser decide
    key_bytes = len(joined.encode("utf-8"))
    size = path.stat().st_size
    left = size - header_bytes - key_bytes - n * (1 + 4 * dim)
    if left == 0:
        return True
    if left != n:
        return False
    with path.open("rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


class GensimWriter(BaseWriter):
    """word2vec text/binary, fastText and GloVe through ``KeyedVectors.save_word2vec_format``.

    Each batch becomes a small ``KeyedVectors`` appended to the file (``append=True``), so
    memory stays bounded by the batch whatever the file size. With a header and no known
    row count the body goes to a scratch file, and the header is written before it at the
    end. Rows arrive already validated and de-duplicated.
    """

    def __init__(
        self,
        temp: Path,
        source: str,
        dim: int,
        has_keys: bool,
        *,
        fmt: str,
        n_rows: int | None,
        scratch: Path | None,
    ) -> None:
        super().__init__(temp, source, dim, has_keys)
        self._kv_class = keyed_vectors()
        self.binary = fmt == "word2vec-binary"
        self.header = fmt != "glove"
        self.n_rows = n_rows
        self._scratch = scratch
        if self.header and n_rows is None:
            assert scratch is not None
            self._target = scratch
        else:
            self._target = temp
        self._header_pending = self.header and n_rows is not None

    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        assert keys is not None
        kv = self._kv_class(self.dim, dtype=np.float32)
        kv.add_vectors(keys, np.asarray(vectors, dtype=np.float32))
        with quiet():
            kv.save_word2vec_format(
                str(self._target),
                binary=self.binary,
                write_header=self._header_pending,
                total_vec=self.n_rows,
                append=True,
            )
        self._header_pending = False
        self.rows += len(keys)

    def finish(self) -> None:
        if self._target is not self.temp:
            assert self._scratch is not None
            with self.temp.open("wb") as out:
                out.write(f"{self.rows} {self.dim}\n".encode())
                with self._scratch.open("rb") as body:
                    while chunk := body.read(1 << 20):
                        out.write(chunk)
