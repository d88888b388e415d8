"""Baselines: what each removes or keeps, and that only training rows shape them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from vecae._exceptions import InputError
from vecae.evaluate import (
    ABTTPCA,
    Identity,
    IsolationForestDetector,
    KNNDistanceDetector,
    PCABaseline,
    PCAReconstructionDetector,
    RandomProjection,
    WhitenedPCA,
    auroc,
)


def test_abtt_removes_the_top_directions(glove_small) -> None:
    _, X = glove_small
    abtt = ABTTPCA(10, n_remove=3).fit(X)
    post = abtt.post_process(X)
    proj = post @ abtt.removed_components_.T
    assert np.abs(proj).max() < 1e-4
    assert np.abs((X - X.mean(0)) @ abtt.removed_components_.T).max() > 1.0


def test_abtt_removed_directions_are_the_top_principal_components(glove_small) -> None:
    _, X = glove_small
    abtt = ABTTPCA(10, n_remove=2).fit(X)
    top = PCA(2).fit(X).components_
    cos = np.abs(np.sum(abtt.removed_components_ * top, axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-4)


@pytest.mark.parametrize(("d", "expected"), [(50, 1), (300, 3), (768, 8)])
def test_abtt_default_removes_about_d_over_100(d: int, expected: int) -> None:
    X = np.random.default_rng(0).normal(size=(d + 20, d))
    assert ABTTPCA(5).fit(X).n_remove_ == expected


def test_pca_baseline_matches_sklearn_pca(glove_small) -> None:
    _, X = glove_small
    ours = PCABaseline(8).fit(X)
    ref = PCA(8).fit(X)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(ref.components_), atol=1e-4)
    assert ours.transform(X).shape == (len(X), 8)


def test_whitened_pca_gives_unit_variance_components(glove_small) -> None:
    _, X = glove_small
    Z = WhitenedPCA(8).fit_transform(X)
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), 1.0, rtol=1e-3)


def test_random_projection_is_seeded() -> None:
    X = np.ones((4, 20))
    a = RandomProjection(5, random_state=3).fit(X).projection_
    b = RandomProjection(5, random_state=3).fit(X).projection_
    c = RandomProjection(5, random_state=4).fit(X).projection_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_random_projection_inverse_is_a_right_inverse(glove_small) -> None:
    _, X = glove_small
    rp = RandomProjection(10).fit(X)
    Z = rp.transform(X[:100])
    np.testing.assert_allclose(rp.transform(rp.inverse_transform(Z)), Z, atol=1e-3)


def test_identity_round_trip_and_width_check() -> None:
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    ident = Identity().fit(X)
    np.testing.assert_array_equal(ident.inverse_transform(ident.transform(X)), X)
    with pytest.raises(InputError, match="width 3"):
        ident.transform(np.ones((2, 3)))


def test_pca_baseline_rejects_too_many_components() -> None:
    with pytest.raises(InputError, match="n_components=5"):
        PCABaseline(5).fit(np.ones((10, 4)))


def test_knn_distance_detector_hand_case() -> None:
    train = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    det = KNNDistanceDetector(2, metric="l2").fit(train)
    # distances from (0, 1): 1, sqrt(2), sqrt(10) -> mean of the two nearest
    assert det.anomaly_score([[0.0, 1.0]])[0] == pytest.approx((1 + np.sqrt(2)) / 2, rel=1e-5)


def test_pca_reconstruction_detector_hand_case() -> None:
    train = np.array([[-1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])
    det = PCAReconstructionDetector(1).fit(train)
    # the only direction is the x axis: (2, 5) reconstructs to (2, 0)
    assert det.anomaly_score([[2.0, 5.0]])[0] == pytest.approx(25.0, rel=1e-5)


def test_isolation_forest_ranks_cardio_anomalies_high(cardio_set) -> None:
    X, y = cardio_set
    score = IsolationForestDetector(n_estimators=50).fit(X).anomaly_score(X)
    assert auroc(y, score) > 0.8
