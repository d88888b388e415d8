"""The evaluation protocol: score held-out users from their fold-in items, rank, measure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import DimensionMismatchError, InputError
from vecae.recommend._data import Split
from vecae.recommend._metrics import _as_scores, _metric_sums, top_k_unseen

__all__ = ["ScoreFn", "evaluate_recommender"]

ScoreFn = Callable[[sp.csr_matrix], npt.ArrayLike]
"""A recommender: users x items CSR of known interactions -> dense users x items scores."""


def evaluate_recommender(
    score_fn: ScoreFn,
    split: Split,
    ks: Sequence[int] = (20, 100),
    *,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Evaluate a recommender on the held-out users of a :class:`Split`.

    Each held-out user with at least one target is scored from their fold-in items;
    fold-in items are masked so they are never counted as recommendations, and the ranking
    is compared with the targets.

    Parameters
    ----------
    score_fn : callable
        Maps a CSR batch of fold-in rows (n_batch x n_items) to scores of the same shape,
        for example ``model.score`` of a recommender fitted on ``split.train``.
    split : Split
        From :func:`split_users`.
    ks : sequence of int
        Cut-offs. Recall@k and NDCG@k are reported for every ``k`` (the paper quotes
        Recall@20, Recall@50 and NDCG@100).
    batch_size : int
        Users scored per call, to bound memory.

    Returns
    -------
    dict
        ``"recall@k"`` and ``"ndcg@k"`` for each ``k``, and ``"n_users"``: the number of
        held-out users evaluated.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise InputError(f"ks: need positive cut-offs, got {ks}")
    if batch_size < 1:
        raise InputError(f"batch_size: must be positive, got {batch_size}")
    fold_in, targets = split.heldout_fold_in, split.heldout_target
    users = np.flatnonzero(np.diff(targets.indptr) > 0)
    if users.size == 0:
        raise InputError("split: no held-out user has a target item; hold out longer users")
    totals = dict.fromkeys([f"{m}@{k}" for k in ks for m in ("recall", "ndcg")], 0.0)
    n_items = fold_in.shape[1]
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        seen = fold_in[batch]
        raw = score_fn(seen)
        # Accept sparse scores too (e.g. an item-kNN product left sparse).
        dense = raw.toarray() if sp.issparse(raw) else raw  # type: ignore[union-attr]
        scores = _as_scores(dense, source="score_fn output")
        if scores.shape != (batch.size, n_items):
            raise DimensionMismatchError(
                f"score_fn output: shape {scores.shape}, expected {(batch.size, n_items)}"
            )
        ranked = top_k_unseen(scores, seen, ks[-1])
        sums, _ = _metric_sums(ranked, targets[batch], ks)
        for name, value in sums.items():
            totals[name] += value
    result = {name: value / users.size for name, value in totals.items()}
    result["n_users"] = float(users.size)
    return result
