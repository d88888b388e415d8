"""ONNX export: onnxruntime gives the model's own answers on real GloVe vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

from vecae import Autoencoder, InputError, VariationalAutoencoder  # noqa: E402
from vecae.export import export_onnx  # noqa: E402

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def vae(glove_vectors: np.ndarray) -> VariationalAutoencoder:
    return VariationalAutoencoder(latent_dim=16, epochs=5, random_state=0).fit(glove_vectors)


def _run(path: Path, name: str, X: np.ndarray) -> Any:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: X})[0]


def test_encoder_matches_torch_on_real_vectors(
    vae: VariationalAutoencoder, glove_vectors: np.ndarray, tmp_path: Path
) -> None:
    path = export_onnx(vae, tmp_path / "encoder.onnx")
    codes = _run(path, "vectors", glove_vectors)
    assert codes.shape == (len(glove_vectors), 16)
    assert np.abs(codes - vae.transform(glove_vectors)).max() <= TOLERANCE


def test_encoder_batch_dimension_is_dynamic(
    vae: VariationalAutoencoder, glove_vectors: np.ndarray, tmp_path: Path
) -> None:
    path = export_onnx(vae, tmp_path / "encoder.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert isinstance(session.get_inputs()[0].shape[0], str)  # symbolic, not a fixed size
    for n in (1, 7, 1000):
        codes = session.run(None, {"vectors": glove_vectors[:n]})[0]
        assert codes.shape == (n, 16)
        assert np.abs(codes - vae.transform(glove_vectors[:n])).max() <= TOLERANCE


@pytest.mark.slow
def test_decoder_matches_inverse_transform(
    vae: VariationalAutoencoder, glove_vectors: np.ndarray, tmp_path: Path
) -> None:
    path = export_onnx(vae, tmp_path / "decoder.onnx", part="decoder")
    codes = vae.transform(glove_vectors)
    decoded = _run(path, "codes", codes)
    assert np.abs(decoded - vae.inverse_transform(codes)).max() <= TOLERANCE


@pytest.mark.slow
def test_l2_normalisation_is_folded_into_the_encoder(
    glove_vectors: np.ndarray, tmp_path: Path
) -> None:
    model = Autoencoder(
        latent_dim=8, normalize=True, scale="feature", epochs=3, random_state=0
    ).fit(glove_vectors)
    path = export_onnx(model, tmp_path / "encoder.onnx")
    # Rows scaled by 10: only the in-graph normalisation makes the codes equal.
    codes = _run(path, "vectors", 10 * glove_vectors)
    assert np.abs(codes - model.transform(glove_vectors)).max() <= TOLERANCE


def test_existing_file_is_refused_and_left_alone(
    vae: VariationalAutoencoder, tmp_path: Path
) -> None:
    target = tmp_path / "encoder.onnx"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="already exists"):
        export_onnx(vae, target)
    assert target.read_bytes() == b"keep me"


def test_categorical_model_is_refused(breastw_fields: np.ndarray, tmp_path: Path) -> None:
    from vecae import CategoricalAutoencoder

    model = CategoricalAutoencoder(latent_dim=2, epochs=1, random_state=0).fit(breastw_fields)
    with pytest.raises(InputError, match="needs a fitted dense model"):
        export_onnx(model, tmp_path / "encoder.onnx")
    assert not (tmp_path / "encoder.onnx").exists()


@pytest.mark.slow
def test_cli_writes_encoder_and_decoder(
    vae: VariationalAutoencoder,
    glove_vectors: np.ndarray,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from vecae.cli import main

    model_dir = vae.save(tmp_path / "model")
    encoder, decoder = tmp_path / "enc.onnx", tmp_path / "dec.onnx"
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(model_dir), "-o", str(encoder), "--decoder", str(decoder), "--json"])
    assert exit_info.value.code in (0, None)
    result = json.loads(capsys.readouterr().out)
    assert result["encoder"] == str(encoder) and result["decoder"] == str(decoder)
    codes = _run(encoder, "vectors", glove_vectors[:50])
    assert np.abs(codes - vae.transform(glove_vectors[:50])).max() <= TOLERANCE
    assert _run(decoder, "codes", codes).shape == (50, 50)
