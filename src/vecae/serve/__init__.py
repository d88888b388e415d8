"""``vecae serve``: a model (and optionally an index) behind an HTTP API.

Routes: ``POST /v1/encode``, ``/v1/search``, ``/v1/anomaly``, ``/v1/reconstruct``,
``GET /v1/model``, ``/healthz``, ``/readyz``; the OpenAPI schema is at ``/docs``. Concurrent
requests are micro-batched into one forward pass. Needs the ``serve`` extra
(``pip install 'vecae[serve]'``: fastapi, uvicorn, httpx).

The service is a layer over the library, like the command line: nothing in vecae imports it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from vecae._exceptions import require
from vecae.serve._background import running
from vecae.serve._config import API_KEY_ENV, CONFIG_ENV, LOCAL_HOSTS, ServeConfig

__all__ = ["API_KEY_ENV", "LOCAL_HOSTS", "ServeConfig", "create_app", "run", "running"]


def create_app(config: ServeConfig) -> Any:
    """The ASGI application for ``config`` (see :func:`vecae.serve._app.create_app`).

    Parameters
    ----------
    config : ServeConfig

    Returns
    -------
    ASGI application

    Raises
    ------
    MissingDependencyError
        fastapi is not installed.
    """
    require("fastapi", "serve")
    require("orjson", "serve")
    from vecae.serve._app import create_app as build

    return build(config)


def run(config: ServeConfig) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight and exit.

    Parameters
    ----------
    config : ServeConfig
        What to serve and where. The model (and index) is loaded and checked before the port
        is bound, so a bad model fails fast with a :class:`vecae.VecaeError`.

    Raises
    ------
    vecae.VecaeError
        Bad settings, or a model or index that cannot be used.
    MissingDependencyError
        The ``serve`` extra is not installed.
    """
    require("fastapi", "serve")
    require("orjson", "serve")
    uvicorn: Any = require("uvicorn", "serve")
    from vecae.serve._app import create_app as build
    from vecae.serve._service import ModelService

    config.validate()
    service = ModelService(config)  # fail here, before binding, on a bad model or index
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "access_log": False,  # ours is structured (JSON); see _app._Gate
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }
    with _stopping_is_success():
        if config.workers == 1:
            uvicorn.run(build(config, service), **options)
            return
        # Worker processes import the app by name; they read the settings from the environment.
        del service
        os.environ[CONFIG_ENV] = config.to_json()
        uvicorn.run(
            "vecae.serve._app:app_from_environment",
            factory=True,
            workers=config.workers,
            **options,
        )


@contextlib.contextmanager
def _stopping_is_success() -> Iterator[None]:
    """After its graceful shutdown, uvicorn re-raises the SIGTERM / SIGINT that stopped it.

    For a service that is the normal way to stop, not an error: the re-raised signal is
    absorbed here, so the process exits 0 instead of dying by the signal (or printing an
    error through the command line's own handler).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
