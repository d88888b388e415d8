"""Bad input: the error type, a one-line message naming the file and the line/row, and no
output left behind by failed writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tests.io.conftest import leftovers

from vecae._exceptions import DimensionMismatchError, InputError
from vecae.io import (
    DuplicateKeyWarning,
    EmbeddingWriter,
    OutputExistsError,
    iter_embeddings,
    read_embeddings,
    write_embeddings,
)


def _read_error(path: Path, fmt: str | None = None) -> str:
    with pytest.raises(InputError) as info:
        read_embeddings(path, fmt)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["e.txt", "e.vec", "e.bin", "e.npy", "e.csv", "e.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, "")
    assert "empty" in _read_error(path)


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.npy"
    assert "not found" in _read_error(path)


def test_directory_path(tmp_path: Path) -> None:
    path = tmp_path / "dir.npy"
    path.mkdir()
    assert "not a regular file" in _read_error(path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.xyz", "a 1 2\n")
    assert "format" in _read_error(path)


def test_glove_ragged_row_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2 3\nb 4 5 6\nc 7 8\n")
    assert re.search(r"line 3: expected 3 values .* found 2", _read_error(path))


def test_word2vec_ragged_row_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "2 3\na 1 2 3\nb 4 5 6 7\n")
    assert "line 3:" in _read_error(path)


def test_non_numeric_value_names_line_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3 x7\n")
    message = _read_error(path)
    assert "line 2:" in message and "'x7'" in message


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity", "1e50"])
def test_non_finite_value_names_line(tmp_path: Path, bad: str) -> None:
    path = _write(tmp_path, "g.txt", f"a 1 2\nb 3 4\nc 5 {bad}\n")
    message = _read_error(path)
    assert "line 3:" in message and "non-finite" in message


def test_finite_rows_whose_sum_overflows_are_accepted(tmp_path: Path) -> None:
    # The reader screens rows by their sum; a sum that overflows float32 must not be mistaken
    # for a non-finite value.
    vectors = np.full((3, 4), np.finfo(np.float32).max / 2, dtype=np.float32)
    np.save(tmp_path / "big.npy", vectors)
    assert np.array_equal(read_embeddings(tmp_path / "big.npy").vectors, vectors)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_npy_value_names_its_row_past_the_first_chunk(
    tmp_path: Path, bad: float
) -> None:
    vectors = np.ones((70_000, 3), dtype=np.float32)
    vectors[66_000, 1] = bad
    np.save(tmp_path / "v.npy", vectors)
    message = _read_error(tmp_path / "v.npy")
    assert "row 66001" in message and "non-finite" in message


def test_header_count_too_large(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "3 2\na 1 2\nb 3 4\n")
    message = _read_error(path)
    assert "line 3:" in message and "header" in message


def test_header_count_too_small(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "1 2\na 1 2\nb 3 4\n")
    message = _read_error(path)
    assert "line 3:" in message and "header" in message


def test_header_dimension_lies(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.vec", "2 3\na 1 2\nb 3 4\n")
    message = _read_error(path)
    assert "line 2:" in message and "header" in message


def test_absurd_header_count_does_not_allocate(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "99999999999 300\na " + "1 " * 300 + "\n")
    message = _read_error(path)
    assert "line 2:" in message and "declares 99999999999" in message


def test_bad_word2vec_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.vec", "not a header\n")
    assert "line 1:" in _read_error(path)


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "g.txt"
    path.write_bytes(b"a 1 2\n\xff\xfe 3 4\n")
    assert "line 2:" in _read_error(path)


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "w.bin"
    write_embeddings(path, np.arange(12, dtype=np.float32).reshape(4, 3), ["a", "b", "c", "d"])
    return path


def test_truncated_binary_names_row(tmp_path: Path) -> None:
    path = _binary(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-6])  # cut inside the last vector
    message = _read_error(path)
    assert "row 4:" in message and "truncated" in message


def test_binary_header_overstates_count(tmp_path: Path) -> None:
    path = _binary(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"4 3\n", b"5 3\n", 1))
    message = _read_error(path)
    assert "row 5:" in message and "truncated" in message


def test_binary_header_understates_count(tmp_path: Path) -> None:
    path = _binary(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"4 3\n", b"3 3\n", 1))
    message = _read_error(path)
    assert "row 4:" in message and "header" in message


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", "key,d0,d1\na,1,2\nb,3\n")
    assert "line 3:" in _read_error(path)


def test_csv_non_numeric(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", "key,d0,d1\na,1,2\nb,3,four\n")
    message = _read_error(path)
    assert "line 3:" in message and "'four'" in message


def test_tsv_nan(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.tsv", "a\t1\t2\nb\t3\tnan\n")
    assert "line 2:" in _read_error(path)


def test_npy_nan_names_row(tmp_path: Path) -> None:
    vectors = np.ones((10, 3), dtype=np.float32)
    vectors[6, 1] = np.nan
    path = tmp_path / "v.npy"
    np.save(path, vectors)
    assert "row 7:" in _read_error(path)


def test_npy_one_dimensional(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    np.save(path, np.ones(5, dtype=np.float32))
    assert "2-D" in _read_error(path)


def test_npy_pickled_objects_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    np.save(path, np.array([[object()]], dtype=object), allow_pickle=True)
    assert "npy" in _read_error(path)


def test_npz_without_vectors(tmp_path: Path) -> None:
    path = tmp_path / "v.npz"
    np.savez(path, a=np.ones((2, 2)), b=np.ones((2, 2)))
    assert "vectors" in _read_error(path)


def test_parquet_ragged_vector_names_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"k": ["a", "b", "c"], "v": [[1.0, 2.0], [3.0, 4.0], [5.0]]}), path)
    assert "row 3:" in _read_error(path)


def test_parquet_null_vector_names_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"k": ["a", "b"], "v": [[1.0, 2.0], None]}), path)
    assert "row 2:" in _read_error(path)


def test_garbage_parquet(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.parquet", "this is not parquet")
    assert "Parquet" in _read_error(path)


def test_row_errors_in_stream_name_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3 4\nc 5\n")
    stream = iter_embeddings(path, batch_size=1)
    with pytest.raises(InputError, match=r"line 3:"):
        list(stream)


# ----------------------------------------------------------------------- duplicates


def test_duplicate_keys_warn_and_keep_first(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3 4\na 5 6\n")
    with pytest.warns(DuplicateKeyWarning, match=r"line 3"):
        got = read_embeddings(path)
    assert got.keys == ["a", "b"]
    np.testing.assert_array_equal(got.vectors, [[1, 2], [3, 4]])


def test_duplicate_keys_dropped_across_stream_batches(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3 4\na 5 6\nc 7 8\n")
    with pytest.warns(DuplicateKeyWarning):
        keys = [k for ks, _ in iter_embeddings(path, batch_size=2) for k in ks]
    assert keys == ["a", "b", "c"]


def test_duplicate_keys_on_write_keep_first(tmp_path: Path) -> None:
    path = tmp_path / "e.txt"
    vectors = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    with pytest.warns(DuplicateKeyWarning):
        write_embeddings(path, vectors, ["x", "y", "x"])
    got = read_embeddings(path)
    assert got.keys == ["x", "y"]
    np.testing.assert_array_equal(got.vectors, vectors[:2])


# --------------------------------------------------------------------------- writes


def test_existing_output_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.npy", "precious")
    with pytest.raises(OutputExistsError) as info:
        write_embeddings(path, np.ones((2, 2), dtype=np.float32))
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, InputError)
    assert str(path) in str(info.value)
    assert path.read_text() == "precious"


def test_overwrite_replaces(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.npy", "old")
    write_embeddings(path, np.ones((2, 2), dtype=np.float32), overwrite=True)
    np.testing.assert_array_equal(read_embeddings(path).vectors, np.ones((2, 2)))


@pytest.mark.parametrize("name", ["e.txt", "e.bin", "e.npy", "e.npz", "e.parquet", "e.csv"])
def test_nan_in_write_leaves_nothing(tmp_path: Path, name: str) -> None:
    vectors = np.ones((20_000, 4), dtype=np.float32)
    vectors[15_000, 2] = np.inf  # in the second batch, after the first was written
    keys = [f"k{i}" for i in range(20_000)]
    with pytest.raises(InputError, match=r"row 15001:") as info:
        write_embeddings(tmp_path / name, vectors, keys)
    assert "\n" not in str(info.value)
    assert leftovers(tmp_path) == []


def test_exception_inside_writer_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    with pytest.raises(RuntimeError), EmbeddingWriter(path, None, 2, True) as writer:
        writer.write(["a"], np.ones((1, 2)))
        raise RuntimeError("caller failed")
    assert leftovers(tmp_path) == []


def test_failed_overwrite_keeps_old_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", "old")
    with pytest.raises(InputError):
        write_embeddings(path, np.full((2, 2), np.nan, dtype=np.float32), overwrite=True)
    assert leftovers(tmp_path) == ["e.csv"]
    assert path.read_text() == "old"


def test_wrong_width_in_writer(tmp_path: Path) -> None:
    path = tmp_path / "e.npy"
    with (
        pytest.raises(DimensionMismatchError, match=r"row 3:"),
        EmbeddingWriter(path, None, 3, False) as writer,
    ):
        writer.write(None, np.ones((2, 3)))
        writer.write(None, np.ones((2, 4)))
    assert leftovers(tmp_path) == []


def test_wrong_row_hint_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "e.txt"
    with (
        pytest.raises(InputError, match="n_rows_hint"),
        EmbeddingWriter(path, None, 2, True, n_rows_hint=5) as writer,
    ):
        writer.write(["a", "b"], np.ones((2, 2)))
    assert leftovers(tmp_path) == []


def test_key_with_space_refused_for_word2vec(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"row 2:"):
        write_embeddings(tmp_path / "e.txt", np.ones((2, 2)), ["ok", "not ok"])
    assert leftovers(tmp_path) == []


def test_word2vec_without_keys_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="keys"):
        write_embeddings(tmp_path / "e.bin", np.ones((2, 2)))
    assert leftovers(tmp_path) == []


def test_missing_output_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="output directory"):
        write_embeddings(tmp_path / "no" / "e.npy", np.ones((2, 2)))
