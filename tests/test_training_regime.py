"""VariationalAutoencoder's "auto" training settings: the large-batch regime and when it applies.

Real data: the 100,000 most frequent GloVe words (90,000 training rows, enough for 20 steps of
4096 rows per epoch) and the session's 4000-word slice. Fits are stopped after one epoch by a
callback, which also reads the configured maximum of epochs and the rate.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vecae
from vecae import Callback, EpochLog, VariationalAutoencoder
from vecae.datasets import load_glove

pytestmark = pytest.mark.slow  # fits on 100,000 rows


class OneEpoch(Callback):
    """Stop after the first epoch; remember what the trainer was configured with."""

    def on_train_begin(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, log: EpochLog) -> bool:
        self.learning_rate = log.learning_rate
        return True


@pytest.fixture(scope="module")
def glove_100k() -> np.ndarray:
    return np.array(load_glove(100_000)[1])


def fit_one_epoch(X: np.ndarray, **params: object) -> tuple[VariationalAutoencoder, OneEpoch]:
    seen = OneEpoch()
    model = VariationalAutoencoder(latent_dim=8, random_state=0, n_threads=1, **params)
    return model.fit(X, callbacks=[seen]), seen


def test_many_rows_train_with_large_batches_for_fewer_epochs(glove_100k):
    model, seen = fit_one_epoch(glove_100k)
    assert model.large_batch_
    assert (seen.epochs, seen.learning_rate) == (45, pytest.approx(4e-3))
    assert model.module_.skip is not None


def test_the_large_batch_skip_path_starts_at_the_principal_directions(glove_100k):
    model = VariationalAutoencoder(latent_dim=8, epochs=0, random_state=0).fit(glove_100k)
    Z = torch.from_numpy(model.scaler_.apply(glove_100k)).double()
    _, _, vh = torch.linalg.svd(Z - Z.mean(dim=0), full_matrices=False)
    skip = model.module_.skip.weight.detach().double()
    # Each row lies in the span of the 8 leading principal directions (computed from a
    # 50,000-row sample, so directions with nearly equal variance may mix within the span).
    in_span = (skip @ vh[:8].T).norm(dim=1)
    assert bool((in_span > 0.99).all())


def test_few_rows_keep_the_standard_recipe(glove_vectors):
    model, seen = fit_one_epoch(glove_vectors)
    assert not model.large_batch_
    assert (seen.epochs, seen.learning_rate) == (100, pytest.approx(1e-3))
    assert model.module_.skip is None


def test_an_explicit_batch_size_keeps_the_standard_recipe(glove_100k):
    model, seen = fit_one_epoch(glove_100k, batch_size=4096)
    assert not model.large_batch_
    assert (seen.epochs, seen.learning_rate) == (100, pytest.approx(1e-3))


def test_a_saved_large_batch_model_loads_with_its_skip_path(glove_100k, tmp_path):
    model, _ = fit_one_epoch(glove_100k)
    loaded = vecae.load(model.save(tmp_path / "m"))
    assert loaded.large_batch_
    assert np.array_equal(loaded.transform(glove_100k[:500]), model.transform(glove_100k[:500]))


def test_partial_fit_keeps_the_standard_recipe(glove_100k):
    # The large-batch skip path is initialised from the split only fit makes.
    model = VariationalAutoencoder(latent_dim=8, random_state=0, n_threads=1)
    model.partial_fit(glove_100k)
    assert not model.large_batch_
    assert model.module_.skip is None
