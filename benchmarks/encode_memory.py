"""Peak memory of ``vecae encode`` on a ~2 GB ``.npy`` (issue 3: target under 500 MB).

What it does, all in a temporary directory that is deleted afterwards:

1. writes a float32 ``.npy`` of ``--rows`` x ``--dim`` (default 1.75M x 300, 2.1 GB) in
   chunks: low-rank structure plus noise, so the model has something to learn;
2. fits a tiny dense model on a 20k-row sample with ``vecae fit``;
3. runs ``vecae encode MODEL big.npy -o out.npy`` in a subprocess and reads that child's peak
   resident set size from ``os.wait4`` (Linux reports ``ru_maxrss`` in KiB);
4. checks the output's shape and prints the figures.

Usage::

    python benchmarks/encode_memory.py            # the 2 GB run
    python benchmarks/encode_memory.py --rows 200000   # a quick smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_MB = 500
CHUNK = 50_000


def vecae_command() -> list[str]:
    script = Path(sys.executable).with_name("vecae")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vecae.cli"]


def write_big_npy(path: Path, rows: int, dim: int, seed: int = 0) -> None:
    """A float32 .npy written chunk by chunk (never held in memory)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(16, dim)).astype(np.float32)
    with path.open("wb") as fh:
        header = {"descr": "<f4", "fortran_order": False, "shape": (rows, dim)}
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, rows, CHUNK):
            m = min(CHUNK, rows - start)
            codes = rng.normal(size=(m, 16)).astype(np.float32)
            block = codes @ basis + 0.3 * rng.normal(size=(m, dim)).astype(np.float32)
            fh.write(np.ascontiguousarray(block, dtype="<f4").tobytes())


def run_measured(args: list[str]) -> tuple[int, float, float, str]:
    """Run a command; return (exit status, peak RSS in MB, seconds, stderr)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, seconds, err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_750_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temp files")
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="vecae-encode-memory-", dir=opts.dir))
    try:
        big = workdir / "big.npy"
        t0 = time.perf_counter()
        write_big_npy(big, opts.rows, opts.dim)
        size_gb = big.stat().st_size / 1e9
        print(f"input: {opts.rows:,} x {opts.dim} float32, {size_gb:.2f} GB "
              f"(written in {time.perf_counter() - t0:.0f} s)")  # fmt: skip

        sample = workdir / "sample.npy"
        np.save(sample, np.load(big, mmap_mode="r")[:20_000])
        model = workdir / "model"
        fit = [*vecae_command(), "fit", str(sample), "-o", str(model), "--model", "dense",
               "--latent-dim", str(opts.latent_dim), "--epochs", "2", "--quiet"]  # fmt: skip
        status, _, seconds, err = run_measured(fit)
        if status != 0:
            print(f"fit failed ({status}):\n{err}", file=sys.stderr)
            return 1
        print(f"fitted a dense {opts.dim} -> {opts.latent_dim} model on 20,000 rows "
              f"in {seconds:.0f} s")  # fmt: skip

        out = workdir / "encoded.npy"
        encode = [*vecae_command(), "encode", str(model), str(big), "-o", str(out), "--quiet"]
        status, peak_mb, seconds, err = run_measured(encode)
        if status != 0:
            print(f"encode failed ({status}):\n{err}", file=sys.stderr)
            return 1
        shape = np.load(out, mmap_mode="r").shape
        assert shape == (opts.rows, opts.latent_dim), shape
        verdict = "PASS" if peak_mb < TARGET_MB else "FAIL"
        print(f"encode: {seconds:.0f} s ({opts.rows / seconds:,.0f} rows/s), output {shape}")
        print(f"peak RSS of `vecae encode`: {peak_mb:.0f} MB "
              f"(target < {TARGET_MB} MB): {verdict}")  # fmt: skip
        return 0 if verdict == "PASS" else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
