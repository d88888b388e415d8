"""Baselines at byte budgets, retrieval recall and the Pareto front."""

from __future__ import annotations

import numpy as np
import pytest

from vecae import VariationalAutoencoder
from vecae.evaluate._codecs import (
    FloatCodec,
    ITQCodec,
    QualityRow,
    SignCodec,
    baseline_codecs,
    compare_codes,
    pareto_front,
    retrieval_recall,
)

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def split(glove_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return glove_vectors[:2500], glove_vectors[2500:3500]


@pytest.fixture(scope="module")
def model(split: tuple[np.ndarray, np.ndarray]) -> VariationalAutoencoder:
    return VariationalAutoencoder(
        latent_dim=16, objective="similarity", epochs=1, batch_size=256, random_state=0
    ).fit(split[0])


def test_every_baseline_is_fitted_on_training_rows_only(
    split: tuple[np.ndarray, np.ndarray], model: VariationalAutoencoder
) -> None:
    train, held_out = split
    _, codecs = compare_codes(model, train, held_out, n_queries=50)
    fitted = [c for c in codecs if c.n_fit_rows]
    assert len(fitted) >= 5  # int8, ITQ, PCA, PQ, OPQ at least
    assert all(c.n_fit_rows == len(train) for c in fitted)
    pca = next(c for c in codecs if c.name.startswith("pca-"))
    np.testing.assert_allclose(pca.mean_, train.mean(axis=0), rtol=1e-5)  # type: ignore[attr-defined]


def test_budgets_give_codes_of_that_many_bytes(split: tuple[np.ndarray, np.ndarray]) -> None:
    train, _ = split
    codecs = {c.name: c for c in baseline_codecs(50, [2, 4, 10])}
    assert codecs["itq-16b"].bytes_per_vector == 2
    assert codecs["pq-10B"].bytes_per_vector == 10
    assert codecs["pca-2d"].bytes_per_vector == 8
    assert codecs["sign"].fit(train).bytes_per_vector == 50 // 8


def test_itq_codes_are_balanced_signs(split: tuple[np.ndarray, np.ndarray]) -> None:
    train, held_out = split
    bits = ITQCodec(32).fit(train).represent(held_out)
    assert set(np.unique(bits)) == {-1.0, 1.0}
    assert np.all(np.abs((bits > 0).mean(axis=0) - 0.5) < 0.15)


def test_exact_codec_has_perfect_recall_and_rescoring_recovers_signs(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    train, held_out = split
    rows = np.arange(100)
    exact = FloatCodec("original", 50).fit(train)
    assert retrieval_recall(exact, held_out[:100], held_out, query_rows=rows) == 1.0
    sign = SignCodec().fit(train)
    plain = retrieval_recall(sign, held_out[:100], held_out, query_rows=rows)
    rescored = retrieval_recall(
        sign, held_out[:100], held_out, query_rows=rows, rescore_multiplier=4
    )
    assert rescored >= plain


def test_pareto_front_keeps_only_undominated_rows() -> None:
    rows = [
        QualityRow("a", 8, {"q": 0.5}),
        QualityRow("b", 16, {"q": 0.4}),  # more bytes, worse: dominated
        QualityRow("c", 16, {"q": 0.7}),
        QualityRow("d", 32, {"q": 0.7}),  # same quality, more bytes: dominated
    ]
    assert [r.method for r in pareto_front(rows, "q")] == ["a", "c"]


def test_codes_task_reports_every_code_and_the_pareto_front(
    split: tuple[np.ndarray, np.ndarray], model: VariationalAutoencoder
) -> None:
    from vecae.evaluate import evaluate

    report = evaluate(model, split[0], split[1], tasks=["codes"], n_queries=100)
    methods = [row["method"] for row in report.tables["codes"]]
    assert {"vecae-16d-binary", "vecae-16d-int8", "vecae-16d-float32", "sign"} <= set(methods)
    front = report.tables["codes_pareto"]
    assert front and all(row in report.tables["codes"] for row in front)
    assert [r["bytes_per_vector"] for r in front] == sorted(r["bytes_per_vector"] for r in front)
