"""Format names, and detection from extension and content (all read from the registry)."""

from __future__ import annotations

import os
from pathlib import Path

from vecae.io._base import check_input_path
from vecae.io._errors import input_error
from vecae.io._registry import FORMAT_REGISTRY, ReadOptions, formats_for

__all__ = ["FORMATS", "READ_FORMATS", "check_input_path", "detect_format", "format_for_writing"]

FORMATS: tuple[str, ...] = tuple(n for n, f in FORMAT_REGISTRY.items() if f.writable)
"""The formats vecae reads and writes (``sparse-npz`` is written whole, never streamed)."""

READ_FORMATS: tuple[str, ...] = tuple(FORMAT_REGISTRY)
"""Every format vecae reads: :data:`FORMATS` plus read-only layouts such as ``npy-keys``."""


def _check_name(format: str, source: str, names: tuple[str, ...]) -> str:
    if format not in names:
        raise input_error(
            source, None, f"unknown format {format!r}; expected one of {', '.join(names)}"
        )
    return format


def detect_format(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    keys_file: str | os.PathLike[str] | None = None,
) -> str:
    """Return the embedding format of an existing file.

    The extension decides, and for the ambiguous ones the content breaks the tie:

    * ``.txt``: ``"word2vec"`` if the first line is ``"<count> <dim>"``, else ``"glove"``;
    * ``.npz``: ``"sparse-npz"`` if it holds a scipy CSR save (``indices``, ``indptr``,
      ``format``, ``shape``, ``data``), else ``"npz"``;
    * ``.npy``: ``"npy-keys"`` when a keys file is given, else ``"npy"``;
    * ``.bin`` is word2vec binary, ``.vec`` fastText text, ``.parquet``/``.pq``, ``.csv``,
      ``.tsv``/``.tab``.

    Parameters
    ----------
    path
        The file to inspect.
    format
        If given, it is validated and returned unchanged: an explicit format overrides
        detection.
    keys_file
        A text file of keys, one per line, for a key-less ``.npy``.

    Returns
    -------
    str
        One of :data:`READ_FORMATS`.

    Raises
    ------
    InputError
        Unknown format or extension, or (for ``.txt``/``.npz``) a missing or unreadable file.

    Examples
    --------
    >>> detect_format("vectors.parquet")
    'parquet'
    >>> detect_format("vectors.npy", keys_file="keys.txt")
    'npy-keys'
    """
    source = str(path)
    if format is not None:
        return _check_name(format, source, READ_FORMATS)
    suffix = Path(path).suffix.lower()
    candidates = formats_for(suffix)
    if not candidates:
        raise input_error(
            source,
            None,
            f"cannot tell the format from the extension {suffix or '(none)'!r}; pass format= "
            f"(one of {', '.join(READ_FORMATS)})",
        )
    options = ReadOptions(keys_file=None if keys_file is None else Path(keys_file))
    for f in candidates:
        if f.sniff is not None and f.sniff(Path(path), options):
            return f.name
    return next(f.name for f in candidates if f.sniff is None)


def format_for_writing(
    path: str | os.PathLike[str], format: str | None, *, sparse: bool = False
) -> str:
    """Choose the output format from ``format`` or the extension of a (maybe new) file.

    Conventions: ``.txt`` is written as word2vec text (its header makes it self-describing),
    ``.npz`` as dense ``"npz"`` unless ``sparse`` input is given.

    Examples
    --------
    >>> format_for_writing("out.txt", None)
    'word2vec'
    >>> format_for_writing("out.npz", None, sparse=True)
    'sparse-npz'
    """
    source = str(path)
    if format is not None:
        return _check_name(format, source, FORMATS)
    suffix = Path(path).suffix.lower()
    writable = [f.name for f in formats_for(suffix) if f.writable and f.sparse == sparse]
    if sparse and not writable:
        writable = [f.name for f in formats_for(suffix) if f.writable]
    if not writable:
        raise input_error(
            source,
            None,
            f"cannot tell the output format from the extension {suffix or '(none)'!r}; pass "
            f"format= (one of {', '.join(FORMATS)})",
        )
    return writable[0]
