"""Assemble the report: training curves, the latent map, anomaly scores, evaluation, model card."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from vecae.report._html import figure, page, section, table
from vecae.report._svg import bar_chart, histogram, line_chart, scatter

__all__ = ["build_report", "evaluation_html", "evaluation_section"]

_META_COLUMNS = {"method", "dim", "bytes_per_vector"}


def build_report(
    model: Any,
    vectors: Any = None,
    keys: Sequence[str] | None = None,
    *,
    evaluation: Any = None,
    model_dir: str | Path | None = None,
    max_points: int = 3000,
    top: int = 20,
    random_state: int = 0,
    title: str | None = None,
) -> str:
    """One self-contained HTML page describing a fitted model (no scripts, inline SVG).

    Parameters
    ----------
    model : fitted vecae estimator
    vectors : array-like of shape (n, n_features), optional
        Data to map and score; without it the map is left out and the score histogram shows
        the training-score distribution stored in the model.
    keys : sequence of str, optional
        Names of the rows of ``vectors``, shown on hover and in the outlier table.
    evaluation : EvaluationReport, optional
        Output of :func:`vecae.evaluate.evaluate`, shown as tables and bar charts.
    model_dir : str or Path, optional
        The model's directory, for the versions recorded in its ``config.json``.
    max_points : int, default=3000
        Points on the map; a seeded uniform sample is drawn beyond that.
    top : int, default=20
        Outliers listed.
    random_state : int, default=0
        Seed of the map's sample.
    title : str, optional
        Page title (default: the model's class and directory name).

    Returns
    -------
    str
        The HTML document.
    """
    name = type(model).__name__
    heading = title or (f"{name}: {Path(model_dir).name}" if model_dir else f"{name} report")
    X = None if vectors is None else np.asarray(vectors, dtype=np.float32)
    if X is not None and keys is not None and len(keys) != len(X):
        raise ValueError(f"got {len(keys)} keys for {len(X)} rows")
    labels = list(keys) if keys is not None else None
    scores = None if X is None else np.asarray(model.anomaly_score(X), dtype=np.float64)
    parts = [_training_section(model)]
    if X is not None and scores is not None:
        parts.append(_map_section(model, X, labels, scores, max_points, random_state))
    parts.append(_anomaly_section(model, scores, labels, top))
    if evaluation is not None:
        parts.append(evaluation_section(evaluation))
    parts.append(_card_section(model, X, model_dir))
    subtitle = f"{int(model.n_features_in_)} → {int(model.latent_dim)} dimensions" + (
        f", {len(X):,} rows of data" if X is not None else ""
    )
    return page(heading, subtitle, parts)


def _training_section(model: Any) -> str:
    history = getattr(model, "history_", {}) or {}
    series = {
        label: [float("nan") if v is None else float(v) for v in history.get(key, [])]
        for key, label in (("train_loss", "training loss"), ("val_loss", "validation loss"))
        if history.get(key)
    }
    markers: list[tuple[float, str]] = []
    rates = [float(r) for r in history.get("learning_rate", []) or []]
    for epoch in range(1, len(rates)):
        if rates[epoch] != rates[epoch - 1]:
            markers.append((epoch + 1, f"lr {rates[epoch]:.2g}"))
    best = int(getattr(model, "best_epoch_", 0) or 0)
    stop = str(getattr(model, "stop_reason_", ""))
    n_epochs = int(getattr(model, "n_epochs_", 0) or 0)
    if best:
        markers.append((best, f"best epoch {best}"))
    if stop.startswith("early stopping") and n_epochs:
        markers.append((n_epochs, f"early stop (epoch {n_epochs})"))
    chart = line_chart(series, title="Loss per epoch", markers=markers)
    caption = (
        f"{n_epochs} epochs; {stop or 'no stop reason recorded'}. Dashed lines: learning-rate "
        "changes, the best epoch (its weights are kept) and the early stop."
    )
    note = None if series else "This model has no training history (epochs=0)."
    return section("training", "Training", figure("loss", chart, caption), note)


def _pca_2d(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centred = Z.astype(np.float64) - Z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(2, vt.shape[0])
    xy = centred @ vt[:k].T
    if k < 2:
        xy = np.column_stack([xy, np.zeros(len(xy))])
    explained = singular**2 / max(float((singular**2).sum()), 1e-300)
    return xy, explained[:2]


def _map_section(
    model: Any,
    X: np.ndarray,
    labels: list[str] | None,
    scores: np.ndarray,
    max_points: int,
    random_state: int,
) -> str:
    n = len(X)
    rng = np.random.default_rng(random_state)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(rng.choice(n, size=max_points, replace=False))
    Z = np.asarray(model.transform(X[rows]))
    xy, explained = _pca_2d(Z)
    ranks = np.argsort(np.argsort(scores[rows])) / max(len(rows) - 1, 1)
    flagged = scores[rows] > float(model.threshold_)
    names = [
        f"{labels[i] if labels is not None else f'row {i}'} (score {scores[i]:.4g})" for i in rows
    ]
    chart = scatter(
        xy,
        names,
        title="Encodings, first two principal components",
        color_values=ranks,
        flagged=flagged,
    )
    shown = f"a seeded sample of {len(rows):,} of {n:,} rows" if n > len(rows) else f"all {n:,}"
    caption = (
        f"PCA of the {Z.shape[1]}-d encodings ({shown}); the two axes hold "
        f"{100 * float(explained.sum()):.1f}% of their variance. Darker = higher anomaly score; "
        "red = above the threshold. Hover a point for its key."
    )
    return section("map", "Map of the encodings", figure("map", chart, caption))


def _anomaly_section(
    model: Any, scores: np.ndarray | None, labels: list[str] | None, top: int
) -> str:
    threshold = float(model.threshold_)
    if scores is None:
        quantiles = np.asarray(model.score_quantiles_, dtype=np.float64)
        chart = histogram(
            quantiles, title="Training anomaly scores", threshold=threshold, y_label="quantiles"
        )
        caption = (
            "Distribution of the training rows' scores, drawn from the 1001 quantiles stored in "
            "the model; pass DATA to score your own rows and list the top outliers."
        )
        return section("anomaly", "Anomaly scores", figure("anomaly", chart, caption))
    flagged = int((scores > threshold).sum())
    chart = histogram(scores, title="Anomaly scores", threshold=threshold)
    caption = (
        f"{flagged:,} of {len(scores):,} rows ({100 * flagged / max(len(scores), 1):.2f}%) score "
        f"above the model's threshold {threshold:.4g} (contamination "
        f"{getattr(model, 'contamination', 'n/a')})."
    )
    order = np.argsort(-scores, kind="stable")[:top]
    rows = [
        {
            "rank": rank + 1,
            "key": labels[i] if labels is not None else f"row {i}",
            "score": float(scores[i]),
            "flagged": bool(scores[i] > threshold),
        }
        for rank, i in enumerate(order)
    ]
    body = figure("anomaly", chart, caption) + f"<h3>Top {len(rows)} outliers</h3>" + table(rows)
    return section("anomaly", "Anomaly scores", body)


def evaluation_section(report: Any) -> str:
    """The ``vecae evaluate`` tables side by side with the baselines, a bar chart per metric.

    Parameters
    ----------
    report : EvaluationReport

    Returns
    -------
    str
        An HTML ``<section>``.
    """
    blocks: list[str] = []
    for name, rows in report.tables.items():
        if not rows:
            continue
        blocks.append(f"<h3>{escape(report.title(name))}</h3>")
        blocks.append(table(rows, highlight="vecae"))
        if not any("method" in row for row in rows):
            continue
        metrics = [
            key
            for key in dict.fromkeys(k for row in rows for k in row)
            if key not in _META_COLUMNS
            and all(isinstance(row.get(key), int | float | None) for row in rows)
            and not all(isinstance(row.get(key), bool) for row in rows)
        ]
        charts = []
        for metric in metrics:
            values = [_number(row.get(metric)) for row in rows]
            methods = [str(row.get("method")) for row in rows]
            charts.append(bar_chart(methods, values, title=metric, highlight="vecae"))
        if charts:
            blocks.append(
                f'<figure class="plot" data-plot="evaluation-{escape(name)}">'
                f'<div class="charts">{"".join(charts)}</div>'
                f"<figcaption>{escape(report.title(name))}: vecae in blue, "
                "baselines at the same width in grey.</figcaption></figure>"
            )
    if report.notes:
        blocks.append(
            "<h3>Notes</h3><ul>" + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>"
        )
    meta = report.meta
    note = (
        f"{meta.get('n_eval', '?')} evaluation rows, metric {meta.get('metric', '?')}, "
        f"k={meta.get('k', '?')}, seed {meta.get('random_state', '?')}."
    )
    return section("evaluation", "Evaluation against baselines", "".join(blocks), note)


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def evaluation_html(report: Any, *, title: str = "vecae evaluation") -> str:
    """A page holding only :func:`evaluation_section` (what ``vecae evaluate --html`` writes)."""
    dims = f"{report.meta.get('dim_original', '?')} → {report.meta.get('dim', '?')} dimensions"
    return page(title, dims, [evaluation_section(report)])


def _card_section(model: Any, X: np.ndarray | None, model_dir: str | Path | None) -> str:
    stored: dict[str, Any] = {}
    if model_dir is not None:
        try:
            stored = json.loads((Path(model_dir) / "config.json").read_text())
        except (OSError, ValueError):
            stored = {}
    seconds = getattr(model, "fit_seconds_", None)
    facts: dict[str, Any] = {
        "estimator": type(model).__name__,
        "input dimensions": int(model.n_features_in_),
        "encoding dimensions": int(model.latent_dim),
        "data rows shown": "none (no DATA given)" if X is None else f"{len(X):,}",
        "epochs run": getattr(model, "n_epochs_", "n/a"),
        "best epoch": getattr(model, "best_epoch_", "n/a"),
        "stop reason": getattr(model, "stop_reason_", "n/a"),
        "training time": "n/a" if seconds is None else f"{float(seconds):.1f} s",
        "anomaly threshold": f"{float(model.threshold_):.6g}",
    }
    if model_dir is not None:
        facts["directory"] = str(model_dir)
    for name, version in (stored.get("versions") or {}).items():
        facts[f"{name} version"] = version
    card = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts.items())
    params = "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(json.dumps(v, default=str))}</dd>"
        for k, v in sorted(model.get_params().items())
    )
    body = f'<dl class="card">{card}</dl><h3>Parameters</h3><dl class="card">{params}</dl>'
    return section("card", "Model card", body)
