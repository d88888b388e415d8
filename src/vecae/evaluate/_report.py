"""The evaluation report: tables of rows, rendered as JSON, Markdown or rich tables."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["HELD_OUT", "IN_SAMPLE", "EvaluationReport"]

HELD_OUT = "held-out"
"""``meta["rows"]`` when the model never saw the evaluation rows (``holdout``, ``eval_vectors``)."""
IN_SAMPLE = "in-sample"
"""``meta["rows"]`` when the evaluation rows come from the data the model was fitted on."""

TABLE_TITLES: dict[str, str] = {
    "intrinsic": "Intrinsic quality",
    "wordsim": "Word similarity (Spearman rho of cosine)",
    "wordsim_coverage": "Word-similarity coverage",
    "pairs": "User pairs (Spearman rho of cosine)",
    "pairs_coverage": "User-pair coverage",
    "classification": "Classification",
    "anomaly": "Anomaly detection",
    "noise": "Robustness to Gaussian noise (neighbours of noisy vs clean queries)",
}

# Tables measured on the evaluation rows, whose titles say whether the model saw them. The
# word-similarity and pair tables score gold judgements that no method ever trains on.
_ROW_TABLES = frozenset(
    {"intrinsic", "classification", "anomaly", "noise", "codes", "codes_pareto"}
)


def _jsonable(value: Any) -> Any:
    # JSON has no NaN; null says "not measured / undefined" unambiguously.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4f}"
    return str(value)


@dataclass
class EvaluationReport:
    """Results of :func:`vecae.evaluate.evaluate`.

    Attributes
    ----------
    tables : dict of str to list of dict
        One table per task (plus coverage tables), each a list of rows; rows of method
        tables start with ``method``, ``dim`` and ``bytes_per_vector``.
    meta : dict
        Sizes, settings and per-task timings.
    notes : list of str
        What was skipped, and why.
    estimators : dict of str to object
        The fitted encoders by method name (the model itself under ``"vecae"``), so a
        result can be inspected or reused. Not serialised.
    eval_index : ndarray of int64 or None
        Rows of the evaluation source (``eval_vectors``, or ``train_vectors`` when the
        sample was held out) that were evaluated. Not serialised.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from vecae.datasets import load_glove
    >>> from vecae.evaluate import evaluate
    >>> words, vectors = load_glove(2000)
    >>> report = evaluate(PCA(10).fit(vectors), vectors, tasks=["intrinsic"], n_eval=400)
    >>> report.row("intrinsic", "original")["recall@10"]
    1.0
    >>> print(report.to_markdown().splitlines()[0])
    ### Intrinsic quality (in-sample rows)
    """

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    estimators: dict[str, Any] = field(default_factory=dict, repr=False)
    eval_index: NDArray[np.int64] | None = field(default=None, repr=False)

    def __getitem__(self, task: str) -> list[dict[str, Any]]:
        return self.tables[task]

    def title(self, name: str) -> str:
        """The display title of table ``name``; row-based tables say ``(held-out rows)`` or
        ``(in-sample rows)`` after ``meta["rows"]``."""
        base = TABLE_TITLES.get(name, name)
        rows = self.meta.get("rows")
        return f"{base} ({rows} rows)" if rows and name in _ROW_TABLES else base

    def row(self, task: str, method: str) -> dict[str, Any]:
        """The row of ``method`` in the table of ``task``."""
        for r in self.tables[task]:
            if r.get("method") == method:
                return r
        raise KeyError(f"no row for method {method!r} in table {task!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (NaN becomes None)."""
        return {
            "meta": {k: _jsonable(v) for k, v in self.meta.items()},
            "tables": {
                name: [{k: _jsonable(v) for k, v in row.items()} for row in rows]
                for name, rows in self.tables.items()
            },
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown: one titled table per task, then the notes."""
        parts: list[str] = []
        for name, rows in self.tables.items():
            if not rows:
                continue
            columns = _columns(rows)
            parts.append(f"### {self.title(name)}\n")
            parts.append("| " + " | ".join(columns) + " |")
            parts.append("|" + "|".join("---" for _ in columns) + "|")
            for row in rows:
                parts.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
            parts.append("")
        if self.notes:
            parts.append("Notes:\n")
            parts.extend(f"- {n}" for n in self.notes)
            parts.append("")
        return "\n".join(parts)

    def to_rich(self) -> list[Table]:
        """One :class:`rich.table.Table` per task."""
        from rich.table import Table

        out: list[Table] = []
        for name, rows in self.tables.items():
            if not rows:
                continue
            table = Table(title=self.title(name))
            columns = _columns(rows)
            for c in columns:
                numeric = any(isinstance(r.get(c), (int, float)) for r in rows)
                table.add_column(c, justify="right" if numeric else "left")
            for row in rows:
                table.add_row(*(_cell(row.get(c)) for c in columns))
            out.append(table)
        return out

    def print(self, console: Console | None = None) -> None:
        """Print the rich tables and the notes to ``console`` (a new one by default)."""
        from rich.console import Console

        con = console if console is not None else Console()
        for table in self.to_rich():
            con.print(table)
        for note in self.notes:
            con.print(f"[dim]note: {note}[/dim]")


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    # Union of keys in first-seen order, so a row missing a metric still lines up.
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)
