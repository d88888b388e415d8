"""word2vec text and binary, GloVe and fastText ``.vec``: keyed-by-word formats.

Whole-file reads and all writes go through gensim's ``KeyedVectors`` (see
:mod:`vecae.io._gensim`): ``read_embeddings`` calls ``load_word2vec_format`` (via
:meth:`TextReader.read_all` / :meth:`BinaryReader.read_all`) and the writers call
``save_word2vec_format`` batch by batch.

The readers here remain, for two jobs gensim cannot do:

* streaming (``iter_embeddings``): gensim has no batch or iterator API, it only loads a
  whole file into one array, and encoding a large file must run in constant memory;
* errors: gensim's messages do not name the line or row (an ``EOFError`` or a NumPy
  broadcast error), and it accepts some bad files silently (rows beyond the header count,
  one-value lines broadcast across a row). When gensim fails or its result does not pass
  our checks, ``read_embeddings`` re-reads the file with these readers, which raise the
  one-line ``InputError`` naming the file, the line or row and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from vecae.io import _gensim
from vecae.io._base import BaseReader, FloatArray, RawBatch, count_lines, parse_rows
from vecae.io._errors import input_error, short

__all__ = ["BinaryReader", "TextReader", "check_word_key"]

_HEADER = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, as some Windows editors write
# Longest line read before its width is known (a GloVe file's first line); once the width is
# known the bound is tighter (see line_limit). A 100 MB line is refused after reading 16 MiB,
# instead of being split into millions of strings just to report a width mismatch.
MAX_FIRST_LINE = 16 << 20


def line_limit(dim: int) -> int:
    """Longest plausible text line for ``dim`` values: a 64 KiB key and 64 bytes a value."""
    return (1 << 16) + 64 * dim


def skip_bom(f: IO[bytes]) -> int:
    """Skip a UTF-8 byte-order mark at the start of ``f``; return the bytes skipped."""
    if f.read(len(BOM)) == BOM:
        return len(BOM)
    f.seek(0)
    return 0


def bounded_lines(f: IO[bytes], limit: int, source: str, first_line: int) -> Iterator[bytes]:
    """The lines of ``f``, each read with at most ``limit`` bytes in memory."""
    line_no = first_line
    while raw := f.readline(limit + 1):
        if len(raw) > limit:
            raise input_error(
                source, f"line {line_no}", f"longer than {limit:,} bytes; not an embedding line"
            )
        yield raw
        line_no += 1


def _decode(raw: bytes, source: str, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise input_error(source, where, f"not valid UTF-8 ({exc.reason})") from None


def _read_header(f: IO[bytes], source: str, fmt: str) -> tuple[int, int, int]:
    """Parse ``"<count> <dim>"``; return (count, dim, header length in bytes)."""
    first = f.readline(4096)
    match = _HEADER.match(first)
    if match is None:
        hint = (
            " (fastText .bin models are not supported; use the .vec file)"
            if (fmt == "word2vec-binary")
            else ""
        )
        raise input_error(
            source,
            "line 1",
            f"expected a {fmt} header '<count> <dim>', found {short(first[:40])}{hint}",
        )
    count, dim = int(match.group(1)), int(match.group(2))
    if dim == 0:
        raise input_error(source, "line 1", "header declares dimension 0")
    return count, dim, len(first)


class TextReader(BaseReader):
    """word2vec/fastText text (with a ``"<count> <dim>"`` header) and GloVe (without)."""

    unit = "line"

    def __init__(self, path: Path, source: str, fmt: str) -> None:
        super().__init__(path, source)
        self.format = fmt
        self.has_keys = True
        self.header = fmt != "glove"
        size = path.stat().st_size
        if size == 0:
            raise input_error(source, None, "file is empty")
        with path.open("rb") as f:
            self._bom = skip_bom(f)
            if self.header:
                self.n_rows, self.dim, used = _read_header(f, source, fmt)
                self._header_bytes = used
                # Bound the preallocation by what the file can hold, so a header that lies
                # about the count cannot make us allocate an absurd array; the exact
                # mismatch is reported with its line while reading.
                self._bound = min(self.n_rows, (size - used) // (self.dim * 2) + 1)
                self._dim_origin = "the header (line 1)"
            else:
                self.dim, line_no = self._glove_dim(f)
                self._dim_origin = f"line {line_no}"
                self._header_bytes = 0

    def read_all(self, *, mmap: bool) -> tuple[FloatArray, list[str] | None] | None:
        """The whole file through gensim; ``None`` sends the caller to :meth:`batches`."""
        if self.header and self.n_rows is not None and self._bound < self.n_rows:
            return None  # the file cannot hold the declared rows: let batches() say where
        if self._bom or _longest_line(self.path) > line_limit(self.dim):
            return None  # gensim reads neither: batches() skips the mark, or names the line
        return _gensim.load(
            self.path,
            self.format,
            n_rows=self.n_rows,
            dim=self.dim,
            header_bytes=self._header_bytes,
        )

    def _glove_dim(self, f: IO[bytes]) -> tuple[int, int]:
        for line_no, raw in enumerate(bounded_lines(f, MAX_FIRST_LINE, self.source, 1), 1):
            text = _decode(raw, self.source, f"line {line_no}").rstrip()
            if text:
                parts = text.split(" ")
                if len(parts) < 2:
                    raise input_error(
                        self.source, f"line {line_no}", "expected a key followed by numbers"
                    )
                return len(parts) - 1, line_no
        raise input_error(self.source, None, "file has no vectors (only blank lines)")

    def max_rows(self) -> int:
        return self._bound if self.header else count_lines(self.path)

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        dim, source = self.dim, self.source
        keys: list[str] = []
        rows: list[list[str]] = []
        where: list[int] = []
        seen = 0
        line_no = 0
        with self.path.open("rb") as f:
            skip_bom(f)
            if self.header:
                f.readline(4096)
                line_no = 1
            for raw in bounded_lines(f, line_limit(dim), source, line_no + 1):
                line_no += 1
                text = _decode(raw, source, f"line {line_no}").rstrip()
                if not text:
                    continue
                parts = text.split(" ")
                if len(parts) != dim + 1:
                    raise input_error(
                        source,
                        f"line {line_no}",
                        f"expected {dim} values after the key (as on {self._dim_origin}), "
                        f"found {len(parts) - 1}",
                    )
                seen += 1
                if self.n_rows is not None and seen > self.n_rows:
                    raise input_error(
                        source,
                        f"line {line_no}",
                        f"more rows than the {self.n_rows} the header (line 1) declares",
                    )
                keys.append(parts[0])
                rows.append(parts[1:])
                where.append(line_no)
                if len(rows) == batch_size:
                    yield RawBatch(keys, parse_rows(rows, where, source, "line"), where)
                    keys, rows, where = [], [], []
        if rows:
            yield RawBatch(keys, parse_rows(rows, where, source, "line"), where)
        if self.n_rows is not None and seen != self.n_rows:
            raise input_error(
                source,
                f"line {line_no}",
                f"file ends after {seen} rows but the header (line 1) declares {self.n_rows}",
            )


class BinaryReader(BaseReader):
    """The original C word2vec binary format: header line, then ``key<space><dim float32>``.

    Records may or may not be followed by a newline (the C tool writes one, gensim does not).
    """

    format = "word2vec-binary"
    _CHUNK = 1 << 20
    _MAX_KEY_BYTES = 1 << 16

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        self.has_keys = True
        size = path.stat().st_size
        if size == 0:
            raise input_error(source, None, "file is empty")
        with path.open("rb") as f:
            self.n_rows, self.dim, self._offset = _read_header(f, source, self.format)
        # Each record needs at least a one-byte key, a space and the float32 values; the
        # bound protects the preallocation from a lying header (reported while reading).
        self._bound = min(self.n_rows, (size - self._offset) // (self.dim * 4 + 2))

    def max_rows(self) -> int:
        return self._bound

    def read_all(self, *, mmap: bool) -> tuple[FloatArray, list[str] | None] | None:
        """The whole file through gensim; ``None`` sends the caller to :meth:`batches`."""
        assert self.n_rows is not None
        if self._bound < self.n_rows:
            return None  # the file cannot hold the declared rows: let batches() say where
        return _gensim.load(
            self.path, self.format, n_rows=self.n_rows, dim=self.dim, header_bytes=self._offset
        )

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        assert self.n_rows is not None
        n, dim, source = self.n_rows, self.dim, self.source
        width = dim * 4
        buf = b""
        pos = 0
        with self.path.open("rb") as f:
            f.seek(self._offset)

            def need(count: int) -> bool:
                # Make sure buf[pos:pos+count] is available; False at end of file.
                nonlocal buf, pos
                while len(buf) - pos < count:
                    chunk = f.read(max(self._CHUNK, count))
                    if not chunk:
                        return False
                    buf = buf[pos:] + chunk
                    pos = 0
                return True

            row = 0
            while row < n:
                m = min(batch_size, n - row)
                keys: list[str] = []
                vectors = np.empty((m, dim), dtype=np.float32)
                for j in range(m):
                    row += 1
                    where = f"row {row}"
                    # Skip the newline that may end the previous record.
                    while need(1) and buf[pos : pos + 1] in (b"\n", b"\r"):
                        pos += 1
                    space = buf.find(b" ", pos)
                    while space < 0:
                        if len(buf) - pos > self._MAX_KEY_BYTES:
                            raise input_error(source, where, "no space after the key")
                        if not need(len(buf) - pos + 1):
                            raise input_error(
                                source,
                                where,
                                f"truncated file: ends inside row {row} of the {n} declared "
                                "in the header",
                            )
                        space = buf.find(b" ", pos)
                    keys.append(_decode(buf[pos:space], source, where))
                    pos = space + 1
                    if not need(width):
                        raise input_error(
                            source,
                            where,
                            f"truncated file: row {row} has {len(buf) - pos} of its {width} "
                            f"vector bytes ({n} rows declared in the header)",
                        )
                    vectors[j] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
                    pos += width
                yield RawBatch(keys, vectors, range(row - m + 1, row + 1))
            while need(1):
                if buf[pos:].strip():
                    raise input_error(
                        source,
                        f"row {n + 1}",
                        f"data after the {n} rows the header declares (header count too small)",
                    )
                pos = len(buf)


def check_word_key(key: str, source: str, row: int) -> None:
    """Keys of word formats cannot be empty or contain spaces or line breaks."""
    if not key or any(c in key for c in " \n\r"):
        raise input_error(
            source,
            f"row {row}",
            f"key {short(key)} cannot be written to a word2vec/GloVe file "
            "(empty, or contains a space or line break)",
        )


def _longest_line(path: Path) -> int:
    """Length of the longest line, scanned in 1 MiB blocks (bounded memory)."""
    longest, start, offset = 0, 0, 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + offset
            if ends.size:
                longest = max(longest, int(ends[0]) - start + 1, int(np.diff(ends).max(initial=0)))
                start = int(ends[-1]) + 1
            offset += len(block)
    return max(longest, offset - start)
