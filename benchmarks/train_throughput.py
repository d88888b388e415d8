"""Training throughput of the default dense model, against this machine's matmul peak and
against the classic tutorial loop (batch 32, a per-sample Dataset and DataLoader).

Run:  .venv/bin/python benchmarks/train_throughput.py [--rows 200000] [--dim 300] [--threads 2]

Prints vectors/s, achieved GFLOP/s, the ratio to the measured float32 matmul peak, and the
speed-up over the tutorial loop. All figures are medians of repeated runs in this one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vecae import Autoencoder


def matmul_peak_gflops(sizes: tuple[int, ...] = (1024, 2048, 4096), repeats: int = 7) -> float:
    """Best (over sizes) of the median float32 square-matmul rate: this machine's usable peak."""
    rates = []
    for size in sizes:
        a = torch.randn(size, size)
        b = torch.randn(size, size)
        torch.mm(a, b)  # warm-up
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            timings.append(time.perf_counter() - start)
        rates.append(2 * size**3 / statistics.median(timings) / 1e9)
    return max(rates)


def training_flops_per_vector(module: nn.Module) -> int:
    """Matmul FLOPs of one training step per vector.

    Forward is 2 FLOPs per multiply-add; backward computes weight gradients (2) and input
    gradients (2), except for the first layer, whose input needs no gradient.
    """
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    macs = [m.in_features * m.out_features for m in linears]
    return 6 * sum(macs) - 2 * macs[0]


class RowDataset(Dataset[torch.Tensor]):
    """The tutorial way: one tensor per __getitem__, collated by the DataLoader."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.X[i])


def tutorial_vectors_per_second(module: nn.Module, X: np.ndarray, seconds: float = 8.0) -> float:
    loader = DataLoader(RowDataset(X), batch_size=32, shuffle=True)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    seen, start = 0, time.perf_counter()
    for batch in loader:
        optimizer.zero_grad()
        loss = loss_fn(module(batch), batch)
        loss.backward()
        optimizer.step()
        seen += len(batch)
        if time.perf_counter() - start > seconds:
            break
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X = np.random.default_rng(0).standard_normal((args.rows, args.dim), dtype=np.float32)
    peak = matmul_peak_gflops()

    rates = []
    for repeat in range(args.repeats):
        model = Autoencoder(
            epochs=args.epochs, validation_fraction=0.0, n_threads=args.threads, random_state=repeat
        ).fit(X)
        rates.append(args.rows * model.n_epochs_ / model.fit_seconds_)
    ours = statistics.median(rates)
    flops = training_flops_per_vector(model.module_)
    achieved = ours * flops / 1e9

    tutorial = statistics.median(
        tutorial_vectors_per_second(
            Autoencoder(random_state=0).fit(X[:64], y=None).module_.train(), X
        )
        for _ in range(args.repeats)
    )
    print(
        f"data: {args.rows} x {args.dim} float32, threads={args.threads}, "
        f"model {model.hidden} -> {model.latent_dim}"
    )
    print(f"matmul peak (float32, best of 1024-4096 squares): {peak:8.1f} GFLOP/s")
    print(
        f"vecae trainer, batch {model.batch_size}: {ours:10.0f} vectors/s  ({achieved:.1f} GFLOP/s)"
    )
    print(f"ratio to matmul peak:          {achieved / peak:8.1%}")
    print(f"tutorial loop (batch 32, per-sample DataLoader): {tutorial:10.0f} vectors/s")
    print(f"speed-up over the tutorial loop: {ours / tutorial:6.1f}x")


if __name__ == "__main__":
    main()
