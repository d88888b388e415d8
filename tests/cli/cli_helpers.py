"""Helpers shared by the command-line tests (run commands, check error lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from vecae.cli._app import app

N_WORDS = 2000
LATENT = 8
VECAE = str(Path(sys.executable).with_name("vecae"))


class Run:
    """The outcome of one command: exit code, stdout, stderr."""

    def __init__(self, exit_code: int, stdout: str, stderr: str, exception: Any) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.exception = exception

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"Run(exit_code={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def vecae(*args: object) -> Run:
    """Run ``vecae ARGS`` in-process."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)
    return Run(result.exit_code, result.stdout, result.stderr, result.exception)


def error_line(run: Run) -> str:
    """The single ``error:`` line a failed command must print, and nothing else on stderr."""
    assert run.exit_code != 0, run
    assert run.exception is None or isinstance(run.exception, SystemExit), run
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run
    assert lines[0].startswith("error: "), run
    assert "Traceback" not in run.stderr + run.stdout
    return lines[0]


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def glove_lines(words: list[str], vectors: np.ndarray) -> list[str]:
    return [
        w + " " + " ".join(repr(float(v)) for v in row)
        for w, row in zip(words, vectors, strict=True)
    ]
