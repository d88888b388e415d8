"""Model directories: round trips, and refusal of bad files."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import vecae
from vecae import Autoencoder, CategoricalAutoencoder, ModelFileError, VariationalAutoencoder

FAST = {"hidden": (32,), "epochs": 3, "random_state": 0}


@pytest.fixture
def saved(tmp_path, glove_vectors):
    model = VariationalAutoencoder(latent_dim=4, normalize=True, **FAST).fit(glove_vectors)
    return model, model.save(tmp_path / "model")


@pytest.mark.parametrize("cls", [Autoencoder, VariationalAutoencoder])
def test_round_trip_transform_is_bit_identical(tmp_path, glove_vectors, cls):
    model = cls(latent_dim=4, **FAST).fit(glove_vectors)
    loaded = vecae.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.transform(glove_vectors), model.transform(glove_vectors))


def test_round_trip_keeps_anomaly_scores_and_threshold(saved, glove_vectors):
    model, path = saved
    loaded = vecae.load(path)
    assert loaded.threshold_ == model.threshold_
    np.testing.assert_array_equal(
        loaded.anomaly_score(glove_vectors), model.anomaly_score(glove_vectors)
    )


def test_round_trip_keeps_history(saved):
    model, path = saved
    assert vecae.load(path).history_ == model.history_


def test_round_trip_categorical_string_fields(tmp_path, breastw_fields):
    fields = np.char.add("v", breastw_fields.astype(str))
    model = CategoricalAutoencoder(latent_dim=3, **FAST).fit(fields)
    loaded = vecae.load(model.save(tmp_path / "c"))
    np.testing.assert_array_equal(
        loaded.inverse_transform(loaded.transform(fields)),
        model.inverse_transform(model.transform(fields)),
    )


def test_round_trip_multi_hot(tmp_path, sst2_bags):
    model = CategoricalAutoencoder(latent_dim=3, **FAST).fit(sst2_bags)
    loaded = vecae.load(model.save(tmp_path / "c"))
    np.testing.assert_array_equal(loaded.transform(sst2_bags), model.transform(sst2_bags))


def test_directory_holds_config_and_safetensors_only(saved):
    _, path = saved
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "preprocessing.safetensors",
        "weights.safetensors",
    ]


def test_config_records_kind_dimensions_and_versions(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    assert (config["kind"], config["fitted"]["n_features_in_"], config["params"]["latent_dim"]) == (
        "variational",
        50,
        4,
    ) and "torch" in config["versions"]


def test_save_refuses_to_overwrite_by_default(saved):
    model, path = saved
    with pytest.raises(FileExistsError):
        model.save(path)


def test_save_overwrite_replaces_the_model(saved, glove_vectors):
    _model, path = saved
    other = VariationalAutoencoder(latent_dim=6, **FAST).fit(glove_vectors)
    other.save(path, overwrite=True)
    assert vecae.load(path).latent_dim == 6


def test_missing_weights_file_is_named(saved):
    _, path = saved
    (path / "weights.safetensors").unlink()
    with pytest.raises(ModelFileError, match=r"weights.safetensors"):
        vecae.load(path)


def test_truncated_weights_file_is_named(saved):
    _, path = saved
    weights = path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFileError, match=r"weights.safetensors.*truncated or modified"):
        vecae.load(path)


def test_tampered_preprocessing_file_is_named(saved):
    _, path = saved
    stats = path / "preprocessing.safetensors"
    data = bytearray(stats.read_bytes())
    data[-1] ^= 0xFF
    stats.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"preprocessing.safetensors"):
        vecae.load(path)


def test_missing_config_is_named(saved):
    _, path = saved
    (path / "config.json").unlink()
    with pytest.raises(ModelFileError, match=r"config.json"):
        vecae.load(path)


def test_newer_format_version_is_refused(saved):
    _, path = saved
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 99
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"format_version 99"):
        vecae.load(path)


class _Payload:
    """Unpickling this object would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_weights_are_refused_and_never_run(saved, tmp_path):
    _, path = saved
    marker = tmp_path / "pwned"
    weights = path / "weights.safetensors"
    weights.write_bytes(pickle.dumps({"encoder.0.weight": _Payload(marker)}))
    # An attacker who can write the weights can also update the checksum: do that too, so the
    # refusal must come from the safetensors parser, not from the checksum.
    import hashlib

    config = json.loads((path / "config.json").read_text())
    config["files"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"weights.safetensors"):
        vecae.load(path)
    assert not marker.exists()
