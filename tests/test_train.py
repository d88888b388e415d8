"""The trainer: divergence handling, early stopping and the batch sources."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from vecae import Autoencoder, TrainingDivergedError
from vecae._train import CodesSource, SparseSource


def test_nan_loss_stops_with_advice(glove_vectors):
    model = Autoencoder(latent_dim=4, hidden=(32,), learning_rate=1e6, random_state=0, epochs=50)
    with pytest.raises(TrainingDivergedError, match=r"lower learning_rate"):
        model.fit(glove_vectors * 1e3)


def test_nan_loss_keeps_best_weights_finite(glove_vectors):
    model = Autoencoder(latent_dim=4, hidden=(32,), learning_rate=1e6, random_state=0, epochs=50)
    with pytest.raises(TrainingDivergedError):
        model.fit(glove_vectors * 1e3)
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())


def test_early_stopping_stops_patience_epochs_after_the_best(glove_vectors):
    # 60 rows and a wide network overfit quickly, so validation loss turns up early.
    model = Autoencoder(latent_dim=16, hidden=(256,), epochs=500, patience=3, random_state=0)
    model.fit(glove_vectors[:60])
    assert model.n_epochs_ == model.best_epoch_ + 3 < 500


def test_best_epoch_is_the_validation_minimum_up_to_min_delta(glove_vectors):
    model = Autoencoder(latent_dim=16, hidden=(256,), epochs=500, patience=3, random_state=0)
    model.fit(glove_vectors[:60])
    losses = model.history_["val_loss"]
    assert losses[model.best_epoch_ - 1] <= min(losses) * (1 + 1e-3)


def test_sparse_source_densifies_only_the_batch():
    matrix = sp.random(1000, 40, density=0.05, format="csr", dtype=np.float32, random_state=0)
    batch = SparseSource(matrix, torch.device("cpu")).batch(torch.tensor([3, 7]))
    np.testing.assert_array_equal(batch.numpy(), matrix[[3, 7]].toarray())


def test_codes_source_one_hot_encodes_fields():
    codes = torch.tensor([[0, 2], [1, -1]])
    batch = CodesSource(codes, torch.tensor([0, 2]), 5).batch(torch.tensor([0, 1]))
    np.testing.assert_array_equal(batch.numpy(), [[1, 0, 0, 0, 1], [0, 1, 0, 0, 0]])


def test_n_threads_is_restored_after_fit(glove_vectors):
    before = torch.get_num_threads()
    Autoencoder(latent_dim=4, hidden=(32,), epochs=1, n_threads=1, random_state=0).fit(
        glove_vectors
    )
    assert torch.get_num_threads() == before
