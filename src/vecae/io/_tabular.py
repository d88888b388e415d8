"""CSV/TSV embeddings (tables of categorical columns and interactions are in ``_tables``).

Convention (what :func:`write_embeddings` writes, so round trips are exact): a header row
``key,d0,d1,...`` (``d0,d1,...`` without keys), then one row per vector with values in their
shortest float32-exact text. When reading foreign files:

* the first row is a header if any field after the first is not a number, or if they are
  the column numbers pandas writes (``0,1,2,...`` after an index or key column's name);
* the first column holds keys if the header names it something other than a dimension
  (``d0``, ``x12``, ``7``: letters then digits) or if its first value is not a number.
  Without a header, numeric first values are read as vector components.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Iterator
from pathlib import Path

from vecae.io._base import BaseReader, BaseWriter, FloatArray, RawBatch, count_lines, parse_rows
from vecae.io._errors import input_error

__all__ = ["DELIMITERS", "CsvReader", "CsvWriter", "csv_rows", "is_number"]

_DIM_NAME = re.compile(r"^[A-Za-z_]*\d+$")
DELIMITERS = {"csv": ",", "tsv": "\t"}


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_COLUMN_NUMBER = re.compile(r"^\d+$")


def _numbered_columns(fields: list[str]) -> bool:
    """Whether a row of numbers is really a header of column numbers, as pandas writes.

    ``DataFrame.to_csv`` names the columns of an unnamed frame ``0,1,2,...`` (after an
    empty index column, or a key column's name): integer literals counting up by one from
    0 or 1. Real vectors are not written like that.
    """
    tail = [f.strip() for f in fields[1:]]
    if len(tail) < 2 or not all(_COLUMN_NUMBER.match(f) for f in tail):
        return False
    numbers = [int(f) for f in tail]
    if numbers[0] not in (0, 1) or numbers != list(range(numbers[0], numbers[0] + len(tail))):
        return False
    head = fields[0].strip()
    # The first field is a key column's name (or empty), or the number before the others.
    return not _COLUMN_NUMBER.match(head) or int(head) == numbers[0] - 1


def _open_text(path: Path) -> io.TextIOWrapper:
    # newline="" lets the csv module handle quoted line breaks itself.
    return path.open("r", encoding="utf-8", newline="")


def csv_rows(
    path: Path, source: str, delimiter: str
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield (line number, fields) for non-blank rows, with UTF-8 errors named by line."""
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise input_error(
                    source, f"line {reader.line_num + 1}", f"not valid UTF-8 ({exc.reason})"
                ) from None
            except csv.Error as exc:
                raise input_error(
                    source, f"line {reader.line_num}", f"malformed CSV ({exc})"
                ) from None
            if row and any(field.strip() for field in row):
                yield reader.line_num, row


class CsvReader(BaseReader):
    """Embeddings in CSV/TSV; see the module docstring for header and key detection."""

    unit = "line"

    def __init__(self, path: Path, source: str, fmt: str) -> None:
        super().__init__(path, source)
        self.format = fmt
        self.delimiter = DELIMITERS[fmt]
        if path.stat().st_size == 0:
            raise input_error(source, None, "file is empty")
        rows = csv_rows(path, source, self.delimiter)
        first = next(rows, None)
        if first is None:
            raise input_error(source, None, "file has no rows (only blank lines)")
        line, fields = first
        self.header = any(not is_number(f) for f in fields[1:]) or _numbered_columns(fields)
        data = next(rows, None) if self.header else first
        if data is None:
            raise input_error(source, None, "file has a header but no vectors")
        rows.close()
        first_value_text = not is_number(data[1][0])
        self.has_keys = first_value_text or (
            self.header and _DIM_NAME.match(fields[0].strip()) is None
        )
        width = len(fields)
        self.dim = width - 1 if self.has_keys else width
        self._dim_origin = f"line {line}"
        if self.dim == 0:
            raise input_error(source, f"line {line}", "row has a key but no values")

    def max_rows(self) -> int:
        return count_lines(self.path)

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        source, dim, keyed = self.source, self.dim, self.has_keys
        width = dim + 1 if keyed else dim
        keys: list[str] = []
        values: list[list[str]] = []
        where: list[int] = []
        rows = csv_rows(self.path, source, self.delimiter)
        if self.header:
            next(rows)
        for line, fields in rows:
            if len(fields) != width:
                raise input_error(
                    source,
                    f"line {line}",
                    f"expected {width} fields (as on {self._dim_origin}), found {len(fields)}",
                )
            if keyed:
                keys.append(fields[0])
                values.append(fields[1:])
            else:
                values.append(fields)
            where.append(line)
            if len(values) == batch_size:
                yield RawBatch(
                    keys if keyed else None, parse_rows(values, where, source, "line"), where
                )
                keys, values, where = [], [], []
        if values:
            yield RawBatch(
                keys if keyed else None, parse_rows(values, where, source, "line"), where
            )


class CsvWriter(BaseWriter):
    """Header row then one row per vector; keys are quoted by the csv module when needed."""

    def __init__(self, temp: Path, source: str, dim: int, has_keys: bool, fmt: str) -> None:
        super().__init__(temp, source, dim, has_keys)
        self._file = temp.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, delimiter=DELIMITERS[fmt], lineterminator="\n")
        header = [f"d{i}" for i in range(dim)]
        self._writer.writerow(["key", *header] if has_keys else header)

    def write(self, keys: list[str] | None, vectors: FloatArray) -> None:
        if keys is None:
            self._writer.writerows(map(str, row) for row in vectors)
        else:
            self._writer.writerows(
                [key, *map(str, row)] for key, row in zip(keys, vectors, strict=True)
            )
        self.rows += vectors.shape[0]

    def finish(self) -> None:
        self._file.close()

    def close(self) -> None:
        self._file.close()
