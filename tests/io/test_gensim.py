"""The word2vec family's whole-file reads and writes go through gensim's KeyedVectors.

Also: gensim's conventions (no newline after binary records, trailing spaces in .vec) and
the C tool's (a newline after every record) are read; gensim's silent acceptances are
caught; gensim's messages, log records and warnings never reach the user.
"""

from __future__ import annotations

import gc
import logging
import sys
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vecae._exceptions import InputError, MissingDependencyError
from vecae.io import (
    DuplicateKeyWarning,
    EmbeddingWriter,
    iter_embeddings,
    read_embeddings,
    write_embeddings,
)
from vecae.io._text import BinaryReader, TextReader

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors

WORD_FORMATS = {"word2vec": ".txt", "word2vec-binary": ".bin", "glove": ".txt", "fasttext": ".vec"}


# gensim leaks a file handle when it loads GloVe itself (its bug; our reads hide it).
def _leak_ok(test: Any) -> Any:
    test = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")(test)
    return pytest.mark.filterwarnings("ignore::ResourceWarning")(test)


@pytest.fixture
def gensim_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count calls to gensim's load/save, still running gensim's own code."""
    calls = {"load": 0, "save": 0}
    load, save = KeyedVectors.load_word2vec_format.__func__, KeyedVectors.save_word2vec_format

    def counting_load(cls: Any, *args: Any, **kwargs: Any) -> Any:
        calls["load"] += 1
        return load(cls, *args, **kwargs)

    def counting_save(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["save"] += 1
        return save(self, *args, **kwargs)

    monkeypatch.setattr(KeyedVectors, "load_word2vec_format", classmethod(counting_load))
    monkeypatch.setattr(KeyedVectors, "save_word2vec_format", counting_save)
    return calls


@pytest.fixture
def no_streaming_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make our own word2vec-family parser unusable, to prove gensim did the reading."""

    def refuse(self: Any, batch_size: int) -> Iterator[Any]:
        raise AssertionError("the streaming parser was used")

    monkeypatch.setattr(TextReader, "batches", refuse)
    monkeypatch.setattr(BinaryReader, "batches", refuse)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _kv(vectors: np.ndarray, words: list[str]) -> Any:
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


# ------------------------------------------------------------------ gensim does the job


@pytest.mark.parametrize("fmt", list(WORD_FORMATS))
def test_whole_file_read_is_gensim(
    tmp_path: Path, glove, fmt: str, gensim_calls: dict[str, int], no_streaming_parser: None
) -> None:
    vectors, words = glove
    path = tmp_path / f"e{WORD_FORMATS[fmt]}"
    write_embeddings(path, vectors, words, format=fmt)
    assert gensim_calls["save"] >= 1
    got = read_embeddings(path, fmt)
    assert gensim_calls["load"] == 1
    assert got.keys == words
    assert got.vectors.dtype == np.float32 and got.vectors.flags.c_contiguous
    np.testing.assert_array_equal(got.vectors, vectors)


@pytest.mark.parametrize("fmt", list(WORD_FORMATS))
@_leak_ok
def test_streaming_writer_is_gensim_too(
    tmp_path: Path, glove, fmt: str, gensim_calls: dict[str, int]
) -> None:
    vectors, words = glove
    path = tmp_path / f"e{WORD_FORMATS[fmt]}"
    with EmbeddingWriter(path, fmt, 50, True) as writer:  # no hint: body to scratch
        for start in range(0, len(words), 64):
            writer.write(words[start : start + 64], vectors[start : start + 64])
    assert gensim_calls["save"] == 4
    kv = KeyedVectors.load_word2vec_format(
        str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove"
    )
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, vectors)


