"""The format registry: every file format vecae reads or writes, defined once.

Each :class:`Format` names its extensions, how to recognise it when an extension is shared
(``.txt``, ``.npz``, ``.npy``), how to open a reader and how to make a writer. Detection
(:func:`vecae.io.detect_format`), the readers and writers behind :mod:`vecae.io`, the
categorical and interaction tables, and the command line's lists of extensions all read this
table.

Adding a format is a module with a reader (and optionally a writer) and one
:class:`Format` line in :data:`FORMAT_REGISTRY`. The ``.npy`` + keys-file layout
(``vecae.io._npy_keys``) was added that way.

Examples
--------
>>> FORMAT_REGISTRY["parquet"].extensions
('.parquet', '.pq')
>>> [f.name for f in formats_for(".txt")]
['word2vec', 'glove']
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vecae.io._base import BaseReader, BaseWriter, check_input_path
from vecae.io._errors import input_error
from vecae.io._gensim import GensimWriter
from vecae.io._npy_keys import NpyKeysReader
from vecae.io._numpy import NpyReader, NpyWriter, NpzReader, NpzWriter, SparseReader
from vecae.io._parquet import ParquetReader, ParquetWriter
from vecae.io._tabular import CsvReader, CsvWriter
from vecae.io._text import BinaryReader, TextReader

__all__ = [
    "FORMAT_REGISTRY",
    "Format",
    "ReadOptions",
    "WriteTarget",
    "formats_for",
    "table_format",
    "table_suffixes",
    "writable_suffixes",
]


@dataclass(frozen=True)
class ReadOptions:
    """Reader options that only some formats accept (each reader checks its own)."""

    key_column: str | None = None
    vector_column: str | None = None
    keys_file: Path | None = None


@dataclass(frozen=True)
class WriteTarget:
    """What a writer factory gets: the temporary file and the shape of what is coming."""

    temp: Path
    source: str
    dim: int
    has_keys: bool
    n_rows: int | None
    scratch: Callable[[str], Path]
    """``scratch(suffix)``: a scratch file beside the output, removed with it."""


Sniff = Callable[[Path, ReadOptions], bool]


@dataclass(frozen=True)
class Format:
    """One file format.

    Attributes
    ----------
    name : str
        What ``format=`` and ``--input-format`` / ``--format`` accept.
    extensions : tuple of str
        Lower-case suffixes. When several formats share one, those with a ``sniff`` are
        asked first (in registry order) and the first without one is the fallback; for
        writing, the first writable format listing the suffix is the default.
    reader : callable
        ``reader(path, source, options)`` -> an opened :class:`BaseReader`.
    writer : callable or None
        ``writer(target)`` -> a :class:`BaseWriter`; ``None`` for read-only layouts.
    sniff : callable or None
        ``sniff(path, options)``: whether an existing file with a shared extension is this
        format.
    word_keys : bool
        Keys are words: required when writing, and free of whitespace.
    table : bool
        Also a table of named columns (categorical features, interactions).
    sparse : bool
        A sparse-matrix format: read with :func:`~vecae.io.read_sparse` and written whole by
        :func:`~vecae.io.write_embeddings` (never streamed).
    stream_as : str or None
        For a format without a streaming writer: the format that a stream of its rows is
        written as (``vecae encode`` keeps the input's format when it can).
    """

    name: str
    extensions: tuple[str, ...]
    reader: Callable[[Path, str, ReadOptions], BaseReader]
    writer: Callable[[WriteTarget], BaseWriter] | None = None
    sniff: Sniff | None = None
    word_keys: bool = False
    table: bool = False
    sparse: bool = False
    stream_as: str | None = None

    @property
    def writable(self) -> bool:
        """Whether :func:`~vecae.io.write_embeddings` can write it."""
        return self.writer is not None or self.sparse


_WORD2VEC_HEADER = re.compile(rb"^\s*\d+\s+\d+\s*$")
# The arrays scipy.sparse.save_npz writes for a CSR matrix.
_SPARSE_MEMBERS = frozenset({"indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"})


def _has_word2vec_header(path: Path, options: ReadOptions) -> bool:
    with check_input_path(path).open("rb") as f:
        first = f.readline(4096).removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not data
        return _WORD2VEC_HEADER.match(first) is not None


def _is_sparse_save(path: Path, options: ReadOptions) -> bool:
    check_input_path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise input_error(str(path), None, f"not a valid .npz (zip) file: {exc}") from exc
    return names >= _SPARSE_MEMBERS


def _word_writer(fmt: str) -> Callable[[WriteTarget], BaseWriter]:
    def make(t: WriteTarget) -> BaseWriter:
        # A header needs the row count first: without it the body goes to a scratch file.
        scratch = t.scratch(".body") if fmt != "glove" and t.n_rows is None else None
        return GensimWriter(
            t.temp, t.source, t.dim, t.has_keys, fmt=fmt, n_rows=t.n_rows, scratch=scratch
        )

    return make


def _word_reader(fmt: str) -> Callable[[Path, str, ReadOptions], BaseReader]:
    if fmt == "word2vec-binary":
        return lambda p, s, o: BinaryReader(p, s)
    return lambda p, s, o: TextReader(p, s, fmt)


def _word_format(name: str, extensions: tuple[str, ...], sniff: Sniff | None = None) -> Format:
    return Format(
        name, extensions, _word_reader(name), _word_writer(name), sniff=sniff, word_keys=True
    )


def _csv_format(name: str, extensions: tuple[str, ...]) -> Format:
    return Format(
        name,
        extensions,
        lambda p, s, o: CsvReader(p, s, name),
        lambda t: CsvWriter(t.temp, t.source, t.dim, t.has_keys, name),
        table=True,
    )


# Registry order is the order of ``vecae.io.FORMATS`` and of detection among shared suffixes.
FORMAT_REGISTRY: dict[str, Format] = {
    f.name: f
    for f in (
        _word_format("word2vec", (".txt",), sniff=_has_word2vec_header),
        _word_format("word2vec-binary", (".bin",)),
        _word_format("glove", (".txt",)),
        _word_format("fasttext", (".vec",)),
        Format(
            "npy",
            (".npy",),
            lambda p, s, o: NpyReader(p, s),
            lambda t: NpyWriter(
                t.temp,
                t.source,
                t.dim,
                t.has_keys,
                n_rows=t.n_rows,
                scratch=t.scratch(".body") if t.n_rows is None else None,
            ),
        ),
        Format(
            "npz",
            (".npz",),
            lambda p, s, o: NpzReader(p, s),
            lambda t: NpzWriter(t.temp, t.source, t.dim, t.has_keys, scratch=t.scratch(".body")),
        ),
        Format(
            "parquet",
            (".parquet", ".pq"),
            lambda p, s, o: ParquetReader(
                p, s, key_column=o.key_column, vector_column=o.vector_column
            ),
            lambda t: ParquetWriter(t.temp, t.source, t.dim, t.has_keys),
            table=True,
        ),
        _csv_format("csv", (".csv",)),
        _csv_format("tsv", (".tsv", ".tab")),
        Format(
            "sparse-npz",
            (".npz",),
            lambda p, s, o: SparseReader(p, s),
            sniff=_is_sparse_save,
            sparse=True,
            stream_as="npz",
        ),
        # A key-less .npy whose keys are in a text file, one per line (read only).
        Format(
            "npy-keys",
            (".npy",),
            lambda p, s, o: NpyKeysReader(p, s, o.keys_file),
            sniff=lambda p, o: o.keys_file is not None,
            stream_as="npy",
        ),
    )
}


def formats_for(suffix: str) -> list[Format]:
    """The formats that claim ``suffix`` (lower-case, with its dot), in registry order."""
    return [f for f in FORMAT_REGISTRY.values() if suffix in f.extensions]


def writable_suffixes() -> frozenset[str]:
    """Every suffix some writable format claims (what an output file may end with)."""
    return frozenset(s for f in FORMAT_REGISTRY.values() if f.writable for s in f.extensions)


def table_suffixes() -> tuple[str, ...]:
    """The suffixes of tables of named columns, in registry order."""
    return tuple(s for f in FORMAT_REGISTRY.values() if f.table for s in f.extensions)


def table_format(path: Path, source: str) -> Format:
    """The table format of ``path`` by its suffix; InputError for anything else."""
    suffix = path.suffix.lower()
    for f in formats_for(suffix):
        if f.table:
            return f
    listed = ", ".join(table_suffixes())
    raise input_error(source, None, f"expected a table ({listed}), got {suffix or 'none'!r}")
