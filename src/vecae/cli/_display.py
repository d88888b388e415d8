"""Values and tables as several commands show them, so that they look alike everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import JustifyMethod
from rich.table import Table

__all__ = ["format_value", "history_summary", "kv_table", "neighbours_json", "ranked_table"]


def format_value(value: Any, digits: int = 5) -> str:
    """A number for a table: ``digits`` significant digits; ``-`` for missing or NaN."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.{digits}g}"
    return str(value)


def kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    """A two-column table of names and values."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows:
        table.add_row(key, format_value(value) if isinstance(value, float) else str(value))
    return table


def ranked_table(
    title: str, columns: list[tuple[str, JustifyMethod]], rows: Iterable[Iterable[str]]
) -> Table:
    """A table of ``(name, justify)`` columns after a rank column that counts from 1."""
    table = Table(title=title)
    table.add_column("rank", justify="right")
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for rank, cells in enumerate(rows, start=1):
        table.add_row(str(rank), *cells)
    return table


def neighbours_json(result: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"key": key, "score": float(score)} for key, score in result]


def history_summary(model: Any) -> dict[str, Any]:
    """How a fitted model's training went: what fit, info and recommender fit report."""
    history = getattr(model, "history_", {}) or {}
    train = list(history.get("train_loss", []))
    val = list(history.get("val_loss", []))
    best = int(getattr(model, "best_epoch_", 0))
    best_val = val[best - 1] if 0 < best <= len(val) else None
    return {
        "epochs_run": int(getattr(model, "n_epochs_", len(train))),
        "best_epoch": best,
        "stop_reason": getattr(model, "stop_reason_", None),
        "final_train_loss": train[-1] if train else None,
        "final_val_loss": val[-1] if val else None,
        "best_val_loss": best_val,
        "seconds": getattr(model, "fit_seconds_", None),
    }