def test_iter_embeddings_does_not_use_gensim(
    tmp_path: Path, glove, gensim_calls: dict[str, int]
) -> None:
    vectors, words = glove
    path = tmp_path / "e.txt"
    write_embeddings(path, vectors, words)
    keys = [k for ks, _ in iter_embeddings(path, batch_size=50) for k in ks]
    assert keys == words
    assert gensim_calls["load"] == 0


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_file_read_by_gensim(
    tmp_path: Path, glove, binary: bool, no_streaming_parser: None
) -> None:
    vectors, words = glove
    path = tmp_path / ("g.bin" if binary else "g.txt")
    _kv(vectors, words).save_word2vec_format(str(path), binary=binary)
    got = read_embeddings(path)
    assert got.keys == words
    np.testing.assert_array_equal(got.vectors, vectors)


def test_c_tool_binary_with_newlines(tmp_path: Path, glove, no_streaming_parser: None) -> None:
    """The original word2vec.c writes a newline after every record; gensim does not."""
    vectors, words = glove
    path = tmp_path / "c.bin"
    body = b"".join(
        w.encode() + b" " + v.astype("<f4").tobytes() + b"\n"
        for w, v in zip(words, vectors, strict=True)
    )
    path.write_bytes(f"{len(words)} 50\n".encode() + body)
    got = read_embeddings(path)
    assert got.keys == words
    np.testing.assert_array_equal(got.vectors, vectors)


def test_fasttext_vec_with_trailing_spaces(tmp_path: Path, no_streaming_parser: None) -> None:
    path = _write(tmp_path, "f.vec", "2 3\nthe 1 2 3 \n, 4 5 6 \n")
    got = read_embeddings(path)
    assert got.keys == ["the", ","]
    np.testing.assert_array_equal(got.vectors, [[1, 2, 3], [4, 5, 6]])


@_leak_ok
def test_our_files_load_in_gensim(tmp_path: Path, glove) -> None:
    vectors, words = glove
    for fmt, suffix in WORD_FORMATS.items():
        path = tmp_path / f"{fmt}{suffix}"
        write_embeddings(path, vectors, words, format=fmt)
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove"
        )
        assert kv.index_to_key == words
        np.testing.assert_array_equal(kv.vectors, vectors)


# ----------------------------------------------------- what gensim accepts, we check


def test_one_value_row_is_not_broadcast(tmp_path: Path) -> None:
    # gensim assigns [1.0] into a row of 3 and NumPy broadcasts it.
    path = _write(tmp_path, "w.txt", "2 3\na 1\nb 3 4 5\n")
    with pytest.raises(InputError, match=r"line 2: expected 3 values .* found 1"):
        read_embeddings(path)


def test_constant_rows_still_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "2 3\n</s> 0 0 0\nb 3 4 5\n")
    got = read_embeddings(path)
    assert got.keys == ["</s>", "b"]
    np.testing.assert_array_equal(got.vectors, [[0, 0, 0], [3, 4, 5]])


def test_blank_lines_still_read(tmp_path: Path) -> None:
    # gensim fails on a blank line; the streaming parser skips it, as before.
    path = _write(tmp_path, "g.txt", "a 1 2\n\nb 3 4\n\n")
    got = read_embeddings(path)
    assert got.keys == ["a", "b"]


def test_binary_duplicate_keys_warn_and_keep_first(tmp_path: Path) -> None:
    # gensim keeps the first too, but leaves a zero row keyed None in its place.
    path = tmp_path / "d.bin"
    rows = [(b"a", 1), (b"b", 2), (b"a", 3)]
    body = b"".join(k + b" " + np.full(2, v, dtype="<f4").tobytes() for k, v in rows)
    path.write_bytes(b"3 2\n" + body)
    with pytest.warns(DuplicateKeyWarning, match=r"row 3: duplicate key 'a'"):
        got = read_embeddings(path)
    assert got.keys == ["a", "b"]
    np.testing.assert_array_equal(got.vectors, [[1, 1], [2, 2]])


def test_binary_trailing_garbage(tmp_path: Path) -> None:
    path = tmp_path / "t.bin"
    write_embeddings(path, np.ones((2, 3), dtype=np.float32), ["a", "b"])
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(InputError, match=r"row 3: data after the 2 rows"):
        read_embeddings(path)


