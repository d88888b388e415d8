"""Streaming keeps memory bounded; formats are detected from extension and header."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from vecae._exceptions import InputError
from vecae.io import detect_format, iter_embeddings, read_embeddings


def test_npy_stream_equals_read(glove_big_npy: Path) -> None:
    whole = read_embeddings(glove_big_npy).vectors
    stream = iter_embeddings(glove_big_npy, batch_size=50_000)
    assert (stream.n_rows, stream.dim, stream.has_keys) == (250_000, 50, False)
    start = 0
    for keys, batch in stream:
        assert keys is None
        np.testing.assert_array_equal(batch, whole[start : start + len(batch)])
        start += len(batch)
    assert start == 250_000


def test_npy_stream_batches_are_memmap_views(glove_big_npy: Path) -> None:
    _, batch = next(iter(iter_embeddings(glove_big_npy, batch_size=1000)))
    assert isinstance(batch.base, np.memmap) or isinstance(batch, np.memmap)


def test_npy_stream_peak_memory_far_below_file_size(glove_big_npy: Path) -> None:
    size = glove_big_npy.stat().st_size
    assert size > 45_000_000
    tracemalloc.start()
    try:
        total = 0.0
        for _, batch in iter_embeddings(glove_big_npy, batch_size=8192):
            total += float(batch[:, 0].sum())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(total)
    assert peak < size / 20


def test_text_stream_peak_memory_below_file_size(tmp_path: Path, glove) -> None:
    vectors, words = glove
    path = tmp_path / "g.txt"
    body = [f" {' '.join(map(str, row))}\n" for row in vectors]
    with path.open("w") as f:
        for repeat in range(100):  # 20,000 rows, about 8.6 MB
            f.writelines(f"{w}_{repeat}{b}" for w, b in zip(words, body, strict=True))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        rows = sum(len(b) for _, b in iter_embeddings(path, batch_size=256))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 20_000
    # What remains is one batch plus the set of keys seen (needed to drop duplicates),
    # which grows with the number of keys but not with the dimension.
    assert peak < size / 1.5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.bin", "word2vec-binary"),
        ("a.vec", "fasttext"),
        ("a.npy", "npy"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.csv", "csv"),
        ("a.tsv", "tsv"),
        ("a.tab", "tsv"),
        ("A.CSV", "csv"),
    ],
)
def test_detect_from_extension(name: str, expected: str) -> None:
    assert detect_format(name) == expected


def test_detect_txt_with_header_is_word2vec(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("2 3\na 1 2 3\nb 4 5 6\n")
    assert detect_format(path) == "word2vec"


def test_detect_txt_without_header_is_glove(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("a 1 2 3\nb 4 5 6\n")
    assert detect_format(path) == "glove"


def test_detect_sparse_npz(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    sp.save_npz(path, sp.csr_matrix(np.eye(2)))
    assert detect_format(path) == "sparse-npz"


def test_detect_dense_npz(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, vectors=np.eye(2))
    assert detect_format(path) == "npz"


def test_format_argument_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "a.data"
    path.write_text("a 1 2\n")
    assert detect_format(path, "glove") == "glove"
    assert read_embeddings(path, "glove").keys == ["a"]


def test_unknown_format_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown format 'hdf5'"):
        detect_format(tmp_path / "a.npy", "hdf5")


def test_unknown_extension_names_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"a\.weird"):
        detect_format(tmp_path / "a.weird")


def test_fasttext_bin_model_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\xba\x16\x4f\x2f\x0c\x00\x00\x00" * 8)
    with pytest.raises(InputError, match=r"line 1: .*fastText"):
        read_embeddings(path)
