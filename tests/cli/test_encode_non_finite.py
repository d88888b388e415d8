"""``vecae encode`` and NaN/Inf (issue 13): who checks, and how a bad row is named.

A model whose ``transform`` runs the folded encoder checks NaN/Inf on its first layer's
output, so the reader's own screen is skipped for it; otherwise the reader screens as before.
Either way a bad row gives one ``error:`` line with the file and the row in the file's own
numbering (1-based, as the reader counts), exit status 1, and no output file.

The models are fitted on the 4,000 most frequent GloVe words, centred (their raw mean is 4.3
standard deviations from zero in one feature, too far to fold); 10,000 rows (the words tiled)
make two 8192-row batches, so row 9002 lies in the second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import error_line, vecae

from vecae import Autoencoder
from vecae import load as vecae_load
from vecae.cli._loading import _folds
from vecae.io import iter_embeddings

BAD_ROW = 9001  # 0-based; the reader calls it row 9002


@pytest.fixture(scope="module")
def centred(glove_vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(glove_vectors - glove_vectors.mean(axis=0), dtype=np.float32)


@pytest.fixture(scope="module")
def rows(centred: np.ndarray) -> np.ndarray:
    """10,000 real rows: two batches of ``vecae encode``."""
    return np.ascontiguousarray(np.resize(centred, (10_000, centred.shape[1])))


def _saved(model: Autoencoder, X: np.ndarray, path: Path) -> Path:
    model.fit(X)
    model.save(path)
    return path


@pytest.fixture(scope="module")
def folded_dir(tmp_path_factory: pytest.TempPathFactory, centred: np.ndarray) -> Path:
    """A model whose ``transform`` folds (so the reader's screen is skipped)."""
    model = Autoencoder(latent_dim=8, epochs=1, random_state=0)
    return _saved(model, centred, tmp_path_factory.mktemp("folded") / "model")


def _bad_npy(tmp_path: Path, X: np.ndarray, bad: float) -> Path:
    X = X.copy()
    X[BAD_ROW, 7] = bad
    path = tmp_path / "bad.npy"
    np.save(path, X)
    return path


def _fails_on_row_9002(model_dir: Path, src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.npy"
    run = vecae("encode", model_dir, src, "-o", out, "--quiet")
    line = error_line(run)  # one line, no traceback
    assert run.exit_code == 1
    assert f"{src}: row {BAD_ROW + 1}: non-finite value" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]  # no output, no temp file


def test_the_folded_model_takes_over_the_check(folded_dir: Path) -> None:
    assert _folds(vecae_load(folded_dir))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_folded_model_names_a_bad_row_in_a_later_batch_by_its_file_row(
    tmp_path: Path, folded_dir: Path, rows: np.ndarray, bad: float
) -> None:
    _fails_on_row_9002(folded_dir, _bad_npy(tmp_path, rows, bad), tmp_path)


def test_folded_model_names_a_float64_value_beyond_float32(
    tmp_path: Path, folded_dir: Path, rows: np.ndarray
) -> None:
    X = rows.astype(np.float64)
    X[BAD_ROW, 3] = 1e300  # finite in the file, infinite once read as float32
    src = tmp_path / "wide.npy"
    np.save(src, X)
    _fails_on_row_9002(folded_dir, src, tmp_path)


def test_folded_encode_equals_transform_of_the_file(
    tmp_path: Path, folded_dir: Path, rows: np.ndarray
) -> None:
    src, out = tmp_path / "x.npy", tmp_path / "z.npy"
    np.save(src, rows)
    assert vecae("encode", folded_dir, src, "-o", out, "--quiet").exit_code == 0
    model = vecae_load(folded_dir)
    np.testing.assert_array_equal(np.load(out), model.transform(src))


def test_folded_model_still_reports_a_bad_row_dropped_as_a_duplicate_key(
    tmp_path: Path, folded_dir: Path, rows: np.ndarray
) -> None:
    # The repeated key's row is dropped before the model sees the batch: the reader screens
    # that batch itself, so the file is refused as it was when the reader screened them all.
    X = rows[:100].copy()
    X[60, 2] = np.nan
    keys = [f"k{i}" for i in range(100)]
    keys[60] = "k3"
    src = tmp_path / "dups.npz"
    np.savez(src, vectors=X, keys=np.array(keys))
    run = vecae("encode", folded_dir, src, "-o", tmp_path / "out.npz", "--quiet")
    assert run.exit_code == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert f"{src}: row 61: non-finite value" in errors[0]
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("kind", ["normalize", "shifted"])
def test_unfolded_model_keeps_the_reader_screen_and_names_the_file_row(
    tmp_path_factory: pytest.TempPathFactory, centred: np.ndarray, rows: np.ndarray, kind: str
) -> None:
    if kind == "normalize":
        model = Autoencoder(latent_dim=8, epochs=1, normalize=True, random_state=0)
        train, X = centred, rows
    else:  # a mean far from zero against the spread: summing raw values would lose precision
        train, X = centred + np.float32(50.0), rows + np.float32(50.0)
        model = Autoencoder(latent_dim=8, epochs=1, random_state=0)
    model_dir = _saved(model, train, tmp_path_factory.mktemp("unfolded") / "model")
    assert not _folds(model)
    tmp_path = tmp_path_factory.mktemp("data")
    _fails_on_row_9002(model_dir, _bad_npy(tmp_path, X, np.nan), tmp_path)


def test_a_stream_leaves_the_check_to_a_function_that_does_it(tmp_path: Path) -> None:
    vectors = np.ones((5, 3), dtype=np.float32)
    vectors[3, 1] = np.nan
    np.save(tmp_path / "v.npy", vectors)
    stream = iter_embeddings(tmp_path / "v.npy", batch_size=2)
    results = [fn_out for _, _, fn_out in stream.map_batches(len, fn_checks_finite=True)]
    assert results == [2, 2, 1]  # the NaN reached the function: nothing screened it
