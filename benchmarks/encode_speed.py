"""Encode speed: ``transform`` vs a raw torch forward, and ``vecae encode`` .npy -> .npy.

The three numbers of issue 13 ("Encode"), measured in one run on the same data and model:

* raw forward: the model's encoder over pre-standardised float32 batches of 8192 rows, in
  ``torch.inference_mode``, written into one preallocated array: the matmuls and nothing else;
* ``transform``: the estimator on the raw vectors (validation, preprocessing, batching);
* ``vecae encode``: the command in a subprocess, ``.npy`` in and ``.npy`` out, timed by its
  own ``--json`` report (so the interpreter start and the model load are not counted) and
  end to end.

Model: a dense 300 -> 256 -> 32 autoencoder (weights untrained: speed does not depend on
them). Data: ``--rows`` random float32 rows. Every figure is the median of ``--repeats`` runs,
interleaved, on ``--threads`` torch threads; ratios compare medians from the same run.

Usage::

    .venv/bin/python benchmarks/encode_speed.py                 # 200k rows, 5 repeats
    .venv/bin/python benchmarks/encode_speed.py --rows 50000 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vecae import Autoencoder  # noqa: E402

BATCH = 8192


def vecae_command() -> list[str]:
    script = Path(sys.executable).with_name("vecae")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vecae.cli"]


def raw_forward(model: Autoencoder, X: np.ndarray, *, skip: bool) -> tuple[float, float]:
    """(wall, CPU) seconds for the encoder's matmuls alone over standardised batches.

    ``skip=False`` is the MLP alone (the issue's baseline); ``skip=True`` is the model's whole
    ``encode``, which adds the linear skip path of the similarity objective.
    """
    Xs = model.scaler_.apply(X)  # preprocessing outside the timed region
    out = np.empty((len(X), model.latent_dim), dtype=np.float32)
    encoder = model.module_.encode if skip else model.module_.encoder
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for a in range(0, len(Xs), BATCH):
            out[a : a + BATCH] = encoder(torch.from_numpy(Xs[a : a + BATCH])).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu


def in_process(model: Autoencoder, X: np.ndarray) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    model.transform(X)
    return time.perf_counter() - wall, time.process_time() - cpu


def binary_codes(model: Autoencoder, X: np.ndarray) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    model.encode(X, precision="binary")
    return time.perf_counter() - wall, time.process_time() - cpu


def cli(model_dir: Path, src: Path, dst: Path, threads: int) -> tuple[float, float]:
    """(seconds the command reports for encoding, seconds end to end)."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            *vecae_command(),
            "encode",
            str(model_dir),
            str(src),
            "-o",
            str(dst),
            "--overwrite",
            "--json",
            "--quiet",
            "--threads",
            str(threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - started
    return float(json.loads(done.stdout)["seconds"]), total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X = np.random.default_rng(0).normal(size=(args.rows, 300)).astype(np.float32)
    model = Autoencoder(latent_dim=32, hidden=(256,), epochs=0, n_threads=args.threads)
    model.fit(X[:10_000])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "model")
        src, dst = Path(tmp) / "x.npy", Path(tmp) / "z.npy"
        np.save(src, X)
        raw, raw_skip, inproc, binary, cli_enc, cli_all = [], [], [], [], [], []
        for _ in range(args.repeats):
            raw.append(raw_forward(model, X, skip=False))
            raw_skip.append(raw_forward(model, X, skip=True))
            inproc.append(in_process(model, X))
            binary.append(binary_codes(model, X))
            encode_seconds, total = cli(model_dir, src, dst, args.threads)
            cli_enc.append(encode_seconds)
            cli_all.append(total)
    n = args.rows

    def rate(times: list[tuple[float, float]], which: int) -> float:
        return n / statistics.median(t[which] for t in times)

    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{n} rows x 300 -> 32 (similarity objective: MLP + linear skip), {args.threads} "
        f"threads, medians of {args.repeats} runs; wall clock and, for the in-process "
        "figures, CPU time of this process (steadier on a shared machine)"
    )
    for name, times in (
        ("raw forward (MLP)", raw),
        ("raw forward (MLP + skip)", raw_skip),
        ("transform", inproc),
        ("encode(precision='binary')", binary),
    ):
        print(
            f"  {name:28s} {rate(times, 0) / 1e3:8.0f}k rows/s wall  "
            f"{rate(times, 1) / 1e3:8.0f}k rows/s CPU"
        )
    cli_rate = n / statistics.median(cli_enc)
    print(f"  {'vecae encode (encoding)':28s} {cli_rate / 1e3:8.0f}k rows/s wall")
    end_to_end = n / statistics.median(cli_all)
    print(f"  {'vecae encode (end to end)':28s} {end_to_end / 1e3:8.0f}k rows/s wall")
    for which, label in ((0, "wall"), (1, "CPU")):
        print(
            f"  transform / raw forward (MLP) {label:4s}  "
            f"{rate(inproc, which) / rate(raw, which):.0%}  (target >= 90%; vs MLP + skip "
            f"{rate(inproc, which) / rate(raw_skip, which):.0%})"
        )
    print(
        f"  binary / float (transform) time CPU {rate(inproc, 1) / rate(binary, 1):.2f}x  "
        "(target <= 1.2x)"
    )
    print(
        f"  vecae encode / transform  wall     {cli_rate / rate(inproc, 0):.0%}  (target >= 70%; "
        f"end to end {end_to_end / rate(inproc, 0):.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
