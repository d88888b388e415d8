"""Tests of vecae.recommend: metrics, masking, the user split and the baselines."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp

from vecae._exceptions import InputError
from vecae.recommend import (
    InteractionMatrix,
    ItemKNNRecommender,
    PopularityRecommender,
    Split,
    evaluate_recommender,
    ndcg_at_k,
    recall_at_k,
    split_users,
    top_k_unseen,
)

# Four users, five items. Rankings by score:
#   user 0: 0 1 3 4 2   targets {1, 2}
#   user 1: 4 3 2 1 0   targets {4}
#   user 2: (no targets: left out of every average)
#   user 3: 0 1 2 3 4   targets {0, 1, 2}
SCORES = np.array(
    [
        [0.9, 0.8, 0.1, 0.7, 0.2],
        [0.1, 0.2, 0.3, 0.4, 0.5],
        [0.3, 0.1, 0.2, 0.5, 0.4],
        [0.5, 0.4, 0.3, 0.2, 0.1],
    ]
)
TARGETS = sp.csr_matrix(
    np.array(
        [
            [0, 1, 1, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0],
        ],
        dtype=np.float32,
    )
)
LOG2_3 = math.log2(3)


def test_recall_at_k_matches_hand_computed_liang_definition() -> None:
    # user 0: 1 hit / min(2, 2); user 1: 1 / min(2, 1); user 3: 2 / min(2, 3) (not 2 / 3).
    assert recall_at_k(SCORES, TARGETS, k=2) == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    # k=1: user 0 misses (item 0 is first), users 1 and 3 hit.
    assert recall_at_k(SCORES, TARGETS, k=1) == pytest.approx(2 / 3)


def test_ndcg_at_k_matches_hand_computed_values() -> None:
    # user 0: hit at rank 2 -> (1/log2 3) / (1 + 1/log2 3); users 1 and 3 are ideal.
    user0 = (1 / LOG2_3) / (1 + 1 / LOG2_3)
    assert ndcg_at_k(SCORES, TARGETS, k=2) == pytest.approx((user0 + 1.0 + 1.0) / 3)
    # user 0 alone at k=5: hits at ranks 2 and 5.
    expected = (1 / LOG2_3 + 1 / math.log2(6)) / (1 + 1 / LOG2_3)
    assert ndcg_at_k(SCORES[:1], TARGETS[:1], k=5) == pytest.approx(expected)


def test_metrics_reject_scores_without_any_target() -> None:
    with pytest.raises(InputError, match="no user has a target"):
        recall_at_k(SCORES[2:3], TARGETS[2:3], k=2)


def test_top_k_unseen_never_returns_a_seen_item_and_is_the_best_unseen() -> None:
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((50, 40))
    seen = sp.random(50, 40, density=0.3, random_state=8, format="csr")
    before = scores.copy()
    top = top_k_unseen(scores, seen, k=10)

    seen_dense = seen.toarray() != 0
    assert not np.take_along_axis(seen_dense, top, axis=1).any()
    masked = np.where(seen_dense, -np.inf, scores)
    np.testing.assert_array_equal(top, np.argsort(-masked, axis=1)[:, :10])
    np.testing.assert_array_equal(scores, before)  # the caller's array is untouched


def test_top_k_unseen_pads_with_minus_one_when_too_few_unseen() -> None:
    scores = np.array([[0.1, 0.9, 0.5, -np.inf]])
    seen = sp.csr_matrix(np.array([[0, 1, 1, 0]]))
    # Items 0 and 3 are unseen (3 scored -inf by the caller but still unseen).
    np.testing.assert_array_equal(top_k_unseen(scores, seen, k=4), [[0, 3, -1, -1]])


# ---------------------------------------------------------------------------- data


def test_from_pairs_orders_by_first_appearance_and_binarizes_repeats() -> None:
    data = InteractionMatrix.from_pairs(
        ["bob", "ann", "bob", "bob"], ["x", "y", "y", "x"], weights=[2.0, 1.0, 0.5, 3.0]
    )
    assert data.users == ["bob", "ann"] and data.items == ["x", "y"]
    np.testing.assert_array_equal(data.matrix.toarray(), [[1, 1], [0, 1]])
    summed = InteractionMatrix.from_pairs(
        ["bob", "ann", "bob", "bob"], ["x", "y", "y", "x"], [2.0, 1.0, 0.5, 3.0], binarize=False
    )
    np.testing.assert_allclose(summed.matrix.toarray(), [[5.0, 0.5], [0.0, 1.0]])


def test_from_pairs_rejects_negative_weight_naming_the_row() -> None:
    with pytest.raises(InputError, match="row 2"):
        InteractionMatrix.from_pairs(["a", "b", "c"], ["x", "y", "z"], [1.0, 1.0, -1.0])


def test_row_for_history_ignores_unknown_items_with_a_counting_warning() -> None:
    data = InteractionMatrix.from_pairs(["u", "u", "v"], ["x", "y", "z"])
    with pytest.warns(UserWarning, match="2 unknown item"):
        row = data.row_for_history(["z", "nope", "x", "x", "gone"])
    assert row.shape == (1, 3)
    np.testing.assert_array_equal(row.toarray(), [[1, 0, 1]])
    with pytest.raises(InputError, match="'nope'"):
        data.row_for_history(["nope"], on_unknown="raise")


# ---------------------------------------------------------------------------- synthetic data


def _grouped_interactions(
    n_users: int = 1200, n_groups: int = 6, items_per_group: int = 30, seed: int = 0
) -> InteractionMatrix:
    """Users from latent groups; each group mostly likes its own cluster of items.

    80% of a user's items come from their group's cluster, 20% from the whole catalogue;
    both draws favour popular items (Zipf-like), so popularity is informative but weaker
    than the group structure.
    """
    rng = np.random.default_rng(seed)
    n_items = n_groups * items_per_group
    global_pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    rng.shuffle(global_pop)
    users: list[str] = []
    items: list[str] = []
    for u in range(n_users):
        group = int(rng.integers(n_groups))
        cluster = np.arange(group * items_per_group, (group + 1) * items_per_group)
        n_own, n_noise = int(rng.integers(2, 16)), int(rng.integers(1, 4))
        own = rng.choice(cluster, n_own, replace=False, p=_norm(global_pop[cluster]))
        noise = rng.choice(n_items, n_noise, replace=False, p=_norm(global_pop))
        for item in {*own.tolist(), *noise.tolist()}:
            users.append(f"u{u}")
            items.append(f"i{item}")
    return InteractionMatrix.from_pairs(users, items)


def _norm(p: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.asarray(p / p.sum(), dtype=np.float64)
    return out


@pytest.fixture(scope="module")
def data() -> InteractionMatrix:
    return _grouped_interactions()


@pytest.fixture(scope="module")
def split(data: InteractionMatrix) -> Split:
    return split_users(data, n_heldout_users=300, holdout_fraction=0.2, random_state=1)


def test_split_never_puts_a_heldout_user_in_train(data: InteractionMatrix, split: Split) -> None:
    assert not set(split.train_users.tolist()) & set(split.heldout_users.tolist())
    assert len(split.train_users) + len(split.heldout_users) == data.n_users
    assert split.heldout_users.size == 300
    # train is exactly the training users' rows
    assert (split.train != data.matrix[split.train_users]).nnz == 0


def test_split_fold_in_and_target_are_disjoint_and_partition_each_heldout_user(
    data: InteractionMatrix, split: Split
) -> None:
    fold_in, target = split.heldout_fold_in, split.heldout_target
    assert fold_in.multiply(target).nnz == 0
    assert ((fold_in + target) != data.matrix[split.heldout_users]).nnz == 0
    lengths = np.diff(data.matrix[split.heldout_users].indptr)
    expected = np.where(lengths >= 5, (0.2 * lengths).astype(int), 0)
    np.testing.assert_array_equal(np.diff(target.indptr), expected)


def test_split_is_reproducible_and_depends_on_the_seed(data: InteractionMatrix) -> None:
    a = split_users(data, n_heldout_users=100, random_state=3)
    b = split_users(data, n_heldout_users=100, random_state=3)
    c = split_users(data, n_heldout_users=100, random_state=4)
    np.testing.assert_array_equal(a.heldout_users, b.heldout_users)
    assert (a.heldout_target != b.heldout_target).nnz == 0
    assert not np.array_equal(a.heldout_users, c.heldout_users)


# ---------------------------------------------------------------------------- baselines


def test_popularity_scores_are_the_share_of_training_users(split: Split) -> None:
    model = PopularityRecommender().fit(split.train)
    scores = model.score(split.heldout_fold_in[:3])
    share = (split.train.toarray() != 0).mean(axis=0)
    assert scores.shape == (3, split.train.shape[1])
    np.testing.assert_allclose(scores, np.tile(share, (3, 1)), rtol=1e-6)


def test_item_knn_recommends_from_the_users_own_cluster(
    data: InteractionMatrix, split: Split
) -> None:
    model = ItemKNNRecommender().fit(split.train, n_neighbors=50, shrink=5.0)
    # A history of three items of cluster 2 (items 60..89) should pull in cluster 2.
    history = data.row_for_history(["i60", "i61", "i62"])
    top = top_k_unseen(model.score(history), history, k=10)[0]
    cluster = [int(data.items[j][1:]) // 30 for j in top]
    assert sum(c == 2 for c in cluster) >= 9


def test_item_knn_keeps_at_most_n_neighbors_per_item(split: Split) -> None:
    model = ItemKNNRecommender(n_neighbors=7).fit(split.train)
    assert model.similarity_ is not None
    per_item = np.diff(model.similarity_.tocsc().indptr)
    assert per_item.max() == 7
    assert model.similarity_.diagonal().sum() == 0  # an item is not its own neighbour


def test_item_knn_beats_popularity_which_beats_random(split: Split) -> None:
    pop = PopularityRecommender().fit(split.train)
    knn = ItemKNNRecommender(n_neighbors=50).fit(split.train)
    rng = np.random.default_rng(0)

    def random_scores(fold_in: sp.csr_matrix) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = rng.random(fold_in.shape)
        return out

    r_pop = evaluate_recommender(pop.score, split)
    r_knn = evaluate_recommender(knn.score, split)
    r_rand = evaluate_recommender(random_scores, split)
    assert r_knn["recall@20"] > r_pop["recall@20"] + 0.2
    assert r_knn["ndcg@100"] > r_pop["ndcg@100"] + 0.1
    assert r_pop["recall@20"] > r_rand["recall@20"]


def test_evaluate_masks_fold_in_items(split: Split) -> None:
    # Boosting the fold-in items changes nothing: they are masked before ranking.
    pop = PopularityRecommender().fit(split.train)

    def boosted(fold_in: sp.csr_matrix) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = pop.score(fold_in) + 100.0 * fold_in.toarray()
        return out

    assert evaluate_recommender(boosted, split) == evaluate_recommender(pop.score, split)


def test_evaluate_equals_metrics_on_masked_scores_across_batches(split: Split) -> None:
    knn = ItemKNNRecommender(n_neighbors=50).fit(split.train)
    result = evaluate_recommender(knn.score, split, ks=(20, 100), batch_size=37)

    users = np.flatnonzero(np.diff(split.heldout_target.indptr) > 0)
    fold_in, target = split.heldout_fold_in[users], split.heldout_target[users]
    masked = np.where(fold_in.toarray() != 0, -np.inf, knn.score(fold_in))
    assert result["n_users"] == users.size < 300  # short users have no targets
    assert result["recall@20"] == pytest.approx(recall_at_k(masked, target, k=20))
    assert result["ndcg@100"] == pytest.approx(ndcg_at_k(masked, target, k=100))


def test_baselines_handle_items_without_training_interactions() -> None:
    # Item 2 never occurs in training: it gets zero popularity and no similarity.
    train = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32))
    fold_in = sp.csr_matrix(np.array([[1, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(
        PopularityRecommender().fit(train).score(fold_in), [[2 / 3, 2 / 3, 0.0]]
    )
    knn = ItemKNNRecommender(shrink=0.0).fit(train)
    # sim(0, 1) = 1 / (sqrt(2) * sqrt(2)); item 0's own entry and item 2 stay zero.
    np.testing.assert_allclose(knn.score(fold_in), [[0.0, 0.5, 0.0]], rtol=1e-6)
