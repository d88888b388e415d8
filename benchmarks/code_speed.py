"""Speed and memory of compact codes: encoding per precision, and search per query.

Usage (offline, from the repository root)::

    .venv/bin/python benchmarks/code_speed.py [--rows 100000] [--repeats 5]

On the GloVe 6B 50d vectors (``vecae.datasets.load_glove``), a VariationalAutoencoder with
``objective="similarity"`` and ``latent_dim=64`` (trained for 2 epochs: speed does not depend
on training) encodes ``--rows`` words at each precision; the median of ``--repeats`` runs is
reported with its ratio to float32 encoding. Then 1000 queries search the codes: exact float32
inner product (FAISS ``IndexFlatIP``), binary Hamming (``IndexBinaryFlat``), binary with 4x
rescoring against the float32 codes, and int8 scalar quantisation (``IndexScalarQuantizer``).
Memory is the codes' bytes (``n x bytes per vector``); time is per query, median of repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from vecae import VariationalAutoencoder  # noqa: E402
from vecae.datasets import load_glove  # noqa: E402
from vecae.index import CodeIndex  # noqa: E402


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import faiss

    _, vectors = load_glove(args.rows)
    X = np.ascontiguousarray(vectors, dtype=np.float32)
    model = VariationalAutoencoder(
        latent_dim=64, objective="similarity", epochs=2, n_threads=2, random_state=0
    ).fit(X[:20_000])

    print("| precision | bytes/vector | encode (s, median) | ratio to float32 |")
    print("|---|---|---|---|")
    base = None
    for precision in ("float32", "float16", "int8", "binary"):
        t = median_seconds(lambda p=precision: model.encode(X, precision=p), args.repeats)
        base = base or t
        per = {"float32": 256, "float16": 128, "int8": 64, "binary": 8}[precision]
        print(f"| {precision} | {per} | {t:.3f} | {t / base:.2f}x |")

    floats = model.encode(X)
    bits = model.encode(X, precision="binary")
    queries = np.arange(0, len(X), len(X) // 1000)[:1000]
    flat = faiss.IndexFlatIP(floats.shape[1])
    flat.add(floats)
    binary = CodeIndex.build(bits, precision="binary", rescore_vectors=floats)
    sq8 = CodeIndex.build(floats, precision="int8")
    runs = {
        "float32 exact (IndexFlatIP)": (
            floats.nbytes,
            lambda: flat.search(floats[queries], 10),
        ),
        "binary Hamming (IndexBinaryFlat)": (
            bits.nbytes,
            lambda: binary.search(bits[queries], 10),
        ),
        "binary + 4x float rescoring": (
            bits.nbytes,
            lambda: binary.search(bits[queries], 10, queries=floats[queries], rescore_multiplier=4),
        ),
        "int8 (IndexScalarQuantizer QT_8bit)": (
            len(X) * floats.shape[1],
            lambda: sq8.search(floats[queries], 10),
        ),
    }
    print()
    print(f"| search over {len(X):,} codes | code memory (MB) | ms per query (median) |")
    print("|---|---|---|")
    for name, (nbytes, fn) in runs.items():
        t = median_seconds(fn, args.repeats)
        print(f"| {name} | {nbytes / 1e6:.1f} | {1000 * t / len(queries):.3f} |")
    print("\n(rescoring also reads the float32 codes of the candidates: 256 bytes each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
