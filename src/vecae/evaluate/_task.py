"""What an evaluation task is: a name, the data it needs, and one function that fills tables.

:func:`vecae.evaluate.evaluate` prepares a :class:`TaskContext` once (the evaluation rows, every
method's encodings of them, the neighbour queries) and hands it to each selected
:class:`Task` in turn. A task reads the context and writes its tables into ``ctx.report``.

Adding a task is one new module with a ``Task`` and one line in
:data:`vecae.evaluate._harness.TASK_REGISTRY`; nothing else changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vecae._exceptions import InputError
from vecae.evaluate._metrics import Metric, exact_knn
from vecae.evaluate._report import EvaluationReport
from vecae.evaluate._wordsim import PairSet

__all__ = ["LabelsArg", "Method", "PairsArg", "Task", "TaskContext"]

PairsArg: TypeAlias = PairSet | str | os.PathLike[str] | Sequence[PairSet | str | os.PathLike[str]]
LabelsArg: TypeAlias = ArrayLike | Mapping[str, Any]

MODEL = "vecae"
ORIGINAL = "original"


class Method:
    """A named encoder (the model or a baseline) with its encodings of the evaluation rows."""

    def __init__(self, name: str, encoder: Any, dim: int) -> None:
        self.name = name
        self.encoder = encoder
        self.dim = dim
        self.encoded: NDArray[np.float32] | None = None
        self.clean_knn: NDArray[np.int64] | None = None

    def transform(self, X: NDArray[Any]) -> NDArray[np.float32]:
        """Encode ``X``, checking the shape the encoder returns."""
        Z = np.asarray(self.encoder.transform(X), dtype=np.float32)
        if Z.ndim != 2 or Z.shape != (X.shape[0], self.dim):
            raise InputError(
                f"{self.name}: transform returned shape {Z.shape}, "
                f"expected ({X.shape[0]}, {self.dim})"
            )
        return Z

    @property
    def Z(self) -> NDArray[np.float32]:
        """The encodings of the evaluation rows (set by the harness before any task runs)."""
        assert self.encoded is not None
        return self.encoded

    def head(self) -> dict[str, Any]:
        """The first cells of every table row: method, dimension and storage."""
        # float32 storage is the fair comparison: every method's vector is d float32s.
        return {"method": self.name, "dim": self.dim, "bytes_per_vector": 4 * self.dim}


@dataclass
class TaskContext:
    """Everything a task may read; built once per :func:`~vecae.evaluate.evaluate` call.

    Attributes
    ----------
    model : object
        The fitted model under evaluation (``methods[0].encoder``).
    methods : list of Method
        The model, the original vectors, then each baseline that could be fitted.
    E : ndarray of shape (m, d)
        The evaluation rows.
    source : ndarray
        The matrix the evaluation rows and ``keys`` index into.
    fit_X : ndarray
        The rows the baselines were fitted on (detectors fit on them too).
    eval_rows : ndarray of int
        Positions of ``E`` in ``source``.
    queries : ndarray of int
        Positions (into ``E``) of the neighbour-search queries.
    sub_seed : int
        A seed derived from ``random_state`` for tasks' own sampling.
    report : EvaluationReport
        Where tasks write their tables, notes and metadata.
    """

    model: Any
    methods: list[Method]
    E: NDArray[Any]
    source: NDArray[Any]
    fit_X: NDArray[Any]
    eval_rows: NDArray[np.int64]
    queries: NDArray[np.int64]
    keys: Sequence[str] | None
    metric: Metric
    k: int
    random_state: int
    sub_seed: int
    report: EvaluationReport
    labels: LabelsArg | None = None
    anomaly_labels: LabelsArg | None = None
    pairs: PairsArg | None = None
    wordsim_sets: Sequence[str | os.PathLike[str] | PairSet] = ()
    noise_snr_db: float | Sequence[float] = 10.0
    n_trustworthiness: int = 1000
    _knn: dict[str, NDArray[np.int64]] = field(default_factory=dict, repr=False)

    def clean_knn(self, method: Method) -> NDArray[np.int64]:
        """The ``k`` nearest evaluation rows of each query in ``method``'s space (cached)."""
        if method.name not in self._knn:
            Z = method.Z
            self._knn[method.name], _ = exact_knn(
                Z[self.queries], Z, self.k, self.metric, exclude_self=True, self_index=self.queries
            )
        return self._knn[method.name]


@dataclass(frozen=True)
class Task:
    """One evaluation task.

    Attributes
    ----------
    name : str
        What ``evaluate(tasks=[...])`` and ``vecae evaluate --tasks`` call it.
    run : callable
        ``run(ctx)`` writes the task's tables into ``ctx.report``.
    available : callable
        ``available(ctx)``: whether the data the task needs was given. Tasks that are
        available run by default.
    needs : str
        The data it needs, for the error when it is asked for without it ("" if none).
    """

    name: str
    run: Callable[[TaskContext], None]
    available: Callable[[TaskContext], bool] = field(default=lambda ctx: True)
    needs: str = ""
