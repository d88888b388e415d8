"""``vecae index build`` and ``vecae neighbors`` on the model's encodings of real GloVe rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import N_WORDS, error_line
from tests.cli.cli_helpers import vecae as run_vecae

import vecae
from vecae.index import VectorIndex
from vecae.io import write_embeddings


def brute_force(Z: np.ndarray, query: np.ndarray, k: int, exclude: set[int]) -> list[int]:
    U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    q = query / np.linalg.norm(query)
    sims = U @ q
    order = [int(i) for i in np.argsort(-sims, kind="stable") if int(i) not in exclude]
    return order[:k]


@pytest.fixture(scope="module")
def encodings(model_dir: Path, glove_words: tuple[list[str], np.ndarray]) -> np.ndarray:
    return vecae.load(model_dir).transform(glove_words[1][:N_WORDS])


def test_index_records_the_model(index_dir: Path, model_dir: Path) -> None:
    index = VectorIndex.load(index_dir)
    assert len(index) == N_WORDS
    assert index.model_info is not None
    assert index.model_info["model_dir"] == str(model_dir.resolve())
    import hashlib

    digest = hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()
    assert index.model_info["config_sha256"] == digest


def test_neighbors_of_a_key_match_brute_force(
    index_dir: Path, encodings: np.ndarray, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words = glove_words[0][:N_WORDS]
    run = run_vecae("neighbors", index_dir, "--key", "king", "-k", 5, "--json")
    assert run.exit_code == 0, run
    got = [n["key"] for n in run.json()["results"][0]["neighbors"]]
    row = words.index("king")
    assert got == [words[i] for i in brute_force(encodings, encodings[row], 5, {row})]


def test_neighbors_table_lists_keys_and_similarity(index_dir: Path) -> None:
    run = run_vecae("neighbors", index_dir, "--key", "king", "-k", 3)
    assert run.exit_code == 0, run
    assert "similarity" in run.stdout
    assert len([line for line in run.stdout.splitlines() if line.startswith("│")]) == 3


def test_neighbors_of_several_keys_exclude_them(
    index_dir: Path, encodings: np.ndarray, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words = glove_words[0][:N_WORDS]
    run = run_vecae("neighbors", index_dir, "--keys", "paris,london", "-k", 5, "--json")
    assert run.exit_code == 0, run
    got = [n["key"] for n in run.json()["results"][0]["neighbors"]]
    rows = [words.index("paris"), words.index("london")]
    U = encodings / np.linalg.norm(encodings, axis=1, keepdims=True)
    centroid = U[rows].mean(axis=0)
    assert got == [words[i] for i in brute_force(encodings, centroid, 5, set(rows))]
    assert "paris" not in got and "london" not in got


def test_neighbors_of_unseen_vectors_are_encoded_by_the_model(
    tmp_path: Path,
    index_dir: Path,
    model_dir: Path,
    encodings: np.ndarray,
    glove_words: tuple[list[str], np.ndarray],
) -> None:
    words, vectors = glove_words
    unseen_words, unseen = words[N_WORDS : N_WORDS + 3], vectors[N_WORDS : N_WORDS + 3]
    queries = tmp_path / "queries.txt"
    write_embeddings(queries, unseen, unseen_words)
    run = run_vecae("neighbors", index_dir, "--vectors", queries, "-k", 4, "--json")
    assert run.exit_code == 0, run
    results = run.json()["results"]
    assert [r["query"] for r in results] == unseen_words
    Q = vecae.load(model_dir).transform(unseen)
    for result, q in zip(results, Q, strict=True):
        expected = [words[i] for i in brute_force(encodings, q, 4, set())]
        assert [n["key"] for n in result["neighbors"]] == expected


def test_unknown_key_is_one_clear_error(index_dir: Path) -> None:
    line = error_line(run_vecae("neighbors", index_dir, "--key", "zzzqqq"))
    assert "'zzzqqq' is not in the index" in line


def test_query_vectors_of_the_wrong_width(
    tmp_path: Path, index_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    queries = tmp_path / "q.npy"
    np.save(queries, glove_words[1][:2, :30])
    line = error_line(run_vecae("neighbors", index_dir, "--vectors", queries))
    assert str(queries) in line and "30" in line


def test_exactly_one_query_kind(index_dir: Path) -> None:
    line = error_line(run_vecae("neighbors", index_dir, "--key", "a", "--keys", "b,c"))
    assert "exactly one of --key, --keys or --vectors" in line


def test_index_build_refuses_an_existing_dir(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    target = tmp_path / "idx"
    target.mkdir()
    line = error_line(run_vecae("index", "build", model_dir, glove_txt, "-o", target))
    assert f"{target}: index directory already exists" in line
    assert list(target.iterdir()) == []


def test_hnsw_index_with_knobs(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    target = tmp_path / "hnsw"
    run = run_vecae(
        "index",
        "build",
        model_dir,
        glove_txt,
        "-o",
        target,
        "--kind",
        "hnsw",
        "--hnsw-m",
        8,
        "--ef-search",
        40,
        "--metric",
        "l2",
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    index = VectorIndex.load(target)
    assert (index.kind, index.metric, index.ef_search) == ("hnsw", "l2", 40)
    assert index.params["hnsw_m"] == 8
