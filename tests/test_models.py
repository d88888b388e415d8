"""The torch modules in ``vecae.models``, used directly: shapes, and loss values by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vecae.models import (
    CategoricalConfig,
    CategoricalNet,
    DenseConfig,
    DenseNet,
    VariationalConfig,
    VariationalNet,
)
from vecae.models.variational import kl_to_standard_normal


@pytest.fixture(scope="module")
def x(glove_vectors) -> torch.Tensor:
    """64 real GloVe rows (50-d)."""
    return torch.from_numpy(np.ascontiguousarray(glove_vectors[:64]))


@pytest.fixture(scope="module")
def one_hot(breastw_fields) -> tuple[torch.Tensor, tuple[int, ...]]:
    """ADBench breastw's nine 1-10 fields as one-hot blocks of 10 (683 x 90)."""
    rows = breastw_fields - 1
    eye = np.eye(10, dtype=np.float32)
    return torch.from_numpy(np.concatenate([eye[rows[:, j]] for j in range(9)], axis=1)), (10,) * 9


def _seeded(seed: int = 0) -> None:
    torch.manual_seed(seed)  # module initialisation only; the library never seeds globally


def _zero_last_layer(module: torch.nn.Module) -> None:
    last = [m for m in module.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()


# ------------------------------------------------------------------------- dense


@pytest.mark.parametrize("hidden", [(), (32,), (32, 16)])
def test_dense_shapes(x, hidden) -> None:
    _seeded()
    net = DenseNet(DenseConfig(n_features=50, latent_dim=8, hidden=hidden))
    assert net.encode(x).shape == (64, 8)
    assert net(x).shape == x.shape


def test_dense_loss_is_the_mean_squared_error(x) -> None:
    _seeded()
    net = DenseNet(DenseConfig(n_features=50, latent_dim=8, hidden=(32,)))
    expected = ((net(x) - x) ** 2).mean()
    assert net.loss(x, x).item() == pytest.approx(expected.item(), rel=1e-6)
    assert net.sample_errors(x).mean().item() == pytest.approx(expected.item(), rel=1e-5)


def test_dense_zero_decoder_reconstructs_zeros(x) -> None:
    _seeded()
    net = DenseNet(DenseConfig(n_features=50, latent_dim=8, hidden=(32,)))
    _zero_last_layer(net.decoder)
    assert net.loss(x, x).item() == pytest.approx((x**2).mean().item(), rel=1e-6)


def test_dense_skip_path_adds_a_linear_map(x) -> None:
    _seeded()
    net = DenseNet(DenseConfig(n_features=50, latent_dim=8, hidden=(32,), skip=True))
    assert net.skip is not None
    torch.testing.assert_close(net.encode(x), net.encoder(x) + net.skip(x))


# ------------------------------------------------------------------- variational


def test_vae_shapes(x) -> None:
    _seeded()
    net = VariationalNet(VariationalConfig(n_features=50, latent_dim=6, hidden=(32,)))
    mean, logvar = net.posterior(x)
    assert mean.shape == logvar.shape == (64, 6)
    assert net.encode(x).shape == (64, 6) and net(x).shape == x.shape
    assert net.sample(5, generator=torch.Generator().manual_seed(0)).shape == (5, 50)


def test_kl_is_zero_at_the_prior_and_closed_form_elsewhere() -> None:
    zeros = torch.zeros(3, 4)
    assert kl_to_standard_normal(zeros, zeros).tolist() == [0.0, 0.0, 0.0]
    mean, logvar = torch.full((1, 2), 1.0), torch.full((1, 2), math.log(2.0))
    # Per dimension: 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2) = 0.5 * (1 + 2 - 1 - ln 2).
    assert kl_to_standard_normal(mean, logvar).item() == pytest.approx(2 - math.log(2.0))


def test_vae_negative_elbo_by_hand(x) -> None:
    _seeded()
    net = VariationalNet(VariationalConfig(n_features=50, latent_dim=6, hidden=(32,)))
    mean, logvar = net.posterior(x)
    reconstruction = 0.5 * ((net.decode(mean) - x) ** 2).sum(dim=1)
    kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(dim=1)
    torch.testing.assert_close(net.negative_elbo(x), (reconstruction + kl).detach())
    torch.testing.assert_close(net.negative_elbo(x, beta=0.0), reconstruction.detach())


def test_vae_training_loss_combines_terms_and_is_seeded(x) -> None:
    _seeded()
    net = VariationalNet(VariationalConfig(n_features=50, latent_dim=6, hidden=(32,)))
    a = net.loss(x, x, beta=0.5, generator=torch.Generator().manual_seed(1))
    b = net.loss(x, x, beta=0.5, generator=torch.Generator().manual_seed(1))
    assert a.total.item() == b.total.item()
    expected = (a.reconstruction + 0.5 * a.kl) / 50
    assert a.total.item() == pytest.approx(expected.item(), rel=1e-6)


# ------------------------------------------------------------------- categorical


def test_categorical_shapes_and_predictions(one_hot) -> None:
    X, sizes = one_hot
    _seeded()
    net = CategoricalNet(
        CategoricalConfig(n_features=90, latent_dim=4, hidden=(16,), field_sizes=sizes)
    )
    logits = net(X)
    assert net.encode(X).shape == (683, 4) and logits.shape == (683, 90)
    predictions = net.field_predictions(logits)
    assert predictions.shape == (683, 9) and int(predictions.max()) <= 9


def test_categorical_uniform_logits_cost_log_field_size(one_hot) -> None:
    X, sizes = one_hot
    _seeded()
    net = CategoricalNet(
        CategoricalConfig(n_features=90, latent_dim=4, hidden=(16,), field_sizes=sizes)
    )
    _zero_last_layer(net.decoder)
    # Every field is a uniform softmax over 10 values: -log(1/10) each, nine fields per row.
    torch.testing.assert_close(net.sample_errors(X), torch.full((683,), 9 * math.log(10)))
    assert net.loss(X, X).item() == pytest.approx(math.log(10), rel=1e-6)


def test_categorical_softmax_loss_is_per_field_cross_entropy(one_hot) -> None:
    X, sizes = one_hot
    _seeded()
    net = CategoricalNet(
        CategoricalConfig(n_features=90, latent_dim=4, hidden=(16,), field_sizes=sizes)
    )
    logits = net(X)
    expected = sum(
        F.cross_entropy(logits[:, 10 * j : 10 * j + 10], X[:, 10 * j : 10 * j + 10].argmax(1))
        for j in range(9)
    )
    assert net.loss(X, X).item() == pytest.approx(expected.item() / 9, rel=1e-5)


@pytest.mark.parametrize("likelihood", ["multinomial", "binary"])
def test_bag_likelihoods_by_hand(sst2_bags, likelihood) -> None:
    X = torch.from_numpy(sst2_bags[:100].toarray().astype(np.float32))
    _seeded()
    net = CategoricalNet(
        CategoricalConfig(n_features=300, latent_dim=4, hidden=(16,), likelihood=likelihood)
    )
    logits = net(X)
    if likelihood == "multinomial":
        expected = -(F.log_softmax(logits, dim=1) * X).sum(dim=1)
    else:
        expected = F.binary_cross_entropy_with_logits(logits, X, reduction="none").sum(dim=1)
    torch.testing.assert_close(net.sample_errors(X), expected.detach())


def test_softmax_field_sizes_must_cover_the_width() -> None:
    with pytest.raises(ValueError, match="field_sizes"):
        CategoricalNet(CategoricalConfig(n_features=90, latent_dim=4, field_sizes=(10, 10)))
