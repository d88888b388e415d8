"""transform's inference path: standardisation folded into the first layer (FoldedEncoder).

The 4,000 most frequent GloVe words have a feature whose mean is 4.3 standard deviations from
zero, above FOLD_MAX_SHIFT: the fold is tested on the same vectors centred (``centred``).
"""

from __future__ import annotations

import numpy as np
import pytest

from vecae import Autoencoder, VariationalAutoencoder
from vecae._dense import FOLD_MAX_SHIFT, _DenseRows
from vecae._exceptions import InputError


@pytest.fixture(scope="module")
def centred(glove_vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(glove_vectors - glove_vectors.mean(axis=0), dtype=np.float32)


def unfolded(model: Autoencoder | VariationalAutoencoder, X: np.ndarray) -> np.ndarray:
    """The codes through the standardise-then-encode path (no folding)."""
    source = _DenseRows(X, model.scaler_, model.device_)
    return model._map(source, model.module_.encode)


@pytest.mark.parametrize(
    ("cls", "objective"),
    [
        (Autoencoder, "reconstruction"),
        (Autoencoder, "similarity"),  # with the linear skip path
        (VariationalAutoencoder, "similarity"),
    ],
)
def test_folded_transform_matches_unfolded_to_float32_rounding(
    centred: np.ndarray, cls: type[Autoencoder], objective: str
) -> None:
    model = cls(latent_dim=16, epochs=2, objective=objective, random_state=0).fit(centred)
    assert model._folded_encoder(centred) is not None  # this data takes the folded path
    folded, reference = model.transform(centred), unfolded(model, centred)
    scale = float(np.abs(reference).max())
    np.testing.assert_allclose(folded, reference, rtol=0, atol=1e-5 * scale)


def test_far_from_zero_mean_is_not_folded_and_stays_bit_identical(
    glove_vectors: np.ndarray,
) -> None:
    shifted = glove_vectors + np.float32(50.0)  # mean / std far above FOLD_MAX_SHIFT
    model = Autoencoder(latent_dim=8, epochs=1, random_state=0).fit(shifted)
    assert np.max(np.abs(model.scaler_.mean) / model.scaler_.std) > FOLD_MAX_SHIFT
    np.testing.assert_array_equal(model.transform(shifted), unfolded(model, shifted))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_row_is_named_even_through_a_bounded_activation(
    centred: np.ndarray, bad: float
) -> None:
    # tanh maps +-inf to +-1 and there is no skip path: only the first pre-activation, which
    # the folded encoder checks, still shows the bad value.
    model = Autoencoder(
        latent_dim=8, epochs=1, activation="tanh", objective="reconstruction", random_state=0
    ).fit(centred)
    assert model._folded_encoder(centred) is not None
    X = np.concatenate([centred] * 3)  # 12,000 rows: the bad one is in the 2nd batch
    X[9001, 7] = bad
    with pytest.raises(InputError, match="row 9001 contains NaN or Inf"):
        model.transform(X)


def test_cached_folded_encoder_follows_weight_updates_and_refits(centred: np.ndarray) -> None:
    import torch

    model = Autoencoder(latent_dim=8, epochs=1, random_state=0).fit(centred)
    assert model._folded_encoder(centred) is not None
    before = model.transform(centred)
    with torch.no_grad():
        model.module_.encoder[0].weight.mul_(2.0)  # in place, as an optimiser step is
    after = model.transform(centred)
    assert not np.allclose(after, before)
    reference = unfolded(model, centred)
    np.testing.assert_allclose(after, reference, rtol=0, atol=1e-5 * np.abs(reference).max())
    model.set_params(random_state=1).fit(centred[::-1].copy())
    reference = unfolded(model, centred)
    np.testing.assert_allclose(
        model.transform(centred), reference, rtol=0, atol=1e-5 * np.abs(reference).max()
    )
