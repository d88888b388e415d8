"""The built-in evaluation tasks, one function each.

Each task reads a :class:`~vecae.evaluate._task.TaskContext` and writes one table (a list of
row dicts, one row per method) into ``ctx.report.tables`` under its own name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vecae._exceptions import InputError
from vecae.evaluate._baselines import DETECTORS
from vecae.evaluate._metrics import (
    anomaly_scores,
    exact_knn,
    knn_accuracy,
    knn_recall,
    mean_cosine,
    probe_accuracy,
    reconstruction_mse,
    split_indices,
    trustworthiness,
)
from vecae.evaluate._task import MODEL, LabelsArg, PairsArg, Task, TaskContext
from vecae.evaluate._wordsim import (
    PairSet,
    SimilarityResult,
    _Lookup,
    _resolve,
    _score,
    load_key_pairs,
)

__all__ = ["ANOMALY", "CLASSIFICATION", "INTRINSIC", "NOISE", "PAIRS", "WORDSIM"]


def intrinsic(ctx: TaskContext) -> None:
    """Reconstruction error, neighbour recall against the original space, trustworthiness."""
    reference = ctx.clean_knn(ctx.methods[1])
    rows = []
    for meth in ctx.methods:
        row = meth.head()
        inverse = getattr(meth.encoder, "inverse_transform", None)
        if callable(inverse):
            X_hat = np.asarray(inverse(meth.Z), dtype=np.float32)
            row["mse"] = reconstruction_mse(ctx.E, X_hat)
            row["mean_cosine"] = mean_cosine(ctx.E, X_hat)
        else:
            row["mse"] = row["mean_cosine"] = float("nan")
        row[f"recall@{ctx.k}"] = knn_recall(reference, ctx.clean_knn(meth))
        row["trustworthiness"] = trustworthiness(
            ctx.E,
            meth.Z,
            n_neighbors=ctx.k,
            n_samples=ctx.n_trustworthiness,
            metric=ctx.metric,
            random_state=ctx.sub_seed,
        )
        rows.append(row)
    ctx.report.tables["intrinsic"] = rows


def noise(ctx: TaskContext) -> None:
    """Neighbour recall of noisy queries against each method's own clean neighbours."""
    snr = ctx.noise_snr_db
    snrs = [snr] if isinstance(snr, int | float) else snr
    noise_rng = np.random.default_rng(ctx.sub_seed)
    clean_q = ctx.E[ctx.queries].astype(np.float64)
    power = np.mean(clean_q**2, axis=1, keepdims=True)
    noisy_by_snr = {
        float(s): (
            clean_q + noise_rng.standard_normal(clean_q.shape) * np.sqrt(power / 10 ** (s / 10))
        ).astype(np.float32)
        for s in snrs
    }
    rows = []
    for meth in ctx.methods:
        row = meth.head()
        for s, noisy in noisy_by_snr.items():
            idx, _ = exact_knn(
                meth.transform(noisy),
                meth.Z,
                ctx.k,
                ctx.metric,
                exclude_self=True,
                self_index=ctx.queries,
            )
            row[f"recall@{ctx.k}_snr{s:g}db"] = knn_recall(ctx.clean_knn(meth), idx)
        rows.append(row)
    ctx.report.tables["noise"] = rows


def wordsim(ctx: TaskContext) -> None:
    """Spearman correlation with human word-similarity judgements (words lower-cased)."""
    assert ctx.keys is not None
    sets = [_resolve(s, lowercase=True) for s in ctx.wordsim_sets]
    _similarity_tables(ctx, "wordsim", sets, lowercase=True)


def pairs(ctx: TaskContext) -> None:
    """Spearman correlation with the user's scored key pairs (keys matched exactly)."""
    assert ctx.keys is not None and ctx.pairs is not None
    _similarity_tables(ctx, "pairs", _as_pairsets(ctx.pairs), lowercase=False)


