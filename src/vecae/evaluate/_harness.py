"""``evaluate``: compare a fitted model with baselines at the same dimension."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vecae._exceptions import InputError
from vecae.evaluate._baselines import (
    ABTTPCA,
    Identity,
    IsolationForestDetector,
    KNNDistanceDetector,
    PCABaseline,
    PCAReconstructionDetector,
    RandomProjection,
    WhitenedPCA,
)
from vecae.evaluate._metrics import (
    Metric,
    anomaly_scores,
    as_matrix,
    exact_knn,
    knn_accuracy,
    knn_recall,
    mean_cosine,
    probe_accuracy,
    reconstruction_mse,
    split_indices,
    trustworthiness,
)
from vecae.evaluate._report import EvaluationReport
from vecae.evaluate._wordsim import (
    DEFAULT_WORDSIM_SETS,
    PairSet,
    SimilarityResult,
    _Lookup,
    _resolve,
    _score,
    load_key_pairs,
)

__all__ = ["TASKS", "Encoder", "evaluate"]

TASKS: tuple[str, ...] = ("intrinsic", "wordsim", "pairs", "classification", "anomaly", "noise")
"""Task names accepted by ``evaluate(tasks=...)``."""

MODEL = "vecae"
ORIGINAL = "original"


@runtime_checkable
class Encoder(Protocol):
    """What ``evaluate`` needs of a model: a fitted ``transform``.

    ``inverse_transform(Z)`` (for reconstruction metrics) and ``anomaly_score(X)``
    (higher = more anomalous) are used when present.
    """

    def transform(self, X: Any) -> Any:
        """Encode rows of ``X``."""


PairsArg: TypeAlias = PairSet | str | os.PathLike[str] | Sequence[PairSet | str | os.PathLike[str]]
LabelsArg: TypeAlias = ArrayLike | Mapping[str, Any]


class _Method:
    """A named encoder with its encodings of the evaluation rows."""

    def __init__(self, name: str, encoder: Any, dim: int) -> None:
        self.name = name
        self.encoder = encoder
        self.dim = dim
        self.encoded: NDArray[np.float32] | None = None
        self.clean_knn: NDArray[np.int64] | None = None

    def transform(self, X: NDArray[Any]) -> NDArray[np.float32]:
        Z = np.asarray(self.encoder.transform(X), dtype=np.float32)
        if Z.ndim != 2 or Z.shape != (X.shape[0], self.dim):
            raise InputError(
                f"{self.name}: transform returned shape {Z.shape}, "
                f"expected ({X.shape[0]}, {self.dim})"
            )
        return Z

    def head(self) -> dict[str, Any]:
        # float32 storage is the fair comparison: every method's vector is d float32s.
        return {"method": self.name, "dim": self.dim, "bytes_per_vector": 4 * self.dim}


def _as_pairsets(pairs: PairsArg) -> list[PairSet]:
    items = [pairs] if isinstance(pairs, (PairSet, str, os.PathLike)) else list(pairs)
    return [p if isinstance(p, PairSet) else load_key_pairs(p) for p in items]


def _labels_for_rows(
    labels: LabelsArg,
    name: str,
    rows: NDArray[np.int64],
    n_source: int,
    keys: Sequence[str] | None,
) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Positions (into the evaluation rows) that carry a label, and those labels."""
    if isinstance(labels, Mapping):
        if keys is None:
            raise InputError(f"{name}: a key->label mapping needs keys=")
        pos = [i for i, r in enumerate(rows) if keys[r] in labels]
        values = np.asarray([labels[keys[rows[i]]] for i in pos])
        return np.asarray(pos, dtype=np.int64), values
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_source:
        raise InputError(f"{name}: expected one label per row ({n_source}), got shape {arr.shape}")
    return np.arange(rows.shape[0], dtype=np.int64), arr[rows]


