"""Anomaly detection with a fitted vecae model.

A row is anomalous when the model reconstructs it badly: the score is the reconstruction error
for autoencoders and the negative ELBO for the variational autoencoder (``anomaly_score``).
The flagging threshold is chosen in this order: an explicit ``threshold``; else the
``contamination`` quantile of the model's *training* scores (stored in the model as
``score_quantiles_``); else the threshold fitted at training time (``threshold_``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AnomalyReport", "resolve_threshold", "score_anomalies"]


@dataclass
class AnomalyReport:
    """Scores and flags for a set of rows; higher scores are more anomalous."""

    keys: list[str] | None
    scores: np.ndarray
    flags: np.ndarray
    threshold: float

    def _order(self, n: int) -> np.ndarray:
        # Highest score first; ties keep file order.
        order: np.ndarray = np.argsort(-self.scores, kind="stable")[: max(0, n)]
        return order

    def top(self, n: int) -> list[tuple[str | int, float]]:
        """The ``n`` highest-scoring rows as ``(key or row index, score)``, highest first."""
        names: Sequence[str | int] = self.keys if self.keys is not None else range(len(self.scores))
        return [(names[i], float(self.scores[i])) for i in self._order(n)]

    def names(self) -> list[str]:
        """The key of each row, or its 0-based row number as text when there are no keys."""
        return list(self.keys) if self.keys is not None else [str(i) for i in range(len(self))]

    def ranked(self, n: int) -> list[tuple[str, float, bool]]:
        """The ``n`` highest-scoring rows as ``(name, score, flagged)``, highest first.

        Examples
        --------
        >>> import numpy as np
        >>> report = AnomalyReport(["a", "b", "c"], np.array([0.1, 0.9, 0.5]),
        ...                        np.array([False, True, False]), threshold=0.8)
        >>> report.ranked(2)
        [('b', 0.9, True), ('c', 0.5, False)]
        """
        names = self.names()
        return [(names[i], float(self.scores[i]), bool(self.flags[i])) for i in self._order(n)]

    def columns(self) -> dict[str, list[Any]]:
        """The report as table columns ``key``, ``score``, ``flag`` (0/1), in row order."""
        return {
            "key": self.names(),
            "score": np.asarray(self.scores, dtype=np.float64).tolist(),
            "flag": np.asarray(self.flags, dtype=bool).astype(int).tolist(),
        }

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def n_flagged(self) -> int:
        return int(self.flags.sum())


def resolve_threshold(
    model: Any, *, threshold: float | None = None, contamination: float | None = None
) -> float:
    """The threshold to flag with, following the precedence in the module docstring."""
    if threshold is not None and contamination is not None:
        raise ValueError("give either threshold or contamination, not both")
    if threshold is not None:
        return float(threshold)
    if contamination is not None:
        return float(model.threshold_for(contamination))
    return float(model.threshold_)


def score_anomalies(
    model: Any,
    vectors: Any,
    keys: Sequence[str] | None = None,
    *,
    threshold: float | None = None,
    contamination: float | None = None,
) -> AnomalyReport:
    """Score ``vectors`` with ``model`` and flag those above the threshold.

    Parameters
    ----------
    model : fitted vecae estimator
    vectors : array-like or sparse matrix of shape (n_samples, n_features)
    keys : sequence of str, optional
        Names of the rows, carried into the report.
    threshold : float, optional
        Flag rows whose score exceeds this value.
    contamination : float, optional
        Flag rows above the ``1 - contamination`` quantile of the training scores.
    """
    limit = resolve_threshold(model, threshold=threshold, contamination=contamination)
    scores = np.asarray(model.anomaly_score(vectors), dtype=np.float64)
    if keys is not None and len(keys) != len(scores):
        raise ValueError(f"got {len(keys)} keys for {len(scores)} rows")
    return AnomalyReport(
        keys=list(keys) if keys is not None else None,
        scores=scores,
        flags=scores > limit,
        threshold=limit,
    )
