"""VectorIndex over compact codes: binary and int8 search, rescoring, persistence."""

from __future__ import annotations

import hashlib
import itertools
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from vecae import InputError, ModelFileError
from vecae._codeindex import exact_top_k, recall_at_k
from vecae._quantize import pack_bits, unpack_bits
from vecae.index import VectorIndex

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def unit_glove(glove_vectors: np.ndarray) -> np.ndarray:
    X = glove_vectors[:3000] - glove_vectors[:3000].mean(axis=0)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def keys(unit_glove: np.ndarray) -> list[str]:
    return [f"w{i}" for i in range(len(unit_glove))]


def _ids(results: list[list[tuple[str, float]]]) -> np.ndarray:
    return np.array([[int(key[1:]) for key, _ in row] for row in results])


def test_binary_index_search_equals_brute_force_hamming(unit_glove, keys) -> None:
    rng = np.random.default_rng(0)
    codes = pack_bits(unit_glove @ rng.normal(size=(50, 64)).astype(np.float32) > 0)
    index = VectorIndex.build(unit_glove, keys, precision="binary", codes=codes)
    results = index.search(unit_glove[:100], k=10, query_codes=codes[:100])

    signs = np.where(unpack_bits(codes), 1, -1)
    hamming = (64 - signs[:100] @ signs.T) // 2  # brute force, in integers
    expected = np.sort(hamming, axis=1)[:, :10]
    found = hamming[np.arange(100)[:, None], _ids(results)]
    np.testing.assert_array_equal(found, expected)  # same distances (ties may swap ids)
    scores = np.array([[score for _, score in row] for row in results])
    np.testing.assert_allclose(scores, 1 - 2 * expected / 64)


def test_sign_bits_of_a_width_that_is_not_a_whole_byte_are_padded(unit_glove, keys) -> None:
    index = VectorIndex.build(unit_glove, keys, precision="binary")
    assert (index.code_bytes, index.bytes_per_vector) == (7, 7)  # 50 bits in 7 bytes
    top = index.search(unit_glove[:5], k=1)
    assert [row[0] for row in top] == [(f"w{i}", 1.0) for i in range(5)]  # 50 of 50 bits agree


def test_rescoring_never_lowers_recall(unit_glove, keys) -> None:
    truth = exact_top_k(unit_glove[:200], unit_glove, 10)
    index = VectorIndex.build(unit_glove, keys, precision="binary", rescore="float32")
    recalls = [
        recall_at_k(_ids(index.search(unit_glove[:200], 10, rescore_multiplier=m)), truth)
        for m in (1, 2, 4, 8)
    ]
    assert all(b >= a for a, b in itertools.pairwise(recalls))
    assert recalls[-1] > recalls[0] + 0.1  # and on real data it adds a lot


def test_int8_rescoring_of_bits_nearly_matches_float32_rescoring(unit_glove, keys) -> None:
    index = VectorIndex.build(unit_glove, keys, precision="binary", rescore="int8")
    exact = VectorIndex.build(unit_glove, keys, precision="binary", rescore="float32")
    assert (index.bytes_per_vector, index.rescore_bytes_per_vector) == (7, 50)
    truth = exact_top_k(unit_glove[:200], unit_glove, 10)
    found = _ids(index.search(unit_glove[:200], 10, rescore_multiplier=8))
    best = _ids(exact.search(unit_glove[:200], 10, rescore_multiplier=8))
    assert recall_at_k(found, truth) > recall_at_k(best, truth) - 0.02


def test_int8_index_with_float32_rescoring_finds_the_exact_neighbours(unit_glove, keys) -> None:
    index = VectorIndex.build(unit_glove, keys, precision="int8", rescore="float32")
    assert (index.bytes_per_vector, index.rescore_bytes_per_vector) == (50, 200)
    truth = exact_top_k(unit_glove[:200], unit_glove, 10)
    found = _ids(index.search(unit_glove[:200], 10, rescore_multiplier=2))
    assert recall_at_k(found, truth) > 0.99


def test_int8_copies_do_not_rescore_an_int8_index(unit_glove, keys) -> None:
    with pytest.raises(InputError, match="coarser"):
        VectorIndex.build(unit_glove, keys, precision="int8", rescore="int8")


def test_rescoring_without_stored_copies_is_refused(unit_glove, keys) -> None:
    index = VectorIndex.build(unit_glove, keys, precision="binary")
    with pytest.raises(InputError, match="no rescoring copies"):
        index.search(unit_glove[:2], 3, rescore_multiplier=2)


def test_given_codes_need_query_codes(unit_glove, keys) -> None:
    codes = pack_bits(unit_glove[:, :16] > 0)
    index = VectorIndex.build(unit_glove, keys, precision="binary", codes=codes)
    with pytest.raises(InputError, match="query_codes"):
        index.search(unit_glove[:2], 3)


def test_codes_must_be_packed_bytes(unit_glove, keys) -> None:
    with pytest.raises(InputError, match="packed bits"):
        VectorIndex.build(unit_glove, keys, precision="binary", codes=unit_glove[:, :16] > 0)


