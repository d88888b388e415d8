"""Format names, detection from extension and header, and input-path checks."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from vecae.io._errors import input_error

__all__ = ["FORMATS", "check_input_path", "detect_format", "format_for_writing"]

FORMATS: tuple[str, ...] = (
    "word2vec",
    "word2vec-binary",
    "glove",
    "fasttext",
    "npy",
    "npz",
    "parquet",
    "csv",
    "tsv",
    "sparse-npz",
)

# Extensions whose format does not depend on the file's content.
_FIXED_EXTENSIONS = {
    ".bin": "word2vec-binary",
    ".vec": "fasttext",
    ".npy": "npy",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
}
_WORD2VEC_HEADER = re.compile(rb"^\s*\d+\s+\d+\s*$")
# The arrays scipy.sparse.save_npz writes for a CSR matrix.
_SPARSE_MEMBERS = frozenset({"indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"})


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


def _check_name(format: str, source: str) -> str:
    if format not in FORMATS:
        raise input_error(
            source, None, f"unknown format {format!r}; expected one of {', '.join(FORMATS)}"
        )
    return format


def detect_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """Return the embedding format of an existing file.

    The extension decides, and for the ambiguous ones the content breaks the tie:

    * ``.txt``: ``"word2vec"`` if the first line is ``"<count> <dim>"``, else ``"glove"``;
    * ``.npz``: ``"sparse-npz"`` if it holds a scipy CSR save (``indices``, ``indptr``,
      ``format``, ``shape``, ``data``), else ``"npz"``;
    * ``.bin`` is word2vec binary, ``.vec`` fastText text, ``.npy``, ``.parquet``/``.pq``,
      ``.csv``, ``.tsv``/``.tab``.

    Parameters
    ----------
    path
        The file to inspect.
    format
        If given, it is validated and returned unchanged: an explicit format overrides
        detection.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputError
        Unknown format or extension, or (for ``.txt``/``.npz``) a missing or unreadable file.
    """
    source = str(path)
    if format is not None:
        return _check_name(format, source)
    suffix = Path(path).suffix.lower()
    if suffix in _FIXED_EXTENSIONS:
        return _FIXED_EXTENSIONS[suffix]
    if suffix == ".txt":
        p = check_input_path(path)
        with p.open("rb") as f:
            first = f.readline(4096)
        return "word2vec" if _WORD2VEC_HEADER.match(first) else "glove"
    if suffix == ".npz":
        p = check_input_path(path)
        try:
            with zipfile.ZipFile(p) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise input_error(source, None, f"not a valid .npz (zip) file: {exc}") from exc
        return "sparse-npz" if names >= _SPARSE_MEMBERS else "npz"
    raise input_error(
        source,
        None,
        f"cannot tell the format from the extension {suffix or '(none)'!r}; pass format= "
        f"(one of {', '.join(FORMATS)})",
    )


def format_for_writing(
    path: str | os.PathLike[str], format: str | None, *, sparse: bool = False
) -> str:
    """Choose the output format from ``format`` or the extension of a (maybe new) file.

    Conventions: ``.txt`` is written as word2vec text (its header makes it self-describing),
    ``.npz`` as dense ``"npz"`` unless ``sparse`` input is given.
    """
    source = str(path)
    if format is not None:
        return _check_name(format, source)
    suffix = Path(path).suffix.lower()
    if suffix in _FIXED_EXTENSIONS:
        return _FIXED_EXTENSIONS[suffix]
    if suffix == ".txt":
        return "word2vec"
    if suffix == ".npz":
        return "sparse-npz" if sparse else "npz"
    raise input_error(
        source,
        None,
        f"cannot tell the output format from the extension {suffix or '(none)'!r}; pass "
        f"format= (one of {', '.join(FORMATS)})",
    )
