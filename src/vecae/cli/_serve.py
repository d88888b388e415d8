"""``vecae serve``: put a model (and optionally an index) behind an HTTP API."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vecae.cli._options import ModelDirArg
from vecae.cli._output import guarded

__all__ = ["serve"]


class Runtime(StrEnum):
    torch = "torch"
    onnx = "onnx"


@guarded
def serve(
    model_dir: ModelDirArg,
    index: Annotated[
        Path | None,
        typer.Option(help="An index built by `vecae index build`: enables /v1/search."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs an API key.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes, each with its own copy of the model.")
    ] = 1,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Bearer token /v1 requests must carry (default: $VECAE_API_KEY).",
            show_default=False,
        ),
    ] = None,
    batch_window_ms: Annotated[
        float,
        typer.Option(min=0, help="Extra wait for more requests under concurrent traffic."),
    ] = 2.0,
    max_batch_rows: Annotated[
        int, typer.Option(min=1, help="Rows per forward pass; 1 turns batching off.")
    ] = 4096,
    max_rows: Annotated[int, typer.Option(min=1, help="Rows per request.")] = 10_000,
    max_k: Annotated[int, typer.Option(min=1, help="Largest k a search may ask for.")] = 1000,
    max_body_mb: Annotated[float, typer.Option(min=0.001, help="Largest request body, MB.")] = 64.0,
    access_log: Annotated[bool, typer.Option(help="One JSON line per request on stderr.")] = True,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Intra-op threads per forward pass (default 1)."),
    ] = 1,
    runtime: Annotated[
        Runtime, typer.Option(help="Run plain encodings on torch or on onnxruntime.")
    ] = Runtime.torch,
) -> None:
    """Serve MODEL over HTTP: encode, search, anomaly, reconstruct (OpenAPI docs at /docs)."""
    from vecae.serve import API_KEY_ENV, ServeConfig, run

    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    config = ServeConfig(
        model=str(model_dir),
        index=None if index is None else str(index),
        host=host,
        port=port,
        api_key=key,
        workers=workers,
        batch_window_ms=batch_window_ms,
        max_batch_rows=max_batch_rows,
        max_rows=max_rows,
        max_k=max_k,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        threads=threads,
        runtime=runtime.value,
        access_log=access_log,
    )
    run(config)
