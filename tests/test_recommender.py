"""The Mult-DAE recommender family on real co-occurrence data (SST-2 sentences as item bags)."""

from __future__ import annotations

import numpy as np
import pytest

from vecae import InputError
from vecae.recommend import InteractionMatrix, Recommender, compare_recommenders

FAST = {"latent_dim": 16, "hidden": (64,), "epochs": 10, "random_state": 0}


@pytest.fixture(scope="module")
def interactions(sst2_bags):
    """Each sentence is a 'user', each of the 300 frequent words an 'item' it interacted with."""
    rows, cols = sst2_bags.nonzero()
    return InteractionMatrix.from_pairs([f"s{r}" for r in rows], [f"w{c}" for c in cols])


@pytest.fixture(scope="module")
def recommender(interactions):
    return Recommender.fit(interactions, "mult-dae", **FAST)


def test_recommend_never_returns_a_seen_item(recommender, interactions):
    for user in interactions.users[:50]:
        row = interactions.matrix[interactions.users.index(user)]
        seen = {interactions.items[j] for j in row.indices}
        assert not seen & {item for item, _ in recommender.recommend_user(user, k=20)}


def test_recommend_returns_k_items_best_first(recommender, interactions):
    result = recommender.recommend_user(interactions.users[0], k=7)
    scores = [score for _, score in result]
    assert len(result) == 7 and scores == sorted(scores, reverse=True)


def test_history_of_a_new_user_excludes_its_items(recommender, interactions):
    history = interactions.items[:5]
    assert not set(history) & {i for i, _ in recommender.recommend_history(history, k=10)}


def test_unknown_user_is_a_clear_error(recommender):
    with pytest.raises(InputError, match=r"'nobody'"):
        recommender.recommend_user("nobody")


def test_save_load_round_trip_gives_same_recommendations(recommender, interactions, tmp_path):
    loaded = Recommender.load(recommender.save(tmp_path / "rec"))
    user = interactions.users[3]
    assert loaded.recommend_user(user, k=10) == recommender.recommend_user(user, k=10)


def test_comparison_reports_all_methods(interactions):
    rows = compare_recommenders(interactions, n_heldout_users=100, **FAST)
    assert [r["method"] for r in rows] == [
        "vecae EASE",
        "vecae Mult-DAE",
        "most popular",
        "item-kNN",
    ]
    assert all(0.0 <= r["recall@20"] <= 1.0 and np.isfinite(r["ndcg@100"]) for r in rows)
