"""Speed and memory of compact codes: encoding per precision, and search per query.

Usage (offline, from the repository root)::

    .venv/bin/python benchmarks/code_speed.py [--rows 100000] [--repeats 5]

On the GloVe 6B 50d vectors (``vecae.datasets.load_glove``), a VariationalAutoencoder with
``objective="similarity"`` and ``latent_dim=64`` (trained for 2 epochs: speed does not depend
on training) encodes ``--rows`` words at each precision; the median of ``--repeats`` runs is
reported with its ratio to float32 encoding. Then 1000 queries search a ``VectorIndex`` at each
precision: exact float32, int8 scalar quantisation, the model's learned bits (flat Hamming and
HNSW), with and without 4x rescoring against float32 or int8 copies. Memory is bytes per vector
in the index (codes + rescoring copies) and the saved directory's size; time is per query
(batched, keys included), median of repeats; recall is 10-recall@10 against exact float32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from vecae import VariationalAutoencoder  # noqa: E402
from vecae._codeindex import recall_at_k  # noqa: E402
from vecae.datasets import load_glove  # noqa: E402
from vecae.index import VectorIndex  # noqa: E402


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
    keys = [str(i) for i in range(len(X))]
    queries = np.arange(0, len(X), len(X) // 1000)[:1000]
    Q, Qbits = floats[queries], bits[queries]
    builds = {
        "float32 exact (IndexFlatIP)": (dict(), {}),
        "int8 (IndexScalarQuantizer QT_8bit)": (dict(precision="int8"), {}),
        "int8 + 4x float32 rescoring": (
            dict(precision="int8", rescore="float32"),
            {"rescore_multiplier": 4},
        ),
        "learned bits, Hamming (IndexBinaryFlat)": (
            dict(precision="binary", codes=bits),
            {"query_codes": Qbits},
        ),
        "learned bits + 4x float32 rescoring": (
            dict(precision="binary", codes=bits, rescore="float32"),
            {"query_codes": Qbits, "rescore_multiplier": 4},
        ),
        "learned bits + 4x int8 rescoring": (
            dict(precision="binary", codes=bits, rescore="int8"),
            {"query_codes": Qbits, "rescore_multiplier": 4},
        ),
        "learned bits, HNSW (IndexBinaryHNSW)": (
            dict(precision="binary", codes=bits, kind="hnsw"),
            {"query_codes": Qbits},
        ),
    }
    truth = None
    print()
    print(
        f"| `VectorIndex` over {len(X):,} codes | bytes/vector (codes + rescoring) "
        "| saved index (MB) | ms per query (median) | ratio to float32 | 10-recall@10 |"
    )
    print("|---|---|---|---|---|---|")
    base_t = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (options, search) in builds.items():
            index = VectorIndex.build(floats, keys, **options)
            saved = index.save(Path(tmp) / str(len(os.listdir(tmp))))
            on_disk = sum(f.stat().st_size for f in saved.iterdir())

            def run(index: VectorIndex = index, search: dict = search) -> list:
                return index.search(Q, 10, **search)

            t = median_seconds(run, args.repeats)
            found = np.array([[int(key) for key, _ in row] for row in run()])
            if truth is None:
                truth = found
            base_t = base_t or t
            per = f"{index.bytes_per_vector} + {index.rescore_bytes_per_vector}"
            print(
                f"| {name} | {per} | {on_disk / 1e6:.1f} | {1000 * t / len(queries):.3f} | "
                f"{t / base_t:.2f}x | {recall_at_k(found, truth):.3f} |"
            )
    print("\n(Recall is against exact float32 search over the same 64-d encodings.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
