"""The ``codes`` evaluation task: retrieval quality per byte of the model's compact codes.

For a model with ``encode`` (the dense estimators), every trained size and precision of its
codes is compared with the baselines of :mod:`vecae.evaluate._codecs` at the same byte
budgets, all fitted on the training rows only. Tables: ``codes`` (every code) and
``codes_pareto`` (the codes no other code beats on rescored recall for fewer bytes).
"""

from __future__ import annotations

from vecae.evaluate._codecs import compare_codes, pareto_front
from vecae.evaluate._task import Task, TaskContext

__all__ = ["CODES"]


def codes(ctx: TaskContext) -> None:
    """Recall@k per byte, with and without rescoring, and its Pareto front."""
    rows, _ = compare_codes(
        ctx.model,
        ctx.fit_X,
        ctx.E,
        n_queries=len(ctx.queries),
        k=ctx.k,
        random_state=ctx.sub_seed,
    )
    ctx.report.tables["codes"] = [r.as_dict() for r in rows]
    measure = f"recall@{ctx.k}_rescored"
    ctx.report.tables["codes_pareto"] = [r.as_dict() for r in pareto_front(rows, measure)]


CODES = Task(
    "codes",
    codes,
    lambda ctx: callable(getattr(ctx.model, "encode", None)) and hasattr(ctx.model, "nested_dims_"),
    "a dense vecae model (with encode)",
)
