"""Streaming fit: peak memory, time and held-out loss of fitting from a ``.npy`` on disk.

Issue 13's target: fit on a 4 GB ``.npy`` with < 1.5 GB peak RSS, within 2% of the in-memory
fit's validation loss on the same data. This script, in a temporary directory:

1. writes ``--gb`` GB of float32 rows (``--dim`` columns; low-rank structure plus noise, so
   there is something to learn) and a separate 20,000-row held-out file from the same law;
2. fits the same model twice, each in a fresh subprocess whose peak resident set size is
   read from ``os.wait4``: once streamed (``fit(path)``: block shuffle + shuffle buffer) and
   once in memory (``fit(np.load(path))``, the whole array in RAM). The model is a dense
   300 -> 256 -> 32 autoencoder with the reconstruction objective (the similarity objective
   mines neighbours among in-memory rows only, which would make the two fits differ);
3. prints both peak RSS figures, both fit times and both held-out reconstruction MSEs.

Usage::

    .venv/bin/python benchmarks/streaming_fit.py                 # 1 GB, 2 epochs
    .venv/bin/python benchmarks/streaming_fit.py --gb 4 --epochs 2   # the issue's size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 50_000
HELD_OUT = 20_000

CHILD = """
import json, sys, time, numpy as np
sys.path.insert(0, {src!r})
from vecae import Autoencoder
path, held_out, mode, epochs = {path!r}, {held!r}, {mode!r}, {epochs}
model = Autoencoder(latent_dim=32, hidden=(256,), epochs=epochs, random_state={seed}, n_threads=2,
                    objective="reconstruction")
started = time.perf_counter()
model.fit(path if mode == "streamed" else np.load(path))
seconds = time.perf_counter() - started
H = np.load(held_out)
mse = float(np.mean((model.inverse_transform(model.transform(H)) - H) ** 2))
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(json.dumps({{"seconds": seconds, "held_out_mse": mse, "epochs": model.n_epochs_,
                  "vm_hwm_mb": int(hwm[0].split()[1]) / 1024 if hwm else float("nan")}}))
"""


def write_rows(path: Path, rows: int, dim: int, seed: int) -> None:
    # Plain writes, not a memory map: a mapped file's pages count towards this process's
    # peak RSS, and a child forked afterwards inherits that peak in its ru_maxrss (Linux
    # copies the high-water mark at fork and keeps it across exec). The previous version
    # of this script reported the file's size as the streamed fit's peak because of that.
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(123).normal(size=(16, dim)).astype(np.float32)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (rows, dim),
    }
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            factors = rng.normal(size=(n, 16)).astype(np.float32)
            block = factors @ basis + 0.3 * rng.normal(size=(n, dim))
            fh.write(block.astype(np.float32).tobytes())


def run_child(path: Path, held: Path, mode: str, epochs: int, seed: int) -> dict[str, float]:
    code = CHILD.format(
        src=str(ROOT / "src"), path=str(path), held=str(held), mode=mode, epochs=epochs, seed=seed
    )
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    stdout = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{mode} fit failed (status {status})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["ru_maxrss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB; includes the parent at fork
    result["peak_rss_mb"] = result["vm_hwm_mb"]  # the child's own high-water mark
    result["wall_seconds"] = time.perf_counter() - started
    return result


def _available_bytes() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="random_state of both fits")
    parser.add_argument(
        "--skip-in-memory",
        action="store_true",
        help="only the streamed fit (when the data does not fit in RAM)",
    )
    args = parser.parse_args()
    rows = int(args.gb * 1e9 / (4 * args.dim))
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        path, held = Path(tmp) / "train.npy", Path(tmp) / "held_out.npy"
        started = time.perf_counter()
        write_rows(path, rows, args.dim, seed=0)
        write_rows(held, HELD_OUT, args.dim, seed=1)
        print(
            f"wrote {rows:,} x {args.dim} float32 ({path.stat().st_size / 1e9:.2f} GB) in "
            f"{time.perf_counter() - started:.0f} s; {args.epochs} epochs each"
        )
        results = {"streamed": run_child(path, held, "streamed", args.epochs, args.seed)}
        # The in-memory fit holds the file plus its preprocessed copy (about 2.3x the file):
        # only run it where that fits, rather than pushing a shared machine into swap/OOM.
        available = _available_bytes()
        if not args.skip_in_memory and available < 2.5 * path.stat().st_size:
            print(f"  in-memory fit skipped: {available / 1e9:.1f} GB available")
        elif not args.skip_in_memory:
            results["in memory"] = run_child(path, held, "in-memory", args.epochs, args.seed)
    for mode, r in results.items():
        print(
            f"  {mode:10s} peak RSS {r['peak_rss_mb']:7.0f} MB (ru_maxrss {r['ru_maxrss_mb']:.0f})"
            f"   fit {r['seconds']:6.1f} s   "
            f"held-out MSE {r['held_out_mse']:.5f}"
        )
    if "in memory" in results:
        s, m = results["streamed"], results["in memory"]
        print(
            f"  streamed / in memory: peak RSS {s['peak_rss_mb'] / m['peak_rss_mb']:.2f}x, "
            f"time {s['seconds'] / m['seconds']:.2f}x, held-out MSE "
            f"{s['held_out_mse'] / m['held_out_mse'] - 1:+.2%} (target within 2%)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
