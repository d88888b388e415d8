"""``vecae evaluate`` with every task's data on small real data produces every table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tests.cli.cli_helpers import N_WORDS, vecae, write_lines

from vecae.evaluate import load_wordsim
from vecae.io import write_embeddings

TASKS = ["intrinsic", "wordsim", "pairs", "classification", "anomaly", "noise"]


def test_evaluate_produces_every_table(
    tmp_path: Path, model_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    words, vectors = glove_words
    rng = np.random.default_rng(0)
    # 2000 real words, plus 20 planted outliers: real vectors with shuffled coordinates.
    planted = np.array([rng.permutation(v) for v in vectors[:20]], dtype=np.float32)
    # Alphabetic words only, so the key files need no CSV quoting (GloVe has '"' and ',').
    rows = [i for i in range(N_WORDS) if words[i].isalpha()]
    keys = [words[i] for i in rows] + [f"planted{i}" for i in range(20)]
    data = write_embeddings_file(tmp_path, np.vstack([vectors[rows], planted]), keys)
    # Classification labels: whether a word is among the most frequent (a real property).
    labels = write_lines(
        tmp_path / "labels.csv",
        ["key,label"] + [f"{k},{'frequent' if i < 1000 else 'rarer'}" for i, k in enumerate(keys)],
    )
    anomalies = write_lines(
        tmp_path / "anomalies.csv",
        ["key,label"] + [f"{k},{int(k.startswith('planted'))}" for k in keys],
    )
    known = set(keys)
    rg65 = load_wordsim("EN-RG-65")
    pairs = write_lines(
        tmp_path / "pairs.tsv",
        [
            f"{a}\t{b}\t{g}"
            for a, b, g in zip(rg65.left, rg65.right, rg65.gold, strict=True)
            if a in known and b in known
        ],
    )
    run = vecae(
        "evaluate",
        model_dir,
        data,
        "--labels",
        labels,
        "--anomaly-labels",
        anomalies,
        "--pairs",
        pairs,
        "--tasks",
        ",".join(TASKS),
        "--n-eval",
        1000,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    tables = run.json()["tables"]
    assert [task for task in TASKS if not tables.get(task)] == []


def write_embeddings_file(folder: Path, vectors: np.ndarray, keys: list[str]) -> Path:
    path = folder / "words.txt"
    write_embeddings(path, vectors, keys, format="glove")
    return path
