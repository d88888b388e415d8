"""Fitting from data on disk (block shuffle + shuffle buffer) and partial_fit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from vecae import Autoencoder, InputError, VariationalAutoencoder
from vecae._preprocess import DenseScaler
from vecae._streaming import StreamedRows


@pytest.fixture(scope="module")
def words(glove_vectors):
    return np.ascontiguousarray(glove_vectors, dtype=np.float32)


@pytest.fixture
def npy(tmp_path, words):
    path = tmp_path / "vectors.npy"
    np.save(path, words[:3000])
    return path


def _mse(model, X):
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def test_streamed_fit_reaches_the_in_memory_held_out_error(tmp_path, words):
    train, held_out = words[:3000], words[3000:]
    np.save(tmp_path / "train.npy", train)
    stream = StreamedRows(tmp_path / "train.npy", block_rows=256, buffer_rows=1024)
    in_memory = Autoencoder(latent_dim=8, epochs=15, random_state=0).fit(train)
    streamed = Autoencoder(latent_dim=8, epochs=15, random_state=0).fit(stream)
    assert _mse(streamed, held_out) <= 1.05 * _mse(in_memory, held_out)


def test_statistics_come_from_one_streamed_pass(npy, words):
    model = Autoencoder(latent_dim=4, epochs=1, scale="feature", random_state=0).fit(str(npy))
    exact = DenseScaler.fit(words[:3000], normalize=False, center=True, scale="feature")
    np.testing.assert_allclose(model.scaler_.mean, exact.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.scaler_.std, exact.std, rtol=1e-5)


def test_memory_mapped_array_trains_as_its_file(npy):
    kwargs = dict(latent_dim=4, epochs=2, random_state=0)
    mapped = VariationalAutoencoder(**kwargs).fit(np.load(npy, mmap_mode="r"))
    from_path = VariationalAutoencoder(**kwargs).fit(npy)
    assert mapped.history_ == from_path.history_


def test_shard_dir_and_parquet_train_exactly_like_one_npy(tmp_path, npy, words):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "shards").mkdir()
    for i in range(3):
        np.save(tmp_path / "shards" / f"part-{i}.npy", words[i * 1000 : (i + 1) * 1000])
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(words[:3000].ravel()), 50)
    pq.write_table(pa.table({"vector": vectors}), tmp_path / "v.parquet", row_group_size=1000)

    def fit(path):
        stream = StreamedRows(path, block_rows=1000, buffer_rows=1500)
        return Autoencoder(latent_dim=4, epochs=3, random_state=0).fit(stream)

    reference = fit(npy).transform(words[:100])
    np.testing.assert_array_equal(fit(tmp_path / "shards").transform(words[:100]), reference)
    np.testing.assert_array_equal(fit(tmp_path / "v.parquet").transform(words[:100]), reference)


def test_transform_of_a_path_equals_transform_of_the_array(npy, words):
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(words[:3000])
    np.testing.assert_array_equal(model.transform(npy), model.transform(words[:3000]))


def test_validation_rows_are_capped(npy):
    stream = StreamedRows(npy, max_validation_rows=10)
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(stream)
    train, val = model._prepare(stream).split(0.5, torch.Generator())
    assert (train.n_rows, val.n_rows) == (2990, 10)


def test_a_fortran_order_file_is_refused_with_a_hint(tmp_path, words):
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(words[:10]))
    with pytest.raises(InputError, match=r"f\.npy.*ascontiguousarray"):
        Autoencoder(epochs=1).fit(path)


def test_a_nan_row_is_named(tmp_path, words):
    bad = words[:500].copy()
    bad[321, 4] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(InputError, match="row 321"):
        Autoencoder(epochs=1).fit(tmp_path / "bad.npy")


def test_a_shard_dir_with_mixed_widths_is_refused(tmp_path, words):
    np.save(tmp_path / "a.npy", words[:10])
    np.save(tmp_path / "b.npy", words[:10, :20])
    with pytest.raises(InputError, match="different widths"):
        Autoencoder(epochs=1).fit(tmp_path)


@pytest.mark.slow
def test_peak_memory_stays_bounded_on_a_file_larger_than_the_cap(tmp_path):
    # 29 MB of vectors on disk; the buffers hold about 0.5 MB. Peak RSS may grow by the
    # buffers, the per-batch tensors and allocator slack, far less than the file.
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(120_000, 60))
    for start in range(0, 120_000, 40_000):
        out[start : start + 40_000] = rng.normal(size=(40_000, 60))
    out.flush()
    del out
    code = textwrap.dedent(
        f"""
        import resource, numpy as np
        from vecae import Autoencoder, StreamedRows
        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        warm = np.random.default_rng(0).normal(size=(4096, 60)).astype("float32")
        Autoencoder(latent_dim=8, hidden=(64,), epochs=1, batch_size=512).fit(warm)
        before = peak()
        stream = StreamedRows({str(path)!r}, block_rows=1024, buffer_rows=2048,
                              max_validation_rows=1024)
        Autoencoder(latent_dim=8, hidden=(64,), epochs=1, batch_size=512,
                    random_state=0).fit(stream)
        print(peak() - before)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout.strip()) < 14.0  # MB: under half the file


def test_partial_fit_lowers_the_loss_chunk_by_chunk(words):
    model = Autoencoder(latent_dim=8, random_state=0)
    for _ in range(3):
        for chunk in np.array_split(words[:3000], 6):
            model.partial_fit(chunk)
    losses = model.history_["train_loss"]
    assert model.n_epochs_ == 18
    assert np.mean(losses[-6:]) < np.mean(losses[:6])


def test_partial_fit_continues_a_fitted_model(words):
    model = Autoencoder(latent_dim=8, epochs=3, random_state=0).fit(words[:2000])
    before = _mse(model, words[:2000])
    for _ in range(5):
        model.partial_fit(words[:2000])
    assert model.n_epochs_ == 8
    assert _mse(model, words[:2000]) < before


def test_partial_fit_is_reproducible(words):
    def run():
        model = VariationalAutoencoder(latent_dim=4, random_state=3)
        for chunk in np.array_split(words[:1000], 4):
            model.partial_fit(chunk)
        return model.transform(words[:50])

    np.testing.assert_array_equal(run(), run())


def test_partial_fit_checks_the_width_of_later_chunks(words):
    model = Autoencoder(latent_dim=4, random_state=0).partial_fit(words[:200])
    with pytest.raises(ValueError, match="50 features"):
        model.partial_fit(words[:200, :20])


def test_a_slice_of_a_memory_map_is_an_ordinary_array(npy, words):
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(words[:3000])
    mapped = np.load(npy, mmap_mode="r")
    assert model.transform(mapped[100:200]).shape == (100, 4)
    assert Autoencoder(latent_dim=4, epochs=1).fit(mapped[:500]).n_features_in_ == 50


def test_a_fortran_order_memory_map_trains_in_memory(tmp_path, words):
    np.save(tmp_path / "f.npy", np.asfortranarray(words[:500]))
    mapped = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert Autoencoder(latent_dim=4, epochs=1).fit(mapped).n_features_in_ == 50
