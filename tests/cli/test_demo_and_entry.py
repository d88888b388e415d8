"""``vecae demo`` in its fast mode, and the installed ``vecae`` script as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.cli_helpers import VECAE, vecae


def test_demo_fast_mode_reports_every_method() -> None:
    run = vecae("demo", "--words", 3000, "--epochs", 2, "--latent-dim", 10, "--json", "--quiet")
    assert run.exit_code == 0, run
    data = run.json()
    assert (data["words"], data["latent_dim"]) == (3000, 10)
    assert data["training"]["epochs_run"] == 2
    rows = {row["method"]: row for row in data["word_similarity"]}
    assert list(rows) == ["vecae", "original", "pca", "whitened-pca", "abtt-pca"]
    assert rows["original"]["dim"] == 50 and rows["pca"]["dim"] == 10
    # The original vectors on real word-similarity sets: clearly positive correlation.
    assert rows["original"]["mean_rho"] > 0.2
    assert set(rows["vecae"]["sets"]) == set(rows["original"]["sets"])
    for word in ("king", "computer", "paris", "happy", "river"):
        found = data["neighbours"][word]
        assert len(found["original"]) == len(found["vecae"]) == 5
        assert word not in found["original"] and word not in found["vecae"]
    assert "queen" in data["neighbours"]["king"]["original"]


def test_demo_prints_neighbours_and_similarity_tables() -> None:
    run = vecae("demo", "--words", 3000, "--epochs", 1, "--quiet")
    assert run.exit_code == 0, run
    assert "Nearest neighbours" in run.stdout
    assert "Word similarity" in run.stdout
    assert "whitened-pca" in run.stdout


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VECAE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_installed_script_bad_input_has_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    proc = _script("fit", str(missing), "-o", str(tmp_path / "m"))
    assert proc.returncode == 1
    assert proc.stderr == f"error: {missing}: file not found\n"
    assert proc.stdout == ""
    assert not (tmp_path / "m").exists()


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_debug_env_shows_the_traceback(tmp_path: Path) -> None:
    proc = _script(
        "fit", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "m"), env={"VECAE_DEBUG": "1"}
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "InputError" in proc.stderr


def test_missing_cli_extra_is_explained() -> None:
    code = "import sys; sys.modules['typer'] = None; from vecae.cli import main; main(['--help'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "vecae's command line needs: pip install 'vecae[cli]'"


def test_library_does_not_import_the_cli() -> None:
    code = (
        "import sys, vecae, vecae.io, vecae.index, vecae.evaluate, vecae.recommend; "
        "print(any(m.startswith('vecae.cli') for m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["index", "--help"], ["recommender", "--help"]])
def test_help_lists_commands(args: list[str]) -> None:
    run = vecae(*args)
    assert run.exit_code == 0
    assert "Commands" in run.stdout


def test_unexpected_errors_get_one_line_and_a_debug_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from vecae.cli._output import guarded

    app = typer.Typer()

    @app.command()
    @guarded
    def broken() -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.delenv("VECAE_DEBUG", raising=False)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected RuntimeError: boom second line "
        "(rerun with VECAE_DEBUG=1 to see the traceback)\n"
    )


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_module_entry_point(model_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vecae.cli", "info", str(model_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["latent_dim"] == 8


def test_version_prints_the_package_version() -> None:
    from vecae import __version__

    proc = _script("--version")
    assert (proc.returncode, proc.stdout) == (0, f"vecae {__version__}\n")
