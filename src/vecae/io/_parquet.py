"""Parquet embeddings, in either of the two layouts people write.

* **list**: an optional string key column and one ``list<float>`` /
  ``fixed_size_list<float>`` column of vectors (what vecae writes; PyArrow, Polars, Spark);
* **wide**: one numeric column per dimension and an optional string key column (what
  ``pandas.DataFrame.to_parquet`` writes; a numeric pandas index is not a dimension).

The list layout is used when there is a list column (or ``vector_column`` names one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vecae._exceptions import require
from vecae.io._base import BaseReader, BaseWriter, FloatArray, RawBatch
from vecae.io._errors import input_error

__all__ = ["ParquetReader", "ParquetWriter", "column_list", "open_parquet"]

KEY_COLUMN = "key"
VECTOR_COLUMN = "vector"


def _arrow() -> tuple[Any, Any, Any]:
    pa: Any = require("pyarrow", "io")
    pq: Any = require("pyarrow.parquet", "io")
    pc: Any = require("pyarrow.compute", "io")
    return pa, pq, pc


def column_list(names: list[str], limit: int = 8) -> str:
    """Column names for an error message: the first ``limit``, then how many in all."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} columns)"


def _pandas_index_columns(schema: Any) -> set[str]:
    """Columns that hold a pandas index (``__index_level_0__`` or a named index)."""
    metadata = schema.pandas_metadata or {}
    return {c for c in metadata.get("index_columns", []) if isinstance(c, str)}


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
                raise input_error(
                    source, None, f"no column {given!r}; columns are {column_list(names)}"
                )
        self.wide_columns: list[str] = []
        if vector_column is None:
            vector_column = next((f.name for f in schema if self._is_list(pa, f.type)), None)
            if vector_column is None:
                self._open_wide(pa, schema, key_column)
                return
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
        self.vector_column: str | None = vector_column
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

    def _open_wide(self, pa: Any, schema: Any, key_column: str | None) -> None:
        """One numeric column per dimension, and at most one string key column."""
        source = self.source
        index = _pandas_index_columns(schema)
        strings = [
            f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        if key_column is None and strings:
            key_column = strings[0]
        numeric = [
            f.name
            for f in schema
            if (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
            and f.name != key_column
            and f.name not in index
        ]
        other = [n for n in schema.names if n not in numeric and n != key_column and n not in index]
        if not numeric:
            raise input_error(
                source,
                None,
                "no vectors: expected a list<float> column or numeric columns (one per "
                f"dimension); columns are {column_list(list(schema.names))}",
            )
        if other:
            raise input_error(
                source,
                None,
                f"column {other[0]!r} ({schema.field(other[0]).type}) is neither numeric nor "
                "the key column; one numeric column per dimension and at most one key column "
                "are expected (pass key_column= to choose the key)",
            )
        self.key_column = key_column
        self.vector_column = None
        self.wide_columns = numeric
        self.has_keys = key_column is not None
        self.dim = len(numeric)
        self.n_rows = int(self.file.metadata.num_rows)
        if self.n_rows == 0:
            raise input_error(source, None, "file has no vectors (0 rows)")

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
        if self.wide_columns:
            yield from self._wide_batches(batch_size)
            return
        _, _, pc = _arrow()
        assert self.vector_column is not None
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
            start += m
            yield RawBatch(self._keys(batch, where), vectors, where)

    def _keys(self, batch: Any, where: range) -> list[str] | None:
        if self.key_column is None:
            return None
        keys = []
        for i, key in enumerate(batch.column(self.key_column).to_pylist()):
            if key is None:
                raise input_error(self.source, f"row {where[i]}", "missing (null) key")
            keys.append(key if isinstance(key, str) else str(key))
        return keys

    def _wide_batches(self, batch_size: int) -> Iterator[RawBatch]:
        columns = self.wide_columns + ([self.key_column] if self.key_column else [])
        start = 0
        for batch in self.file.iter_batches(batch_size=batch_size, columns=columns):
            m = batch.num_rows
            where = range(start + 1, start + m + 1)
            vectors = np.empty((m, self.dim), dtype=np.float32)
            for j, name in enumerate(self.wide_columns):
                column = batch.column(name)
                if column.null_count:
                    valid = column.is_valid().to_numpy(zero_copy_only=False)
                    bad = int(np.flatnonzero(~valid)[0])
                    raise input_error(self.source, f"row {where[bad]}", f"null in column {name!r}")
                with np.errstate(over="ignore", invalid="ignore"):
                    vectors[:, j] = column.to_numpy(zero_copy_only=False)
            start += m
            yield RawBatch(self._keys(batch, where), vectors, where)


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
