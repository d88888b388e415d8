"""Measure whether encodings are better: metrics, baselines, benchmarks and a harness.

The entry point is :func:`evaluate`, which compares a fitted model (anything with
``transform``) against PCA, all-but-the-top + PCA, whitened PCA, a random projection
and the original vectors, at the model's own dimension, on intrinsic quality, word
similarity, user pairs, classification, anomaly detection and robustness to noise.
Tasks and baselines are registries (``_harness.TASK_REGISTRY``, ``_baselines.REDUCERS`` and
``DETECTORS``): adding one is a new function or class and one registry line.

Examples
--------
Any fitted transformer can be evaluated; here scikit-learn's PCA on 2,000 GloVe words:

>>> from sklearn.decomposition import PCA
>>> from vecae.datasets import load_glove
>>> from vecae.evaluate import evaluate
>>> words, vectors = load_glove(2000)
>>> report = evaluate(PCA(10).fit(vectors), vectors, keys=words, tasks=["intrinsic"], n_eval=400)
>>> [row["method"] for row in report.tables["intrinsic"]]
['vecae', 'original', 'pca', 'abtt-pca', 'whitened-pca', 'random-projection']
>>> report.tables["intrinsic"][1]["recall@10"]
1.0
"""

from __future__ import annotations

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
from vecae.evaluate._harness import TASKS, Encoder, evaluate
from vecae.evaluate._metrics import (
    anomaly_scores,
    auroc,
    average_precision,
    exact_knn,
    knn_accuracy,
    knn_recall,
    mean_cosine,
    probe_accuracy,
    reconstruction_mse,
    spearman_similarity,
    split_indices,
    trustworthiness,
)
from vecae.evaluate._report import EvaluationReport
from vecae.evaluate._wordsim import (
    DEFAULT_WORDSIM_SETS,
    WORDSIM_SETS,
    PairSet,
    SimilarityResult,
    WordSimResults,
    evaluate_pairs,
    evaluate_word_similarity,
    load_key_pairs,
    load_word_pairs,
    load_wordsim,
)

__all__ = [
    "ABTTPCA",
    "DEFAULT_WORDSIM_SETS",
    "TASKS",
    "WORDSIM_SETS",
    "Encoder",
    "EvaluationReport",
    "Identity",
    "IsolationForestDetector",
    "KNNDistanceDetector",
    "PCABaseline",
    "PCAReconstructionDetector",
    "PairSet",
    "RandomProjection",
    "SimilarityResult",
    "WhitenedPCA",
    "WordSimResults",
    "anomaly_scores",
    "auroc",
    "average_precision",
    "evaluate",
    "evaluate_pairs",
    "evaluate_word_similarity",
    "exact_knn",
    "knn_accuracy",
    "knn_recall",
    "load_key_pairs",
    "load_word_pairs",
    "load_wordsim",
    "mean_cosine",
    "probe_accuracy",
    "reconstruction_mse",
    "spearman_similarity",
    "split_indices",
    "trustworthiness",
]
