"""Each metric against a case small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vecae._exceptions import InputError
from vecae.evaluate import (
    auroc,
    average_precision,
    exact_knn,
    knn_accuracy,
    knn_recall,
    mean_cosine,
    probe_accuracy,
    reconstruction_mse,
    spearman_similarity,
    split_indices,
    trustworthiness,
)


def test_exact_knn_cosine_hand_case() -> None:
    base = np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32)
    idx, scores = exact_knn(np.array([[2.0, 0.0]]), base, 3, "cosine")
    assert idx.tolist() == [[0, 2, 1]]
    np.testing.assert_allclose(scores, [[1.0, math.sqrt(0.5), 0.0]], atol=1e-6)


def test_exact_knn_l2_returns_euclidean_distances() -> None:
    base = np.array([[0, 0], [1, 0], [3, 0], [0, 2]], dtype=np.float32)
    idx, scores = exact_knn(np.array([[0.9, 0.0]]), base, 3, "l2")
    assert idx.tolist() == [[1, 0, 2]]
    np.testing.assert_allclose(scores, [[0.1, 0.9, 2.1]], atol=1e-5)


def test_exact_knn_exclude_self_skips_own_row() -> None:
    base = np.array([[0.0], [1.0], [3.0]], dtype=np.float32)
    idx, _ = exact_knn(base, base, 1, "l2", exclude_self=True)
    assert idx.ravel().tolist() == [1, 0, 1]


def test_exact_knn_self_index_maps_queries_to_base_rows() -> None:
    base = np.array([[0.0], [1.0], [3.0], [3.5]], dtype=np.float32)
    idx, _ = exact_knn(base[[2, 0]], base, 1, "l2", exclude_self=True, self_index=[2, 0])
    assert idx.ravel().tolist() == [3, 1]


def test_exact_knn_chunking_does_not_change_the_result(glove_small) -> None:
    _, X = glove_small
    a_idx, a_sc = exact_knn(X[:50], X, 10, chunk_size=7)
    b_idx, b_sc = exact_knn(X[:50], X, 10, chunk_size=1000)
    np.testing.assert_array_equal(a_idx, b_idx)
    np.testing.assert_allclose(a_sc, b_sc, rtol=1e-5)


def test_exact_knn_matches_sklearn_brute_force(glove_small) -> None:
    from sklearn.neighbors import NearestNeighbors

    _, X = glove_small
    nn = NearestNeighbors(n_neighbors=5, metric="euclidean", algorithm="brute").fit(X)
    ref_dist, ref_idx = nn.kneighbors(X[:40])
    idx, dist = exact_knn(X[:40], X, 5, "l2", chunk_size=16)
    assert knn_recall(ref_idx, idx) > 0.99  # float32 ties may swap a rare pair
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-3, atol=1e-3)


def test_exact_knn_rejects_k_larger_than_base() -> None:
    with pytest.raises(InputError, match="k=3"):
        exact_knn(np.ones((1, 2)), np.ones((3, 2)), 3, exclude_self=True)


def test_knn_recall_hand_case() -> None:
    ref = [[1, 2, 3], [4, 5, 6]]
    cand = [[3, 2, 9], [7, 8, 9]]
    assert knn_recall(ref, cand) == pytest.approx((2 / 3 + 0) / 2)


def test_reconstruction_mse_hand_case() -> None:
    X = [[1.0, 2.0], [3.0, 4.0]]
    X_hat = [[1.0, 0.0], [3.0, 5.0]]
    assert reconstruction_mse(X, X_hat) == pytest.approx((0 + 4 + 0 + 1) / 4)


def test_mean_cosine_hand_case() -> None:
    X = [[1.0, 0.0], [0.0, 1.0]]
    X_hat = [[1.0, 1.0], [0.0, -2.0]]
    assert mean_cosine(X, X_hat) == pytest.approx((math.sqrt(0.5) - 1.0) / 2)


def test_trustworthiness_hand_case() -> None:
    # 1-D points; point 2 (x=3) moves to 20 in the embedding. With k=1 the false
    # neighbours cost ranks 3 + 1 + 1 = 5; T = 1 - 2/(n k (2n-3k-1)) * 5 = 1 - 5/15.
    X = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    Z = np.array([[0.0], [1.0], [20.0], [7.0], [15.0]])
    t = trustworthiness(X, Z, n_neighbors=1, n_samples=None, metric="l2")
    assert t == pytest.approx(2 / 3)


def test_trustworthiness_of_identity_is_one(glove_small) -> None:
    _, X = glove_small
    assert trustworthiness(X, X, n_samples=300) == pytest.approx(1.0)


def test_spearman_similarity_hand_case() -> None:
    a = np.array([[1.0, 0.0]] * 4)
    b = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    # cosines 1, .71, 0, -1 rank 4,3,2,1; gold ranks 1,2,4,3; sum d^2 = 18
    assert spearman_similarity(a, b, [1, 2, 4, 3]) == pytest.approx(1 - 6 * 18 / (4 * 15))


def test_spearman_similarity_is_nan_when_undefined() -> None:
    a = np.array([[1.0, 0.0]] * 3)
    assert math.isnan(spearman_similarity(a, a, [1, 2, 3]))
    assert math.isnan(spearman_similarity(a[:1], a[:1], [1]))


def test_knn_accuracy_hand_case() -> None:
    X_train = [[1, 0], [1, 0.1], [-1, 0], [-1, 0.1]]
    y_train = ["a", "a", "b", "b"]
    X_test = [[1, 0.05], [-1, 0.05]]
    assert knn_accuracy(X_train, y_train, X_test, ["a", "a"], k=1) == 0.5


def test_probe_accuracy_separable_and_flipped() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 0.3, (20, 2)), rng.normal(3, 0.3, (20, 2))])
    y = np.array([0] * 20 + [1] * 20)
    assert probe_accuracy(X, y, X, y) == 1.0
    assert probe_accuracy(X, y, X, 1 - y) == 0.0


def test_auroc_and_average_precision_hand_case() -> None:
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert auroc(y, s) == pytest.approx(3 / 4)
    # ranked: 0.8 (hit, P=1), 0.4, 0.35 (hit, P=2/3)
    assert average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)


def test_split_indices_is_seeded_disjoint_and_stratified() -> None:
    y = np.array([0] * 70 + [1] * 30)
    tr, te = split_indices(y, test_size=0.3, random_state=1)
    _, te2 = split_indices(y, test_size=0.3, random_state=1)
    np.testing.assert_array_equal(te, te2)
    assert set(tr.tolist()).isdisjoint(te.tolist())
    assert len(tr) + len(te) == 100
    assert int(y[te].sum()) == 9  # 30% of the 30 positives


def test_cosine_trustworthiness_ignores_vector_length(glove_small) -> None:
    _, X = glove_small
    X = X[:300]
    scale = np.random.default_rng(0).uniform(0.1, 10.0, size=(300, 1))
    assert trustworthiness(X, X * scale, metric="cosine") == pytest.approx(1.0)
    assert trustworthiness(X, X * scale, metric="l2") < 0.99
