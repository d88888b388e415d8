"""Ray: a local cluster with 2 CPUs, tiny shards (slow: starting Ray takes seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from vecae import Autoencoder, ModelFileError

ray = pytest.importorskip("ray")

from vecae.distributed import encode_dataset, encode_shards  # noqa: E402

# Ray Data itself emits DeprecationWarnings about its own settings; they are not ours.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, glove):
    X = np.ascontiguousarray(glove[1][:3000], dtype=np.float32)
    root = tmp_path_factory.mktemp("ray")
    Autoencoder(latent_dim=8, hidden=(32,), epochs=2, random_state=0).fit(X).save(root / "model")
    (root / "in").mkdir()
    for i in range(3):
        np.save(root / "in" / f"part-{i}.npy", X[i * 1000 : (i + 1) * 1000])
    return root, X


def test_ray_shards_are_bit_identical_to_local(cluster, setup, tmp_path):
    root, _ = setup
    encode_shards(root / "model", root / "in", tmp_path / "local")
    report = encode_shards(root / "model", root / "in", tmp_path / "ray", engine="ray", workers=2)
    assert sorted(report.encoded) == ["part-0.npy", "part-1.npy", "part-2.npy"]
    for name in report.encoded:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_ray_run_resumes_after_local_partial_run(cluster, setup, tmp_path):
    root, _ = setup
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-0.npy").write_bytes((root / "in" / "part-0.npy").read_bytes())
    encode_shards(root / "model", tmp_path / "in", tmp_path / "out")
    for name in ("part-1.npy", "part-2.npy"):
        (tmp_path / "in" / name).write_bytes((root / "in" / name).read_bytes())
    report = encode_shards(root / "model", tmp_path / "in", tmp_path / "out", engine="ray")
    assert report.skipped == ["part-0.npy"]
    assert sorted(report.encoded) == ["part-1.npy", "part-2.npy"]


def test_encode_dataset_matches_transform_to_rounding(cluster, setup):
    import vecae

    root, X = setup
    ds = ray.data.from_items([{"id": i, "vector": X[i]} for i in range(500)])
    rows = encode_dataset(ds, root / "model", key_column="id", batch_size=128).take_all()
    rows.sort(key=lambda row: row["id"])
    Z = np.stack([row["encoding"] for row in rows])
    # Ray Data chooses the batch boundaries; a matmul kernel may round a row differently in a
    # batch of another size, so equality is to float32 rounding (encode_shards keeps the
    # boundaries of vecae encode and is bit-identical, tested above).
    np.testing.assert_allclose(
        Z, vecae.load(root / "model").transform(X[:500]), rtol=1e-5, atol=1e-6
    )


def test_encode_dataset_with_an_unreadable_model_fails_once_on_the_driver(cluster, tmp_path):
    ds = ray.data.from_items([{"vector": np.zeros(50, np.float32)}])
    with pytest.raises(ModelFileError, match="missing-model"):
        encode_dataset(ds, tmp_path / "missing-model")
