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
    .venv/bin/python benchmarks/encode_speed.py --rows 50000 --repeats 3
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


def raw_forward(model: Autoencoder, X: np.ndarray) -> float:
    """Seconds for the encoder's matmuls alone over standardised batches."""
    Xs = model.scaler_.apply(X)  # preprocessing outside the timed region
    out = np.empty((len(X), model.latent_dim), dtype=np.float32)
    encoder = model.module_.encoder
    started = time.perf_counter()
    with torch.inference_mode():
        for a in range(0, len(Xs), BATCH):
            out[a : a + BATCH] = encoder(torch.from_numpy(Xs[a : a + BATCH])).numpy()
    return time.perf_counter() - started


def in_process(model: Autoencoder, X: np.ndarray) -> float:
    started = time.perf_counter()
    model.transform(X)
    return time.perf_counter() - started


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
        raw, inproc, cli_enc, cli_all = [], [], [], []
        for _ in range(args.repeats):
            raw.append(raw_forward(model, X))
            inproc.append(in_process(model, X))
            encode_seconds, total = cli(model_dir, src, dst, args.threads)
            cli_enc.append(encode_seconds)
            cli_all.append(total)
    n = args.rows
    rate = {
        "raw forward": n / statistics.median(raw),
        "transform": n / statistics.median(inproc),
        "vecae encode (encoding)": n / statistics.median(cli_enc),
        "vecae encode (end to end)": n / statistics.median(cli_all),
    }
    print(f"{n} rows x 300 -> 32, {args.threads} threads, medians of {args.repeats} runs")
    for name, value in rate.items():
        print(f"  {name:28s} {value / 1e3:8.0f}k rows/s")
    print(
        f"  transform / raw forward        {rate['transform'] / rate['raw forward']:.0%}"
        "  (target >= 90%)"
    )
    print(
        f"  vecae encode / transform       "
        f"{rate['vecae encode (encoding)'] / rate['transform']:.0%}  (target >= 70%; end to "
        f"end {rate['vecae encode (end to end)'] / rate['transform']:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
