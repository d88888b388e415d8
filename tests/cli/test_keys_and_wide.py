"""The command line reads the layouts users already have: ``.npy`` + ``--keys``, wide Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import error_line, vecae

from vecae.io import read_embeddings


@pytest.fixture
def npy_and_keys(tmp_path: Path, glove_words) -> tuple[Path, Path]:
    words, vectors = glove_words
    np.save(tmp_path / "v.npy", vectors)
    (tmp_path / "keys.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return tmp_path / "v.npy", tmp_path / "keys.txt"


def test_encode_npy_with_keys_keeps_the_keys(tmp_path, model_dir, npy_and_keys, glove_words):
    npy, keys = npy_and_keys
    run = vecae("encode", model_dir, npy, "--keys", keys, "-o", tmp_path / "z.parquet", "-q")
    assert run.exit_code == 0, run
    assert read_embeddings(tmp_path / "z.parquet").keys == glove_words[0]


def test_index_build_npy_with_keys_finds_words(tmp_path, model_dir, npy_and_keys):
    npy, keys = npy_and_keys
    run = vecae("index", "build", model_dir, npy, "--keys", keys, "-o", tmp_path / "ix", "-q")
    assert run.exit_code == 0, run
    from vecae.index import VectorIndex

    assert "king" in VectorIndex.load(tmp_path / "ix").keys


def test_keys_file_with_wrong_count_is_one_error_line(tmp_path, model_dir, npy_and_keys):
    npy, _ = npy_and_keys
    short = tmp_path / "short.txt"
    short.write_text("a\nb\n", encoding="utf-8")
    run = vecae("encode", model_dir, npy, "--keys", short, "-o", tmp_path / "z.npy")
    assert (
        error_line(run) == f"error: {short}: 2 keys for the {np.load(npy).shape[0]} rows of "
        "the vectors file"
    )


def test_encode_wide_parquet_from_pyarrow(tmp_path, model_dir, glove_words):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    words, vectors = glove_words
    table = pa.table({"word": words, **{f"f{j}": vectors[:, j] for j in range(vectors.shape[1])}})
    pq.write_table(table, tmp_path / "wide.parquet")
    run = vecae("encode", model_dir, tmp_path / "wide.parquet", "-o", tmp_path / "z.csv", "-q")
    assert run.exit_code == 0, run
    assert read_embeddings(tmp_path / "z.csv").keys == words
