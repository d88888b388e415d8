"""Encodings per byte: the similarity loss, nested sizes, int8 and binary codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import vecae
from vecae import Autoencoder, InputError, VariationalAutoencoder
from vecae._batches import SubsetSource, TensorSource
from vecae._quantize import hamming_similarity, pack_bits, unpack_bits
from vecae._similarity import (
    NeighbourSource,
    SimilarityObjective,
    SimilarityWeights,
    cosine_matrix,
    hamming_target,
    mine_neighbours,
    nested_similarity_loss,
    similarity_loss,
)


@pytest.fixture(scope="module")
def nested_model(glove_vectors: np.ndarray) -> VariationalAutoencoder:
    return VariationalAutoencoder(
        latent_dim=32,
        objective="similarity",
        nested_dims=(16, 8),
        epochs=2,
        batch_size=256,
        random_state=0,
    ).fit(glove_vectors[:1500])


def test_similarity_loss_equals_hand_computed_value() -> None:
    codes = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    originals = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    tau, kl_w, mse_w = 0.5, 1.0, 2.0

    def cos(m: np.ndarray) -> np.ndarray:
        u = m / np.linalg.norm(m, axis=1, keepdims=True)
        return u @ u.T

    s, t = cos(codes.numpy().astype(float)), cos(originals.numpy().astype(float))
    kl, sq = 0.0, []
    for i in range(3):
        others = [j for j in range(3) if j != i]
        p = np.exp(t[i, others] / tau) / np.exp(t[i, others] / tau).sum()
        q = np.exp(s[i, others] / tau) / np.exp(s[i, others] / tau).sum()
        kl += float((p * np.log(p / q)).sum()) / 3
        sq += [(s[i, j] - t[i, j]) ** 2 for j in others]
    expected = kl_w * kl + mse_w * float(np.mean(sq))

    got = similarity_loss(
        codes, cosine_matrix(originals), temperature=tau, kl_weight=kl_w, mse_weight=mse_w
    )
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_bit_terms_apply_only_to_the_larger_nested_sizes() -> None:
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(12, 8, generator=g)
    target = cosine_matrix(torch.randn(12, 5, generator=g))
    weights = SimilarityWeights(bits=0.5, bit_size_fraction=0.5)
    bit_target = hamming_target(target)

    def floats(k: int) -> torch.Tensor:
        return similarity_loss(codes[:, :k], target)

    def bits(k: int) -> torch.Tensor:
        return similarity_loss(torch.sign(codes[:, :k]), bit_target)

    # 8 and 4 are at least half the largest size and get bit terms; 2 does not.
    expected = (floats(8) + 0.5 * bits(8) + floats(4) + 0.5 * bits(4) + floats(2)) / 3
    got = nested_similarity_loss(codes, target, (8, 4, 2), weights)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


class _Encoder:
    """A fixed linear encoder, so the objective's loss can be checked by hand."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight


class _NoInner:
    def training_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return batch.new_zeros(())


def test_similarity_blocks_are_row_weighted_means_of_the_block_losses() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10, 6, generator=g)
    weight = torch.randn(6, 4, generator=g)
    weights = SimilarityWeights(block_rows=4)
    objective = SimilarityObjective(_Encoder(weight), _NoInner(), (4, 2), weights)
    z = x @ weight
    # Blocks of 4, 4 and 2 rows (a last block of one row would join the previous one).
    expected = sum(
        nested_similarity_loss(z[a:b], cosine_matrix(x[a:b]), (4, 2), weights) * (b - a) / 10
        for a, b in ((0, 4), (4, 8), (8, 10))
    )
    got = objective.training_loss(x, 0)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


def test_neighbour_batches_put_each_anchor_next_to_one_of_its_neighbours() -> None:
    data = torch.arange(20, dtype=torch.float32).unsqueeze(1)
    train = SubsetSource(TensorSource(data), torch.arange(2, 20))
    table = torch.zeros((20, 2), dtype=torch.long)
    table[:, 0], table[:, 1] = (torch.arange(20) + 1) % 20, (torch.arange(20) + 2) % 20
    source = NeighbourSource(train, table, torch.Generator().manual_seed(0))
    rows = source.batch(torch.tensor([0, 5, 9])).squeeze(1).long()
    anchors, partners = rows[0::2], rows[1::2]
    assert anchors.tolist() == [2, 7, 11]
    assert all(int(p - a) % 20 in (1, 2) for a, p in zip(anchors, partners, strict=True))


def test_mined_neighbours_are_the_exact_nearest_other_rows(glove_vectors: np.ndarray) -> None:
    x = torch.from_numpy(glove_vectors[:300])
    found = mine_neighbours(x, 5).numpy()
    sims = cosine_matrix(x).numpy()
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :5]
    assert (found != np.arange(300)[:, None]).all()
    agree = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found, expected, strict=True)])
    assert agree > 0.99  # ties in float32 may swap a neighbour, nothing more


