"""Helpers to run a real ``vecae serve`` process on a free localhost port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")

API_KEY = "test-key-7f3a"
LIMITS = {"max_rows": 50, "max_k": 20, "max_body_mb": 0.1}


@dataclass
class Served:
    """Everything a test needs: the process, its URL, and the model and index it loaded."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    model: Any
    index: Any
    words: list[str]
    vectors: np.ndarray

    clients: dict[str | None, Any] = field(default_factory=dict)

    def client(self, *, token: str | None = API_KEY) -> Any:
        """An HTTP client sending ``token`` (one per token, closed with the server)."""
        if token not in self.clients:
            headers = {} if token is None else {"authorization": f"Bearer {token}"}
            self.clients[token] = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        return self.clients[token]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: list[str], log: Path, timeout: float = 90.0) -> tuple[Any, str]:
    """Start ``vecae serve ARGS`` and wait until /readyz answers 200."""
    port = free_port()
    env = {**os.environ, "VECAE_API_KEY": ""}
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "vecae.cli", "serve", *args, "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready after {timeout} s: {log.read_text()}")


def stop_server(process: Any) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return int(process.wait(timeout=30))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)
