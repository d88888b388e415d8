"""Fixtures for the command-line tests: real GloVe rows written to files, one tiny model.

Every command runs in-process through typer's ``CliRunner`` (stdout and stderr captured
apart); a few tests run the installed ``vecae`` script in a subprocess to see exactly what a
user sees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import LATENT, N_WORDS, vecae

from vecae.datasets import load_glove
from vecae.io import write_embeddings


@pytest.fixture(scope="session")
def glove_words() -> tuple[list[str], np.ndarray]:
    """The 2000 most frequent GloVe 6B 50d words and their vectors (C-ordered float32)."""
    words, vectors = load_glove(N_WORDS + 50)
    return [str(w) for w in words], np.ascontiguousarray(vectors, dtype=np.float32)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


@pytest.fixture(scope="session")
def glove_txt(data_dir: Path, glove_words: tuple[list[str], np.ndarray]) -> Path:
    """GloVe text (no header) with the first 2000 words."""
    words, vectors = glove_words
    path = data_dir / "glove2000.txt"
    write_embeddings(path, vectors[:N_WORDS], words[:N_WORDS], format="glove")
    return path


@pytest.fixture(scope="session")
def model_dir(data_dir: Path, glove_txt: Path) -> Path:
    """A VAE fitted by ``vecae fit`` on the GloVe slice (2 epochs, 8-d)."""
    path = data_dir / "model"
    run = vecae(
        "fit", glove_txt, "-o", path, "--epochs", 2, "--latent-dim", LATENT, "--seed", 0, "--quiet"
    )
    assert run.exit_code == 0, run
    return path


@pytest.fixture(scope="session")
def index_dir(data_dir: Path, model_dir: Path, glove_txt: Path) -> Path:
    """A flat cosine index over the model's encodings of the GloVe slice."""
    path = data_dir / "index"
    run = vecae("index", "build", model_dir, glove_txt, "-o", path, "--quiet")
    assert run.exit_code == 0, run
    return path
