"""Putting encodings to work from the command line: anomalies, sampling, recommendations,
evaluation."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import error_line
from tests.cli.cli_helpers import vecae as run_vecae

from vecae.io import write_embeddings

DATA = Path(__file__).parents[1] / "data"


# ---------------------------------------------------------------------------- anomalies


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, glove_words: tuple[list[str], np.ndarray]
) -> Path:
    """400 real GloVe rows plus 10 planted outliers (noise at 4x GloVe's spread)."""
    words, vectors = glove_words
    rng = np.random.default_rng(0)
    outliers = rng.normal(0, 4 * vectors.std(), size=(10, vectors.shape[1])).astype(np.float32)
    keys = words[:400] + [f"planted{i}" for i in range(10)]
    path = tmp_path_factory.mktemp("anomalies") / "mixed.parquet"
    write_embeddings(path, np.vstack([vectors[:400], outliers]), keys)
    return path


def test_anomalies_rank_planted_outliers_first(
    tmp_path: Path, model_dir: Path, planted: Path
) -> None:
    from vecae.evaluate import auroc

    out = tmp_path / "scores.csv"
    run = run_vecae("anomalies", model_dir, planted, "-o", out, "--top", 10, "--json", "--quiet")
    assert run.exit_code == 0, run
    top = [row["key"] for row in run.json()["top"]]
    assert sorted(top) == [f"planted{i}" for i in range(10)]
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 410
    labels = [r["key"].startswith("planted") for r in rows]
    assert auroc(labels, [float(r["score"]) for r in rows]) > 0.95


def test_anomalies_explicit_threshold_sets_the_flags(
    tmp_path: Path, model_dir: Path, planted: Path
) -> None:
    first = tmp_path / "a.tsv"
    assert run_vecae("anomalies", model_dir, planted, "-o", first, "--quiet").exit_code == 0
    with first.open(newline="") as fh:
        scores = sorted(float(r["score"]) for r in csv.DictReader(fh, delimiter="\t"))
    cut = scores[-5] - 1e-9  # exactly five rows above
    second = tmp_path / "b.csv"
    run = run_vecae("anomalies", model_dir, planted, "-o", second, "--threshold", cut, "--json")
    assert run.exit_code == 0, run
    assert run.json()["flagged"] == 5
    with second.open(newline="") as fh:
        assert sum(int(r["flag"]) for r in csv.DictReader(fh)) == 5


def test_anomalies_contamination_uses_training_quantile(
    tmp_path: Path, model_dir: Path, planted: Path
) -> None:
    import vecae

    run = run_vecae(
        "anomalies",
        model_dir,
        planted,
        "-o",
        tmp_path / "s.csv",
        "--contamination",
        0.2,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    model = vecae.load(model_dir)
    assert run.json()["threshold"] == pytest.approx(model.threshold_for(0.2))


def test_anomalies_refuse_both_threshold_kinds(
    tmp_path: Path, model_dir: Path, planted: Path
) -> None:
    out = tmp_path / "s.csv"
    line = error_line(
        run_vecae(
            "anomalies", model_dir, planted, "-o", out, "--threshold", 1, "--contamination", 0.1
        )
    )
    assert "--contamination or --threshold" in line
    assert not out.exists()


# ---------------------------------------------------------------------------- sample


def test_sample_with_index_shows_real_keys(
    model_dir: Path, index_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    run = run_vecae(
        "sample", model_dir, "-n", 4, "--index", index_dir, "-k", 3, "--seed", 1, "--json"
    )
    assert run.exit_code == 0, run
    samples = run.json()["samples"]
    assert len(samples) == 4
    vocabulary = set(glove_words[0])
    for s in samples:
        assert len(s["vector"]) == 50
        assert len(s["neighbors"]) == 3
        assert {n["key"] for n in s["neighbors"]} <= vocabulary


def test_sample_seed_is_reproducible(model_dir: Path) -> None:
    first = run_vecae("sample", model_dir, "-n", 2, "--seed", 7, "--json").json()
    second = run_vecae("sample", model_dir, "-n", 2, "--seed", 7, "--json").json()
    other = run_vecae("sample", model_dir, "-n", 2, "--seed", 8, "--json").json()
    assert first == second
    assert first != other


def test_sample_needs_a_vae(tmp_path: Path, glove_txt: Path) -> None:
    dense = tmp_path / "dense"
    fit = run_vecae("fit", glove_txt, "-o", dense, "--model", "dense", "--epochs", 1, "--quiet")
    assert fit.exit_code == 0, fit
    line = error_line(run_vecae("sample", dense))
    assert "needs a VAE" in line and "dense" in line


# ---------------------------------------------------------------------------- recommend


@pytest.fixture(scope="module")
def interactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real histories: SST-2 sentences as users, their words as items (first 400)."""
    lines = (DATA / "glue_dev_as_test.tsv").read_text(encoding="utf-8").splitlines()[1:401]
    path = tmp_path_factory.mktemp("recommend") / "interactions.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["user", "item"])
        for i, line in enumerate(lines):
            for word in sorted(set(re.findall(r"[a-z']+", line.split("\t")[0].lower()))):
                writer.writerow([f"s{i}", word])
    return path


@pytest.fixture(scope="module")
def recommender_dir(tmp_path_factory: pytest.TempPathFactory, interactions: Path) -> Path:
    path = tmp_path_factory.mktemp("rec") / "model"
    run = run_vecae(
        "recommender",
        "fit",
        interactions,
        "-o",
        path,
        "--model",
        "mult-dae",
        "--epochs",
        2,
        "--latent-dim",
        16,
        "--seed",
        0,
        "--quiet",
    )
    assert run.exit_code == 0, run
    return path


def _history(interactions: Path, user: str) -> set[str]:
    with interactions.open(newline="") as fh:
        return {r["item"] for r in csv.DictReader(fh) if r["user"] == user}


def test_recommend_never_returns_seen_items(recommender_dir: Path, interactions: Path) -> None:
    for user in ("s0", "s5", "s17"):
        run = run_vecae("recommend", recommender_dir, "--user", user, "-k", 15, "--json")
        assert run.exit_code == 0, run
        items = [r["item"] for r in run.json()["items"]]
        assert len(items) == 15
        assert not set(items) & _history(interactions, user)


def test_recommend_from_a_history_file(tmp_path: Path, recommender_dir: Path) -> None:
    history = tmp_path / "basket.txt"
    history.write_text("film\nacting\nplot\n")
    run = run_vecae("recommend", recommender_dir, "--history", history, "-k", 5, "--json")
    assert run.exit_code == 0, run
    items = [r["item"] for r in run.json()["items"]]
    assert len(items) == 5 and not {"film", "acting", "plot"} & set(items)


def test_recommend_unknown_user(recommender_dir: Path) -> None:
    assert "'nobody'" in error_line(run_vecae("recommend", recommender_dir, "--user", "nobody"))


@pytest.mark.slow  # trains the recommender and both baselines on the whole interaction file
def test_recommender_evaluate_reports_both_baselines(interactions: Path) -> None:
    run = run_vecae(
        "recommender",
        "evaluate",
        interactions,
        "--heldout-users",
        40,
        "--epochs",
        2,
        "--latent-dim",
        16,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    rows = run.json()["rows"]
    assert [r["method"] for r in rows][2:] == ["most popular", "item-kNN"]
    for r in rows:
        assert 0.0 <= r["recall@20"] <= 1.0 and 0.0 <= r["ndcg@100"] <= 1.0


# ---------------------------------------------------------------------------- evaluate


def test_evaluate_json_and_markdown(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    report = tmp_path / "report.md"
    run = run_vecae(
        "evaluate",
        model_dir,
        glove_txt,
        "--tasks",
        "intrinsic,wordsim",
        "--markdown",
        report,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    data = run.json()
    methods = [row["method"] for row in data["tables"]["intrinsic"]]
    assert methods[:3] == ["vecae", "original", "pca"]
    assert "wordsim" in data["tables"]
    assert "| vecae |" in report.read_text()


def test_evaluate_unknown_task(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    line = error_line(run_vecae("evaluate", model_dir, glove_txt, "--tasks", "magic"))
    assert "magic" in line
