"""scikit-learn interop beyond the estimator checks: score, feature names, set_output."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vecae import Autoencoder, CategoricalAutoencoder, InputError, VariationalAutoencoder

SMALL = {"hidden": (16,), "epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def X(cardio) -> np.ndarray:
    return cardio[0]


def test_score_is_mean_negative_reconstruction_error(X) -> None:
    model = Autoencoder(latent_dim=4, **SMALL).fit(X)
    assert model.score(X) == pytest.approx(-float(np.mean(model.anomaly_score(X))), rel=1e-6)


def test_vae_score_is_the_mean_elbo(X) -> None:
    model = VariationalAutoencoder(latent_dim=4, **SMALL).fit(X)
    # anomaly_score of the VAE is the negative ELBO (KL weight 1).
    assert model.score(X) == pytest.approx(-float(np.mean(model.anomaly_score(X))), rel=1e-6)
    assert model.score(X) < 0


def test_score_prefers_a_wider_code_on_real_data(X) -> None:
    narrow = Autoencoder(latent_dim=1, **SMALL).fit(X).score(X)
    wide = Autoencoder(latent_dim=12, **SMALL).fit(X).score(X)
    assert wide > narrow


def test_grid_search_runs_without_a_scorer(X) -> None:
    search = GridSearchCV(Autoencoder(**SMALL), {"latent_dim": [1, 12]}, cv=2).fit(X)
    assert search.best_params_ == {"latent_dim": 12}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_cross_val_score_uses_score(X) -> None:
    scores = cross_val_score(VariationalAutoencoder(latent_dim=4, **SMALL), X, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_feature_names_out_are_one_per_code_dimension(X) -> None:
    names = Autoencoder(latent_dim=3, **SMALL).fit(X).get_feature_names_out()
    assert names.tolist() == ["autoencoder0", "autoencoder1", "autoencoder2"]


def test_feature_names_out_checks_input_names(X) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = Autoencoder(latent_dim=2, **SMALL).fit(frame)
    with pytest.raises(ValueError, match="input_features"):
        model.get_feature_names_out(["wrong"] * X.shape[1])


def test_set_output_pandas(X) -> None:
    pd = pytest.importorskip("pandas")
    model = Autoencoder(latent_dim=3, **SMALL).set_output(transform="pandas").fit(X)
    Z = model.transform(X[:5])
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["autoencoder0", "autoencoder1", "autoencoder2"]
    np.testing.assert_array_equal(
        Z.to_numpy(), model.set_output(transform="default").transform(X[:5])
    )


def test_set_output_pandas_inside_a_pipeline(X) -> None:
    pd = pytest.importorskip("pandas")
    pipe = make_pipeline(StandardScaler(), VariationalAutoencoder(latent_dim=2, **SMALL))
    Z = pipe.set_output(transform="pandas").fit_transform(X)
    assert isinstance(Z, pd.DataFrame) and Z.shape == (X.shape[0], 2)
    assert list(Z.columns) == ["variationalautoencoder0", "variationalautoencoder1"]


def test_set_output_polars(X) -> None:
    pl = pytest.importorskip("polars")
    model = Autoencoder(latent_dim=2, **SMALL).set_output(transform="polars").fit(X)
    Z = model.transform(X[:4])
    assert isinstance(Z, pl.DataFrame) and Z.columns == ["autoencoder0", "autoencoder1"]


def test_categorical_set_output_pandas(breastw_fields) -> None:
    pd = pytest.importorskip("pandas")
    model = CategoricalAutoencoder(latent_dim=2, **SMALL).set_output(transform="pandas")
    Z = model.fit(breastw_fields).transform(breastw_fields[:3])
    assert isinstance(Z, pd.DataFrame) and Z.shape == (3, 2)


def test_smaller_dim_under_pandas_output_is_a_clear_error(X) -> None:
    model = Autoencoder(latent_dim=4, nested_dims=(2,), **SMALL).fit(X)
    assert model.transform(X[:3], dim=2).shape == (3, 2)
    model.set_output(transform="pandas")
    with pytest.raises(InputError, match="encode"):
        model.transform(X[:3], dim=2)
