"""The ``.npy`` + keys-file layout: vectors in a key-less ``.npy``, keys in a text file.

The keys file is UTF-8 text with one key per line, in the order of the array's rows (what
``numpy.save`` users usually have beside their array). Registered as the read-only format
``"npy-keys"``; it is chosen when a keys file is given (``keys_file=``, ``vecae ... --keys``).

Examples
--------
>>> import numpy as np, pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "v.npy", np.eye(2, dtype=np.float32))
>>> _ = (folder / "keys.txt").write_text("cat\\ndog\\n", encoding="utf-8")
>>> from vecae.io import read_embeddings
>>> read_embeddings(folder / "v.npy", keys_file=folder / "keys.txt").keys
['cat', 'dog']
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vecae.io._base import BaseReader, RawBatch, check_input_path
from vecae.io._errors import input_error
from vecae.io._numpy import NpyReader

__all__ = ["NpyKeysReader", "read_keys_file"]


def read_keys_file(path: Path, expected: int) -> list[str]:
    """The keys of ``path``, one per line; checks there are ``expected`` non-empty keys.

    Raises
    ------
    InputError
        Missing or unreadable file, invalid UTF-8, an empty key, or a count that differs
        from ``expected``; the message names the keys file and the line.
    """
    source = str(path)
    check_input_path(path)
    keys: list[str] = []
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                key = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise input_error(
                    source, f"line {line_no}", f"not valid UTF-8 ({exc.reason})"
                ) from None
            if not key.strip():
                raise input_error(source, f"line {line_no}", "empty key")
            keys.append(key)
    if len(keys) != expected:
        raise input_error(
            source, None, f"{len(keys)} keys for the {expected} rows of the vectors file"
        )
    return keys


class NpyKeysReader(BaseReader):
    """A 2-D ``.npy`` read as a memmap, with one key per row from a text file."""

    format = "npy-keys"

    def __init__(self, path: Path, source: str, keys_file: Path | None) -> None:
        super().__init__(path, source)
        if keys_file is None:
            raise input_error(source, None, "the npy-keys format needs a keys file (keys_file=)")
        self._vectors = NpyReader(path, source)
        self.dim, self.n_rows = self._vectors.dim, self._vectors.n_rows
        assert self.n_rows is not None
        self.keys = read_keys_file(Path(keys_file), self.n_rows)
        self.has_keys = True

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        start = 0
        for batch in self._vectors.batches(batch_size):
            stop = start + len(batch.vectors)
            yield RawBatch(self.keys[start:stop], batch.vectors, batch.where)
            start = stop
