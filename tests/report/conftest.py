"""A fitted model, its data and an evaluation, shared by the report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def report_model(
    glove: tuple[list[str], np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Path]:
    """A VAE on the 4000 GloVe words (long enough to stop early or change its rate), saved."""
    from vecae import VariationalAutoencoder

    model = VariationalAutoencoder(latent_dim=8, epochs=8, random_state=0).fit(glove[1])
    return model, model.save(tmp_path_factory.mktemp("report") / "model")


@pytest.fixture(scope="session")
def evaluation(report_model: tuple[Any, Path], glove: tuple[list[str], np.ndarray]) -> Any:
    from vecae.evaluate import evaluate

    return evaluate(
        report_model[0], glove[1], keys=glove[0], tasks=["intrinsic", "wordsim"], n_eval=400
    )


@pytest.fixture(scope="session")
def report_html(
    report_model: tuple[Any, Path], glove: tuple[list[str], np.ndarray], evaluation: Any
) -> str:
    from vecae.report import build_report

    model, model_dir = report_model
    return build_report(
        model, glove[1], glove[0], evaluation=evaluation, model_dir=model_dir, max_points=1000
    )
