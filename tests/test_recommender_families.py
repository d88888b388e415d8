"""EASE, RecVAE and the recommender families: a hand-computed case and real item bags (SST-2)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from vecae import InputError
from vecae.recommend import (
    FAMILIES,
    EASERecommender,
    InteractionMatrix,
    Recommender,
    RecVAERecommender,
    evaluate_recommender,
    split_users,
)

FAST_PARAMS = {
    "ease": {"random_state": 0},
    "mult-dae": {"latent_dim": 16, "hidden": (64,), "epochs": 5, "random_state": 0},
    "recvae": {"hidden_dim": 32, "latent_dim": 8, "epochs": 3, "n_threads": 1, "random_state": 0},
}


@pytest.fixture(scope="module")
def interactions(sst2_bags):
    rows, cols = sst2_bags.nonzero()
    return InteractionMatrix.from_pairs([f"s{r}" for r in rows], [f"w{c}" for c in cols])


def test_ease_matches_the_hand_computed_four_item_case():
    # Items 0 and 1 always co-occur (users 1, 2); item 2 is in users 3 and 4, item 3 in user 3.
    # With l2 = 1 the Gram matrix plus I is block diagonal: [[3, 2], [2, 3]] and [[3, 1], [1, 2]],
    # whose inverses are [[3, -2], [-2, 3]] / 5 and [[2, -1], [-1, 3]] / 5. B_ij = -P_ij / P_jj.
    X = sp.csr_matrix([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]], dtype=np.float32)
    expected = np.array(
        [[0, 2 / 3, 0, 0], [2 / 3, 0, 0, 0], [0, 0, 0, 1 / 3], [0, 0, 1 / 2, 0]], dtype=np.float32
    )
    np.testing.assert_allclose(EASERecommender(l2=1.0).fit(X).weights_, expected, atol=1e-6)


def test_ease_auto_picks_the_best_validation_candidate(sst2_bags):
    ease = EASERecommender(l2_grid=(1.0, 30.0, 1000.0)).fit(sst2_bags)
    assert set(ease.validation_) == {1.0, 30.0, 1000.0}
    assert ease.validation_[ease.l2_] == max(ease.validation_.values())


def test_ease_beats_popularity_on_held_out_users(interactions):
    from vecae.recommend import PopularityRecommender

    split = split_users(interactions, n_heldout_users=100, random_state=0)
    ease = evaluate_recommender(EASERecommender().fit(split.train).score, split)
    popular = evaluate_recommender(PopularityRecommender().fit(split.train).score, split)
    assert ease["ndcg@100"] > popular["ndcg@100"]


def test_ease_refuses_a_catalogue_above_max_items(sst2_bags):
    with pytest.raises(InputError, match=r"300 items exceed max_items=100"):
        EASERecommender(l2=10.0, max_items=100).fit(sst2_bags)


def test_ease_auto_needs_enough_users():
    X = sp.csr_matrix(np.eye(5, dtype=np.float32))
    with pytest.raises(InputError, match="pass l2 explicitly"):
        EASERecommender().fit(X)


@pytest.mark.parametrize("family", FAMILIES)
def test_recommend_never_returns_a_seen_item(interactions, family):
    recommender = Recommender.fit(interactions, family, **FAST_PARAMS[family])
    for user in interactions.users[:50]:
        row = interactions.matrix[interactions.users.index(user)]
        seen = {interactions.items[j] for j in row.indices}
        assert not seen & {item for item, _ in recommender.recommend_user(user, k=20)}


@pytest.mark.parametrize("family", FAMILIES)
def test_new_user_history_is_never_recommended_back(interactions, family):
    recommender = Recommender.fit(interactions, family, **FAST_PARAMS[family])
    history = interactions.items[:5]
    assert not set(history) & {i for i, _ in recommender.recommend_history(history, k=20)}


def test_ease_is_the_default_family(interactions):
    assert Recommender.fit(interactions, random_state=0).family == "ease"


def test_ease_save_load_round_trip(interactions, tmp_path):
    recommender = Recommender.fit(interactions, "ease", l2=50.0)
    loaded = Recommender.load(recommender.save(tmp_path / "ease"))
    user = interactions.users[7]
    assert loaded.family == "ease"
    assert loaded.recommend_user(user, k=10) == recommender.recommend_user(user, k=10)


def test_unknown_family_is_a_clear_error(interactions):
    with pytest.raises(InputError, match="expected one of ease, recvae, mult-dae"):
        Recommender.fit(interactions, "svd")


def test_parameters_of_the_other_family_are_a_clear_error(interactions):
    with pytest.raises(InputError, match="model='ease'"):
        Recommender.fit(interactions, "ease", latent_dim=16)


# -- RecVAE -------------------------------------------------------------------------------------


def test_recvae_is_deterministic_for_a_fixed_seed(sst2_bags):
    first = RecVAERecommender(**FAST_PARAMS["recvae"]).fit(sst2_bags)
    second = RecVAERecommender(**FAST_PARAMS["recvae"]).fit(sst2_bags)
    np.testing.assert_array_equal(first.score(sst2_bags), second.score(sst2_bags))


def test_recvae_seed_changes_the_model(sst2_bags):
    first = RecVAERecommender(**FAST_PARAMS["recvae"]).fit(sst2_bags)
    other = RecVAERecommender(**{**FAST_PARAMS["recvae"], "random_state": 1}).fit(sst2_bags)
    assert not np.array_equal(first.score(sst2_bags[:20]), other.score(sst2_bags[:20]))


def test_recvae_training_loss_falls(sst2_bags):
    params = {**FAST_PARAMS["recvae"], "epochs": 8, "learning_rate": 3e-3}
    params["validation_fraction"] = 0.0
    model = RecVAERecommender(**params).fit(sst2_bags)
    assert len(model.history_) == 8
    assert model.history_[-1] < 0.9 * model.history_[0]


def test_recvae_chooses_its_epochs_on_validation_users(sst2_bags):
    model = RecVAERecommender(**{**FAST_PARAMS["recvae"], "epochs": 4}).fit(sst2_bags)
    assert 1 <= len(model.validation_) <= 4
    assert model.validation_[model.n_epochs_ - 1] == max(model.validation_)
    assert len(model.history_) == model.n_epochs_


def test_recvae_save_load_is_bit_identical(interactions, tmp_path):
    recommender = Recommender.fit(interactions, "recvae", **FAST_PARAMS["recvae"])
    loaded = Recommender.load(recommender.save(tmp_path / "recvae"))
    assert loaded.family == "recvae"
    np.testing.assert_array_equal(
        loaded.score(interactions.matrix[:50]), recommender.score(interactions.matrix[:50])
    )


def test_recvae_tampered_weights_are_a_model_file_error(interactions, tmp_path):
    import json

    from vecae import ModelFileError

    recommender = Recommender.fit(interactions, "recvae", **FAST_PARAMS["recvae"])
    path = recommender.save(tmp_path / "recvae")
    config = json.loads((path / "config.json").read_text())
    config["recvae"]["hidden_dim"] = 64  # no longer matches the stored tensors
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError):
        Recommender.load(path)


def test_recvae_rejects_bad_parameters(sst2_bags):
    with pytest.raises(InputError, match="dropout"):
        RecVAERecommender(dropout=1.0).fit(sst2_bags)


def test_cli_fits_recvae_and_recommends_unseen_items(interactions, tmp_path):
    import csv

    from tests.cli.cli_helpers import vecae as run_vecae

    pairs = tmp_path / "pairs.csv"
    matrix = interactions.matrix
    with pairs.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["user", "item"])
        for u in range(matrix.shape[0]):
            for j in matrix[u].indices:
                writer.writerow([interactions.users[u], interactions.items[j]])
    model = tmp_path / "model"
    options = ["--model", "recvae", "--epochs", 2, "--latent-dim", 8, "--seed", 0, "--json"]
    fit = run_vecae("recommender", "fit", pairs, "-o", model, *options)
    assert fit.exit_code == 0, fit
    assert fit.json()["family"] == "recvae"
    user = interactions.users[3]
    run = run_vecae("recommend", model, "--user", user, "-k", 10, "--json")
    assert run.exit_code == 0, run
    seen = {interactions.items[j] for j in matrix[3].indices}
    assert not seen & {r["item"] for r in run.json()["items"]}
