"""Tables of categorical columns and of user-item interactions (CSV/TSV or Parquet).

Which files are tables is the format registry's ``table`` flag
(:data:`vecae.io._registry.FORMAT_REGISTRY`), so the extensions are defined once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecae.io._base import FloatArray, check_input_path
from vecae.io._errors import input_error, short
from vecae.io._parquet import _arrow, open_parquet
from vecae.io._registry import table_format
from vecae.io._tabular import DELIMITERS, csv_rows

__all__ = ["CategoricalTable", "Interactions", "read_categorical_table", "read_interactions"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class CategoricalTable:
    """Categorical columns of a table, as strings; one-hot encoding is the model's job.

    Attributes
    ----------
    keys
        The row keys from ``key_column``, or ``None`` when no key column was named.
    columns
        Column name -> 1-D array of ``str`` values, all of the same length. Missing values
        (empty CSV fields, Parquet nulls) are the empty string ``""``.
    source
        The file the table came from.

    Examples
    --------
    >>> import numpy as np
    >>> table = CategoricalTable(["r1", "r2"], {"colour": np.array(["red", ""])}, "memory")
    >>> len(table), table.columns["colour"].tolist()
    (2, ['red', ''])
    """

    keys: list[str] | None
    columns: dict[str, np.ndarray[Any, np.dtype[np.str_]]]
    source: str

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass
class Interactions:
    """User-item interactions: parallel arrays, one entry per input row.

    Attributes
    ----------
    users, items
        1-D arrays of ``str`` identifiers.
    weights
        1-D float32 array; ones when the file has no weight column.
    source
        The file the interactions came from.

    Examples
    --------
    >>> import numpy as np
    >>> ones = np.ones(1, dtype=np.float32)
    >>> plays = Interactions(np.array(["ann"]), np.array(["song1"]), ones, "memory")
    >>> len(plays)
    1
    """

    users: np.ndarray[Any, np.dtype[np.str_]]
    items: np.ndarray[Any, np.dtype[np.str_]]
    weights: FloatArray
    source: str

    def __len__(self) -> int:
        return len(self.users)


def _table_kind(path: Path, source: str) -> str:
    return table_format(path, source).name


def _read_table(
    path: str | os.PathLike[str], wanted: Sequence[str] | None
) -> tuple[str, list[str], dict[str, list[Any]], str]:
    """Read named columns (all when ``wanted`` is None) of a CSV/TSV/Parquet table.

    Returns (source, column names in the file, column -> list of values, unit of row numbers).
    Values are str for CSV, Python objects (None for null) for Parquet.
    """
    source = str(path)
    p = check_input_path(path)
    kind = _table_kind(p, source)
    if kind == "parquet":
        pa, _, _ = _arrow()
        pf = open_parquet(p, source)
        names = list(pf.schema_arrow.names)
        for name in wanted or ():
            if name not in names:
                raise input_error(source, None, f"no column {name!r}; columns are {names}")
        try:
            table = pf.read(columns=list(wanted) if wanted is not None else None)
        except pa.ArrowException as exc:
            raise input_error(source, None, f"cannot read the table ({exc})") from exc
        if table.num_rows == 0:
            raise input_error(source, None, "table has no rows")
        return source, names, {n: table.column(n).to_pylist() for n in table.column_names}, "row"
    if p.stat().st_size == 0:
        raise input_error(source, None, "file is empty")
    rows = csv_rows(p, source, DELIMITERS[kind])
    first = next(rows, None)
    if first is None:
        raise input_error(source, None, "file has no rows (only blank lines)")
    header_line, names = first
    names = [n.strip() for n in names]
    for name in wanted or ():
        if name not in names:
            raise input_error(
                source, f"line {header_line}", f"no column {name!r} in the header {names}"
            )
    selected = list(wanted) if wanted is not None else names
    index = [names.index(n) for n in selected]
    columns: dict[str, list[Any]] = {n: [] for n in selected}
    lines: list[int] = []
    for line, fields in rows:
        if len(fields) != len(names):
            raise input_error(
                source,
                f"line {line}",
                f"expected {len(names)} fields (as in the header), found {len(fields)}",
            )
        for name, i in zip(selected, index, strict=True):
            columns[name].append(fields[i])
        lines.append(line)
    if not lines:
        raise input_error(source, None, "table has a header but no rows")
    columns["\0lines"] = lines  # line numbers for messages; removed by the callers
    return source, names, columns, "line"


def _where(columns: dict[str, list[Any]], unit: str, i: int) -> str:
    lines = columns.get("\0lines")
    return f"{unit} {lines[i] if lines is not None else i + 1}"


def _as_str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def read_categorical_table(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    key_column: str | None = None,
) -> CategoricalTable:
    """Read categorical columns of a CSV/TSV (with a header row) or Parquet table.

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``/``.tab`` or ``.parquet``/``.pq``.
    columns
        The categorical columns, in order; default: every column except ``key_column``.
    key_column
        A column of row keys (returned as ``keys``, not as a feature).

    Returns
    -------
    CategoricalTable
        Values as ``str`` arrays; numbers are converted with ``str()``; missing values are
        ``""``.

    Raises
    ------
    InputError
        Missing file, unknown column, ragged CSV row, empty table, or missing key.

    Examples
    --------
    >>> import pathlib
    >>> _ = pathlib.Path("pets.csv").write_text("id,colour,size\\nrex,brown,large\\ntom,black,\\n")
    >>> table = read_categorical_table("pets.csv", key_column="id")
    >>> table.keys, table.columns["colour"].tolist(), table.columns["size"].tolist()
    (['rex', 'tom'], ['brown', 'black'], ['large', ''])
    """
    wanted = None if columns is None else list(columns)
    if wanted is not None and key_column is not None and key_column not in wanted:
        wanted = [*wanted, key_column]
    source, names, data, unit = _read_table(path, wanted)
    feature_names = list(columns) if columns is not None else [n for n in names if n != key_column]
    if not feature_names:
        raise input_error(source, None, "no categorical columns to read")
    keys: list[str] | None = None
    if key_column is not None:
        if key_column not in data:
            raise input_error(source, None, f"no key column {key_column!r}; columns are {names}")
        keys = []
        for i, key in enumerate(data[key_column]):
            if key is None or key == "":
                raise input_error(source, _where(data, unit, i), f"missing key in {key_column!r}")
            keys.append(_as_str(key))
    out = {name: np.array([_as_str(v) for v in data[name]], dtype=str) for name in feature_names}
    return CategoricalTable(keys=keys, columns=out, source=source)


def read_interactions(
    path: str | os.PathLike[str],
    user_col: str = "user",
    item_col: str = "item",
    weight_col: str | None = None,
) -> Interactions:
    """Read user-item interactions from a CSV/TSV (with a header row) or Parquet table.

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``/``.tab`` or ``.parquet``/``.pq``.
    user_col, item_col
        Columns holding user and item identifiers (read as strings).
    weight_col
        Optional column of finite numeric weights; without it every weight is 1.

    Returns
    -------
    Interactions

    Raises
    ------
    InputError
        Missing file or column, ragged row, missing id, non-numeric or non-finite weight.

    Examples
    --------
    >>> import pathlib
    >>> _ = pathlib.Path("plays.csv").write_text("user,item\\nann,song1\\nann,song2\\nbob,song1\\n")
    >>> plays = read_interactions("plays.csv")
    >>> plays.users.tolist(), plays.items.tolist(), plays.weights.tolist()
    (['ann', 'ann', 'bob'], ['song1', 'song2', 'song1'], [1.0, 1.0, 1.0])
    """
    wanted = [user_col, item_col] + ([weight_col] if weight_col is not None else [])
    source, _, data, unit = _read_table(path, wanted)
    ids: dict[str, list[str]] = {}
    for column in (user_col, item_col):
        values = []
        for i, value in enumerate(data[column]):
            if value is None or value == "":
                raise input_error(source, _where(data, unit, i), f"missing value in {column!r}")
            values.append(_as_str(value))
        ids[column] = values
    n = len(ids[user_col])
    if weight_col is None:
        weights = np.ones(n, dtype=np.float32)
    else:
        weights = np.empty(n, dtype=np.float32)
        for i, value in enumerate(data[weight_col]):
            try:
                weight = float(value)
            except (TypeError, ValueError):
                raise input_error(
                    source, _where(data, unit, i), f"non-numeric weight {short(value)}"
                ) from None
            if not math.isfinite(weight) or abs(weight) > _FLOAT32_MAX:
                raise input_error(
                    source, _where(data, unit, i), f"non-finite weight {short(value)}"
                )
            weights[i] = weight
    return Interactions(
        users=np.array(ids[user_col], dtype=str),
        items=np.array(ids[item_col], dtype=str),
        weights=weights,
        source=source,
    )
