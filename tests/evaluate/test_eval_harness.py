"""End-to-end ``evaluate`` on small real data, with a fitted PCA in the model's place."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from vecae._exceptions import InputError
from vecae.evaluate import EvaluationReport, evaluate, load_wordsim

METHODS = ["vecae", "original", "pca", "abtt-pca", "whitened-pca", "random-projection"]
METHOD_TABLES = ["intrinsic", "wordsim", "pairs", "classification", "noise"]
DIM = 10


class ScoringPCA(PCA):
    """PCA with the anomaly_score the harness looks for (reconstruction error)."""

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        return np.sum((X - self.inverse_transform(self.transform(X))) ** 2, axis=1)


def _token_class(word: str) -> str:
    if word.isalpha():
        return "alpha"
    return "digit" if word.isdigit() else "other"


@pytest.fixture(scope="module")
def full_report(glove_small, tmp_path_factory) -> EvaluationReport:
    words, X = glove_small
    ws = load_wordsim("EN-WS-353-ALL")
    pair_file = Path(tmp_path_factory.mktemp("pairs")) / "ws.tsv"
    pair_file.write_text(
        "".join(f"{a}\t{b}\t{g}\n" for a, b, g in zip(ws.left, ws.right, ws.gold, strict=True))
    )
    classes = np.array([_token_class(w) for w in words])
    model = ScoringPCA(DIM, random_state=0).fit(X[1000:])
    return evaluate(
        model,
        X,
        keys=words,
        labels=classes,
        anomaly_labels=(classes != "alpha").astype(int),
        pairs=pair_file,
        noise_snr_db=(20.0, 0.0),
        n_queries=300,
        n_trustworthiness=300,
    )


def test_end_to_end_produces_every_table(full_report: EvaluationReport) -> None:
    expected = set(METHOD_TABLES) | {"wordsim_coverage", "pairs_coverage", "anomaly"}
    assert set(full_report.tables) == expected


@pytest.mark.parametrize("table", METHOD_TABLES)
def test_every_method_has_a_row(full_report: EvaluationReport, table: str) -> None:
    assert [r["method"] for r in full_report.tables[table]] == METHODS


def test_anomaly_table_has_model_and_three_detectors(full_report: EvaluationReport) -> None:
    names = [r["method"] for r in full_report.tables["anomaly"]]
    assert names == ["vecae", "pca-reconstruction", "isolation-forest", "knn-distance"]
    assert all(0.0 <= r["auroc"] <= 1.0 and 0.0 <= r["ap"] <= 1.0 for r in full_report["anomaly"])


def test_markdown_contains_every_method_row(full_report: EvaluationReport) -> None:
    md = full_report.to_markdown()
    for method in METHODS:
        # one row per method table, starting with the method name; the model also
        # has a row in the anomaly table
        expected = len(METHOD_TABLES) + (method == "vecae")
        assert md.count(f"| {method} | ") == expected


def test_json_round_trips_every_row(full_report: EvaluationReport) -> None:
    data = json.loads(full_report.to_json())
    for table in METHOD_TABLES:
        assert [r["method"] for r in data["tables"][table]] == METHODS
    assert data["meta"]["dim"] == DIM


def test_rich_tables_render_every_method(full_report: EvaluationReport) -> None:
    from rich.console import Console

    buf = io.StringIO()
    full_report.print(Console(file=buf, width=250))
    assert len(full_report.to_rich()) == len(full_report.tables)
    out = buf.getvalue()
    assert all(out.count(m) >= len(METHOD_TABLES) for m in METHODS)


def test_baselines_compared_at_the_model_dimension(full_report: EvaluationReport) -> None:
    for row in full_report["intrinsic"]:
        want = 50 if row["method"] == "original" else DIM
        assert (row["dim"], row["bytes_per_vector"]) == (want, 4 * want)


def test_original_space_is_its_own_reference(full_report: EvaluationReport) -> None:
    row = full_report.row("intrinsic", "original")
    assert row["recall@10"] == 1.0
    assert row["mse"] == pytest.approx(0.0)
    assert full_report.row("intrinsic", "pca")["recall@10"] < 1.0


def test_wordsim_coverage_is_below_one_on_a_3000_word_vocabulary(
    full_report: EvaluationReport,
) -> None:
    cov = {r["set"]: r for r in full_report["wordsim_coverage"]}
    assert 0 < cov["EN-RW-STANFORD"]["coverage"] < cov["EN-MTurk-771"]["coverage"] <= 1
    assert full_report.row("wordsim", "original")["mean"] > 0.2


def test_pairs_match_the_same_set_as_wordsim(full_report: EvaluationReport) -> None:
    # the pair file is WS-353 keyed by the exact words, so the rho values agree
    pairs = full_report.row("pairs", "original")["ws"]
    assert pairs == pytest.approx(full_report.row("wordsim", "original")["EN-WS-353-ALL"])


def test_noise_recall_falls_as_noise_rises(full_report: EvaluationReport) -> None:
    for row in full_report["noise"]:
        assert row["recall@10_snr20db"] > row["recall@10_snr0db"]


def test_probe_separates_numbers_from_words(full_report: EvaluationReport) -> None:
    assert full_report.row("classification", "original")["probe_accuracy"] > 0.85


def test_held_out_rows_are_not_used_to_fit_baselines(glove_small) -> None:
    _, X = glove_small
    model = PCA(DIM).fit(X)
    report = evaluate(model, X, tasks=["intrinsic"], n_eval=500, n_trustworthiness=200)
    held = report.eval_index
    assert held is not None and held.size == 500
    rest = np.setdiff1d(np.arange(len(X)), held)
    np.testing.assert_allclose(report.estimators["pca"].mean_, X[rest].mean(0), atol=1e-5)
    assert not np.allclose(report.estimators["pca"].mean_, X.mean(0), atol=1e-5)
    np.testing.assert_allclose(report.estimators["abtt-pca"].mean_, X[rest].mean(0), atol=1e-5)


def test_eval_vectors_never_reach_the_baselines(glove_small) -> None:
    _, X = glove_small
    train, shifted_eval = X[:2000], X[2000:] + 5.0  # any leak would move the means
    report = evaluate(PCA(DIM).fit(train), train, shifted_eval, tasks=["intrinsic"])
    ref = PCA(DIM).fit(train)
    for name in ("pca", "whitened-pca"):
        est = report.estimators[name]
        np.testing.assert_allclose(est.mean_, ref.mean_, atol=1e-5)
        np.testing.assert_allclose(np.abs(est.components_), np.abs(ref.components_), atol=1e-3)
    np.testing.assert_allclose(report.estimators["abtt-pca"].mean_, train.mean(0), atol=1e-5)


def test_anomaly_on_cardio_reports_model_and_baselines(cardio_set) -> None:
    X, y = cardio_set
    normal = np.flatnonzero(y == 0)
    train_rows = normal[::2]  # half the normal rows train; the rest and all anomalies test
    test_rows = np.setdiff1d(np.arange(len(X)), train_rows)
    model = ScoringPCA(5).fit(X[train_rows])
    report = evaluate(
        model, X[train_rows], X[test_rows], anomaly_labels=y[test_rows], tasks=["anomaly"]
    )
    rows = {r["method"]: r for r in report["anomaly"]}
    assert set(rows) == {"vecae", "pca-reconstruction", "isolation-forest", "knn-distance"}
    assert rows["isolation-forest"]["auroc"] > 0.8
    # the stand-in model is a PCA of the same rank, so it must tie the PCA detector
    assert rows["vecae"]["auroc"] == pytest.approx(rows["pca-reconstruction"]["auroc"], abs=1e-6)


def test_model_without_anomaly_score_gets_a_note(cardio_set) -> None:
    X, y = cardio_set
    report = evaluate(PCA(5).fit(X), X[:1000], X[1000:], anomaly_labels=y[1000:], tasks=["anomaly"])
    assert report["anomaly"][0]["method"] == "pca-reconstruction"
    assert any("anomaly_score" in n for n in report.notes)


def test_labels_by_key_mapping(glove_small) -> None:
    words, X = glove_small
    mapping = {w: _token_class(w) for w in words[::2]}  # half the words labelled
    report = evaluate(
        PCA(DIM).fit(X),
        X[:1000],
        X[1000:],
        keys=words[1000:],
        labels=mapping,
        tasks=["classification"],
    )
    n_train, n_test = report.meta["classification_train_test"]
    assert n_train + n_test == 1000
    assert math.isfinite(report.row("classification", "pca")["knn_accuracy"])


def test_same_seed_gives_identical_tables(glove_small) -> None:
    _, X = glove_small
    model = PCA(DIM).fit(X)
    a = evaluate(model, X, tasks=["intrinsic", "noise"], n_eval=400, random_state=3)
    b = evaluate(model, X, tasks=["intrinsic", "noise"], n_eval=400, random_state=3)
    assert a.tables == b.tables


def test_requested_task_without_its_data_raises(glove_small) -> None:
    _, X = glove_small
    with pytest.raises(InputError, match="wordsim"):
        evaluate(PCA(DIM).fit(X), X, tasks=["wordsim"])


def test_unknown_task_raises(glove_small) -> None:
    _, X = glove_small
    with pytest.raises(InputError, match="unknown"):
        evaluate(PCA(DIM).fit(X), X, tasks=["speed"])


def test_model_dimension_above_abtt_limit_skips_only_abtt(glove_small) -> None:
    _, X = glove_small
    report = evaluate(PCA(50).fit(X), X, tasks=["intrinsic"], n_eval=300)
    methods = [r["method"] for r in report["intrinsic"]]
    assert "abtt-pca" not in methods and "pca" in methods
    assert any(n.startswith("abtt-pca skipped") for n in report.notes)


# ---------------------------------------------------------------------------- holdout


def test_holdout_fits_the_model_and_every_baseline_without_the_held_out_rows(
    glove_small,
) -> None:
    _, X = glove_small
    given = PCA(DIM).fit(X)
    report = evaluate(given, X, holdout=0.25, tasks=["intrinsic"], n_eval=None,
                      n_trustworthiness=200)  # fmt: skip
    held = report.eval_index
    assert held is not None and held.size == 750
    rest = np.setdiff1d(np.arange(len(X)), held)
    assert report.meta["n_fit"] == rest.size
    for name in ("vecae", "pca", "abtt-pca", "whitened-pca"):
        np.testing.assert_allclose(report.estimators[name].mean_, X[rest].mean(0), atol=1e-5)
    assert report.estimators["vecae"] is not given  # a fresh copy was fitted
    np.testing.assert_allclose(given.mean_, X.mean(0), atol=1e-5)  # the given one is untouched


def test_holdout_is_seeded(glove_small) -> None:
    _, X = glove_small
    runs = [
        evaluate(PCA(DIM), X, holdout=0.2, tasks=["noise"], n_eval=None, random_state=seed)
        for seed in (0, 0, 1)
    ]
    np.testing.assert_array_equal(runs[0].eval_index, runs[1].eval_index)
    assert not np.array_equal(runs[0].eval_index, runs[2].eval_index)


def test_rows_label_flips_between_in_sample_and_held_out(glove_small) -> None:
    from vecae.report import evaluation_html

    _, X = glove_small
    in_sample = evaluate(PCA(DIM).fit(X), X, tasks=["intrinsic"], n_eval=400,
                         n_trustworthiness=100)  # fmt: skip
    held_out = evaluate(PCA(DIM), X, holdout=0.2, tasks=["intrinsic"], n_eval=400,
                        n_trustworthiness=100)  # fmt: skip
    for report, label, other in ((in_sample, "in-sample", "held-out"),
                                 (held_out, "held-out", "in-sample")):  # fmt: skip
        assert json.loads(report.to_json())["meta"]["rows"] == label
        markdown = report.to_markdown()
        assert f"### Intrinsic quality ({label} rows)" in markdown
        assert f"({other} rows)" not in markdown
        assert f"Intrinsic quality ({label} rows)" in evaluation_html(report)
    assert any(note.startswith("in-sample:") for note in in_sample.notes)
    assert not any(note.startswith("in-sample:") for note in held_out.notes)


def test_eval_vectors_are_labelled_held_out(glove_small) -> None:
    _, X = glove_small
    report = evaluate(PCA(DIM).fit(X[:2000]), X[:2000], X[2000:], tasks=["noise"])
    assert report.meta["rows"] == "held-out"
    assert report.title("noise").endswith("(held-out rows)")


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, True, "0.2", 0.001])
def test_a_bad_holdout_share_is_refused(glove_small, share) -> None:
    _, X = glove_small
    with pytest.raises(InputError, match="holdout"):
        evaluate(PCA(DIM), X, holdout=share, tasks=["noise"])


def test_holdout_needs_an_estimator_it_can_refit(glove_small) -> None:
    class Projection:
        def transform(self, X: np.ndarray) -> np.ndarray:
            return X[:, :DIM]

    _, X = glove_small
    with pytest.raises(InputError, match="scikit-learn estimator"):
        evaluate(Projection(), X, holdout=0.2, tasks=["noise"])
    with pytest.raises(InputError, match="not both"):
        evaluate(PCA(DIM), X, X, holdout=0.2, tasks=["noise"])
