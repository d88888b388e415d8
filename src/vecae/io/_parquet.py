"""Parquet: a key column and a ``list<float>`` / ``fixed_size_list<float>`` vector column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vecae._exceptions import require
from vecae.io._base import BaseReader, BaseWriter, FloatArray, RawBatch
from vecae.io._errors import input_error

__all__ = ["ParquetReader", "ParquetWriter", "open_parquet"]

KEY_COLUMN = "key"
VECTOR_COLUMN = "vector"


def _arrow() -> tuple[Any, Any, Any]:
    pa: Any = require("pyarrow", "io")
    pq: Any = require("pyarrow.parquet", "io")
    pc: Any = require("pyarrow.compute", "io")
    return pa, pq, pc


def open_parquet(path: Path, source: str) -> Any:
    """Open a ``pyarrow.parquet.ParquetFile``, turning Arrow's errors into InputError."""
    pa, pq, _ = _arrow()
    if path.stat().st_size == 0:
        raise input_error(source, None, "file is empty")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise input_error(source, None, f"not a readable Parquet file ({exc})") from exc


class ParquetReader(BaseReader):
    """Reads record batches; the first string column is the key, the first list column the
    vectors, unless ``key_column`` / ``vector_column`` name them.
    """

    format = "parquet"

    def __init__(
        self,
        path: Path,
        source: str,
        *,
        key_column: str | None = None,
        vector_column: str | None = None,
    ) -> None:
        super().__init__(path, source)
        pa, _, _ = _arrow()
        self.file = open_parquet(path, source)
        schema = self.file.schema_arrow
        names = list(schema.names)
        for given in (key_column, vector_column):
            if given is not None and given not in names:
                raise input_error(source, None, f"no column {given!r}; columns are {names}")
        if vector_column is None:
            vector_column = next((f.name for f in schema if self._is_list(pa, f.type)), None)
            if vector_column is None:
                raise input_error(
                    source, None, f"no list<float> column holding vectors; columns are {names}"
                )
        elif not self._is_list(pa, schema.field(vector_column).type):
            raise input_error(
                source,
                None,
                f"column {vector_column!r} is {schema.field(vector_column).type}, "
                "not a list of numbers",
            )
        if key_column is None:
            key_column = next(
                (
                    f.name
                    for f in schema
                    if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                ),
                None,
            )
        self.key_column = key_column
        self.vector_column = vector_column
        self.has_keys = key_column is not None
        self.n_rows = int(self.file.metadata.num_rows)
        if self.n_rows == 0:
            raise input_error(source, None, "file has no vectors (0 rows)")
        vtype = schema.field(vector_column).type
        if pa.types.is_fixed_size_list(vtype):
            self.dim = int(vtype.list_size)
        else:
            first = next(self.file.iter_batches(batch_size=1, columns=[vector_column]))
            value = first.column(0)[0]
            if not value.is_valid:
                raise input_error(source, "row 1", "missing (null) vector")
            self.dim = len(value)
        if self.dim == 0:
            raise input_error(source, "row 1", "vector has dimension 0")

    @staticmethod
    def _is_list(pa: Any, dtype: Any) -> bool:
        is_list = (
            pa.types.is_list(dtype)
            or pa.types.is_large_list(dtype)
            or pa.types.is_fixed_size_list(dtype)
        )
        return bool(
            is_list
            and (pa.types.is_floating(dtype.value_type) or pa.types.is_integer(dtype.value_type))
        )

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        _, _, pc = _arrow()
        columns = [self.vector_column] + ([self.key_column] if self.key_column else [])
        start = 0
        for batch in self.file.iter_batches(batch_size=batch_size, columns=columns):
            m = batch.num_rows
            where = range(start + 1, start + m + 1)
            vectors_col = batch.column(self.vector_column)
            if vectors_col.null_count:
                bad = int(np.flatnonzero(~vectors_col.is_valid().to_numpy(zero_copy_only=False))[0])
                raise input_error(self.source, f"row {where[bad]}", "missing (null) vector")
            lengths = pc.list_value_length(vectors_col).to_numpy(zero_copy_only=False)
            wrong = np.flatnonzero(lengths != self.dim)
            if wrong.size:
                bad = int(wrong[0])
                raise input_error(
                    self.source,
                    f"row {where[bad]}",
                    f"vector has {lengths[bad]} values, expected {self.dim} (as in row 1)",
                )
            flat = vectors_col.flatten()
            if flat.null_count:
                first_null = int(np.flatnonzero(~flat.is_valid().to_numpy(zero_copy_only=False))[0])
                raise input_error(
                    self.source, f"row {where[first_null // self.dim]}", "null value in vector"
                )
            with np.errstate(over="ignore", invalid="ignore"):
                vectors = (
                    flat.to_numpy(zero_copy_only=False).astype(np.float32).reshape(m, self.dim)
                )
            keys: list[str] | None = None
            if self.key_column is not None:
                raw_keys = batch.column(self.key_column).to_pylist()
                keys = []
                for i, key in enumerate(raw_keys):
                    if key is None:
                        raise input_error(self.source, f"row {where[i]}", "missing (null) key")
                    keys.append(key if isinstance(key, str) else str(key))
            start += m
            yield RawBatch(keys, vectors, where)


class ParquetWriter(BaseWriter):
    """Writes ``key: string`` (when there are keys) and ``vector: fixed_size_list<float32>``."""

    def __init__(self, temp: Path, source: str, dim: int, has_keys: bool) -> None:
        super().__init__(temp, source, dim, has_keys)
        pa, pq, _ = _arrow()
        self._pa = pa
        fields = [pa.field(KEY_COLUMN, pa.string(), nullable=False)] if has_keys else []
        fields.append(pa.field(VECTOR_COLUMN, pa.list_(pa.float32(), dim), nullable=False))
        self.schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(temp, self.schema)

    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        pa = self._pa
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
        columns = [pa.FixedSizeListArray.from_arrays(flat, self.dim)]
        if keys is not None:
            columns.insert(0, pa.array(keys, type=pa.string()))
        self._writer.write_batch(pa.record_batch(columns, schema=self.schema))
        self.rows += vectors.shape[0]

    def finish(self) -> None:
        self._writer.close()

    def close(self) -> None:
        self._writer.close()
