"""Start-up time of the ``vecae`` command line (issue 10: ``--help`` and friends under 1 s).

Each case runs ``vecae ARGS`` in a fresh subprocess ``--runs`` times and reports the median
wall-clock seconds (the first, cold-cache run is discarded as a warm-up). On a loaded machine
the absolute times grow with the load; the ratio to ``import torch``, measured in the same run,
is the steadier figure. For scale it also
times ``python -c "import torch"``: what every command paid before the imports became lazy.

Usage::

    python benchmarks/cli_startup.py            # 7 runs per case
    python benchmarks/cli_startup.py --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 1.0

CASES: list[tuple[str, list[str], bool]] = [
    # (label, arguments, whether it should succeed; argument errors exit non-zero)
    ("vecae --help", ["--help"], True),
    ("vecae --version", ["--version"], True),
    ("vecae fit --help", ["fit", "--help"], True),
    ("vecae fit --bogus (argument error)", ["fit", "--bogus"], False),
    ("vecae info (missing argument)", ["info"], False),
]


def vecae_command() -> list[str]:
    script = Path(sys.executable).with_name("vecae")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vecae.cli"]


def median_seconds(command: list[str], runs: int, succeeds: bool) -> float:
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if (done.returncode == 0) != succeeds:
            raise SystemExit(
                f"{' '.join(command)} exited {done.returncode}:\n"
                f"{done.stderr.decode(errors='replace')}"
            )
        if i > 0:  # the first run warms the file cache
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case")
    args = parser.parse_args()

    base = vecae_command()
    torch_s = median_seconds([sys.executable, "-c", "import torch"], args.runs, True)
    print(f"{'case':40s} {'median s':>9s} {'/ import torch':>15s}  target < {TARGET_S:g} s")
    worst = 0.0
    for label, argv, succeeds in CASES:
        seconds = median_seconds(base + argv, args.runs, succeeds)
        worst = max(worst, seconds)
        verdict = "ok" if seconds < TARGET_S else "MISSED"
        print(f"{label:40s} {seconds:9.3f} {seconds / torch_s:15.2f}  {verdict}")
    reference = "python -c 'import torch' (reference)"
    print(f"{reference:40s} {torch_s:9.3f} {1.0:15.2f}")
    print(f"slowest case: {worst:.3f} s ({'within' if worst < TARGET_S else 'over'} target)")


if __name__ == "__main__":
    main()
