"""``vecae anomalies INPUT``: the default detector fitted on the input, from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import error_line
from tests.cli.cli_helpers import vecae as run_vecae

from vecae import AnomalyDetector
from vecae.io import write_embeddings

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def cardio_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """ADBench cardio (1831 x 21, 176 labelled anomalies) as a .npy file."""
    with np.load(DATA / "6_cardio.npz", allow_pickle=False) as data:
        X, y = data["X"].astype(np.float32), data["y"].astype(int)
    path = tmp_path_factory.mktemp("detector") / "cardio.npy"
    write_embeddings(path, X)
    return path, X, y


@pytest.mark.slow
def test_input_alone_fits_the_default_detector(
    tmp_path: Path, cardio_file: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    path, X, _ = cardio_file
    out = tmp_path / "scores.csv"
    run = run_vecae("anomalies", path, "-o", out, "--seed", 1, "--threads", 1, "--json", "--quiet")
    assert run.exit_code == 0, run
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = AnomalyDetector(random_state=1, n_threads=1).fit(X)
    np.testing.assert_allclose([float(r["score"]) for r in rows], expected.decision_scores_)
    assert [int(r["flag"]) for r in rows] == expected.labels_.tolist()
    assert run.json()["flagged"] == int(expected.labels_.sum())


def test_contamination_out_of_range_is_one_error_line(
    tmp_path: Path, cardio_file: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    path, _, _ = cardio_file
    run = run_vecae("anomalies", path, "-o", tmp_path / "s.csv", "--contamination", 0.9)
    assert "--contamination" in error_line(run)
    assert not (tmp_path / "s.csv").exists()
