"""Behaviour of the three estimators on small real data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from vecae import (
    Autoencoder,
    CategoricalAutoencoder,
    DimensionMismatchError,
    InputError,
    VariationalAutoencoder,
)

FAST = {"hidden": (32,), "epochs": 5, "random_state": 0}
DENSE_FAMILIES = [Autoencoder, VariationalAutoencoder]


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_dense_transform_shape(cls, glove_vectors):
    Z = cls(latent_dim=7, **FAST).fit(glove_vectors).transform(glove_vectors[:100])
    assert Z.shape == (100, 7) and Z.dtype == np.float32


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_dense_accepts_scipy_sparse(cls, sst2_bags):
    Z = cls(latent_dim=5, **FAST).fit(sst2_bags).transform(sst2_bags[:10])
    assert Z.shape == (10, 5)


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_inverse_transform_shape(cls, glove_vectors):
    model = cls(latent_dim=6, **FAST).fit(glove_vectors)
    assert model.inverse_transform(model.transform(glove_vectors[:9])).shape == (9, 50)


def test_categorical_fields_shape(breastw_fields):
    model = CategoricalAutoencoder(latent_dim=3, **FAST).fit(breastw_fields)
    assert model.transform(breastw_fields).shape == (len(breastw_fields), 3)


def test_categorical_string_fields_shape(breastw_fields):
    words = np.array([f"v{v}" for v in breastw_fields.ravel()]).reshape(breastw_fields.shape)
    model = CategoricalAutoencoder(latent_dim=3, **FAST).fit(words)
    assert model.inverse_transform(model.transform(words[:4])).shape == (4, 9)


@pytest.mark.parametrize("likelihood", ["multinomial", "binary"])
def test_multi_hot_shape(sst2_bags, likelihood):
    model = CategoricalAutoencoder(latent_dim=4, likelihood=likelihood, **FAST).fit(sst2_bags)
    assert model.inverse_transform(model.transform(sst2_bags[:6])).shape == (6, 300)


def test_multinomial_probabilities_sum_to_one(sst2_bags):
    model = CategoricalAutoencoder(latent_dim=4, **FAST).fit(sst2_bags)
    probabilities = model.inverse_transform(model.transform(sst2_bags[:6]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_fit_transform_equals_fit_then_transform(cls, glove_vectors):
    a = cls(latent_dim=4, **FAST).fit_transform(glove_vectors)
    b = cls(latent_dim=4, **FAST).fit(glove_vectors).transform(glove_vectors)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_single_row_matches_batch(cls, glove_vectors):
    model = cls(latent_dim=4, **FAST).fit(glove_vectors)
    batch = model.transform(glove_vectors[:50])
    alone = model.transform(glove_vectors[17:18])
    np.testing.assert_allclose(alone[0], batch[17], rtol=1e-5, atol=1e-6)


def test_vae_transform_is_deterministic(glove_vectors):
    model = VariationalAutoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    np.testing.assert_array_equal(model.transform(glove_vectors), model.transform(glove_vectors))


def test_vae_transform_is_the_encoder_mean(glove_vectors):
    import torch

    model = VariationalAutoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    x = torch.from_numpy(model.scaler_.apply(glove_vectors[:20]))
    with torch.no_grad():
        mean, _ = model.module_.posterior(x)
    np.testing.assert_allclose(model.transform(glove_vectors[:20]), mean.numpy(), rtol=1e-6)


def test_vae_sample_shape(glove_vectors):
    model = VariationalAutoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    assert model.sample(13, random_state=1).shape == (13, 50)


def test_vae_sample_is_seeded(glove_vectors):
    model = VariationalAutoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    np.testing.assert_array_equal(model.sample(5, random_state=3), model.sample(5, random_state=3))


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_training_lowers_held_out_reconstruction_error(cls, glove_vectors):
    train, held_out = glove_vectors[:3500], glove_vectors[3500:]

    def held_out_error(model):
        return np.mean((model.inverse_transform(model.transform(held_out)) - held_out) ** 2)

    untrained = cls(latent_dim=8, hidden=(64,), epochs=0, random_state=0).fit(train)
    trained = cls(latent_dim=8, hidden=(64,), epochs=30, random_state=0).fit(train)
    assert held_out_error(trained) < 0.8 * held_out_error(untrained)


def test_history_has_train_and_validation_loss_per_epoch(glove_vectors):
    model = Autoencoder(latent_dim=8, **FAST).fit(glove_vectors)
    assert len(model.history_["train_loss"]) == len(model.history_["val_loss"]) == model.n_epochs_


def test_validation_loss_decreases_over_training(glove_vectors):
    model = Autoencoder(latent_dim=8, hidden=(64,), epochs=20, random_state=0).fit(glove_vectors)
    assert model.history_["val_loss"][-1] < model.history_["val_loss"][0]


def test_epochs_zero_is_an_untrained_baseline(glove_vectors):
    model = Autoencoder(latent_dim=8, epochs=0, random_state=0).fit(glove_vectors)
    assert model.n_epochs_ == 0 and model.transform(glove_vectors[:3]).shape == (3, 8)


def test_denoising_encodings_move_less_under_noise(glove_vectors):
    rng = np.random.default_rng(0)
    noisy = glove_vectors + rng.normal(scale=0.3, size=glove_vectors.shape).astype(np.float32)

    def relative_shift(model):
        clean = model.transform(glove_vectors)
        moved = np.linalg.norm(model.transform(noisy) - clean, axis=1)
        return float(np.median(moved / np.linalg.norm(clean - clean.mean(0), axis=1)))

    common = {"latent_dim": 16, "hidden": (64,), "epochs": 40, "random_state": 0}
    plain = Autoencoder(**common).fit(glove_vectors)
    denoising = Autoencoder(noise_std=0.7, **common).fit(glove_vectors)
    assert relative_shift(denoising) < relative_shift(plain)


def test_categorical_reconstruction_beats_majority_baseline(breastw_fields):
    model = CategoricalAutoencoder(latent_dim=4, hidden=(64,), epochs=60, random_state=0)
    model.fit(breastw_fields)
    predicted = model.inverse_transform(model.transform(breastw_fields))
    accuracy = (predicted == breastw_fields).mean()
    majority = np.mean([np.bincount(column).max() / len(column) for column in breastw_fields.T])
    assert accuracy > majority + 0.05


def test_categorical_unseen_value_still_encodes(breastw_fields):
    model = CategoricalAutoencoder(latent_dim=3, **FAST).fit(breastw_fields)
    row = breastw_fields[:1].copy()
    row[0, 0] = 99  # never seen in fit
    assert np.isfinite(model.transform(row)).all()


@pytest.mark.parametrize("cls", DENSE_FAMILIES)
def test_random_state_gives_bit_identical_fits(cls, glove_vectors):
    a = cls(latent_dim=4, dropout=0.1, **FAST).fit(glove_vectors).transform(glove_vectors)
    b = cls(latent_dim=4, dropout=0.1, **FAST).fit(glove_vectors).transform(glove_vectors)
    np.testing.assert_array_equal(a, b)


def test_fit_leaves_global_torch_rng_untouched(glove_vectors):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Autoencoder(latent_dim=4, dropout=0.1, **FAST).fit(glove_vectors)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_different_random_states_differ(glove_vectors):
    a = Autoencoder(latent_dim=4, hidden=(32,), epochs=3, random_state=0).fit(glove_vectors)
    b = Autoencoder(latent_dim=4, hidden=(32,), epochs=3, random_state=1).fit(glove_vectors)
    assert not np.array_equal(a.transform(glove_vectors), b.transform(glove_vectors))


def test_nan_in_input_names_the_row(glove_vectors):
    X = glove_vectors[:200].copy()
    X[37, 4] = np.nan
    with pytest.raises(InputError, match=r"row 37"):
        Autoencoder(**FAST).fit(X)


def test_inf_at_transform_names_the_row(glove_vectors):
    model = Autoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    X = glove_vectors[:10].copy()
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"row 3"):
        model.transform(X)


def test_wrong_dimension_at_transform_is_a_clear_error(glove_vectors):
    model = Autoencoder(latent_dim=4, **FAST).fit(glove_vectors)
    with pytest.raises(DimensionMismatchError, match=r"X has 49 features.*expecting 50"):
        model.transform(glove_vectors[:5, :49])


def test_invalid_parameter_is_rejected_in_fit_not_init(glove_vectors):
    model = Autoencoder(latent_dim=0)
    with pytest.raises(ValueError, match=r"latent_dim"):
        model.fit(glove_vectors)


def test_score_samples_is_negative_anomaly_score(cardio):
    X, _ = cardio
    model = Autoencoder(latent_dim=4, **FAST).fit(X)
    np.testing.assert_array_equal(model.score_samples(X), -model.anomaly_score(X))


def test_threshold_flags_about_the_contamination_share(cardio):
    X, _ = cardio
    model = Autoencoder(latent_dim=4, contamination=0.05, **FAST).fit(X)
    assert 0.03 < model.is_anomaly(X).mean() < 0.07


def test_vae_anomaly_score_ranks_cardio_anomalies(cardio):
    from sklearn.metrics import roc_auc_score

    X, y = cardio
    model = VariationalAutoencoder(latent_dim=8, scale="feature", epochs=40, random_state=0)
    assert roc_auc_score(y, model.fit(X).anomaly_score(X)) > 0.8


def test_clone_gives_an_unfitted_copy_with_same_params():
    model = VariationalAutoencoder(latent_dim=5, beta=0.3)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "module_")


def test_works_in_a_pipeline(glove_vectors):
    pipeline = Pipeline([("scale", StandardScaler()), ("ae", Autoencoder(latent_dim=6, **FAST))])
    assert pipeline.fit_transform(glove_vectors).shape == (len(glove_vectors), 6)


def test_works_in_grid_search(glove_vectors):
    # score = mean ELBO of held-out folds, so the search picks by generalisation.
    search = GridSearchCV(
        Autoencoder(**FAST),
        {"latent_dim": [2, 8]},
        cv=2,
        scoring=lambda m, X, y=None: m.score_samples(X).mean(),
    ).fit(glove_vectors[:1000])
    assert search.best_params_["latent_dim"] == 8


def test_encodings_beat_pca_reconstruction_is_not_assumed(glove_vectors):
    # A sanity bound, not a claim of superiority: the trained model reconstructs at least
    # as well as a 2x smaller PCA.
    model = Autoencoder(latent_dim=16, hidden=(128,), epochs=60, random_state=0)
    model.fit(glove_vectors)
    recon = model.inverse_transform(model.transform(glove_vectors))
    pca = PCA(8).fit(glove_vectors)
    pca_recon = pca.inverse_transform(pca.transform(glove_vectors))
    assert np.mean((recon - glove_vectors) ** 2) < np.mean((pca_recon - glove_vectors) ** 2)
