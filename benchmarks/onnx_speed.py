"""onnxruntime against torch for the exported encoder: latency per call by batch size.

Usage::

    nice -n 10 .venv/bin/python benchmarks/onnx_speed.py

A 384 -> 256 -> 64 ``Autoencoder`` (the service benchmark's shape) is trained briefly on
GloVe-based 384-d rows (GloVe 50d rows are not 384-d, so the rows are 384 values drawn from
concatenated GloVe vectors; speed does not depend on the values), exported with
``vecae export``'s code path, and both runtimes encode the same batches with one intra-op
thread and with the default. Figures are medians of repeated calls, measured in one run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

import vecae  # noqa: F401  (first: it sets OMP_WAIT_POLICY=PASSIVE before torch loads)


def median_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> None:
    import onnxruntime as ort
    import torch

    from vecae import Autoencoder
    from vecae.datasets import load_glove
    from vecae.export import export_onnx

    _, glove = load_glove(61_440)
    X = np.ascontiguousarray(np.asarray(glove, dtype=np.float32).reshape(-1, 384)[:8000])
    model = Autoencoder(latent_dim=64, epochs=3, random_state=0).fit(X)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "encoder.onnx")
        for threads in (1, 2):
            torch.set_num_threads(threads)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            print(f"threads={threads}")
            for n in (1, 8, 64, 1000):
                batch = X[:n]
                repeats = 2000 if n < 64 else 200
                t_torch = median_ms(lambda b=batch: model.transform(b), repeats)
                t_ort = median_ms(lambda b=batch, s=session: s.run(None, {"vectors": b}), repeats)
                print(
                    f"  batch {n:5d}: torch transform {t_torch:8.3f} ms   onnxruntime "
                    f"{t_ort:8.3f} ms   ratio {t_torch / t_ort:5.2f}x"
                )


if __name__ == "__main__":
    main()
