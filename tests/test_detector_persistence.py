"""A fitted AnomalyDetector saves as one artefact and scores identically after loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import vecae as run_vecae

from vecae import AnomalyDetector, ModelFileError, OutputExistsError
from vecae.io import write_embeddings


@pytest.fixture(scope="module")
def cardio_detector(cardio: tuple[np.ndarray, np.ndarray]) -> AnomalyDetector:
    X, _ = cardio
    return AnomalyDetector(n_estimators=2, epochs=5, knn_weight=0.3, random_state=0).fit(X)


def test_loaded_detector_scores_bit_identically(
    tmp_path: Path, cardio_detector: AnomalyDetector, cardio: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = cardio
    loaded = AnomalyDetector.load(cardio_detector.save(tmp_path / "det"))
    assert np.array_equal(loaded.decision_function(X), cardio_detector.decision_function(X))


def test_loaded_detector_keeps_threshold_and_labels(
    tmp_path: Path, cardio_detector: AnomalyDetector
) -> None:
    loaded = AnomalyDetector.load(cardio_detector.save(tmp_path / "det"))
    assert loaded.threshold_ == cardio_detector.threshold_
    assert np.array_equal(loaded.labels_, cardio_detector.labels_)


def test_detector_save_refuses_to_replace_a_model_directory(
    tmp_path: Path, cardio_detector: AnomalyDetector
) -> None:
    model_dir = cardio_detector.estimators_[0].save(tmp_path / "m")
    with pytest.raises(OutputExistsError, match="is not a vecae detector directory"):
        cardio_detector.save(model_dir, overwrite=True)


def test_tampered_member_count_is_a_model_file_error(
    tmp_path: Path, cardio_detector: AnomalyDetector
) -> None:
    path = cardio_detector.save(tmp_path / "det")
    config = json.loads((path / "config.json").read_text())
    config["n_members"] = 7
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="not a valid detector config"):
        AnomalyDetector.load(path)


@pytest.mark.slow
def test_cli_saved_detector_scores_new_data_like_the_fit(
    tmp_path: Path, glove: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove
    data = tmp_path / "words.txt"
    write_embeddings(data, vectors[:600], words[:600], format="glove")
    fit = run_vecae("anomalies", data, "-o", tmp_path / "a.csv", "--save-detector",
                    tmp_path / "det", "--quiet")  # fmt: skip
    assert fit.exit_code == 0, fit
    again = run_vecae("anomalies", tmp_path / "det", data, "-o", tmp_path / "b.csv", "--quiet")
    assert again.exit_code == 0, again
    a = (tmp_path / "a.csv").read_text().splitlines()
    b = (tmp_path / "b.csv").read_text().splitlines()
    assert a == b  # same keys, scores and flags from the saved detector


def test_a_version_1_detector_still_loads_and_scores_the_same(
    tmp_path: Path, cardio: tuple[np.ndarray, np.ndarray]
) -> None:
    # Version 1 knew neither the standardised error nor the latent term: it scored with the
    # members' own anomaly scores, which is what error="native", latent_weight=0 does now.
    X, _ = cardio
    detector = AnomalyDetector(
        n_estimators=2, epochs=3, error="native", latent_weight=0.0, random_state=0
    ).fit(X)
    path = detector.save(tmp_path / "det")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 1
    for key in ("error", "latent_weight"):
        del config["params"][key]
    for key in ("latent_scale_", "error_", "latent_weight_"):
        del config[key]
    (path / "config.json").write_text(json.dumps(config))
    loaded = AnomalyDetector.load(path)
    assert (loaded.error, loaded.latent_weight) == ("native", 0.0)
    assert np.array_equal(loaded.decision_function(X), detector.decision_function(X))
