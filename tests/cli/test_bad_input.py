"""Bad input (issue 3): one ``error:`` line naming the file and the line or row, a non-zero
exit status, no traceback, and no output file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import N_WORDS, error_line, glove_lines, vecae, write_lines

from vecae.io import read_embeddings, write_embeddings


@pytest.fixture
def rows(glove_words: tuple[list[str], np.ndarray]) -> list[str]:
    """Six real GloVe lines (no header)."""
    words, vectors = glove_words
    return glove_lines(words[:6], vectors[:6])


def encode_fails(model_dir: Path, src: Path, tmp_path: Path) -> str:
    """Run encode on ``src``; check that it failed cleanly and wrote nothing."""
    out = tmp_path / "out.txt"
    line = error_line(vecae("encode", model_dir, src, "-o", out, "--quiet"))
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]  # no temp files either
    return line


def test_empty_file(tmp_path: Path, model_dir: Path) -> None:
    src = write_lines(tmp_path / "empty.txt", [])
    line = encode_fails(model_dir, src, tmp_path)
    assert str(src) in line
    assert "empty" in line


def test_ragged_row_names_the_line(tmp_path: Path, model_dir: Path, rows: list[str]) -> None:
    rows[3] = " ".join(rows[3].split()[:-1])  # line 4 loses its last value
    src = write_lines(tmp_path / "ragged.txt", rows)
    line = encode_fails(model_dir, src, tmp_path)
    assert f"{src}: line 4" in line


def test_non_numeric_value_names_the_line(tmp_path: Path, model_dir: Path, rows: list[str]) -> None:
    parts = rows[1].split()
    parts[7] = "abc"
    rows[1] = " ".join(parts)
    src = write_lines(tmp_path / "text.txt", rows)
    line = encode_fails(model_dir, src, tmp_path)
    assert f"{src}: line 2" in line
    assert "abc" in line


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity"])
def test_non_finite_value_names_the_line(
    tmp_path: Path, model_dir: Path, rows: list[str], bad: str
) -> None:
    parts = rows[4].split()
    parts[3] = bad
    rows[4] = " ".join(parts)
    src = write_lines(tmp_path / "nan.txt", rows)
    line = encode_fails(model_dir, src, tmp_path)
    assert f"{src}: line 5" in line
    assert "non-finite" in line


def test_header_overstating_the_count(tmp_path: Path, model_dir: Path, rows: list[str]) -> None:
    src = write_lines(tmp_path / "w2v.txt", ["9 50", *rows])
    line = encode_fails(model_dir, src, tmp_path)
    assert str(src) in line
    assert "9" in line and "6" in line


def test_header_lying_about_the_dimension(tmp_path: Path, model_dir: Path, rows: list[str]) -> None:
    src = write_lines(tmp_path / "w2v.txt", ["6 40", *rows])
    line = encode_fails(model_dir, src, tmp_path)
    assert f"{src}: line 2" in line
    assert "40" in line


def test_truncated_word2vec_binary(
    tmp_path: Path, model_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words
    src = tmp_path / "vectors.bin"
    write_embeddings(src, vectors[:20], words[:20])
    data = src.read_bytes()
    src.write_bytes(data[: len(data) - 100])  # the last vector is cut short
    line = encode_fails(model_dir, src, tmp_path)
    assert str(src) in line
    assert "row 20" in line or "truncated" in line


def test_dimension_not_matching_the_model(
    tmp_path: Path, model_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words
    src = tmp_path / "narrow.txt"
    write_embeddings(src, vectors[:10, :49], words[:10], format="glove")
    line = encode_fails(model_dir, src, tmp_path)
    assert str(src) in line
    assert "49" in line and "50" in line


def test_missing_input(tmp_path: Path, model_dir: Path) -> None:
    missing = tmp_path / "nope.txt"
    line = error_line(vecae("encode", model_dir, missing, "-o", tmp_path / "o.txt"))
    assert f"{missing}: file not found" in line
    assert list(tmp_path.iterdir()) == []


def test_directory_as_input(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    line = error_line(vecae("encode", model_dir, folder, "-o", tmp_path / "o.txt"))
    assert f"{folder}: not a regular file" in line
    assert not (tmp_path / "o.txt").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_input(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    src = tmp_path / "secret.txt"
    src.write_bytes(glove_txt.read_bytes())
    src.chmod(0)
    line = error_line(vecae("encode", model_dir, src, "-o", tmp_path / "o.txt"))
    assert str(src) in line and "permission" in line


def test_missing_model_dir(tmp_path: Path, glove_txt: Path) -> None:
    missing = tmp_path / "no-model"
    line = error_line(vecae("encode", missing, glove_txt, "-o", tmp_path / "o.txt"))
    assert str(missing) in line
    assert not (tmp_path / "o.txt").exists()


def test_existing_output_is_refused(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    out = write_lines(tmp_path / "out.txt", ["keep me"])
    line = error_line(vecae("encode", model_dir, glove_txt, "-o", out))
    assert f"{out}: output already exists; pass --overwrite" in line
    assert out.read_text() == "keep me\n"


def test_overwrite_replaces_the_output(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    out = write_lines(tmp_path / "out.txt", ["old"])
    run = vecae("encode", model_dir, glove_txt, "-o", out, "--overwrite", "--quiet")
    assert run.exit_code == 0, run
    assert len(read_embeddings(out)) == N_WORDS


def test_fit_refuses_an_existing_model_dir(tmp_path: Path, glove_txt: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "mine").write_text("x")
    line = error_line(vecae("fit", glove_txt, "-o", target, "--epochs", 1))
    assert f"{target}: model directory already exists; pass --overwrite" in line
    assert [p.name for p in target.iterdir()] == ["mine"]


def test_fit_on_bad_input_writes_no_model(tmp_path: Path, rows: list[str]) -> None:
    rows[2] = rows[2].replace(rows[2].split()[5], "nan", 1)
    src = write_lines(tmp_path / "bad.txt", rows)
    line = error_line(vecae("fit", src, "-o", tmp_path / "model", "--epochs", 1))
    assert f"{src}: line 3" in line
    assert not (tmp_path / "model").exists()


def test_duplicate_keys_warn_and_keep_the_first(
    tmp_path: Path, model_dir: Path, rows: list[str]
) -> None:
    word = rows[0].split()[0]
    other = rows[2].split(maxsplit=1)[1]
    src = write_lines(tmp_path / "dups.txt", [*rows, f"{word} {other}"])
    out = tmp_path / "out.parquet"
    run = vecae("encode", model_dir, src, "-o", out, "--quiet")
    assert run.exit_code == 0, run
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert str(src) in warnings[0] and "duplicate key" in warnings[0]
    encoded = read_embeddings(out)
    assert encoded.keys == [r.split()[0] for r in rows]
    clean = tmp_path / "clean.parquet"
    write_lines(tmp_path / "clean.txt", rows)
    assert vecae("encode", model_dir, tmp_path / "clean.txt", "-o", clean, "--quiet").exit_code == 0
    np.testing.assert_array_equal(encoded.vectors, read_embeddings(clean).vectors)


def test_unknown_output_format(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    out = tmp_path / "out.txt"
    line = error_line(vecae("encode", model_dir, glove_txt, "-o", out, "--format", "xml"))
    assert "xml" in line
    assert not out.exists()
