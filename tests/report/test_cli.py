"""``vecae report`` and ``vecae evaluate --html`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vecae.cli import main


def _vecae(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def words_file(
    glove: tuple[list[str], np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from vecae.io import write_embeddings

    path = tmp_path_factory.mktemp("report-cli") / "words.txt"
    write_embeddings(path, glove[1][:1500], glove[0][:1500], format="glove")
    return path


@pytest.mark.slow
def test_report_with_data_writes_every_section(
    report_model: tuple[Any, Path],
    words_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "report.html"
    args = ["report", str(report_model[1]), str(words_file), "-o", str(output)]
    code, out, _ = _vecae([*args, "--tasks", "intrinsic", "--n-eval", "300", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {
        "report": str(output),
        "bytes": len(output.read_bytes()),
        "rows": 1500,
        "evaluation": True,
    }
    html = output.read_text()
    for plot in ("loss", "map", "anomaly", "evaluation-intrinsic"):
        assert f'data-plot="{plot}"' in html


def test_report_refuses_an_existing_output(
    report_model: tuple[Any, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.html"
    output.write_text("mine")
    code, _, err = _vecae(["report", str(report_model[1]), "-o", str(output)], capsys)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert output.read_text() == "mine"


def test_report_without_data_has_no_map(
    report_model: tuple[Any, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.html"
    code, _, _ = _vecae(["report", str(report_model[1]), "-o", str(output), "-q"], capsys)
    assert code == 0
    html = output.read_text()
    assert 'data-plot="loss"' in html and 'data-plot="map"' not in html


@pytest.mark.slow
def test_evaluate_html_writes_the_evaluation_section(
    report_model: tuple[Any, Path],
    words_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "evaluation.html"
    code, _, _ = _vecae(
        [
            "evaluate",
            str(report_model[1]),
            str(words_file),
            "--tasks",
            "intrinsic",
            "--n-eval",
            "300",
            "--html",
            str(output),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    html = output.read_text()
    assert 'data-plot="evaluation-intrinsic"' in html and 'id="training"' not in html
