"""The shell examples in README.md and docs/cli.md run, in order, as a user would type them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Installing is the reader's job, and the full demo (minutes) runs in tests/cli in a fast mode.
SKIPPED = (re.compile(r"^pip install"), re.compile(r"^vecae demo\s*$"))


def shell_commands(path: Path) -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    commands = [
        line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")
    ]
    return [c for c in commands if not any(p.search(c) for p in SKIPPED)]


@pytest.mark.slow  # every command starts a fresh interpreter: two-thirds of the suite's time
@pytest.mark.parametrize("document", ["README.md", "docs/cli.md"])
def test_shell_examples_run_in_order(document, tmp_path):
    commands = shell_commands(ROOT / document)
    assert commands, f"{document} has no shell examples"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        result = subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{document}: `{command}` failed:\n{result.stderr[-2000:]}"
