"""The task and baseline registries: one entry is all a new task or baseline needs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA

from vecae import InputError
from vecae.evaluate import TASKS, evaluate
from vecae.evaluate._baselines import DETECTORS, REDUCERS, BaseDetector, BaseReducer
from vecae.evaluate._harness import TASK_REGISTRY
from vecae.evaluate._task import Task, TaskContext

DIM = 8


def _mean_norm(ctx: TaskContext) -> None:
    ctx.report.tables["mean-norm"] = [
        {**meth.head(), "mean_norm": float(np.linalg.norm(meth.Z, axis=1).mean())}
        for meth in ctx.methods
    ]


def test_tasks_are_the_registry_in_order() -> None:
    assert tuple(TASK_REGISTRY) == TASKS
    builtin = ("intrinsic", "wordsim", "pairs", "classification", "anomaly", "noise")
    assert [t for t in TASKS if t in builtin] == list(builtin)


def test_a_registered_task_runs_by_default_with_every_method(glove_small, monkeypatch) -> None:
    _, X = glove_small
    monkeypatch.setitem(TASK_REGISTRY, "mean-norm", Task("mean-norm", _mean_norm))
    report = evaluate(PCA(DIM).fit(X), X, n_eval=300, n_trustworthiness=100)
    rows = report.tables["mean-norm"]
    assert [r["method"] for r in rows] == ["vecae", "original", *REDUCERS]
    assert "mean-norm" in report.meta["tasks"]
    original = X[report.eval_index]
    assert rows[1]["mean_norm"] == pytest.approx(np.linalg.norm(original, axis=1).mean(), rel=1e-5)


def test_a_task_without_its_data_says_what_it_needs(glove_small, monkeypatch) -> None:
    _, X = glove_small
    needs_labels = Task("probe2", _mean_norm, lambda ctx: ctx.labels is not None, "labels")
    monkeypatch.setitem(TASK_REGISTRY, "probe2", needs_labels)
    with pytest.raises(InputError, match=r"probe2: labels"):
        evaluate(PCA(DIM).fit(X), X, tasks=["probe2"], n_eval=300)
    assert "probe2" not in evaluate(PCA(DIM).fit(X), X, tasks=["noise"], n_eval=300).tables


@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_reducers_are_scikit_learn_transformers(glove_small, name) -> None:
    _, X = glove_small
    reducer = REDUCERS[name](DIM, 0)
    assert isinstance(reducer, BaseReducer)
    fitted = clone(reducer).fit(X[:500])
    assert fitted.transform(X[:7]).shape == (7, DIM)
    assert fitted.inverse_transform(fitted.transform(X[:7])).shape == (7, X.shape[1])


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detectors_are_scikit_learn_estimators(cardio_set, name) -> None:
    X, _ = cardio_set
    detector = DETECTORS[name](DIM, X.shape[1], "l2", 0)
    assert isinstance(detector, BaseDetector)
    scores = clone(detector).fit(X[:1000]).anomaly_score(X[1000:1010])
    assert scores.shape == (10,) and np.isfinite(scores).all()
