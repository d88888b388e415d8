"""Anomaly scoring and thresholds on real vectors with planted outliers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import vecae
from vecae import Autoencoder, VariationalAutoencoder
from vecae.anomaly import score_anomalies


@pytest.fixture(scope="module")
def planted(glove_vectors):
    """3000 GloVe words plus 30 planted outliers: real vectors with their coordinates shuffled.

    Shuffling keeps each outlier's norm and value distribution but breaks the correlations
    between dimensions that real word vectors share.
    """
    rng = np.random.default_rng(0)
    normal = glove_vectors[:3000]
    outliers = np.array([rng.permutation(v) for v in glove_vectors[3000:3030]])
    X = np.vstack([normal, outliers]).astype(np.float32)
    y = np.r_[np.zeros(len(normal)), np.ones(len(outliers))]
    return X, y


@pytest.mark.parametrize("cls", [Autoencoder, VariationalAutoencoder])
def test_planted_outliers_rank_at_the_top(planted, cls):
    X, y = planted
    model = cls(latent_dim=16, epochs=60, random_state=0).fit(X)
    assert roc_auc_score(y, score_anomalies(model, X).scores) > 0.95


def test_top_lists_highest_scores_first(planted):
    X, _ = planted
    model = Autoencoder(latent_dim=8, hidden=(32,), epochs=5, random_state=0).fit(X)
    keys = [f"w{i}" for i in range(len(X))]
    top = score_anomalies(model, X, keys).top(5)
    scores = [score for _, score in top]
    assert scores == sorted(scores, reverse=True) and len(top) == 5


def test_contamination_flags_that_share_of_training_rows(planted):
    X, _ = planted
    model = Autoencoder(latent_dim=8, hidden=(32,), epochs=5, random_state=0).fit(X)
    assert score_anomalies(model, X, contamination=0.1).flags.mean() == pytest.approx(0.1, abs=0.01)


def test_explicit_threshold_overrides_the_fitted_one(planted):
    X, _ = planted
    model = Autoencoder(latent_dim=8, hidden=(32,), epochs=5, random_state=0).fit(X)
    report = score_anomalies(model, X, threshold=-1.0)
    assert report.flags.all() and report.threshold == -1.0


def test_threshold_for_survives_save_and_load(planted, tmp_path):
    X, _ = planted
    model = Autoencoder(latent_dim=8, hidden=(32,), epochs=5, random_state=0).fit(X)
    loaded = vecae.load(model.save(tmp_path / "m"))
    assert loaded.threshold_for(0.2) == model.threshold_for(0.2)
