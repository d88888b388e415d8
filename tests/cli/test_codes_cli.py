"""``vecae fit --objective/--nested-dims`` and ``vecae encode --dim/--precision``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import N_WORDS, error_line, vecae

import vecae as vecae_lib


@pytest.fixture(scope="module")
def nested_model(tmp_path_factory: pytest.TempPathFactory, glove_txt: Path) -> Path:
    out = tmp_path_factory.mktemp("codes") / "model"
    run = vecae(
        "fit", glove_txt, "-o", out, "--latent-dim", 16, "--objective", "similarity",
        "--nested-dims", "8", "--epochs", 1, "--batch-size", 256, "--seed", 0, "--quiet",
    )  # fmt: skip
    assert run.exit_code == 0, run
    return out


def test_fit_stores_objective_and_nested_sizes(nested_model: Path) -> None:
    model = vecae_lib.load(nested_model)
    assert model.objective == "similarity"
    assert model.nested_dims_ == (16, 8)


@pytest.mark.parametrize(
    ("args", "dtype", "width"),
    [
        (["--precision", "binary"], np.uint8, 2),
        (["--precision", "binary", "--dim", "8"], np.uint8, 1),
        (["--precision", "int8", "--dim", "8"], np.int8, 8),
        (["--precision", "float16"], np.float16, 16),
    ],
)
def test_encode_writes_codes_of_the_asked_precision(
    nested_model: Path, glove_txt: Path, tmp_path: Path, args: list[str], dtype: type, width: int
) -> None:
    out = tmp_path / "codes.npy"
    run = vecae("encode", nested_model, glove_txt, "-o", out, *args, "--quiet")
    assert run.exit_code == 0, run
    codes = np.load(out)
    assert codes.dtype == dtype and codes.shape == (N_WORDS, width)


def test_encode_dim_gives_the_unit_length_prefix(
    nested_model: Path, glove_txt: Path, glove_words: tuple[list[str], np.ndarray], tmp_path: Path
) -> None:
    out = tmp_path / "codes8.npz"
    assert vecae("encode", nested_model, glove_txt, "-o", out, "--dim", 8, "--quiet").exit_code == 0
    with np.load(out) as data:
        written = data["vectors"] if "vectors" in data else data[data.files[0]]
    expected = vecae_lib.load(nested_model).transform(glove_words[1][:N_WORDS], dim=8)
    np.testing.assert_allclose(written, expected, rtol=1e-5, atol=1e-6)


def test_bits_must_fill_whole_bytes(nested_model: Path, glove_txt: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.npy"
    run = vecae("encode", nested_model, glove_txt, "-o", out, "--precision", "binary", "--dim", 12)
    assert "multiple of 8" in error_line(run)
    assert not out.exists()


def test_quantised_codes_refuse_text_formats(
    nested_model: Path, glove_txt: Path, tmp_path: Path
) -> None:
    run = vecae("encode", nested_model, glove_txt, "-o", tmp_path / "c.txt", "--precision", "int8")
    assert ".npy, .npz or .parquet" in error_line(run)
