"""The encoder on onnxruntime: the same codes as ``transform``, with less per-call overhead.

``transform`` validates its input with scikit-learn and dispatches through torch on every
call, which costs about 0.2 ms even for one row; the exported graph on onnxruntime encodes a
1-row batch in about 0.01 ms and a 1000-row batch 2-3x faster (benchmarks/onnx_speed.py). The
service has already checked the rows (width, finiteness), so the checks are not lost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from vecae._exceptions import require

__all__ = ["OnnxEncoder"]


class OnnxEncoder:
    """A fitted dense model's encoder exported to ONNX and run by onnxruntime.

    Parameters
    ----------
    model : Autoencoder or VariationalAutoencoder
    threads : int or None
        onnxruntime intra-op threads (``None``: its default).

    Raises
    ------
    MissingDependencyError
        onnx, onnxscript or onnxruntime is missing (``pip install 'vecae[onnx]'``).
    """

    def __init__(self, model: Any, threads: int | None = None) -> None:
        ort: Any = require("onnxruntime", "onnx")
        from vecae.export import export_onnx

        with tempfile.TemporaryDirectory(prefix="vecae-serve-") as tmp:
            path = export_onnx(model, Path(tmp) / "encoder.onnx")
            options = ort.SessionOptions()
            if threads is not None:
                options.intra_op_num_threads = threads
            # The session keeps the graph in memory; the temporary file can go.
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Encodings of ``rows`` (float32, already validated)."""
        batch = np.ascontiguousarray(rows, dtype=np.float32)
        codes: np.ndarray = self.session.run(None, {"vectors": batch})[0]
        return codes