def classification(ctx: TaskContext) -> None:
    """kNN and linear-probe accuracy on a stratified split of the labelled evaluation rows."""
    assert ctx.labels is not None
    pos, y = _labels_for_rows(ctx, ctx.labels, "labels")
    train_i, test_i = split_indices(y, random_state=ctx.random_state)
    rows = []
    for meth in ctx.methods:
        Z = meth.Z[pos]
        row = meth.head()
        row["knn_accuracy"] = knn_accuracy(
            Z[train_i], y[train_i], Z[test_i], y[test_i], k=ctx.k, metric=ctx.metric
        )
        row["probe_accuracy"] = probe_accuracy(Z[train_i], y[train_i], Z[test_i], y[test_i])
        rows.append(row)
    ctx.report.tables["classification"] = rows
    ctx.report.meta["classification_train_test"] = [int(train_i.size), int(test_i.size)]


def anomaly(ctx: TaskContext) -> None:
    """AUROC and average precision of the model's anomaly score against classic detectors."""
    assert ctx.anomaly_labels is not None
    pos, y = _labels_for_rows(ctx, ctx.anomaly_labels, "anomaly_labels")
    E_lab = ctx.E[pos]
    m, d = ctx.methods[0].dim, ctx.E.shape[1]
    rows = []
    score_fn = getattr(ctx.model, "anomaly_score", None)
    if callable(score_fn):
        s = np.asarray(score_fn(E_lab), dtype=np.float64).ravel()
        rows.append({"method": MODEL, "dim": m, **anomaly_scores(y, s)})
    else:
        ctx.report.notes.append("anomaly: the model has no anomaly_score; baselines only")
    for name, factory in DETECTORS.items():
        det = factory(m, d, ctx.metric, ctx.random_state).fit(ctx.fit_X)
        rows.append({"method": name, "dim": d, **anomaly_scores(y, det.anomaly_score(E_lab))})
    ctx.report.tables["anomaly"] = rows


INTRINSIC = Task("intrinsic", intrinsic)
WORDSIM = Task("wordsim", wordsim, lambda ctx: ctx.keys is not None, "keys")
PAIRS = Task(
    "pairs", pairs, lambda ctx: ctx.pairs is not None and ctx.keys is not None, "pairs and keys"
)
CLASSIFICATION = Task(
    "classification", classification, lambda ctx: ctx.labels is not None, "labels"
)
ANOMALY = Task("anomaly", anomaly, lambda ctx: ctx.anomaly_labels is not None, "anomaly_labels")
NOISE = Task("noise", noise)


# ------------------------------------------------------------------------------ helpers


def _as_pairsets(pairs: PairsArg) -> list[PairSet]:
    items = [pairs] if isinstance(pairs, PairSet | str | os.PathLike) else list(pairs)
    return [p if isinstance(p, PairSet) else load_key_pairs(p) for p in items]


def _labels_for_rows(
    ctx: TaskContext, labels: LabelsArg, name: str
) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Positions (into the evaluation rows) that carry a label, and those labels."""
    rows, keys, n_source = ctx.eval_rows, ctx.keys, ctx.source.shape[0]
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


def _similarity_tables(
    ctx: TaskContext, task: str, sets: list[PairSet], *, lowercase: bool
) -> None:
    keys: Sequence[str] = ctx.keys or []
    lookup = _Lookup(keys, lowercase)
    # Encode only the rows some pair uses: a 400k vocabulary needs a few thousand.
    needed = np.unique(
        np.concatenate([np.concatenate(lookup.rows(s)[:2]) for s in sets] + [np.zeros(0, int)])
    ).astype(np.int64)
    sub_lookup = _Lookup([keys[i] for i in needed], lowercase)
    vectors = ctx.source[needed]
    rows = []
    coverage: list[SimilarityResult] = []
    for meth in ctx.methods:
        Z = meth.transform(vectors) if needed.size else np.zeros((0, meth.dim), np.float32)
        results = [_score(sub_lookup, Z, s) for s in sets]
        row = meth.head()
        for r in results:
            row[r.name] = r.rho
        rhos = [r.rho for r in results if not np.isnan(r.rho)]
        row["mean"] = float(np.mean(rhos)) if rhos else float("nan")
        rows.append(row)
        coverage = results
    ctx.report.tables[task] = rows
    # Coverage depends on the keys only, not on the method, so it is one table.
    ctx.report.tables[f"{task}_coverage"] = [
        {k: v for k, v in r.as_dict().items() if k != "rho"} for r in coverage
    ]