def test_nested_truncation_is_the_first_columns_renormalised(
    nested_model: VariationalAutoencoder, glove_vectors: np.ndarray
) -> None:
    full = nested_model.transform(glove_vectors[:50])
    for k in (16, 8):
        first = full[:, :k] / np.linalg.norm(full[:, :k], axis=1, keepdims=True)
        np.testing.assert_allclose(
            nested_model.transform(glove_vectors[:50], dim=k), first, rtol=1e-6
        )
    assert nested_model.nested_dims_ == (32, 16, 8)
    assert nested_model.metric_ == "cosine"


def test_int8_single_row_equals_batch_row_after_save_and_load(
    nested_model: VariationalAutoencoder, glove_vectors: np.ndarray, tmp_path: Path
) -> None:
    loaded = vecae.load(nested_model.save(tmp_path / "m"))
    batch = loaded.encode(glove_vectors[:200], precision="int8")
    alone = loaded.encode(glove_vectors[7:8], precision="int8")
    assert batch.dtype == np.int8 and batch.shape == (200, 32)
    np.testing.assert_array_equal(alone[0], batch[7])
    np.testing.assert_array_equal(batch, nested_model.encode(glove_vectors[:200], precision="int8"))
    assert np.abs(batch).max() > 60  # the fitted step uses the int8 range


def test_binary_codes_are_the_packed_signs(
    nested_model: VariationalAutoencoder, glove_vectors: np.ndarray
) -> None:
    codes = nested_model.encode(glove_vectors[:40], dim=16, precision="binary")
    assert codes.dtype == np.uint8 and codes.shape == (40, 2)
    raw = nested_model.transform(glove_vectors[:40])[:, :16]
    np.testing.assert_array_equal(unpack_bits(codes), raw > 0)


def test_packed_bits_round_trip() -> None:
    bits = np.random.default_rng(0).random((37, 24)) > 0.5
    packed = pack_bits(bits)
    assert packed.shape == (37, 3)
    np.testing.assert_array_equal(unpack_bits(packed), bits)


def test_hamming_similarity_is_the_cosine_of_signs() -> None:
    bits = np.random.default_rng(1).random((20, 64)) > 0.5
    signs = np.where(bits, 1.0, -1.0)
    expected = (signs[:10] * signs[10:]).sum(axis=1) / 64
    packed = pack_bits(bits)
    np.testing.assert_allclose(hamming_similarity(packed[:10], packed[10:]), expected)


def test_hamming_target_is_the_mean_cosine_of_signs_at_that_angle() -> None:
    # Gaussian code pairs with cosine c: their sign vectors' cosine averages (2/pi) asin(c).
    generator = torch.Generator().manual_seed(0)
    cosines = torch.tensor([-0.6, 0.0, 0.3, 0.7, 0.95])
    a = torch.randn(5, 200_000, generator=generator)
    b = torch.randn(5, 200_000, generator=generator)
    partner = cosines[:, None] * a + (1 - cosines[:, None] ** 2).sqrt() * b
    sign_cosines = (a.sign() * partner.sign()).mean(dim=1)
    torch.testing.assert_close(hamming_target(cosines), sign_cosines, atol=5e-3, rtol=0)


def test_float16_is_the_float32_code_rounded(
    nested_model: VariationalAutoencoder, glove_vectors: np.ndarray
) -> None:
    half = nested_model.encode(glove_vectors[:20], dim=16, precision="float16")
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, nested_model.transform(glove_vectors[:20], dim=16), atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "int4"}, "precision must be one of"),
        ({"dim": 12, "precision": "binary"}, "multiple of 8"),
        ({"dim": 64}, "between 1 and latent_dim=32"),
        ({"dim": 0}, "between 1 and latent_dim=32"),
    ],
)
def test_unsupported_encodings_raise_input_error(
    nested_model: VariationalAutoencoder,
    glove_vectors: np.ndarray,
    kwargs: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        nested_model.encode(glove_vectors[:3], **kwargs)  # type: ignore[arg-type]


def test_nested_dims_larger_than_the_code_are_refused(glove_vectors: np.ndarray) -> None:
    with pytest.raises(InputError, match="nested_dims"):
        Autoencoder(latent_dim=8, nested_dims=(16,), epochs=1).fit(glove_vectors[:100])


def test_reconstruction_models_threshold_bits_at_the_median(glove_vectors: np.ndarray) -> None:
    model = Autoencoder(latent_dim=8, epochs=2, random_state=0).fit(glove_vectors[:800])
    bits = unpack_bits(model.encode(glove_vectors[:800], precision="binary"))
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.01)  # balanced on the training rows
    assert model.metric_ == "euclidean"


def test_encode_returns_arrays_under_pandas_output(
    nested_model: VariationalAutoencoder, glove_vectors: np.ndarray
) -> None:
    pytest.importorskip("pandas")
    from sklearn.base import clone

    model = clone(nested_model).set_params(epochs=1).fit(glove_vectors[:600])
    model.set_output(transform="pandas")
    bits = model.encode(glove_vectors[:5], dim=16, precision="binary")
    assert isinstance(bits, np.ndarray) and bits.shape == (5, 2)
