"""What the service does with a request, independent of HTTP: the model, the index, the batcher.

The model is loaded once with :func:`vecae.load` (checksummed safetensors, nothing unpickled)
and only ever read: no route changes it.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import vecae
from vecae._exceptions import InputError, ModelFileError
from vecae._train import torch_threads
from vecae.serve._batcher import MicroBatcher
from vecae.serve._config import ServeConfig
from vecae.serve._errors import RequestError

__all__ = ["ModelService"]

_NOT_SUPPORTED = "not supported by this model"


class ModelService:
    """A loaded model (and optional index) answering encode, search, anomaly and reconstruct.

    Parameters
    ----------
    config : ServeConfig
        What to load, and the limits.

    Raises
    ------
    ModelFileError
        The model or index directory cannot be used, or they do not belong together.
    InputError
        A model kind the service cannot take JSON vectors for (categorical tables).
    """

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.model: Any = vecae.load(config.model, device="cpu")
        # ``kind`` is the public name (issue 10); ``_kind`` the one it replaces.
        kind = getattr(self.model, "kind", None) or getattr(self.model, "kind", None)
        if kind == "categorical":
            raise InputError(
                f"{config.model}: vecae serve takes dense-vector models (dense, vae); "
                "this is a categorical model"
            )
        self.width = int(self.model.n_features_in_)
        self.latent_dim = int(self.model.latent_dim)
        self.index: Any = None
        if config.index is not None:
            self.index = _load_index(Path(config.index), Path(config.model), self.latent_dim)
        self._encode_rows = self._threaded(self.model.transform)
        if config.runtime == "onnx":
            from vecae.serve._runtime import OnnxEncoder

            self._encode_rows = OnnxEncoder(self.model, config.threads)
        self.batcher = MicroBatcher(
            window_s=config.batch_window_ms / 1000.0, max_rows=config.max_batch_rows
        )

    # -- operations (each runs its forward pass through the batcher) ----------------------

    async def encode(self, X: np.ndarray, dim: int | None, precision: str | None) -> np.ndarray:
        """Codes of ``X``; ``dim``/``precision`` need a model with ``encode``."""
        model = self.model
        if dim is not None or precision is not None:
            if not hasattr(model, "encode"):
                field = "dim" if dim is not None else "precision"
                raise RequestError(422, field, _NOT_SUPPORTED)

            def fn(rows: np.ndarray) -> np.ndarray:
                with torch_threads(self.config.threads):
                    return np.asarray(model.encode(rows, dim=dim, precision=precision or "float32"))

            return await self._run(("encode", dim, precision), fn, X)
        return await self._run(("transform",), self._encode_rows, X)

    async def anomaly_scores(self, X: np.ndarray) -> np.ndarray:
        """Anomaly score per row (higher is stranger)."""
        return await self._run(("anomaly",), self._threaded(self.model.anomaly_score), X)

    async def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """The model's reconstruction of each row, in the input space."""
        model = self.model

        def fn(rows: np.ndarray) -> np.ndarray:
            return np.asarray(model.inverse_transform(model.transform(rows)))

        return await self._run(("reconstruct",), self._threaded(fn), X)

    # Index searches run on a thread (FAISS releases the GIL), so a large index never stalls
    # the event loop.

    async def search_keys(self, keys: list[str], k: int) -> list[list[tuple[str, float]]]:
        """Neighbours of indexed items."""
        index = self._require_index()
        self._check_keys(keys, "keys")
        return list(await asyncio.to_thread(index.search_keys, keys, k=min(k, len(index))))

    async def search_basket(self, keys: list[str], k: int, combine: str) -> list[tuple[str, float]]:
        """Items like a whole group of indexed items."""
        index = self._require_index()
        self._check_keys(keys, "basket")
        return list(
            await asyncio.to_thread(
                index.similar_to_items, keys, k=min(k, len(index)), combine=combine
            )
        )

    async def search_vectors(self, X: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """Neighbours of new vectors, encoded by the model first."""
        index = self._require_index()
        codes = await self.encode(X, None, None)
        return list(await asyncio.to_thread(index.search, codes, k=min(k, len(index))))

    # -- description ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/model`` returns: kind, dimensions, parameters, versions, limits."""
        config_path = Path(self.config.model) / "config.json"
        stored = _read_json(config_path)
        model = self.model
        description: dict[str, Any] = {
            "kind": stored.get("kind"),
            "estimator": stored.get("estimator"),
            "input_dim": self.width,
            "latent_dim": self.latent_dim,
            "nested_dims": [int(d) for d in getattr(model, "nested_dims_", []) or []],
            "supports": {
                "dim": hasattr(model, "encode"),
                "precision": hasattr(model, "encode"),
                "search": self.index is not None,
            },
            "threshold": float(model.threshold_),
            "params": stored.get("params", {}),
            "training": {
                "epochs": stored.get("fitted", {}).get("n_epochs_"),
                "best_epoch": stored.get("fitted", {}).get("best_epoch_"),
                "stop_reason": stored.get("fitted", {}).get("stop_reason_"),
                "seconds": stored.get("fitted", {}).get("fit_seconds_"),
            },
            "versions": {**stored.get("versions", {}), "vecae (serving)": vecae.__version__},
            "runtime": self.config.runtime,
            "stats": {
                "batches_run": self.batcher.batches_run,
                "rows_run": self.batcher.rows_run,
            },
            "limits": {
                "max_rows": self.config.max_rows,
                "max_k": self.config.max_k,
                "max_body_bytes": self.config.max_body_bytes,
                "batch_window_ms": self.config.batch_window_ms,
                "max_batch_rows": self.config.max_batch_rows,
            },
        }
        if self.index is not None:
            description["index"] = {
                "size": len(self.index),
                "dim": self.index.dim,
                "metric": self.index.metric,
                "kind": self.index.kind,
            }
        return description

    # -- helpers --------------------------------------------------------------------------

    def _threaded(self, fn: Any) -> Any:
        threads = self.config.threads

        def run(rows: np.ndarray) -> np.ndarray:
            with torch_threads(threads):
                return np.asarray(fn(rows))

        return run

    async def _run(self, key: tuple[Any, ...], fn: Any, X: np.ndarray) -> np.ndarray:
        try:
            return await self.batcher.submit(key, fn, X)
        except InputError as exc:
            # The model's own refusal: of a dim or precision it does not offer, else of rows.
            field = "vectors"
            if key[0] == "encode":
                field = "dim" if key[1] is not None else "precision"
            raise RequestError(422, field, str(exc)) from None

    def _require_index(self) -> Any:
        if self.index is None:
            raise RequestError(
                404, None, "no index loaded; start the service with --index to enable search"
            )
        return self.index

    def _check_keys(self, keys: list[str], field: str) -> None:
        if not keys:
            raise RequestError(422, field, "at least one key is needed")
        if len(keys) > self.config.max_rows:
            raise RequestError(
                413, field, f"{len(keys)} keys exceed the limit of {self.config.max_rows}"
            )
        for i, key in enumerate(keys):
            if key not in self.index:
                raise RequestError(422, field, f"unknown key {key!r}", i)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _load_index(index_dir: Path, model_dir: Path, latent_dim: int) -> Any:
    from vecae.index import VectorIndex

    index = VectorIndex.load(index_dir)
    if index.dim != latent_dim:
        raise ModelFileError(
            f"{index_dir}: the index holds {index.dim}-d vectors, but the model in {model_dir} "
            f"encodes to {latent_dim} dimensions"
        )
    recorded = (index.model_info or {}).get("config_sha256")
    if recorded:
        digest = hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()
        if digest != recorded:
            raise ModelFileError(
                f"{index_dir}: built with another model than {model_dir} "
                "(config.json checksums differ); rebuild it with `vecae index build`"
            )
    return index