def test_header_count_zero(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.txt", "0 3\n")
    with pytest.raises(InputError, match="no vectors"):
        read_embeddings(path)


# ------------------------------------------------------------- gensim stays invisible


@pytest.mark.parametrize(
    "text",
    [
        "3 2\na 1 2\nb 3 4\n",  # gensim: EOFError "unexpected end of input"
        "2 3\na 1 2\nb 3 4\n",  # gensim: NumPy broadcast error
        "2 2\na 1 2\nb 3 x\n",  # gensim: "could not convert string to float"
    ],
)
def test_gensim_messages_never_reach_the_user(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "w.txt", text)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InputError) as info:
        read_embeddings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line ")
    chain: BaseException | None = info.value
    while chain is not None:  # no exception of gensim's is chained to ours
        assert not type(chain).__module__.startswith("gensim")
        assert "site-packages/gensim" not in "".join(f.filename for f in _frames(chain))
        chain = chain.__cause__ or chain.__context__
    for gensim_words in ("unexpected end", "broadcast", "could not convert"):
        assert gensim_words not in message
    assert not [r for r in caplog.records if r.name.startswith(("gensim", "smart_open"))]


def _frames(exc: BaseException) -> list[Any]:
    import traceback

    return list(traceback.extract_tb(exc.__traceback__))


def test_no_gensim_logs_or_warnings_on_success(
    tmp_path: Path, glove, caplog: pytest.LogCaptureFixture
) -> None:
    vectors, words = glove
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fmt, suffix in WORD_FORMATS.items():
            path = tmp_path / f"{fmt}{suffix}"
            write_embeddings(path, vectors, words, format=fmt)
            read_embeddings(path, fmt)
        # gensim's GloVe loader leaks a file handle; it must be gone before we return.
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert not [r for r in caplog.records if r.name.startswith(("gensim", "smart_open"))]


def test_glove_error_leaks_no_file_handle(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError, match="line 2:"):
            read_embeddings(path)
        gc.collect()
    assert [str(w.message) for w in caught] == []


# ------------------------------------------------------------------------ memory


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
def test_whole_read_holds_the_matrix_once(tmp_path: Path, glove, fmt: str) -> None:
    vectors, words = glove
    wide = np.tile(vectors, (20, 6))  # 4,000 x 300 float32: 4.8 MB as an array
    keys = [f"{w}_{i}" for i in range(20) for w in words]
    path = tmp_path / f"e{WORD_FORMATS[fmt]}"
    write_embeddings(path, wide, keys, format=fmt)
    matrix = wide.nbytes
    tracemalloc.start()
    try:
        got = read_embeddings(path, fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got.vectors, wide)
    # One matrix, plus the keys and gensim's key index (~0.4 MB here) and constant-size
    # read buffers (1 MiB chunks); not the file's text (13 MB for word2vec) nor a second
    # copy of the matrix (4.8 MB).
    assert peak < 1.1 * matrix + 3_000_000


def test_whole_write_does_not_copy_the_matrix(tmp_path: Path) -> None:
    # Memory is bounded by one batch (8192 rows; gensim's add_vectors copies it ~3 times).
    wide = np.random.default_rng(0).standard_normal((80_000, 200)).astype(np.float32)
    keys = [f"k{i}" for i in range(80_000)]
    tracemalloc.start()
    try:
        write_embeddings(tmp_path / "e.bin", wide, keys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < wide.nbytes / 2


# ------------------------------------------------------------------- optional extra


def test_without_gensim_whole_reads_explain_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "g.txt", "a 1 2\nb 3 4\n")
    monkeypatch.setitem(sys.modules, "gensim", None)  # makes `import gensim` fail
    with pytest.raises(MissingDependencyError, match=r"vecae\[io\]"):
        read_embeddings(path)
    with pytest.raises(MissingDependencyError, match=r"vecae\[io\]"):
        write_embeddings(tmp_path / "o.txt", np.ones((1, 2)), ["a"])
    # Streaming reads use our own parser and need no extra.
    assert [k for ks, _ in iter_embeddings(path) for k in ks] == ["a", "b"]
