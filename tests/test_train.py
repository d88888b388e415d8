"""The trainer: divergence handling, early stopping and the batch sources."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from vecae import Autoencoder, Callback, EpochLog, PrintProgress, TrainingDivergedError
from vecae._batches import CodesSource, SparseSource
from vecae._objectives import ELBO, Corruption


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


class _Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.began: list[int] = []
        self.logs: list[EpochLog] = []
        self.ended: list[str] = []
        self.stop_at = stop_at

    def on_train_begin(self, epochs: int) -> None:
        self.began.append(epochs)

    def on_epoch_end(self, log: EpochLog) -> bool:
        self.logs.append(log)
        return self.stop_at is not None and log.epoch >= self.stop_at

    def on_train_end(self, result: object) -> None:
        self.ended.append(getattr(result, "stop_reason", ""))


def test_callbacks_see_every_epoch_as_the_history_records_it(glove_vectors):
    recorder = _Recorder()
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=4, random_state=0)
    model.fit(glove_vectors[:300], callbacks=[recorder])
    assert recorder.began == [4]
    assert [log.epoch for log in recorder.logs] == [1, 2, 3, 4]
    assert [log.val_loss for log in recorder.logs] == model.history_["val_loss"]
    assert recorder.ended == [model.stop_reason_]


def test_a_callback_can_stop_training(glove_vectors):
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=50, random_state=0)
    model.fit(glove_vectors[:300], callbacks=[_Recorder(stop_at=2)])
    assert model.n_epochs_ == 2
    assert "callback" in model.stop_reason_


def test_on_train_end_runs_when_training_diverges(glove_vectors):
    recorder = _Recorder()
    model = Autoencoder(latent_dim=4, hidden=(32,), learning_rate=1e6, random_state=0, epochs=50)
    with pytest.raises(TrainingDivergedError):
        model.fit(glove_vectors * 1e3, callbacks=[recorder])
    assert recorder.ended == ["diverged"]


def test_verbose_prints_one_plain_line_per_epoch(glove_vectors, capsys):
    Autoencoder(latent_dim=4, hidden=(16,), epochs=3, verbose=True, random_state=0).fit(
        glove_vectors[:300]
    )
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]


def test_print_progress_writes_to_the_given_stream():
    stream = io.StringIO()
    PrintProgress(stream).on_epoch_end(EpochLog(2, 5, 0.5, 0.25, 1e-3, True, 1.0))
    assert stream.getvalue().startswith("epoch 2/5  train 0.50000  val 0.25000")


def test_fitting_never_imports_rich(glove_vectors):
    code = (
        "import sys, numpy as np; from vecae import Autoencoder; "
        "Autoencoder(latent_dim=2, hidden=(8,), epochs=2, verbose=True, random_state=0)"
        ".fit(np.random.default_rng(0).normal(size=(64, 6)).astype('float32')); "
        "print('rich' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_cosine_schedule_anneals_the_rate_towards_zero(glove_vectors):
    model = Autoencoder(
        latent_dim=4, hidden=(16,), epochs=6, lr_schedule="cosine", patience=100, random_state=0
    ).fit(glove_vectors[:2000])
    rates = model.history_["learning_rate"]
    assert rates[0] == pytest.approx(1e-3, rel=0.01)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] < 0.1e-3


def test_plateau_schedule_cuts_the_rate_by_lr_factor(glove_vectors):
    # 60 rows overfit within a few hundred one-step epochs, so validation loss stalls.
    model = Autoencoder(
        latent_dim=16,
        hidden=(256,),
        epochs=300,
        patience=300,
        lr_patience=1,
        lr_factor=0.25,
        random_state=0,
    ).fit(glove_vectors[:60])
    rates = sorted(set(model.history_["learning_rate"]), reverse=True)
    assert rates[1] == pytest.approx(rates[0] * 0.25)


def test_grad_clip_is_reachable_from_the_estimator(glove_vectors):
    clipped = Autoencoder(latent_dim=4, hidden=(16,), epochs=2, grad_clip=1e-6, random_state=0)
    free = Autoencoder(latent_dim=4, hidden=(16,), epochs=2, grad_clip=0.0, random_state=0)
    X = glove_vectors[:500]
    assert clipped.fit(X).history_["val_loss"] != free.fit(X).history_["val_loss"]


def test_elbo_kl_weight_warms_up_linearly_to_beta():
    objective = ELBO(
        None,
        Corruption(0.0, 0.0, torch.Generator()),
        beta=0.2,
        kl_warmup=4,
        generator=torch.Generator(),
        val_generator=torch.Generator(),
    )
    assert [objective.kl_weight(e) for e in range(6)] == pytest.approx(
        [0.05, 0.1, 0.15, 0.2, 0.2, 0.2]
    )
