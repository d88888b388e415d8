"""The service on a background thread of this process: for notebooks, examples and tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from vecae._exceptions import require
from vecae.serve._config import ServeConfig

__all__ = ["running"]


@contextlib.contextmanager
def running(config: ServeConfig, *, startup_timeout: float = 60.0) -> Iterator[str]:
    """Serve ``config`` on a background thread; yield its base URL; stop it on exit.

    The same application as ``vecae serve`` (one worker). ``port=0`` picks a free port.

    Parameters
    ----------
    config : ServeConfig
    startup_timeout : float, default=60
        Seconds to wait for the port to accept connections.

    Yields
    ------
    str
        ``http://HOST:PORT``.

    Raises
    ------
    vecae.VecaeError
        Bad settings, or a model or index that cannot be used.
    RuntimeError
        The server did not start in time.

    Examples
    --------
    >>> with running(ServeConfig(model="glove-ae", port=0)) as url:   # doctest: +SKIP
    ...     httpx.get(f"{url}/v1/model").json()["latent_dim"]
    16
    """
    require("fastapi", "serve")
    require("orjson", "serve")
    uvicorn: Any = require("uvicorn", "serve")
    from vecae.serve._app import create_app

    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="vecae-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the service did not start on {config.host}:{config.port}")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{config.host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