def evaluate(
    model: Any,
    train_vectors: ArrayLike,
    eval_vectors: ArrayLike | None = None,
    *,
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
    ``"random-projection"``. Baselines are fitted on training vectors only.

    Parameters
    ----------
    model : object
        Fitted, with ``transform(X)``; ``inverse_transform(Z)`` and ``anomaly_score(X)``
        are used when present. It is never refitted.
    train_vectors : array-like of shape (n, d)
        What the baselines are fitted on.
    eval_vectors : array-like of shape (m, d), optional
        Evaluation items. When None, a seeded sample of ``n_eval`` rows (at most a
        fifth) is held out of ``train_vectors`` and the baselines are fitted on the
        rest.
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
    """
    t_start = time.perf_counter()
    rng = np.random.default_rng(random_state)
    X = as_matrix(train_vectors, "train_vectors")
    d = X.shape[1]
    if eval_vectors is None:
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
    available = {
        "intrinsic": True,
        "noise": True,
        "wordsim": keys is not None,
        "pairs": pairs is not None and keys is not None,
        "classification": labels is not None,
        "anomaly": anomaly_labels is not None,
    }
    if tasks is None:
        selected = [t for t in TASKS if available[t]]
    else:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise InputError(f"tasks: unknown {unknown}; choose from {TASKS}")
        missing = [t for t in tasks if not available[t]]
        if missing:
            raise InputError(
                f"tasks {missing} need data that was not given "
                "(wordsim: keys; pairs: pairs and keys; classification: labels; "
                "anomaly: anomaly_labels)"
            )
        selected = [t for t in TASKS if t in tasks]

    report = EvaluationReport()
    timings: dict[str, float] = {}

    # --- methods -------------------------------------------------------------------
    t0 = time.perf_counter()
    Z_model = np.asarray(model.transform(E), dtype=np.float32)
    if Z_model.ndim != 2 or Z_model.shape[0] != E.shape[0]:
        raise InputError(f"model.transform returned shape {Z_model.shape} for {E.shape[0]} rows")
    m = Z_model.shape[1]
    methods = [_Method(MODEL, model, m), _Method(ORIGINAL, Identity().fit(fit_X), d)]
    methods[0].encoded = Z_model
    baselines: list[tuple[str, Any]] = [
        ("pca", PCABaseline(m, random_state=random_state)),
        ("abtt-pca", ABTTPCA(m, random_state=random_state)),
        ("whitened-pca", WhitenedPCA(m, random_state=random_state)),
        ("random-projection", RandomProjection(m, random_state=random_state)),
    ]
    for name, est in baselines:
        try:
            est.fit(fit_X)
        except InputError as exc:
            report.notes.append(f"{name} skipped: {exc}")
            continue
        methods.append(_Method(name, est, m))
    for meth in methods[1:]:
        meth.encoded = meth.transform(E)
    timings["fit_baselines"] = time.perf_counter() - t0

    n_q = min(n_queries, E.shape[0])
    queries = np.sort(rng.choice(E.shape[0], n_q, replace=False))
    sub_seed = int(rng.integers(2**31 - 1))

    def clean_knn(meth: _Method) -> NDArray[np.int64]:
        if meth.clean_knn is None:
            Z = _encoded(meth)
            meth.clean_knn, _ = exact_knn(
                Z[queries], Z, k, metric, exclude_self=True, self_index=queries
            )
        return meth.clean_knn

    for task in selected:
        t0 = time.perf_counter()
        if task == "intrinsic":
            reference = clean_knn(methods[1])
            rows = []
            for meth in methods:
                Z = _encoded(meth)
                row = meth.head()
                inverse = getattr(meth.encoder, "inverse_transform", None)
                if callable(inverse):
                    X_hat = np.asarray(inverse(Z), dtype=np.float32)
                    row["mse"] = reconstruction_mse(E, X_hat)
                    row["mean_cosine"] = mean_cosine(E, X_hat)
                else:
                    row["mse"] = row["mean_cosine"] = float("nan")
                row[f"recall@{k}"] = knn_recall(reference, clean_knn(meth))
                row["trustworthiness"] = trustworthiness(
                    E,
                    Z,
                    n_neighbors=k,
                    n_samples=n_trustworthiness,
                    metric=metric,
                    random_state=sub_seed,
                )
                rows.append(row)
            report.tables["intrinsic"] = rows
        elif task == "noise":
            snrs = [noise_snr_db] if isinstance(noise_snr_db, (int, float)) else noise_snr_db
            noise_rng = np.random.default_rng(sub_seed)
            clean_q = E[queries].astype(np.float64)
            power = np.mean(clean_q**2, axis=1, keepdims=True)
            noisy_by_snr = {
                float(snr): (
                    clean_q
                    + noise_rng.standard_normal(clean_q.shape) * np.sqrt(power / 10 ** (snr / 10))
                ).astype(np.float32)
                for snr in snrs
            }
            rows = []
            for meth in methods:
                row = meth.head()
                for snr, noisy in noisy_by_snr.items():
                    idx, _ = exact_knn(
                        meth.transform(noisy),
                        _encoded(meth),
                        k,
                        metric,
                        exclude_self=True,
                        self_index=queries,
                    )
                    row[f"recall@{k}_snr{snr:g}db"] = knn_recall(clean_knn(meth), idx)
                rows.append(row)
            report.tables["noise"] = rows
        elif task == "wordsim":
            assert keys is not None
            sets = [_resolve(s, lowercase=True) for s in wordsim_sets]
            _similarity_tables(report, "wordsim", methods, source, keys, sets, lowercase=True)
        elif task == "pairs":
            assert keys is not None and pairs is not None
            sets = _as_pairsets(pairs)
            _similarity_tables(report, "pairs", methods, source, keys, sets, lowercase=False)
        elif task == "classification":
            assert labels is not None
            pos, y = _labels_for_rows(labels, "labels", eval_rows, source.shape[0], keys)
            train_i, test_i = split_indices(y, random_state=random_state)
            rows = []
            for meth in methods:
                Z = _encoded(meth)[pos]
                row = meth.head()
                row["knn_accuracy"] = knn_accuracy(
                    Z[train_i], y[train_i], Z[test_i], y[test_i], k=k, metric=metric
                )
                row["probe_accuracy"] = probe_accuracy(Z[train_i], y[train_i], Z[test_i], y[test_i])
                rows.append(row)
            report.tables["classification"] = rows
            report.meta["classification_train_test"] = [int(train_i.size), int(test_i.size)]
        elif task == "anomaly":
            assert anomaly_labels is not None
            pos, y = _labels_for_rows(
                anomaly_labels, "anomaly_labels", eval_rows, source.shape[0], keys
            )
            E_lab = E[pos]
            rows = []
            score_fn = getattr(model, "anomaly_score", None)
            if callable(score_fn):
                s = np.asarray(score_fn(E_lab), dtype=np.float64).ravel()
                rows.append({"method": MODEL, "dim": m, **anomaly_scores(y, s)})
            else:
                report.notes.append("anomaly: the model has no anomaly_score; baselines only")
            n_rec = min(m, d - 1) if m >= d else m
            detectors: list[tuple[str, int, Any]] = [
                ("pca-reconstruction", d, PCAReconstructionDetector(n_rec)),
                ("isolation-forest", d, IsolationForestDetector(random_state=random_state)),
                ("knn-distance", d, KNNDistanceDetector(5, metric=metric)),
            ]
            for name, dim, det in detectors:
                det.fit(fit_X)
                rows.append(
                    {"method": name, "dim": dim, **anomaly_scores(y, det.anomaly_score(E_lab))}
                )
            report.tables["anomaly"] = rows
        timings[task] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_start
    report.estimators = {meth.name: meth.encoder for meth in methods}
    report.eval_index = eval_rows.astype(np.int64)
    report.meta.update(
        {
            "n_fit": int(fit_X.shape[0]),
            "n_eval": int(E.shape[0]),
            "n_queries": int(n_q),
            "held_out_from_train": eval_vectors is None,
            "dim_original": int(d),
            "dim": int(m),
            "metric": metric,
            "k": int(k),
            "random_state": int(random_state),
            "tasks": list(selected),
            "seconds": {name: round(v, 3) for name, v in timings.items()},
        }
    )
    return report


def _encoded(meth: _Method) -> NDArray[np.float32]:
    assert meth.encoded is not None
    return meth.encoded


def _similarity_tables(
    report: EvaluationReport,
    task: str,
    methods: list[_Method],
    source: NDArray[Any],
    keys: Sequence[str],
    sets: list[PairSet],
    *,
    lowercase: bool,
) -> None:
    lookup = _Lookup(keys, lowercase)
    # Encode only the rows some pair uses: a 400k vocabulary needs a few thousand.
    needed = np.unique(
        np.concatenate([np.concatenate(lookup.rows(s)[:2]) for s in sets] + [np.zeros(0, int)])
    ).astype(np.int64)
    sub_keys = [keys[i] for i in needed]
    sub_lookup = _Lookup(sub_keys, lowercase)
    vectors = source[needed]
    rows = []
    coverage: list[SimilarityResult] = []
    for meth in methods:
        Z = meth.transform(vectors) if needed.size else np.zeros((0, meth.dim), np.float32)
        results = [_score(sub_lookup, Z, s) for s in sets]
        row = meth.head()
        for r in results:
            row[r.name] = r.rho
        rhos = [r.rho for r in results if not np.isnan(r.rho)]
        row["mean"] = float(np.mean(rhos)) if rhos else float("nan")
        rows.append(row)
        coverage = results
    report.tables[task] = rows
    # Coverage depends on the keys only, not on the method, so it is one table.
    report.tables[f"{task}_coverage"] = [
        {k: v for k, v in r.as_dict().items() if k != "rho"} for r in coverage
    ]
