"""The report page: self-contained, and every section holds what the model and data say."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vecae.report import build_report, evaluation_html, write_html


def _plot(html: str, name: str) -> str:
    match = re.search(rf'<figure class="plot" data-plot="{name}">(.*?)</figure>', html, re.S)
    assert match is not None, f"no {name} plot"
    return match.group(1)


def test_page_is_self_contained(report_html: str) -> None:
    assert "<script" not in report_html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report_html)
    assert "@import" not in report_html and "url(" not in report_html


def test_loss_plot_has_a_line_per_loss_and_the_best_epoch(
    report_html: str, report_model: tuple[Any, Path]
) -> None:
    model = report_model[0]
    plot = _plot(report_html, "loss")
    lines = re.findall(r'<polyline data-role="line" points="([^"]+)"', plot)
    assert len(lines) == 2
    assert all(len(points.split()) == model.n_epochs_ for points in lines)
    assert f"best epoch {model.best_epoch_}" in plot


def test_learning_rate_changes_and_early_stop_are_marked(report_model: tuple[Any, Path]) -> None:
    import copy

    model = copy.deepcopy(report_model[0])
    epochs = len(model.history_["train_loss"])
    model.history_["learning_rate"] = [1e-3] * (epochs - 2) + [5e-4] * 2
    model.stop_reason_ = "early stopping: no improvement for 10 epochs"
    plot = _plot(build_report(model), "loss")
    assert "lr 0.0005" in plot
    assert f"early stop (epoch {model.n_epochs_})" in plot


def test_map_samples_beyond_max_points_with_keys_on_hover(
    report_html: str, glove: tuple[list[str], np.ndarray]
) -> None:
    plot = _plot(report_html, "map")
    titles = re.findall(r'<circle data-role="point"[^>]*><title>([^<]+)</title>', plot)
    assert len(titles) == 1000
    keys = {html.unescape(title).rsplit(" (score", 1)[0] for title in titles}
    assert len(keys) == 1000 and keys <= set(glove[0])
    assert "a seeded sample of 1,000 of 4,000 rows" in plot


def test_anomaly_histogram_marks_the_threshold_and_lists_top_outliers(
    report_html: str, report_model: tuple[Any, Path], glove: tuple[list[str], np.ndarray]
) -> None:
    model = report_model[0]
    plot = _plot(report_html, "anomaly")
    bars = re.findall(r"(\d+) rows</title></rect>", plot)
    assert sum(int(b) for b in bars) == 4000
    assert f"threshold {model.threshold_:.4g}" in plot
    scores = model.anomaly_score(glove[1])
    top_word = glove[0][int(np.argmax(scores))]
    outliers = report_html.split("Top 20 outliers", 1)[1]
    assert re.search(rf"<td>1</td><td>{re.escape(top_word)}</td>", outliers)


def test_without_data_the_histogram_uses_the_stored_training_scores(
    report_model: tuple[Any, Path],
) -> None:
    page = build_report(report_model[0])
    assert 'data-plot="map"' not in page
    bars = re.findall(r"(\d+) quantiles</title></rect>", _plot(page, "anomaly"))
    assert sum(int(b) for b in bars) == len(report_model[0].score_quantiles_)


def test_evaluation_tables_and_one_bar_per_method_and_metric(
    report_html: str, evaluation: Any
) -> None:
    method_tables = {t: rows for t, rows in evaluation.tables.items() if "method" in rows[0]}
    assert set(method_tables) == {"intrinsic", "wordsim"}
    for task, rows in method_tables.items():
        plot = _plot(report_html, f"evaluation-{task}")
        metrics = [k for k in rows[0] if k not in ("method", "dim", "bytes_per_vector")]
        n_bars = len(re.findall(r'data-role="bar"', plot))
        assert n_bars == len(rows) * len(metrics) - _missing(rows, metrics)
    vecae_mse = evaluation.row("intrinsic", "vecae")["mse"]
    assert f"vecae: {vecae_mse:.4g}" in report_html


def _missing(rows: list[dict[str, Any]], metrics: list[str]) -> int:
    return sum(1 for r in rows for m in metrics if r.get(m) is None or r[m] != r[m])


def test_model_card_shows_shape_versions_and_time(
    report_html: str, report_model: tuple[Any, Path]
) -> None:
    card = report_html.split('id="card"', 1)[1]
    assert "<dt>input dimensions</dt><dd>50</dd>" in card
    assert "<dt>encoding dimensions</dt><dd>8</dd>" in card
    assert "<dt>torch version</dt>" in card
    assert f"{report_model[0].fit_seconds_:.1f} s" in card


def test_evaluation_page_holds_only_the_evaluation(evaluation: Any) -> None:
    page = evaluation_html(evaluation)
    assert 'id="evaluation"' in page and 'id="training"' not in page


def test_write_html_is_atomic_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    write_html(target, "<p>one</p>")
    with pytest.raises(FileExistsError):
        write_html(target, "<p>two</p>")
    assert target.read_text() == "<p>one</p>"
    write_html(target, "<p>two</p>", overwrite=True)
    assert target.read_text() == "<p>two</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_keys_must_match_rows(report_model: tuple[Any, Path], glove: Any) -> None:
    with pytest.raises(ValueError, match="3 keys for 4000 rows"):
        build_report(report_model[0], glove[1], ["a", "b", "c"])
