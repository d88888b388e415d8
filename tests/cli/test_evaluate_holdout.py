"""``vecae evaluate --holdout``: the model is refitted without the rows it is judged on."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_helpers import N_WORDS, error_line, vecae


def test_holdout_refits_and_reports_held_out_rows(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    markdown = tmp_path / "report.md"
    run = vecae("evaluate", model_dir, glove_txt, "--tasks", "intrinsic", "--holdout", 0.2,
                "--markdown", markdown, "--json", "--quiet")  # fmt: skip
    assert run.exit_code == 0, run
    meta = run.json()["meta"]
    assert (meta["rows"], meta["holdout"]) == ("held-out", 0.2)
    assert (meta["n_fit"], meta["n_eval"]) == (N_WORDS - 400, 400)
    assert "### Intrinsic quality (held-out rows)" in markdown.read_text()


def test_without_holdout_the_rows_are_labelled_in_sample(model_dir: Path, glove_txt: Path) -> None:
    run = vecae("evaluate", model_dir, glove_txt, "--tasks", "intrinsic", "--n-eval", 200)
    assert run.exit_code == 0, run
    assert "Intrinsic quality (in-sample rows)" in run.stdout
    assert "held-out" not in run.stdout.replace("\n", " ").split("note:")[0]


def test_a_holdout_too_small_for_k_is_one_line(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    markdown = tmp_path / "report.md"
    line = error_line(vecae("evaluate", model_dir, glove_txt, "--holdout", 0.001,
                            "--markdown", markdown))  # fmt: skip
    assert "holdout: 0.001 of 2000 rows holds out 2" in line
    assert not markdown.exists()
