"""Time to quality: the default fit against candidate faster schedules, in one run.

Issue 13's target: the default ``vecae fit`` on the 100k most frequent GloVe 6B 50d words
reaches word-similarity mean >= 0.433 at 25 dimensions in <= 40 s of fitting on 2 cores.
Any change of defaults must hold on sentence embeddings too, so ``--sentences`` adds STS-B /
SICK Spearman at 64 dims on the all-MiniLM-L6-v2 corpus of benchmarks/quality.py (read from
its cache, ``out/quality/cache``; run that script's sentence part once to create it).

Configurations (all VariationalAutoencoder, latent_dim as above, ``n_threads=2`` unless
``--threads``):

* ``old``: the recipe that was the default until this change, spelled out: 100 epochs of
  batch 1024 at Adam 1e-3 (plateau schedule, patience 10), no skip path;
* ``default``: the class defaults. On GloVe 100k (90,000 training rows, >= 20 steps of 4096
  rows per epoch) ``"auto"`` picks the large-batch regime: 45 epochs of batch 4096 at 4e-3
  from a PCA-initialised skip path. On the sentences (similarity objective) the large-batch
  regime never applies: ``"auto"`` there is issue 9's similarity recipe (docs/benchmarks.md).
* ``large-no-skip``: the large-batch regime without the skip path (``--configs`` to add it;
  it shows what the skip path is for).

Each is fitted for every ``--seeds`` seed, in turn, in this one process; the script prints
fit seconds, epochs, and the quality figure per seed, then medians and the time ratio to the
first configuration. Fit time is wall time of ``fit`` only (data loading and evaluation
excluded). ``--curve K`` also measures word-similarity every K epochs during the fit (time
spent evaluating is subtracted) and prints the first epoch, and the fit seconds, at which
rho@25 reached the target. The machine this ran on is shared, so compare ratios within one
run, not absolute seconds.

Usage::

    .venv/bin/python benchmarks/time_to_quality.py                  # GloVe, seed 0
    .venv/bin/python benchmarks/time_to_quality.py --seeds 0 1 2 --sentences
    .venv/bin/python benchmarks/time_to_quality.py --curve 5        # epochs to quality
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vecae import Callback, EpochLog, VariationalAutoencoder  # noqa: E402
from vecae.evaluate import evaluate_word_similarity, spearman_similarity  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    "old": {"epochs": 100, "batch_size": 1024, "learning_rate": 1e-3, "lr_schedule": "plateau"},
    "default": {},
}
EXTRA_CONFIGS: dict[str, dict[str, Any]] = {
    # The large-batch regime's settings with the skip path out of the picture: an explicit
    # batch_size keeps "auto" from choosing the regime (and with it the skip path).
    "large-no-skip": {"epochs": 45, "batch_size": 4096, "learning_rate": 4e-3},
}
TARGET_RHO, TARGET_SECONDS = 0.433, 40.0


class QualityCurve(Callback):
    """Word-similarity of the current weights every ``every`` epochs; the time it takes is
    recorded so that it can be subtracted from the fit time."""

    def __init__(self, model: Any, words: list[str], X: np.ndarray, every: int) -> None:
        self.model, self.words, self.X, self.every = model, words, X, every
        self.eval_seconds = 0.0
        self.reached: tuple[int, float] | None = None  # (epoch, fit seconds) at the target
        self.points: list[tuple[int, float]] = []

    def on_epoch_end(self, log: EpochLog) -> None:
        if log.epoch % self.every and log.epoch != log.epochs:
            return
        started = time.perf_counter()
        module = self.model.module_
        module.eval()
        with torch.no_grad():
            codes = module.encode(torch.from_numpy(self.model.scaler_.apply(self.X))).numpy()
        module.train()
        rho = evaluate_word_similarity(self.words, codes).mean_rho
        self.points.append((log.epoch, rho))
        if self.reached is None and rho >= TARGET_RHO:
            self.reached = (log.epoch, log.seconds - self.eval_seconds)
        self.eval_seconds += time.perf_counter() - started


def fit(
    X: np.ndarray,
    k: int,
    seed: int,
    params: dict[str, Any],
    curve: tuple[list[str], int] | None = None,
    threads: int = 2,
) -> tuple[Any, float, QualityCurve | None]:
    model = VariationalAutoencoder(latent_dim=k, random_state=seed, n_threads=threads, **params)
    tracker = None if curve is None else QualityCurve(model, curve[0], X, curve[1])
    started = time.perf_counter()
    model.fit(X, callbacks=[] if tracker is None else [tracker])
    took = time.perf_counter() - started
    return model, took - (0.0 if tracker is None else tracker.eval_seconds), tracker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sentences", action="store_true")
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=[*CONFIGS, *EXTRA_CONFIGS]
    )
    parser.add_argument("--curve", type=int, default=0, metavar="K")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (target: 2)")
    args = parser.parse_args()
    from vecae.datasets import load_glove

    words, vectors = load_glove(100_000)
    X = np.ascontiguousarray(vectors, dtype=np.float32)
    sentences = None
    if args.sentences:
        cache = ROOT / "out" / "quality" / "cache" / "minilm_sentences.npz"
        if not cache.exists():
            cache = ROOT / "out" / "cache" / "minilm_sentences.npz"
        sentences = dict(np.load(cache))
    seconds: dict[str, list[float]] = {name: [] for name in args.configs}
    for seed in args.seeds:
        for name in args.configs:
            params = {**CONFIGS, **EXTRA_CONFIGS}[name]
            curve = (words, args.curve) if args.curve else None
            model, took, tracker = fit(X, 25, seed, params, curve, args.threads)
            rho = evaluate_word_similarity(words, model.transform(X)).mean_rho
            seconds[name].append(took)
            line = (
                f"glove {name:13s} seed {seed}: {took:6.1f} s, {model.n_epochs_:3d} epochs, "
                f"rho@25 {rho:.4f}"
            )
            if tracker is not None:
                points = " ".join(f"{e}:{r:.4f}" for e, r in tracker.points)
                reached = (
                    f"epoch {tracker.reached[0]}, {tracker.reached[1]:.1f} s"
                    if tracker.reached
                    else "not reached"
                )
                line += f"\n    rho by epoch {points}\n    target {TARGET_RHO}: {reached}"
            if sentences is not None:
                smodel, stook, _ = fit(sentences["train"], 64, seed, params, None, args.threads)
                f = smodel.transform
                sts = spearman_similarity(
                    f(sentences["sts_a"]), f(sentences["sts_b"]), sentences["sts_gold"]
                )
                sick = spearman_similarity(
                    f(sentences["sick_a"]), f(sentences["sick_b"]), sentences["sick_gold"]
                )
                line += f" | sentences {stook:5.1f} s, STS-B@64 {sts:.4f}, SICK@64 {sick:.4f}"
            print(line, flush=True)
    base = statistics.median(seconds[args.configs[0]])
    for name in args.configs:
        med = statistics.median(seconds[name])
        print(f"  {name:13s} median fit {med:6.1f} s, {med / base:.2f}x of {args.configs[0]}")
    print(f"  target: rho@25 >= {TARGET_RHO} in <= {TARGET_SECONDS:.0f} s on 2 cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
