"""NumPy ``.npy``/``.npz`` and scipy sparse ``.npz``."""

from __future__ import annotations

import contextlib
import mmap
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from vecae._checks import check_sparse_structure, read_npy_header
from vecae._exceptions import InputError
from vecae.io._base import BaseReader, BaseWriter, FloatArray, RawBatch
from vecae.io._errors import input_error

__all__ = [
    "NpyReader",
    "NpyWriter",
    "NpzReader",
    "NpzWriter",
    "SparseReader",
    "load_sparse",
    "save_sparse",
]

# Rows converted or checked per step when a whole array is processed, to bound memory.
_CHUNK_ROWS = 65536


def _check_array(array: Any, source: str, what: str) -> None:
    if array.ndim != 2:
        raise input_error(
            source, None, f"{what} must be a 2-D array (rows x dim), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise input_error(source, None, "file has no vectors (0 rows)")
    if array.shape[1] == 0:
        raise input_error(source, None, f"{what} has dimension 0")
    if array.dtype.kind not in "fiub":
        raise input_error(source, None, f"{what} has non-numeric dtype {array.dtype}")


def _to_float32(array: Any) -> FloatArray:
    """Copy to a new float32 array chunk by chunk (so a memmap is never fully duplicated)."""
    out = np.empty(array.shape, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, array.shape[0], _CHUNK_ROWS):
            out[start : start + _CHUNK_ROWS] = array[start : start + _CHUNK_ROWS]
    return out


def _decode_keys(array: Any, source: str, n: int) -> list[str]:
    if array.ndim != 1 or array.shape[0] != n:
        raise input_error(
            source, None, f"'keys' must be a 1-D array of {n} strings, got shape {array.shape}"
        )
    if array.dtype.kind == "U":
        return [str(k) for k in array.tolist()]
    if array.dtype.kind == "S":
        try:
            return [k.decode("utf-8") for k in array.tolist()]
        except UnicodeDecodeError as exc:
            raise input_error(source, None, f"'keys' are not valid UTF-8 ({exc.reason})") from None
    raise input_error(source, None, f"'keys' must hold strings, got dtype {array.dtype}")


class NpyReader(BaseReader):
    """A 2-D numeric ``.npy``; opened as a read-only memmap so batches are views."""

    format = "npy"

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        if path.stat().st_size == 0:
            raise input_error(source, None, "file is empty")
        with path.open("rb") as f:
            magic = f.read(6)
        if magic != b"\x93NUMPY":
            # np.load would try to read anything else as a pickle and say so, which misleads.
            raise input_error(source, None, "not a .npy file (no NumPy header)")
        try:
            self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise input_error(source, None, f"not a readable .npy file ({exc})") from exc
        _check_array(self.array, source, "the array")
        self.n_rows, self.dim = (int(s) for s in self.array.shape)

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        n = self.array.shape[0]
        direct = self.array.dtype == np.float32
        for start in range(0, n, batch_size):
            part = self.array[start : start + batch_size]
            if not direct:
                with np.errstate(over="ignore", invalid="ignore"):
                    part = part.astype(np.float32)
            yield RawBatch(None, part, range(start + 1, start + part.shape[0] + 1))
            self._release(start, start + batch_size)

    def _release(self, start: int, stop: int) -> None:
        """Drop the pages of rows ``start:stop`` from this process's resident memory.

        Pages read through a memmap otherwise stay resident, so streaming a 2 GB file would
        end near 2 GB RSS. They remain in the OS page cache, and a view the caller still holds
        stays valid: the kernel reads the pages again on access.
        """
        mapping = getattr(self.array, "_mmap", None)
        advice = getattr(mmap, "MADV_DONTNEED", None)
        if not isinstance(mapping, mmap.mmap) or advice is None:
            return
        row_bytes = self.array.strides[0]
        header = int(self.array.offset)
        begin = header + start * row_bytes
        end = min(header + stop * row_bytes, len(mapping))
        aligned = begin - begin % mmap.PAGESIZE
        with contextlib.suppress(OSError, ValueError):  # advice is best effort, per platform
            mapping.madvise(advice, aligned, end - aligned)

    def read_all(self, *, mmap: bool) -> tuple[FloatArray, list[str] | None] | None:
        if mmap and self.array.dtype == np.float32 and self.array.flags.c_contiguous:
            return self.array, None
        return _to_float32(self.array), None


def check_npz_members(path: Path, source: str) -> None:
    """Refuse an ``.npz`` whose arrays declare more data than their zip members hold.

    ``np.load`` allocates an array of the shape its header declares before reading the data,
    so a crafted member that claims ``(10**8, 300)`` over a few bytes would cost 112 GiB. Each
    member's header is read here (a few hundred bytes) and compared with the member's size in
    the zip directory, whose lies the zip reader catches (CRC and length) while reading.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    shape, _, dtype = read_npy_header(member)
                    needed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if dtype.hasobject or needed > info.file_size:
                        raise input_error(
                            source,
                            None,
                            f"array {info.filename[:-4]!r} declares shape {tuple(shape)} of "
                            f"{dtype}, more than the {info.file_size:,} bytes it holds",
                        )
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise input_error(source, None, f"not a readable .npz file ({exc})") from exc


class NpzReader(BaseReader):
    """A dense ``.npz``: ``vectors`` (or its only array) and an optional ``keys`` array.

    A zip member cannot be memory-mapped by NumPy, so even iteration loads the arrays.
    """

    format = "npz"

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        if path.stat().st_size == 0:
            raise input_error(source, None, "file is empty")
        check_npz_members(path, source)
        try:
            with np.load(path, allow_pickle=False) as npz:
                names = list(npz.files)
                if "vectors" in names:
                    name = "vectors"
                else:
                    others = [n for n in names if n != "keys"]
                    if len(others) != 1:
                        raise input_error(
                            source,
                            None,
                            f"expected an array named 'vectors' (or a single array), found "
                            f"{sorted(names)}",
                        )
                    name = others[0]
                vectors = npz[name]
                _check_array(vectors, source, f"array {name!r}")
                keys = (
                    _decode_keys(npz["keys"], source, vectors.shape[0]) if "keys" in names else None
                )
        except InputError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise input_error(source, None, f"not a readable .npz file ({exc})") from exc
        self.vectors = vectors if vectors.dtype == np.float32 else _to_float32(vectors)
        self.keys = keys
        self.has_keys = keys is not None
        self.n_rows, self.dim = (int(s) for s in vectors.shape)

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        for start in range(0, self.vectors.shape[0], batch_size):
            part = self.vectors[start : start + batch_size]
            keys = None if self.keys is None else self.keys[start : start + batch_size]
            yield RawBatch(keys, part, range(start + 1, start + part.shape[0] + 1))

    def read_all(self, *, mmap: bool) -> tuple[FloatArray, list[str] | None] | None:
        return self.vectors, self.keys


def load_sparse(path: Path, source: str) -> tuple[sp.csr_matrix, list[str] | None]:
    """Load a ``scipy.sparse.save_npz`` file as float32 CSR, plus our optional ``keys``."""
    if path.stat().st_size == 0:
        raise input_error(source, None, "file is empty")
    check_npz_members(path, source)
    try:
        matrix = sp.load_npz(path)
        with np.load(path, allow_pickle=False) as npz:
            keys_array = npz["keys"] if "keys" in npz.files else None
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise input_error(source, None, f"not a readable scipy sparse .npz file ({exc})") from exc
    check_sparse_structure(matrix, source)  # before anything indexes into it
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    if csr.shape[0] == 0 or csr.shape[1] == 0:
        raise input_error(source, None, f"sparse matrix has no rows or columns (shape {csr.shape})")
    keys = None if keys_array is None else _decode_keys(keys_array, source, csr.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        bad = np.flatnonzero(~np.isfinite(csr.data))
    if bad.size:
        row = int(np.searchsorted(csr.indptr, bad[0], side="right"))
        raise input_error(source, f"row {row}", "non-finite value (NaN, Inf, or beyond float32)")
    return csr, keys


class SparseReader(BaseReader):
    """A scipy sparse ``.npz`` read as dense rows, one batch at a time."""

    format = "sparse-npz"

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        self.matrix, self.keys = load_sparse(path, source)
        self.has_keys = self.keys is not None
        self.n_rows, self.dim = (int(s) for s in self.matrix.shape)

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        for start in range(0, self.matrix.shape[0], batch_size):
            part = self.matrix[start : start + batch_size].toarray()
            keys = None if self.keys is None else self.keys[start : start + batch_size]
            yield RawBatch(keys, part, range(start + 1, start + part.shape[0] + 1))


def save_sparse(temp: Path, matrix: sp.csr_matrix, keys: list[str] | None) -> None:
    """Write the arrays ``scipy.sparse.save_npz`` writes, plus ``keys`` when given.

    ``scipy.sparse.load_npz`` ignores the extra array, so the file stays a plain scipy save.
    """
    arrays: dict[str, Any] = {
        "format": np.array(b"csr"),
        "shape": np.array(matrix.shape),
        "data": matrix.data,
        "indices": matrix.indices,
        "indptr": matrix.indptr,
    }
    if keys is not None:
        arrays["keys"] = np.array(keys, dtype=str)
    with temp.open("wb") as f:
        np.savez_compressed(f, **arrays)


class NpyWriter(BaseWriter):
    """``.npy`` output: a memmap of the temp file when the row count is known up front,
    otherwise raw float32 rows in a scratch file that get a header at the end.
    """

    def __init__(
        self,
        temp: Path,
        source: str,
        dim: int,
        has_keys: bool,
        *,
        n_rows: int | None,
        scratch: Path | None,
    ) -> None:
        super().__init__(temp, source, dim, has_keys)
        self.n_rows = n_rows
        self._scratch = scratch
        self._map: np.memmap[Any, np.dtype[np.float32]] | None = None
        self._raw = None
        if n_rows is not None:
            self._map = np.lib.format.open_memmap(
                temp, mode="w+", dtype=np.float32, shape=(n_rows, dim)
            )
        else:
            assert scratch is not None
            self._raw = scratch.open("wb")

    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        m = vectors.shape[0]
        if self._map is not None:
            if self.rows + m > self._map.shape[0]:
                raise input_error(
                    self.source,
                    f"row {self._map.shape[0] + 1}",
                    f"more rows than n_rows_hint={self._map.shape[0]}",
                )
            self._map[self.rows : self.rows + m] = vectors
        else:
            assert self._raw is not None
            self._raw.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        self.rows += m

    def finish(self) -> None:
        if self._map is not None:
            self._map.flush()
            self._map = None
            return
        assert self._raw is not None and self._scratch is not None
        self._raw.close()
        with self.temp.open("wb") as out, self._scratch.open("rb") as body:
            header = {"descr": "<f4", "fortran_order": False, "shape": (self.rows, self.dim)}
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(body, out, 1 << 20)

    def close(self) -> None:
        self._map = None
        if self._raw is not None:
            self._raw.close()


class NpzWriter(BaseWriter):
    """Dense ``.npz`` (``vectors`` and optional ``keys``): rows spill to a scratch file and
    are streamed into the zip at the end, so only the keys are held in memory.
    """

    def __init__(self, temp: Path, source: str, dim: int, has_keys: bool, *, scratch: Path) -> None:
        super().__init__(temp, source, dim, has_keys)
        self._scratch = scratch
        self._raw = scratch.open("wb")
        self._keys: list[str] = []

    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        self._raw.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        if keys is not None:
            self._keys.extend(keys)
        self.rows += vectors.shape[0]

    def finish(self) -> None:
        self._raw.close()
        body = np.memmap(self._scratch, dtype="<f4", mode="r", shape=(self.rows, self.dim))
        with zipfile.ZipFile(self.temp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("vectors.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, body, allow_pickle=False)
            if self.has_keys:
                with zf.open("keys.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(
                        member, np.array(self._keys, dtype=str), allow_pickle=False
                    )
        del body

    def close(self) -> None:
        self._raw.close()
