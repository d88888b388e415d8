"""Encoding a directory of shards: one output shard per input, atomic, resumable, exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vecae import Autoencoder, InputError, ModelFileError
from vecae.distributed import MANIFEST_NAME, encode_shards

VECAE = str(Path(sys.executable).with_name("vecae"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, glove):
    X = np.ascontiguousarray(glove[1][:3000], dtype=np.float32)
    root = tmp_path_factory.mktemp("shards")
    model = Autoencoder(latent_dim=8, hidden=(32,), epochs=2, random_state=0).fit(X)
    model.save(root / "model")
    (root / "in").mkdir()
    for i in range(3):
        np.save(root / "in" / f"part-{i}.npy", X[i * 1000 : (i + 1) * 1000])
    return root, X


def test_each_shard_is_bit_identical_to_single_process_vecae_encode(setup, tmp_path):
    root, _ = setup
    report = encode_shards(root / "model", root / "in", tmp_path / "out")
    assert report.encoded == ["part-0.npy", "part-1.npy", "part-2.npy"]
    subprocess.run(
        [
            VECAE,
            "encode",
            root / "model",
            root / "in" / "part-1.npy",
            "-o",
            tmp_path / "one.npy",
            "--quiet",
        ],
        check=True,
    )
    single = np.load(tmp_path / "one.npy")
    assert np.load(tmp_path / "out" / "part-1.npy").tobytes() == single.tobytes()


def test_keys_and_order_are_kept_in_parquet_shards(setup, tmp_path, glove):
    pytest.importorskip("pyarrow")
    from vecae.io import read_embeddings, write_embeddings

    root, X = setup
    words = glove[0]
    (tmp_path / "in").mkdir()
    write_embeddings(tmp_path / "in" / "a.parquet", X[:500], words[:500])
    encode_shards(root / "model", tmp_path / "in", tmp_path / "out")
    result = read_embeddings(tmp_path / "out" / "a.parquet")
    assert list(result.keys) == list(words[:500])
    import vecae

    np.testing.assert_array_equal(result.vectors, vecae.load(root / "model").transform(X[:500]))


def test_a_rerun_skips_the_shards_already_written(setup, tmp_path):
    root, _ = setup
    encode_shards(root / "model", root / "in", tmp_path / "out")
    again = encode_shards(root / "model", root / "in", tmp_path / "out")
    assert again.encoded == [] and len(again.skipped) == 3


def test_a_failed_run_resumes_where_it_stopped(setup, tmp_path):
    root, X = setup
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "a.npy", X[:100])
    np.save(tmp_path / "in" / "b.npy", X[:100, :20])  # wrong width: this shard fails
    with pytest.raises(InputError, match=r"b\.npy"):
        encode_shards(root / "model", tmp_path / "in", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["_vecae_encode.json", "a.npy"]
    np.save(tmp_path / "in" / "b.npy", X[100:200])  # fixed
    report = encode_shards(root / "model", tmp_path / "in", tmp_path / "out")
    assert (report.skipped, report.encoded) == (["a.npy"], ["b.npy"])


def test_a_changed_output_shard_is_encoded_again(setup, tmp_path):
    root, _ = setup
    encode_shards(root / "model", root / "in", tmp_path / "out")
    damaged = np.load(tmp_path / "out" / "part-2.npy")
    np.save(tmp_path / "out" / "part-2.npy", damaged[:10])
    report = encode_shards(root / "model", root / "in", tmp_path / "out")
    assert report.encoded == ["part-2.npy"]
    assert np.load(tmp_path / "out" / "part-2.npy").shape == damaged.shape


def test_the_manifest_records_both_checksums(setup, tmp_path):
    root, _ = setup
    encode_shards(root / "model", root / "in", tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    entry = manifest["shards"]["part-0.npy"]
    assert set(entry) == {"input_sha256", "output_sha256", "rows"} and entry["rows"] == 1000


def test_an_unreadable_model_is_one_clear_error_before_any_work(setup, tmp_path):
    root, _ = setup
    with pytest.raises(ModelFileError, match="no-such-model"):
        encode_shards(tmp_path / "no-such-model", root / "in", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_encodes_a_shard_directory(setup, tmp_path):
    root, _ = setup
    done = subprocess.run(
        [VECAE, "encode", root / "model", root / "in", "-o", tmp_path / "out", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(done.stdout)
    assert (summary["rows"], summary["engine"], len(summary["encoded"])) == (3000, "local", 3)
