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


# ---------------------------------------------------------------------------- code indexes


def _keys_of(run: object) -> list[str]:
    return [n["key"] for n in run.json()["results"][0]["neighbors"]]  # type: ignore[attr-defined]


def test_sign_bit_index_of_vectors_alone_rescored_over_every_row_is_exact(
    tmp_path: Path, glove_txt: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words[0][:N_WORDS], glove_words[1][:N_WORDS]
    target = tmp_path / "bits"
    built = run_vecae(
        "index", "build", glove_txt, "-o", target, "--precision", "binary",
        "--rescore", "float32", "--json", "--quiet",
    )  # fmt: skip
    assert built.exit_code == 0, built
    assert built.json()["codes"] == "sign" and built.json()["bytes_per_vector"] == 7  # 50 bits
    assert built.json()["model_info"] is None
    # k x M = 2000 candidates: every row, so the float32 copies decide the order exactly.
    run = run_vecae("neighbors", target, "--key", "king", "-k", 5, "--rescore-multiplier", 400,
                    "--json")  # fmt: skip
    assert run.exit_code == 0, run
    row = words.index("king")
    assert _keys_of(run) == [words[i] for i in brute_force(vectors, vectors[row], 5, {row})]


def test_learned_bit_index_searches_the_models_bits_by_hamming(
    tmp_path: Path, model_dir: Path, glove_txt: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words[0][:N_WORDS], glove_words[1][:N_WORDS]
    target = tmp_path / "learned"
    built = run_vecae("index", "build", model_dir, glove_txt, "-o", target,
                      "--precision", "binary", "--json", "--quiet")  # fmt: skip
    assert built.exit_code == 0, built
    assert built.json()["codes"] == "given"
    bits = vecae.load(model_dir).encode(vectors, precision="binary")  # LATENT = 8 bits
    run = run_vecae("neighbors", target, "--key", "king", "-k", 10, "--json")
    assert run.exit_code == 0, run
    row = words.index("king")
    hamming = np.unpackbits(bits ^ bits[row], axis=1).sum(axis=1)
    found = [hamming[words.index(key)] for key in _keys_of(run)]
    assert found == sorted(np.delete(hamming, row).tolist())[:10]  # ties may swap keys


def test_learned_bit_queries_are_encoded_by_the_model(
    tmp_path: Path, model_dir: Path, glove_txt: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words
    target = tmp_path / "learned"
    assert run_vecae("index", "build", model_dir, glove_txt, "-o", target, "--precision",
                     "binary", "--rescore", "int8", "--quiet").exit_code == 0  # fmt: skip
    queries = tmp_path / "q.txt"
    write_embeddings(queries, vectors[N_WORDS : N_WORDS + 2], words[N_WORDS : N_WORDS + 2])
    run = run_vecae("neighbors", target, "--vectors", queries, "-k", 4, "--rescore-multiplier",
                    3, "--json")  # fmt: skip
    assert run.exit_code == 0, run
    model = vecae.load(model_dir)
    Q = vectors[N_WORDS : N_WORDS + 2]
    expected = VectorIndex.load(target).search(
        model.transform(Q), 4, query_codes=model.encode(Q, precision="binary"),
        rescore_multiplier=3,
    )  # fmt: skip
    got = [[(n["key"], n["score"]) for n in r["neighbors"]] for r in run.json()["results"]]
    assert got == [[(key, score) for key, score in row] for row in expected]


def test_int8_index_rescored_over_every_row_is_exact(
    tmp_path: Path, model_dir: Path, glove_txt: Path, encodings: np.ndarray,
    glove_words: tuple[list[str], np.ndarray],
) -> None:  # fmt: skip
    words = glove_words[0][:N_WORDS]
    target = tmp_path / "sq"
    assert run_vecae("index", "build", model_dir, glove_txt, "-o", target, "--precision",
                     "int8", "--rescore", "float32", "--quiet").exit_code == 0  # fmt: skip
    assert VectorIndex.load(target).bytes_per_vector == 8  # LATENT int8 coordinates
    run = run_vecae("neighbors", target, "--key", "king", "-k", 5, "--rescore-multiplier", 400,
                    "--json")  # fmt: skip
    row = words.index("king")
    assert _keys_of(run) == [words[i] for i in brute_force(encodings, encodings[row], 5, {row})]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rescore", "int8"], "--rescore applies to --precision int8 or binary"),
        (["--precision", "binary", "--metric", "l2"], "binary codes approximate cosine"),
        (["--precision", "int8", "--kind", "hnsw"], "int8 codes are searched with kind='flat'"),
        (["--precision", "int8", "--rescore", "int8"], "rescore it with 'float32'"),
    ],
)
def test_bad_code_index_options_are_one_line_and_leave_nothing(
    tmp_path: Path, glove_txt: Path, options: list[str], message: str
) -> None:
    target = tmp_path / "idx"
    line = error_line(run_vecae("index", "build", glove_txt, "-o", target, *options))
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_rescore_multiplier_on_an_index_without_copies_is_one_line(index_dir: Path) -> None:
    line = error_line(run_vecae("neighbors", index_dir, "--key", "king", "--rescore-multiplier", 4))
    assert "--rescore-multiplier needs an index built with --rescore" in line


def test_sample_searches_a_learned_bit_index_with_the_samples_bits(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    target = tmp_path / "learned"
    assert run_vecae("index", "build", model_dir, glove_txt, "-o", target, "--precision",
                     "binary", "--quiet").exit_code == 0  # fmt: skip
    run = run_vecae("sample", model_dir, "-n", 2, "--index", target, "-k", 3, "--seed", 0, "--json")
    assert run.exit_code == 0, run
    assert [len(s["neighbors"]) for s in run.json()["samples"]] == [3, 3]


def test_a_model_directory_alone_asks_for_its_input(tmp_path: Path, model_dir: Path) -> None:
    line = error_line(run_vecae("index", "build", model_dir, "-o", tmp_path / "idx"))
    assert "a model directory; give the embeddings it encodes" in line
    assert list(tmp_path.iterdir()) == []
