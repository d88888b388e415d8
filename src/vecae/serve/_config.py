"""Settings of the HTTP service, validated once, before anything is loaded or bound."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vecae._exceptions import InputError

__all__ = ["API_KEY_ENV", "CONFIG_ENV", "LOCAL_HOSTS", "ServeConfig"]

API_KEY_ENV = "VECAE_API_KEY"
# uvicorn starts each worker process from an import string, so the settings travel to the
# workers through the environment, as JSON.
CONFIG_ENV = "VECAE_SERVE_CONFIG"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ServeConfig:
    """What ``vecae serve`` runs, and the limits it enforces.

    Parameters
    ----------
    model : str
        A model directory written by ``save`` / ``vecae fit``.
    index : str or None
        An index directory written by ``vecae index build``; enables ``/v1/search``.
    host, port : str, int
        Where to listen. Any host other than a loopback address needs ``api_key``.
    api_key : str or None
        Bearer token every ``/v1`` request must carry (``Authorization: Bearer KEY``).
    workers : int
        uvicorn worker processes, each with its own copy of the model.
    batch_window_ms : float
        How long the micro-batcher waits for more requests after the first one arrives;
        ``0`` runs each request on its own (no batching).
    max_batch_rows : int
        Rows per forward pass at most; a fuller batch runs at once.
    max_rows : int
        Rows per request at most.
    max_k : int
        Largest ``k`` a search may ask for.
    max_body_bytes : int
        Largest request body.
    threads : int or None
        Intra-op threads of a forward pass. The default, 1, leaves the other cores to the
        event loop and to other workers: the passes are small, and on a busy machine two
        threads that wait for each other cost far more than they save. ``None``: the
        runtime's default.
    runtime : {"torch", "onnx"}
        What runs the plain encodings (``/v1/encode`` without ``dim``/``precision``, and
        search by vectors): the model itself, or its encoder exported to ONNX and run by
        onnxruntime (the ``onnx`` extra; same codes within 1e-5, less overhead per call).
    access_log : bool
        One JSON line per request on stderr.
    """

    model: str
    index: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    workers: int = 1
    batch_window_ms: float = 2.0
    max_batch_rows: int = 4096
    max_rows: int = 10_000
    max_k: int = 1000
    max_body_bytes: int = 64 * 1024 * 1024
    threads: int | None = 1
    runtime: str = "torch"
    access_log: bool = True

    def validate(self) -> ServeConfig:
        """Check the settings; raise :class:`InputError` naming the first bad one.

        Returns
        -------
        ServeConfig
            ``self``, so calls chain.

        Raises
        ------
        InputError
            A limit below 1, a port out of range, or a non-local host without an API key.
        """
        positive = {
            "workers": self.workers,
            "max_batch_rows": self.max_batch_rows,
            "max_rows": self.max_rows,
            "max_k": self.max_k,
            "max_body_bytes": self.max_body_bytes,
        }
        for name, value in positive.items():
            if value < 1:
                raise InputError(f"{name}: must be at least 1, got {value}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads: must be at least 1, got {self.threads}")
        if self.runtime not in ("torch", "onnx"):
            raise InputError(f"runtime: expected 'torch' or 'onnx', got {self.runtime!r}")
        if not 0 <= self.port <= 65535:
            raise InputError(f"port: must be in 0..65535, got {self.port}")
        if self.batch_window_ms < 0:
            raise InputError(f"batch_window_ms: must be >= 0, got {self.batch_window_ms}")
        if self.api_key is not None and not self.api_key.strip():
            raise InputError("api_key: must not be empty")
        if self.host not in LOCAL_HOSTS and not self.api_key:
            raise InputError(
                f"host {self.host!r} is not a loopback address: set an API key with "
                f"--api-key or the {API_KEY_ENV} environment variable"
            )
        if not Path(self.model).is_dir():
            raise InputError(f"{self.model}: not a model directory")
        if self.index is not None and not Path(self.index).is_dir():
            raise InputError(f"{self.index}: not an index directory")
        return self

    def to_json(self) -> str:
        """The settings as JSON (for :data:`CONFIG_ENV`)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        """Settings written by :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    @classmethod
    def from_environment(cls) -> ServeConfig:
        """Settings from :data:`CONFIG_ENV` (set by :func:`vecae.serve.run`)."""
        text = os.environ.get(CONFIG_ENV)
        if not text:
            raise InputError(f"{CONFIG_ENV} is not set; start the service with `vecae serve`")
        return cls.from_json(text)
