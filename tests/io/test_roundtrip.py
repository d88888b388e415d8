"""Every format's round trip keeps values (exactly) and keys (in order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from vecae.io import (
    FORMATS,
    EmbeddingWriter,
    detect_format,
    iter_embeddings,
    read_embeddings,
    read_sparse,
    write_embeddings,
)

EXTENSIONS = {
    "word2vec": ".txt",
    "word2vec-binary": ".bin",
    "glove": ".txt",
    "fasttext": ".vec",
    "npy": ".npy",
    "npz": ".npz",
    "parquet": ".parquet",
    "csv": ".csv",
    "tsv": ".tsv",
    "sparse-npz": ".npz",
}
KEYED = [f for f in FORMATS if f != "npy"]


@pytest.mark.parametrize("fmt", KEYED)
def test_keyed_round_trip_values(tmp_path: Path, glove, fmt: str) -> None:
    vectors, words = glove
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    write_embeddings(path, vectors, words, format=fmt)
    got = read_embeddings(path, fmt)
    assert got.vectors.dtype == np.float32
    np.testing.assert_array_equal(got.vectors, vectors)


@pytest.mark.parametrize("fmt", KEYED)
def test_keyed_round_trip_keys(tmp_path: Path, glove, fmt: str) -> None:
    vectors, words = glove
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    write_embeddings(path, vectors, words, format=fmt)
    assert read_embeddings(path, fmt).keys == words


@pytest.mark.parametrize("fmt", KEYED)
def test_format_detected_from_written_file(tmp_path: Path, glove, fmt: str) -> None:
    vectors, words = glove
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    write_embeddings(path, vectors, words, format=fmt)
    assert detect_format(path) == fmt


@pytest.mark.parametrize("fmt", ["npy", "npz", "parquet", "csv", "tsv", "sparse-npz"])
def test_keyless_round_trip(tmp_path: Path, glove, fmt: str) -> None:
    vectors, _ = glove
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    write_embeddings(path, vectors, None, format=fmt)
    got = read_embeddings(path, fmt)
    assert got.keys is None
    np.testing.assert_array_equal(got.vectors, vectors)


@pytest.mark.parametrize("fmt", KEYED)
def test_stream_matches_read(tmp_path: Path, glove, fmt: str) -> None:
    vectors, words = glove
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    write_embeddings(path, vectors, words, format=fmt)
    batches = list(iter_embeddings(path, fmt, batch_size=64))
    assert [len(b) for _, b in batches] == [64, 64, 64, 8]
    assert [k for keys, _ in batches for k in keys] == words
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), vectors)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "sparse-npz"])
@pytest.mark.parametrize("hint", [True, False])
def test_streaming_writer_round_trip(tmp_path: Path, glove, fmt: str, hint: bool) -> None:
    vectors, words = glove
    keyed = fmt != "npy"
    path = tmp_path / f"emb{EXTENSIONS[fmt]}"
    with EmbeddingWriter.open(
        path, fmt, 50, keyed, n_rows_hint=len(words) if hint else None
    ) as writer:
        for start in range(0, len(words), 33):
            writer.write(words[start : start + 33] if keyed else None, vectors[start : start + 33])
    got = read_embeddings(path, fmt)
    np.testing.assert_array_equal(got.vectors, vectors)
    assert got.keys == (words if keyed else None)


def test_sparse_round_trip_keeps_sparsity(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    matrix = sp.random(30, 12, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    keys = [f"user{i}" for i in range(30)]
    path = tmp_path / "m.npz"
    write_embeddings(path, matrix, keys)
    got, got_keys = read_sparse(path)
    assert sp.isspmatrix_csr(got) or isinstance(got, sp.csr_array)
    assert (got != matrix).nnz == 0
    assert got_keys == keys


def test_sparse_written_file_loads_in_scipy(tmp_path: Path) -> None:
    matrix = sp.csr_matrix(np.eye(4, dtype=np.float32))
    path = tmp_path / "m.npz"
    write_embeddings(path, matrix, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(sp.load_npz(path).toarray(), np.eye(4))


def test_scipy_save_npz_is_readable(tmp_path: Path) -> None:
    matrix = sp.csr_matrix(np.arange(12, dtype=np.float32).reshape(3, 4))
    path = tmp_path / "m.npz"
    sp.save_npz(path, matrix)
    got, keys = read_sparse(path)
    assert keys is None
    np.testing.assert_array_equal(got.toarray(), matrix.toarray())


def test_keys_with_delimiters_survive_csv(tmp_path: Path) -> None:
    keys = ["a,b", 'say "hi"', "line\nbreak", "tab\there"]
    vectors = np.arange(8, dtype=np.float32).reshape(4, 2)
    path = tmp_path / "odd.csv"
    write_embeddings(path, vectors, keys)
    assert read_embeddings(path).keys == keys


def test_numeric_keys_survive_csv(tmp_path: Path) -> None:
    keys = ["10", "20", "30"]
    vectors = np.ones((3, 2), dtype=np.float32)
    path = tmp_path / "ids.csv"
    write_embeddings(path, vectors, keys)
    got = read_embeddings(path)
    assert got.keys == keys
    assert got.vectors.shape == (3, 2)


def test_unicode_keys_survive_binary(tmp_path: Path) -> None:
    keys = ["café", "naïve", "東京"]
    vectors = np.eye(3, dtype=np.float32)
    path = tmp_path / "u.bin"
    write_embeddings(path, vectors, keys)
    assert read_embeddings(path).keys == keys


def test_npy_read_is_memmap(tmp_path: Path, glove) -> None:
    vectors, _ = glove
    path = tmp_path / "v.npy"
    np.save(path, vectors)
    assert isinstance(read_embeddings(path).vectors, np.memmap)


def test_npy_read_without_mmap_is_in_memory(tmp_path: Path, glove) -> None:
    vectors, _ = glove
    path = tmp_path / "v.npy"
    np.save(path, vectors)
    got = read_embeddings(path, mmap=False).vectors
    assert not isinstance(got, np.memmap)
    np.testing.assert_array_equal(got, vectors)


def test_fortran_order_npy_reads_equal(tmp_path: Path, glove) -> None:
    vectors, _ = glove
    path = tmp_path / "v.npy"
    np.save(path, np.asfortranarray(vectors))
    got = read_embeddings(path).vectors
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, vectors)


def test_float64_npy_becomes_float32(tmp_path: Path, glove) -> None:
    vectors, _ = glove
    path = tmp_path / "v.npy"
    np.save(path, vectors.astype(np.float64))
    got = read_embeddings(path).vectors
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, vectors)


def test_parquet_column_override(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "label": ["x", "y"],
            "name": ["alpha", "beta"],
            "other": [[9.0, 9.0], [9.0, 9.0]],
            "emb": [[1.0, 2.0], [3.0, 4.0]],
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    got = read_embeddings(path, key_column="name", vector_column="emb")
    assert got.keys == ["alpha", "beta"]
    np.testing.assert_array_equal(got.vectors, [[1, 2], [3, 4]])


def test_parquet_detects_first_string_and_list_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"n": [1, 2], "word": ["a", "b"], "vec": [[1.0], [2.0]]})
    path = tmp_path / "t.pq"
    pq.write_table(table, path)
    got = read_embeddings(path)
    assert got.keys == ["a", "b"]
    np.testing.assert_array_equal(got.vectors, [[1.0], [2.0]])


def test_parquet_written_as_fixed_size_list_float32(tmp_path: Path, glove) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    vectors, words = glove
    path = tmp_path / "e.parquet"
    write_embeddings(path, vectors, words)
    assert pq.read_schema(path).field("vector").type == pa.list_(pa.float32(), 50)


def test_gensim_reads_our_word2vec_binary(tmp_path: Path, glove) -> None:
    gensim_models = pytest.importorskip("gensim.models")
    vectors, words = glove
    path = tmp_path / "e.bin"
    write_embeddings(path, vectors, words)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, vectors)


# gensim leaks a file handle when counting GloVe lines (its bug, not ours).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_gensim_reads_our_glove_text(tmp_path: Path, glove) -> None:
    gensim_models = pytest.importorskip("gensim.models")
    vectors, words = glove
    path = tmp_path / "g.txt"
    write_embeddings(path, vectors, words, format="glove")
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), no_header=True)
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensim_word2vec(tmp_path: Path, glove, binary: bool) -> None:
    gensim_models = pytest.importorskip("gensim.models")
    vectors, words = glove
    kv = gensim_models.KeyedVectors(50)
    kv.add_vectors(words, vectors)
    path = tmp_path / ("g.bin" if binary else "g.txt")
    kv.save_word2vec_format(str(path), binary=binary)
    got = read_embeddings(path)
    assert got.keys == words
    np.testing.assert_array_equal(got.vectors, vectors)
