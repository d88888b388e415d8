"""Layouts users already have: wide Parquet/CSV, ``.npy`` + keys file, Arrow fixed-size lists.

Each is reached through the format registry; the registry tests at the end check that the
extensions, detection and writing all come from that one table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vecae import InputError
from vecae.io import (
    FORMATS,
    READ_FORMATS,
    EmbeddingWriter,
    detect_format,
    iter_embeddings,
    read_embeddings,
    write_embeddings,
)
from vecae.io._registry import FORMAT_REGISTRY, formats_for, table_suffixes, writable_suffixes

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _wide_table(vectors: np.ndarray, words: list[str] | None) -> object:
    columns = {str(j): vectors[:, j] for j in range(vectors.shape[1])}
    if words is not None:
        columns = {"word": words, **columns}
    return pa.table(columns)


# ------------------------------------------------------------------ wide Parquet


def test_wide_parquet_without_keys(tmp_path: Path, glove) -> None:
    vectors, _ = glove
    path = tmp_path / "wide.parquet"
    pq.write_table(_wide_table(vectors, None), path)
    got = read_embeddings(path)
    assert got.keys is None
    np.testing.assert_array_equal(got.vectors, vectors)


def test_wide_parquet_string_column_is_the_key(tmp_path: Path, glove) -> None:
    vectors, words = glove
    path = tmp_path / "wide.parquet"
    pq.write_table(_wide_table(vectors, words), path)
    batches = list(iter_embeddings(path, batch_size=64))
    assert [k for keys, _ in batches for k in keys] == words
    np.testing.assert_array_equal(np.concatenate([v for _, v in batches]), vectors)


def test_pandas_to_parquet_file_reads_with_its_index_as_keys(tmp_path: Path, glove) -> None:
    pd = pytest.importorskip("pandas")
    vectors, words = glove
    frame = pd.DataFrame(vectors, index=pd.Index(words, name="word"))
    frame.columns = [str(c) for c in frame.columns]
    frame.to_parquet(tmp_path / "e.parquet")
    got = read_embeddings(tmp_path / "e.parquet")
    assert got.keys == words
    np.testing.assert_array_equal(got.vectors, vectors)


def test_pandas_numeric_index_is_not_a_dimension(tmp_path: Path, glove) -> None:
    pd = pytest.importorskip("pandas")
    vectors, _ = glove
    frame = pd.DataFrame(vectors, index=np.arange(10, 10 + len(vectors)))
    frame.columns = [f"d{c}" for c in frame.columns]
    frame.to_parquet(tmp_path / "e.parquet")  # stores the index as __index_level_0__
    assert read_embeddings(tmp_path / "e.parquet").dim == vectors.shape[1]


def test_wide_parquet_null_names_row_and_column(tmp_path: Path) -> None:
    table = pa.table({"a": [1.0, 2.0, 3.0], "b": [0.5, None, 1.5]})
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"row 2: null in column 'b'"):
        read_embeddings(tmp_path / "e.parquet")


def test_wide_parquet_error_lists_a_few_columns_not_all(tmp_path: Path, glove) -> None:
    vectors, words = glove
    table = _wide_table(vectors, words).append_column("flag", pa.array([True] * len(words)))
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"column 'flag' .* is neither numeric") as info:
        read_embeddings(tmp_path / "e.parquet")
    assert len(str(info.value)) < 300


def test_no_vector_columns_message_is_short(tmp_path: Path) -> None:
    table = pa.table({f"name{i}": ["x"] for i in range(129)})
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"\(129 columns\)") as info:
        read_embeddings(tmp_path / "e.parquet")
    assert "name128" not in str(info.value)


def test_fixed_size_list_parquet_still_reads(tmp_path: Path, glove) -> None:
    vectors, words = glove
    flat = pa.array(vectors.reshape(-1))
    table = pa.table({"id": words, "emb": pa.FixedSizeListArray.from_arrays(flat, 50)})
    pq.write_table(table, tmp_path / "e.parquet")
    got = read_embeddings(tmp_path / "e.parquet")
    assert got.keys == words
    np.testing.assert_array_equal(got.vectors, vectors)


# --------------------------------------------------------------------- wide CSV


@pytest.mark.parametrize("index", [True, False])
def test_pandas_to_csv_header_of_column_numbers_is_a_header(tmp_path: Path, glove, index) -> None:
    pd = pytest.importorskip("pandas")
    vectors, _ = glove
    pd.DataFrame(vectors[:20]).to_csv(tmp_path / "e.csv", index=index)
    got = read_embeddings(tmp_path / "e.csv")
    assert len(got) == 20
    np.testing.assert_allclose(got.vectors, vectors[:20], rtol=1e-6)


def test_pandas_to_csv_with_a_key_column(tmp_path: Path, glove) -> None:
    pd = pytest.importorskip("pandas")
    vectors, words = glove
    frame = pd.DataFrame(vectors[:20])
    frame.insert(0, "word", words[:20])
    frame.to_csv(tmp_path / "e.csv", index=False)
    assert read_embeddings(tmp_path / "e.csv").keys == words[:20]


def test_numeric_first_row_that_is_not_column_numbers_is_data(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("1,2,3\n0.5,1,2\n", encoding="utf-8")
    assert len(read_embeddings(tmp_path / "e.csv")) == 2


# ---------------------------------------------------------------- .npy + keys


def _npy_with_keys(tmp_path: Path, glove, keys_text: str | None = None) -> tuple[Path, Path]:
    vectors, words = glove
    np.save(tmp_path / "v.npy", vectors)
    keys = tmp_path / "keys.txt"
    keys.write_text(keys_text if keys_text is not None else "\n".join(words) + "\n", "utf-8")
    return tmp_path / "v.npy", keys


def test_npy_with_keys_file_reads_keys_in_order(tmp_path: Path, glove) -> None:
    npy, keys = _npy_with_keys(tmp_path, glove)
    got = read_embeddings(npy, keys_file=keys)
    assert got.keys == glove[1]
    np.testing.assert_array_equal(got.vectors, glove[0])


def test_npy_with_keys_file_streams(tmp_path: Path, glove) -> None:
    npy, keys = _npy_with_keys(tmp_path, glove)
    stream = iter_embeddings(npy, keys_file=keys, batch_size=64)
    assert (stream.format, stream.has_keys) == ("npy-keys", True)
    assert [k for batch_keys, _ in stream for k in batch_keys] == glove[1]


def test_keys_file_count_must_match_rows(tmp_path: Path, glove) -> None:
    npy, keys = _npy_with_keys(tmp_path, glove, "a\nb\n")
    with pytest.raises(InputError, match=r"keys\.txt: 2 keys for the 200 rows"):
        read_embeddings(npy, keys_file=keys)


def test_keys_file_empty_key_names_the_line(tmp_path: Path, glove) -> None:
    npy, keys = _npy_with_keys(tmp_path, glove, "a\n\nc\n")
    with pytest.raises(InputError, match=r"keys\.txt: line 2: empty key"):
        read_embeddings(npy, keys_file=keys)


def test_keys_file_with_a_keyed_format_is_refused(tmp_path: Path, glove) -> None:
    vectors, words = glove
    write_embeddings(tmp_path / "e.parquet", vectors, words)
    (tmp_path / "keys.txt").write_text("\n".join(words), "utf-8")
    with pytest.raises(InputError, match=r"pairs only with a key-less \.npy"):
        read_embeddings(tmp_path / "e.parquet", keys_file=tmp_path / "keys.txt")


def test_duplicate_keys_in_keys_file_keep_the_first(tmp_path: Path, glove) -> None:
    words = glove[1]
    npy, keys = _npy_with_keys(tmp_path, glove, "\n".join(["same", "same", *words[2:]]))
    with pytest.warns(UserWarning, match="duplicate key"):
        got = read_embeddings(npy, keys_file=keys)
    assert len(got) == len(words) - 1


# -------------------------------------------------------------------- registry


def test_formats_are_the_writable_registry_entries() -> None:
    writable = tuple(name for name, f in FORMAT_REGISTRY.items() if f.writable)
    assert writable == FORMATS
    assert set(READ_FORMATS) == set(FORMAT_REGISTRY) > set(FORMATS)


def test_every_extension_detects_a_registered_format(tmp_path: Path, glove) -> None:
    vectors, words = glove
    for suffix in sorted({s for f in FORMAT_REGISTRY.values() for s in f.extensions}):
        path = tmp_path / f"e{suffix}"
        fmt = formats_for(suffix)[0].name
        if FORMAT_REGISTRY[fmt].writable:
            write_embeddings(path, vectors, words, format=fmt, overwrite=True)
        assert detect_format(path) in [f.name for f in formats_for(suffix)]


def test_suffix_lists_come_from_the_registry() -> None:
    assert table_suffixes() == (".parquet", ".pq", ".csv", ".tsv", ".tab")
    assert ".npy" in writable_suffixes() and ".vec" in writable_suffixes()


# ------------------------------------------------------- checked once per pipeline


def test_writer_trusts_unique_keys_from_a_stream(tmp_path: Path, glove) -> None:
    vectors, words = glove
    write_embeddings(tmp_path / "in.parquet", vectors, words)
    stream = iter_embeddings(tmp_path / "in.parquet", batch_size=50)
    with EmbeddingWriter(tmp_path / "out.parquet", None, 50, True, unique_keys=True) as writer:
        for keys, batch in stream:
            writer.write(keys, batch)
    assert writer._dedup is None  # no second set of every key
    assert read_embeddings(tmp_path / "out.parquet").keys == words