@pytest.mark.parametrize(
    ("precision", "kind", "rescore"),
    [("int8", "flat", "float32"), ("binary", "flat", "int8"), ("binary", "hnsw", None)],
)
def test_save_load_round_trip_gives_identical_results(
    unit_glove, keys, tmp_path: Path, precision, kind, rescore
) -> None:
    index = VectorIndex.build(unit_glove, keys, precision=precision, kind=kind, rescore=rescore)
    m = 1 if rescore is None else 4
    loaded = VectorIndex.load(index.save(tmp_path / "codes"))
    assert (loaded.precision, loaded.kind, loaded.rescore) == (precision, kind, rescore)
    assert loaded.search(unit_glove[:50], 10, rescore_multiplier=m) == index.search(
        unit_glove[:50], 10, rescore_multiplier=m
    )
    assert loaded.search_keys(["w7"], 5) == index.search_keys(["w7"], 5)
    assert loaded.similar_to_items(["w1", "w2"], 5) == index.similar_to_items(["w1", "w2"], 5)


def _rewrite(root: Path, name: str, data: bytes) -> None:
    """Replace a data file and its checksum, as a crafted (not merely corrupt) file would."""
    (root / name).write_bytes(data)
    config = json.loads((root / "config.json").read_text())
    config["files"][name] = hashlib.sha256(data).hexdigest()
    (root / "config.json").write_text(json.dumps(config))


def test_a_code_file_declaring_more_codes_than_it_holds_is_refused(
    unit_glove, keys, tmp_path: Path
) -> None:
    root = VectorIndex.build(unit_glove, keys, precision="binary").save(tmp_path / "bits")
    data = bytearray((root / "index.faiss").read_bytes())
    data[12:20] = struct.pack("<q", 10**12)  # ntotal: a terabyte of codes
    _rewrite(root, "index.faiss", bytes(data))
    with pytest.raises(ModelFileError, match=r"index\.faiss.*declares 1000000000000 codes"):
        VectorIndex.load(root)


@pytest.mark.parametrize("precision", ["int8", "float32"])
def test_a_truncated_flat_index_file_is_refused_before_faiss_reads_it(
    unit_glove, keys, tmp_path: Path, precision
) -> None:
    root = VectorIndex.build(unit_glove, keys, precision=precision).save(tmp_path / "flat")
    _rewrite(root, "index.faiss", (root / "index.faiss").read_bytes()[:-100])
    with pytest.raises(ModelFileError, match=r"index\.faiss.*truncated or altered"):
        VectorIndex.load(root)


def test_a_rescore_file_with_a_false_shape_is_refused(unit_glove, keys, tmp_path: Path) -> None:
    built = VectorIndex.build(unit_glove, keys, precision="binary", rescore="float32")
    root = built.save(tmp_path / "bits")
    data = (root / "rescore.npy").read_bytes()
    crafted = data.replace(b"(3000, 50)", b"(3000000, 50)")  # the header grows; data does not
    _rewrite(root, "rescore.npy", crafted)
    with pytest.raises(ModelFileError, match=r"rescore\.npy.*shape \(3000000, 50\)"):
        VectorIndex.load(root)


def test_a_corrupt_code_file_is_named(unit_glove, keys, tmp_path: Path) -> None:
    root = VectorIndex.build(unit_glove, keys, precision="binary").save(tmp_path / "bits")
    data = bytearray((root / "index.faiss").read_bytes())
    data[100] ^= 0xFF
    (root / "index.faiss").write_bytes(bytes(data))  # checksum no longer matches
    with pytest.raises(ModelFileError, match=r"index\.faiss"):
        VectorIndex.load(root)


def test_an_index_saved_before_codes_existed_loads_as_float32(
    unit_glove, keys, tmp_path: Path
) -> None:
    index = VectorIndex.build(unit_glove, keys)
    root = index.save(tmp_path / "v2")
    config = json.loads((root / "config.json").read_text())
    for field in ("precision", "codes", "rescore", "rescore_step"):
        del config[field]
    config["format_version"] = 2  # what vecae wrote before code indexes
    (root / "config.json").write_text(json.dumps(config))
    loaded = VectorIndex.load(root)
    assert (loaded.precision, loaded.rescore) == ("float32", None)
    assert loaded.search(unit_glove[:5], 3) == index.search(unit_glove[:5], 3)


def test_rescored_search_leaves_excluded_keys_out_and_still_returns_k(unit_glove, keys) -> None:
    index = VectorIndex.build(unit_glove, keys, precision="binary", rescore="float32")
    plain = index.search(unit_glove[:1], 5, rescore_multiplier=4)[0]
    banned = [key for key, _ in plain[:3]]
    kept = index.search(unit_glove[:1], 5, rescore_multiplier=4, exclude=banned)[0]
    assert len(kept) == 5 and not {key for key, _ in kept} & set(banned)
    assert kept[:2] == plain[3:]  # the rest keep their exact order
