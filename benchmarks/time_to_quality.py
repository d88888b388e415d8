"""Time to quality: the default fit against candidate faster schedules, in one run.

Issue 13's target: the default ``vecae fit`` on the 100k most frequent GloVe 6B 50d words
reaches word-similarity mean >= 0.433 at 25 dimensions in <= 40 s of fitting on 2 cores.
Any change of defaults must hold on sentence embeddings too, so ``--sentences`` adds STS-B /
SICK Spearman at 64 dims on the all-MiniLM-L6-v2 corpus of benchmarks/quality.py (read from
its cache, ``out/quality/cache``; run that script's sentence part once to create it).

Configurations (all VariationalAutoencoder, latent_dim as above, ``n_threads=2``):

* ``default``: the class defaults (Adam 1e-3, plateau schedule, up to 100 epochs, patience 10);
* ``cosine-30``: cosine schedule over 30 epochs from 2e-3, KL warm-up 3 epochs;
* ``cosine-35``: cosine schedule over 35 epochs from 3e-3 (the KL warm-up default, 10).

Each is fitted for every ``--seeds`` seed, in turn, in this one process; the script prints
fit seconds, epochs, and the quality figure per seed, then medians and the time ratio to
``default``. Fit time is wall time of ``fit`` only (data loading and evaluation excluded).
The machine this ran on is shared, so compare ratios within one run, not absolute seconds.

Usage::

    .venv/bin/python benchmarks/time_to_quality.py                  # GloVe, seed 0
    .venv/bin/python benchmarks/time_to_quality.py --seeds 0 1 --sentences
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

from vecae import VariationalAutoencoder  # noqa: E402
from vecae.evaluate import evaluate_word_similarity, spearman_similarity  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "cosine-30": {"lr_schedule": "cosine", "epochs": 30, "learning_rate": 2e-3, "kl_warmup": 3},
    "cosine-35": {"lr_schedule": "cosine", "epochs": 35, "learning_rate": 3e-3},
}
TARGET_RHO, TARGET_SECONDS = 0.433, 40.0


def fit(X: np.ndarray, k: int, seed: int, params: dict[str, Any]) -> tuple[Any, float]:
    model = VariationalAutoencoder(latent_dim=k, random_state=seed, n_threads=2, **params)
    started = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sentences", action="store_true")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
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
            model, took = fit(X, 25, seed, CONFIGS[name])
            rho = evaluate_word_similarity(words, model.transform(X)).mean_rho
            seconds[name].append(took)
            line = (
                f"glove {name:10s} seed {seed}: {took:6.1f} s, {model.n_epochs_:3d} epochs, "
                f"rho@25 {rho:.4f}"
            )
            if sentences is not None:
                smodel, stook = fit(sentences["train"], 64, seed, CONFIGS[name])
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
        print(f"  {name:10s} median fit {med:6.1f} s, {med / base:.2f}x of {args.configs[0]}")
    print(f"  target: rho@25 >= {TARGET_RHO} in <= {TARGET_SECONDS:.0f} s on 2 cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
