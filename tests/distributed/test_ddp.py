"""Data-parallel fit: 2 gloo processes under torchrun on real GloVe rows (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vecae
from vecae import VariationalAutoencoder
from vecae.distributed._ddp import fit_with_torchrun

pytestmark = pytest.mark.slow

PARAMS = {"latent_dim": 8, "hidden": [64], "epochs": 8, "batch_size": 256, "random_state": 0}
VECAE = str(Path(sys.executable).with_name("vecae"))


@pytest.fixture(scope="module")
def data(tmp_path_factory, glove_vectors):
    root = tmp_path_factory.mktemp("ddp")
    X = np.ascontiguousarray(glove_vectors, dtype=np.float32)
    np.save(root / "x.npy", X)
    fit_with_torchrun("variational", PARAMS, root / "x.npy", root / "a", nproc=2)
    return root, X


def test_two_processes_lower_the_loss(data):
    root, _ = data
    losses = vecae.load(root / "a").history_["val_loss"]
    assert losses[-1] < 0.85 * losses[0]


def test_two_processes_match_one_within_the_seed_spread(data):
    # Documented tolerance (docs/scale.md): within 10% of the 1-process validation loss on
    # the same data and epochs; across seeds 0-3 the 1-process losses themselves span 8%.
    root, X = data
    params = {**PARAMS, "hidden": (64,)}
    one = VariationalAutoencoder(**params).fit(X).history_["val_loss"][-1]
    two = vecae.load(root / "a").history_["val_loss"][-1]
    assert abs(two - one) <= 0.10 * one


def test_same_seed_same_world_size_same_model(data):
    root, X = data
    fit_with_torchrun("variational", PARAMS, root / "x.npy", root / "b", nproc=2)
    a, b = vecae.load(root / "a"), vecae.load(root / "b")
    assert np.array_equal(a.transform(X), b.transform(X))


def test_cli_fit_engine_torchrun(data, tmp_path):
    root, _ = data
    done = subprocess.run(
        [
            VECAE,
            "fit",
            root / "x.npy",
            "-o",
            tmp_path / "m",
            "--engine",
            "torchrun",
            "--nproc",
            "2",
            "--epochs",
            "2",
            "--latent-dim",
            "4",
            "--seed",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["epochs_run"] == 2
