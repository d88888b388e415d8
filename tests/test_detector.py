"""AnomalyDetector on real tabular data (ADBench cardio and breastw, in tests/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from vecae import AnomalyDetector, DimensionMismatchError, InputError

SMALL = {"n_estimators": 2, "epochs": 15, "max_samples": 1024, "n_threads": 1}
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def breastw():
    """ADBench breastw: 683 x 9 tabular rows with anomaly labels."""
    with np.load(DATA / "4_breastw.npz", allow_pickle=False) as data:
        return data["X"].astype(np.float32), data["y"].astype(int)


@pytest.fixture(scope="module")
def cardio_fitted(cardio):
    X, _ = cardio
    return AnomalyDetector(**SMALL, random_state=0).fit(X)


def test_predict_agrees_with_decision_function_above_threshold(cardio, cardio_fitted):
    X, _ = cardio
    expected = (cardio_fitted.decision_function(X[:300]) > cardio_fitted.threshold_).astype(int)
    np.testing.assert_array_equal(cardio_fitted.predict(X[:300]), expected)


def test_labels_flag_the_contamination_share_of_training_rows(cardio_fitted):
    flagged = cardio_fitted.labels_
    assert set(np.unique(flagged)) == {0, 1}
    assert flagged.mean() == pytest.approx(0.1, abs=0.01)  # PyOD's default contamination
    np.testing.assert_array_equal(
        flagged, (cardio_fitted.decision_scores_ > cardio_fitted.threshold_).astype(int)
    )


def test_scores_rank_real_anomalies_high(cardio, cardio_fitted):
    _, y = cardio
    assert roc_auc_score(y, cardio_fitted.decision_scores_) > 0.8


def test_ensemble_is_deterministic_for_a_random_state(breastw):
    X, _ = breastw
    first = AnomalyDetector(**SMALL, random_state=3).fit(X)
    second = AnomalyDetector(**SMALL, random_state=3).fit(X)
    np.testing.assert_array_equal(first.decision_scores_, second.decision_scores_)
    np.testing.assert_array_equal(first.decision_function(X), second.decision_function(X))


def test_members_differ_within_an_ensemble(breastw):
    X, _ = breastw
    detector = AnomalyDetector(**SMALL, random_state=0).fit(X)
    a, b = (m.anomaly_score(X) for m in detector.estimators_)
    assert not np.allclose(a, b)


@pytest.mark.slow
def test_robust_training_drops_planted_outliers(cardio):
    """Plant 40 outliers among cardio's real inliers: inlier rows with their 21 values shuffled
    across columns (each row keeps its values, but they land in the wrong features). Trimming
    must drop them from the members' final training rows far more often than inliers."""
    X, y = cardio
    inliers = X[y == 0]
    rng = np.random.default_rng(0)
    source = inliers[rng.choice(len(inliers), 40, replace=False)]
    planted = np.array([rng.permutation(row) for row in source])
    data = np.vstack([inliers, planted]).astype(np.float32)
    is_planted = np.r_[np.zeros(len(inliers), bool), np.ones(len(planted), bool)]
    params = {**SMALL, "member": "ae", "epochs": 100, "max_samples": 4096, "trim": 0.1}
    detector = AnomalyDetector(**params, random_state=0).fit(data)
    kept = np.zeros(len(data))
    for rows in detector.training_rows_:
        kept[rows] += 1 / len(detector.training_rows_)
    # Measured: 11% of the planted rows and 92% of the inliers kept.
    assert kept[is_planted].mean() < 0.3 and kept[~is_planted].mean() > 0.85


def test_without_trim_every_subsampled_row_trains(breastw):
    X, _ = breastw
    detector = AnomalyDetector(**SMALL, trim=0.0, random_state=0).fit(X)
    assert all(len(rows) == len(X) for rows in detector.training_rows_)


def test_predict_proba_is_a_distribution(cardio, cardio_fitted):
    X, _ = cardio
    proba = cardio_fitted.predict_proba(X[:200])
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all() and (proba <= 1).all()


def test_fit_predict_returns_labels(breastw):
    X, _ = breastw
    detector = AnomalyDetector(**SMALL, random_state=0)
    np.testing.assert_array_equal(detector.fit_predict(X), detector.labels_)


def test_latent_knn_term_changes_the_scores(breastw):
    X, _ = breastw
    plain = AnomalyDetector(**SMALL, knn_weight=0.0, random_state=0).fit(X)
    mixed = AnomalyDetector(**SMALL, knn_weight=0.5, random_state=0).fit(X)
    assert not np.allclose(plain.decision_scores_, mixed.decision_scores_)
    assert mixed.decision_function(X[:5]).shape == (5,)


def test_clone_keeps_parameters():
    detector = AnomalyDetector(n_estimators=3, trim=0.2, random_state=1)
    assert clone(detector).get_params() == detector.get_params()


def test_non_finite_row_is_named(breastw):
    X, _ = breastw
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match="7"):
        AnomalyDetector(**SMALL).fit(bad)


def test_wrong_width_is_refused(breastw, cardio_fitted):
    X, _ = breastw
    with pytest.raises(DimensionMismatchError):
        cardio_fitted.decision_function(X)


def test_native_error_without_latent_term_averages_robust_member_scores(breastw):
    X, _ = breastw
    params = {**SMALL, "error": "native", "latent_weight": 0.0}
    detector = AnomalyDetector(**params, random_state=0).fit(X)
    expected = np.zeros(len(X))
    for member in detector.estimators_:
        raw = member.anomaly_score(X).astype(np.float64)
        q1, median, q3 = np.quantile(raw, [0.25, 0.5, 0.75])
        expected += (raw - median) / (q3 - q1)
    np.testing.assert_allclose(detector.decision_scores_, expected / len(detector.estimators_))


def test_standardised_error_ignores_a_feature_s_units(breastw):
    # Each feature's error is divided by its own mean training error, so multiplying one
    # column by 1000 leaves the error term unchanged (the members see scaled inputs anyway).
    X, _ = breastw
    params = {**SMALL, "latent_weight": 0.0}
    wide = X.copy()
    wide[:, 0] *= 1000.0
    plain = AnomalyDetector(**params, random_state=0).fit(X)
    scaled = AnomalyDetector(**params, random_state=0).fit(wide)
    np.testing.assert_allclose(plain.decision_scores_, scaled.decision_scores_, atol=1e-3)


def test_latent_mahalanobis_term_changes_the_scores(breastw):
    X, _ = breastw
    plain = AnomalyDetector(**SMALL, latent_weight=0.0, random_state=0).fit(X)
    latent = AnomalyDetector(**SMALL, latent_weight=1.0, random_state=0).fit(X)
    assert not np.allclose(plain.decision_scores_, latent.decision_scores_)
    np.testing.assert_allclose(latent.decision_function(X), latent.decision_scores_)


def test_auto_scoring_is_standardised_with_latent_term_for_tabular_widths(breastw):
    X, _ = breastw
    detector = AnomalyDetector(n_estimators=1, epochs=2, random_state=0).fit(X)
    assert (detector.error_, detector.latent_weight_) == ("standardised", 1.0)


def test_auto_scoring_is_native_without_latent_term_for_wide_inputs(sst2_bags):
    X = sst2_bags.toarray()  # 300 columns: the embedding regime (>= 128)
    detector = AnomalyDetector(n_estimators=1, epochs=2, random_state=0).fit(X)
    assert (detector.error_, detector.latent_weight_) == ("native", 0.0)
    assert detector.feature_errors_ == [] and detector.latent_centres_ == []
