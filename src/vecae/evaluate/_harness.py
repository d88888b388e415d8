"""``evaluate``: compare a fitted model with baselines at the same dimension.

:func:`evaluate` is a small dispatcher: it picks the evaluation rows, fits the baselines of
:data:`~vecae.evaluate._baselines.REDUCERS` (and, with ``holdout``, a fresh copy of the model)
on the other rows, encodes the rows once per method, and runs each selected task of
:data:`TASK_REGISTRY` on that shared context.

Whether the model saw the evaluation rows is recorded as ``meta["rows"]``: ``"held-out"``
with ``holdout`` (the model is refitted without them) or ``eval_vectors`` (rows the caller
keeps apart), ``"in-sample"`` otherwise (a sample of ``train_vectors``, the data a given model
was fitted on). Row-based tables carry it in their titles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from vecae._exceptions import InputError
from vecae.evaluate._baselines import REDUCERS, Identity
from vecae.evaluate._codes_task import CODES
from vecae.evaluate._metrics import Metric, as_matrix
from vecae.evaluate._report import HELD_OUT, IN_SAMPLE, EvaluationReport
from vecae.evaluate._task import MODEL, ORIGINAL, LabelsArg, Method, PairsArg, Task, TaskContext
from vecae.evaluate._tasks import ANOMALY, CLASSIFICATION, INTRINSIC, NOISE, PAIRS, WORDSIM
from vecae.evaluate._wordsim import DEFAULT_WORDSIM_SETS, PairSet

__all__ = ["TASKS", "TASK_REGISTRY", "Encoder", "evaluate"]

# The tasks, in the order they run and appear in reports. A new task: one module that
# defines a ``Task``, and one line here.
TASK_REGISTRY: dict[str, Task] = {
    task.name: task for task in (INTRINSIC, WORDSIM, PAIRS, CLASSIFICATION, ANOMALY, NOISE, CODES)
}

TASKS: tuple[str, ...] = tuple(TASK_REGISTRY)
"""Task names accepted by ``evaluate(tasks=...)``."""


@runtime_checkable
class Encoder(Protocol):
    """What ``evaluate`` needs of a model: a fitted ``transform``.

    ``inverse_transform(Z)`` (for reconstruction metrics) and ``anomaly_score(X)``
    (higher = more anomalous) are used when present.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> isinstance(PCA(2), Encoder)
    True
    """

    def transform(self, X: Any) -> Any:
        """Encode rows of ``X``."""


def evaluate(
    model: Any,
    train_vectors: ArrayLike,
    eval_vectors: ArrayLike | None = None,
    *,
    holdout: float | None = None,
    keys: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    metric: Metric = "cosine",
    labels: LabelsArg | None = None,
    anomaly_labels: LabelsArg | None = None,
    pairs: PairsArg | None = None,
    wordsim_sets: Sequence[str | os.PathLike[str] | PairSet] = DEFAULT_WORDSIM_SETS,
    noise_snr_db: float | Sequence[float] = 10.0,
    random_state: int = 0,
    n_eval: int | None = 10_000,
    n_queries: int = 2000,
    n_trustworthiness: int = 1000,
    k: int = 10,
) -> EvaluationReport:
    """Measure a fitted model against baselines at the model's encoding dimension.

    The rows compared are: the model (``"vecae"``), the original vectors
    (``"original"``, full width), ``"pca"``, ``"abtt-pca"``, ``"whitened-pca"`` and
    ``"random-projection"``. Baselines are fitted on training vectors only, never on the
    evaluation rows.

    Three ways to choose the evaluation rows; ``meta["rows"]`` and the row-based tables'
    titles say which:

    * ``holdout=f``: a seeded share ``f`` of ``train_vectors`` is split off; a fresh copy of
      ``model`` (``sklearn.base.clone``, same hyper-parameters) and every baseline are fitted
      on the rest only, and the held-out rows are evaluated (``"held-out"``).
    * ``eval_vectors``: rows kept apart by the caller are evaluated (``"held-out"``).
    * neither: a sample of ``train_vectors`` is evaluated, with the baselines fitted on the
      rest. A model fitted on ``train_vectors`` has seen those rows (``"in-sample"``).

    Parameters
    ----------
    model : object
        Fitted, with ``transform(X)``; ``inverse_transform(Z)`` and ``anomaly_score(X)``
        are used when present. Never refitted, except that ``holdout`` fits a fresh copy.
    train_vectors : array-like of shape (n, d)
        What the baselines (and, with ``holdout``, the model's copy) are fitted on.
    eval_vectors : array-like of shape (m, d), optional
        Evaluation items the model was not fitted on. When None, a seeded sample of
        ``n_eval`` rows (at most a fifth, or the ``holdout`` share) is held out of
        ``train_vectors`` and the baselines are fitted on the rest.
    holdout : float, optional
        Share of ``train_vectors`` in ``(0, 1)`` to hold out from every fit, the model's
        included; needs a scikit-learn estimator (``get_params``/``fit``).
    keys : sequence of str, optional
        Key (word, sentence id) of each row of ``eval_vectors``, or of
        ``train_vectors`` when ``eval_vectors`` is None. Enables ``"wordsim"``. Word
        and pair lookups use every keyed row: these tasks score pairs against gold
        judgements that no method ever sees, so it does not matter whether a looked-up
        row was among the baselines' training rows.
    tasks : sequence of str, optional
        Subset of :data:`TASKS`. By default every task whose data is available runs;
        naming a task whose data is missing raises :class:`InputError`.
    metric : {"cosine", "l2"}
        Neighbourhood metric in every space.
    labels : array-like or mapping, optional
        Class labels, aligned with the rows ``keys`` describe, or a key->label mapping.
        Enables ``"classification"`` (on the evaluation rows).
    anomaly_labels : array-like or mapping, optional
        1 = anomaly, 0 = normal, aligned like ``labels``. Enables ``"anomaly"``.
    pairs : PairSet, path or sequence of them, optional
        Scored key pairs (TSV ``key1 key2 gold``); keys are matched exactly. Enables
        ``"pairs"``; needs ``keys``.
    wordsim_sets : sequence
        Word-similarity sets for ``"wordsim"`` (bundled names, files or PairSets).
    noise_snr_db : float or sequence of float
        Signal-to-noise ratio(s) of the ``"noise"`` task: each query ``x`` gets
        Gaussian noise of variance ``mean(x**2) / 10**(snr/10)`` per coordinate.
    random_state : int
        Seed of every sample and split.
    n_eval : int or None
        Cap on evaluation rows (None: no cap beyond the fifth held out).
    n_queries : int
        Held-out queries for the neighbour tasks; each is searched against all
        evaluation rows.
    n_trustworthiness : int
        Rows sampled for trustworthiness (quadratic cost).
    k : int
        Neighbours for recall@k and the kNN classifier.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from vecae.datasets import load_glove
    >>> words, vectors = load_glove(2000)
    >>> report = evaluate(PCA(10).fit(vectors), vectors, keys=words, tasks=["noise"], n_eval=400)
    >>> report.meta["tasks"], report.tables["noise"][0]["method"], report.meta["rows"]
    (['noise'], 'vecae', 'in-sample')
    >>> held = evaluate(PCA(10), vectors, holdout=0.2, tasks=["noise"], n_eval=400)
    >>> held.meta["rows"], held.meta["n_fit"], held.title("noise")[-15:]
    ('held-out', 1600, '(held-out rows)')
    """
    t_start = time.perf_counter()
    rng = np.random.default_rng(random_state)
    X = as_matrix(train_vectors, "train_vectors")
    d = X.shape[1]
    rows_label = IN_SAMPLE if eval_vectors is None else HELD_OUT
    if holdout is not None:
        if eval_vectors is not None:
            raise InputError("holdout: give eval_vectors or holdout, not both")
        eval_rows, fit_rows = _holdout_split(holdout, X.shape[0], k, rng)
        if n_eval is not None and eval_rows.size > n_eval:
            eval_rows = np.sort(rng.choice(eval_rows, n_eval, replace=False))
        fit_X = X[fit_rows]
        source = X
        model = _refit(model, fit_X)
        rows_label = HELD_OUT
    elif eval_vectors is None:
        n_hold = X.shape[0] // 5 if n_eval is None else min(n_eval, X.shape[0] // 5)
        if n_hold < k + 2:
            raise InputError(
                f"train_vectors: {X.shape[0]} rows are too few to hold out an evaluation "
                f"sample for k={k}; pass eval_vectors or more rows"
            )
        perm = rng.permutation(X.shape[0])
        eval_rows = np.sort(perm[:n_hold])
        fit_X = X[np.sort(perm[n_hold:])]
        source = X
    else:
        source = as_matrix(eval_vectors, "eval_vectors")
        if source.shape[1] != d:
            raise InputError(
                f"eval_vectors: width {source.shape[1]} differs from train_vectors width {d}"
            )
        n_src = source.shape[0]
        if n_eval is not None and n_src > n_eval:
            eval_rows = np.sort(rng.choice(n_src, n_eval, replace=False))
        else:
            eval_rows = np.arange(n_src)
        fit_X = X
    E = source[eval_rows]
    if E.shape[0] < k + 2:
        raise InputError(f"need at least {k + 2} evaluation rows for k={k}, got {E.shape[0]}")
    if keys is not None and len(keys) != source.shape[0]:
        raise InputError(f"keys: {len(keys)} keys for {source.shape[0]} rows")

    if pairs is not None and keys is None:
        raise InputError("pairs: keyed pairs need keys= (the key of each row) to look rows up")

    # The queries and the sub-seed are drawn before any fitting, so every task sees the same
    # draws whichever tasks run.
    n_q = min(n_queries, E.shape[0])
    queries = np.sort(rng.choice(E.shape[0], n_q, replace=False))
    sub_seed = int(rng.integers(2**31 - 1))
    report = EvaluationReport()
    ctx = TaskContext(
        model=model,
        methods=[],
        E=E,
        source=source,
        fit_X=fit_X,
        eval_rows=eval_rows,
        queries=queries,
        keys=keys,
        metric=metric,
        k=k,
        random_state=random_state,
        sub_seed=sub_seed,
        report=report,
        labels=labels,
        anomaly_labels=anomaly_labels,
        pairs=pairs,
        wordsim_sets=wordsim_sets,
        noise_snr_db=noise_snr_db,
        n_trustworthiness=n_trustworthiness,
    )
    selected = _select_tasks(tasks, ctx)
    if rows_label == IN_SAMPLE:
        report.notes.append(
            f"in-sample: the {E.shape[0]} evaluation rows come from the data the model was "
            "fitted on (the baselines were fitted without them); holdout= (vecae evaluate "
            "--holdout) refits the model without them"
        )

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ctx.methods = _fit_methods(model, ctx, d)
    timings["fit_baselines"] = time.perf_counter() - t0

    for name in selected:
        t0 = time.perf_counter()
        TASK_REGISTRY[name].run(ctx)
        timings[name] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_start
    report.estimators = {meth.name: meth.encoder for meth in ctx.methods}
    report.eval_index = eval_rows.astype(np.int64)
    report.meta.update(
        {
            "n_fit": int(fit_X.shape[0]),
            "n_eval": int(E.shape[0]),
            "n_queries": int(n_q),
            "held_out_from_train": eval_vectors is None,
            "rows": rows_label,
            "holdout": None if holdout is None else float(holdout),
            "dim_original": int(d),
            "dim": int(ctx.methods[0].dim),
            "metric": metric,
            "k": int(k),
            "random_state": int(random_state),
            "tasks": list(selected),
            "seconds": {name: round(v, 3) for name, v in timings.items()},
        }
    )
    return report


def _holdout_split(
    holdout: object, n: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (held-out rows, fitting rows) of a seeded split of ``n`` rows."""
    if (
        isinstance(holdout, bool)
        or not isinstance(holdout, int | float)
        or not 0.0 < float(holdout) < 1.0
    ):
        raise InputError(f"holdout: expected a share of rows in (0, 1), got {holdout!r}")
    n_hold = round(float(holdout) * n)
    if n_hold < k + 2 or n - n_hold < 2:
        raise InputError(
            f"holdout: {holdout} of {n} rows holds out {n_hold} and fits on {n - n_hold}; "
            f"need at least {k + 2} held-out rows (k={k}) and 2 fitting rows"
        )
    perm = rng.permutation(n)
    return np.sort(perm[:n_hold]), np.sort(perm[n_hold:])


def _refit(model: Any, fit_X: np.ndarray) -> Any:
    """A fresh, unfitted copy of ``model`` (same hyper-parameters), fitted on ``fit_X``."""
    from sklearn.base import clone

    try:
        fresh = clone(model)
    except (TypeError, RuntimeError, AttributeError) as exc:
        raise InputError(
            f"holdout: refitting the model needs a scikit-learn estimator (get_params); "
            f"{type(model).__name__} is not one ({exc})"
        ) from exc
    return fresh.fit(fit_X)


def _select_tasks(tasks: Sequence[str] | None, ctx: TaskContext) -> list[str]:
    """The tasks to run, in registry order: those asked for, or every available one."""
    if tasks is None:
        return [name for name, task in TASK_REGISTRY.items() if task.available(ctx)]
    unknown = [t for t in tasks if t not in TASK_REGISTRY]
    if unknown:
        raise InputError(f"tasks: unknown {unknown}; choose from {TASKS}")
    missing = [t for t in tasks if not TASK_REGISTRY[t].available(ctx)]
    if missing:
        needs = "; ".join(f"{t}: {TASK_REGISTRY[t].needs}" for t in missing)
        raise InputError(f"tasks {missing} need data that was not given ({needs})")
    return [name for name in TASK_REGISTRY if name in tasks]


def _fit_methods(model: Any, ctx: TaskContext, d: int) -> list[Method]:
    """The model, the original vectors and each reducer that fits, with their encodings."""
    E = ctx.E
    Z_model = np.asarray(model.transform(E), dtype=np.float32)
    if Z_model.ndim != 2 or Z_model.shape[0] != E.shape[0]:
        raise InputError(f"model.transform returned shape {Z_model.shape} for {E.shape[0]} rows")
    m = Z_model.shape[1]
    methods = [Method(MODEL, model, m), Method(ORIGINAL, Identity().fit(ctx.fit_X), d)]
    methods[0].encoded = Z_model
    for name, factory in REDUCERS.items():
        reducer = factory(m, ctx.random_state)
        try:
            reducer.fit(ctx.fit_X)
        except InputError as exc:
            ctx.report.notes.append(f"{name} skipped: {exc}")
            continue
        methods.append(Method(name, reducer, m))
    for meth in methods[1:]:
        meth.encoded = meth.transform(E)
    return methods
