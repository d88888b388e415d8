"""The FastAPI application: routes, the error shape, auth, the body limit and access logs.

A thin layer over :class:`~vecae.serve._service.ModelService`, as the command line is over the
library. Every 4xx is one line of JSON naming the field and the row; an unexpected error is a
500 with a one-line JSON body and never a traceback.
"""

from __future__ import annotations

import hmac
import io
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import vecae
from vecae._exceptions import VecaeError
from vecae.serve._config import ServeConfig
from vecae.serve._errors import RequestError, error_body
from vecae.serve._requests import (
    NPY_TYPE,
    AnomalyRequest,
    EncodeRequest,
    ReconstructRequest,
    SearchRequest,
    check_rows,
    parse_json,
    parse_npy,
)
from vecae.serve._service import ModelService

__all__ = ["app_from_environment", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson writes numpy arrays directly, float32 in its shortest exact form: 1000 x 64 codes
    # take 2 ms instead of 165 ms through .tolist() and json.dumps. NaN would become null.
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _body_doc(schema: type[Any], npy: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": schema.model_json_schema()}}
    if npy:
        content[NPY_TYPE] = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": content}}


class _BodyTooLarge(RequestError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "body", f"larger than this service's limit of {limit} bytes")


class _Gate:
    """Pure ASGI middleware: bearer-token check, body-size limit and one JSON log line.

    Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: it adds no task or stream per
    request, which matters at thousands of small requests per second.
    """

    def __init__(self, app: ASGIApp, config: ServeConfig) -> None:
        self.app = app
        self.limit = config.max_body_bytes
        self.token = None if config.api_key is None else f"Bearer {config.api_key}".encode()
        self.log = config.access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        headers = dict(scope.get("headers") or [])
        path: str = scope.get("path", "")
        refusal = self._refusal(path, headers)
        if refusal is not None:
            await _send_json(logged_send, *refusal)
        else:
            await self.app(scope, self._limited(receive), logged_send)
        if self.log:
            client = scope.get("client") or ("", 0)
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "client": f"{client[0]}:{client[1]}",
                "method": scope.get("method"),
                "path": path,
                "status": status[0],
                "ms": round((time.perf_counter() - started) * 1000, 3),
                "bytes_in": int(headers.get(b"content-length", b"0") or 0),
            }
            sys.stderr.write(json.dumps(line) + "\n")

    def _refusal(
        self, path: str, headers: dict[bytes, bytes]
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if self.token is not None and path.startswith("/v1/"):
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.token):
                return (
                    401,
                    error_body("missing or wrong bearer token", field="authorization"),
                    {"www-authenticate": "Bearer"},
                )
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return 413, _BodyTooLarge(self.limit).body(), {}
        return None

    def _limited(self, receive: Receive) -> Receive:
        limit = self.limit
        seen = [0]

        async def receive_limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:  # a chunked body that gave no Content-Length
                    raise _BodyTooLarge(limit)
            return message

        return receive_limited


async def _send_json(send: Send, status: int, payload: Any, extra: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(config: ServeConfig, service: ModelService | None = None) -> Any:
    """The ASGI application serving ``config.model``.

    Parameters
    ----------
    config : ServeConfig
        The model, index and limits (validated here).
    service : ModelService, optional
        An already loaded service (so a caller that validated the model does not load it
        twice).

    Returns
    -------
    ASGI application
        The FastAPI app wrapped in the auth / body-limit / access-log gate.

    Raises
    ------
    vecae.VecaeError
        Bad settings, or a model or index that cannot be loaded.
    """
    config.validate()
    svc = service if service is not None else ModelService(config)
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await svc.batcher.start()
        state["ready"] = True
        try:
            yield
        finally:
            state["ready"] = False
            await svc.batcher.stop()

    app = FastAPI(
        title="vecae",
        version=vecae.__version__,
        description="Encodings, neighbours, anomaly scores and reconstructions from a vecae model.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, exc: RequestError) -> Response:
        return _json(exc.body(), exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
        return _json(error_body(first.get("msg", "invalid"), field=".".join(loc) or None), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _json(error_body(str(exc.detail)), exc.status_code)

    @app.exception_handler(VecaeError)
    async def _library_error(_: Request, exc: VecaeError) -> Response:
        return _json(error_body(str(exc)), 422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        sys.stderr.write(
            json.dumps({"level": "error", "error": f"{type(exc).__name__}: {exc}"}) + "\n"
        )
        return _json(error_body(f"internal error ({type(exc).__name__})"), 500)

    def rows_of(vectors: list[list[float]] | np.ndarray) -> np.ndarray:
        return check_rows(vectors, svc.width, config.max_rows)

    def check_k(k: int) -> int:
        if k > config.max_k:
            raise RequestError(422, "k", f"must be at most {config.max_k}, got {k}")
        return k

    @app.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz", summary="Readiness: the model is loaded and requests are served.")
    async def readyz() -> Response:
        if not state["ready"]:
            return _json({"status": "not ready"}, 503)
        return _json({"status": "ready"})

    @app.get("/v1/model", summary="The model: kind, dimensions, parameters, versions, limits.")
    async def model_info() -> Response:
        return _json(svc.describe())

    @app.post(
        "/v1/encode",
        summary="Encode vectors (JSON, or an application/x-npy array for bulk).",
        openapi_extra=_body_doc(EncodeRequest, npy=True),
    )
    async def encode(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-type", "").startswith(NPY_TYPE):
            X = rows_of(parse_npy(body))
            dim = _query_int(request, "dim")
            precision = request.query_params.get("precision")
            if precision is not None and precision not in ("float32", "float16", "int8", "binary"):
                raise RequestError(422, "precision", f"unknown precision {precision!r}")
        else:
            req = parse_json(EncodeRequest, body)
            X, dim, precision = rows_of(req.vectors), req.dim, req.precision
        codes = await svc.encode(X, dim, precision)
        if NPY_TYPE in request.headers.get("accept", ""):
            buffer = io.BytesIO()
            np.save(buffer, codes, allow_pickle=False)
            return Response(buffer.getvalue(), media_type=NPY_TYPE)
        width = codes.shape[1] * (8 if precision == "binary" else 1)
        return _json({"codes": codes, "dim": width, "precision": precision or "float32"})

    @app.post(
        "/v1/search",
        summary="Nearest indexed items: by new vectors, by indexed keys, or by a basket of keys.",
        openapi_extra=_body_doc(SearchRequest),
    )
    async def search(request: Request) -> Response:
        req = parse_json(SearchRequest, await request.body())
        given = [name for name in ("vectors", "keys", "basket") if getattr(req, name) is not None]
        if len(given) != 1:
            raise RequestError(
                422, "body", f"give exactly one of vectors, keys or basket (got {given or 'none'})"
            )
        k = check_k(req.k)
        metric = svc.index.metric if svc.index is not None else None
        if req.basket is not None:
            hits = await svc.search_basket(req.basket, k, req.combine)
            return _json({"metric": metric, "results": _hits(hits)})
        if req.keys is not None:
            many = await svc.search_keys(req.keys, k)
        else:
            assert req.vectors is not None
            many = await svc.search_vectors(rows_of(req.vectors), k)
        return _json({"metric": metric, "results": [_hits(h) for h in many]})

    @app.post(
        "/v1/anomaly",
        summary="Anomaly scores, and flags above the model's threshold.",
        openapi_extra=_body_doc(AnomalyRequest),
    )
    async def anomaly(request: Request) -> Response:
        req = parse_json(AnomalyRequest, await request.body())
        scores = await svc.anomaly_scores(rows_of(req.vectors))
        threshold = float(svc.model.threshold_ if req.threshold is None else req.threshold)
        return _json({"scores": scores, "flags": scores > threshold, "threshold": threshold})

    @app.post(
        "/v1/reconstruct",
        summary="The model's reconstruction of each vector, in the input space.",
        openapi_extra=_body_doc(ReconstructRequest),
    )
    async def reconstruct(request: Request) -> Response:
        req = parse_json(ReconstructRequest, await request.body())
        return _json({"vectors": await svc.reconstruct(rows_of(req.vectors))})

    return _Gate(app, config)


def _query_int(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise RequestError(422, name, f"must be a positive integer, got {text!r}")
    return int(text)


def _hits(hits: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"key": key, "score": float(score)} for key, score in hits]


def app_from_environment() -> Any:
    """Factory for uvicorn worker processes: the settings come from the environment."""
    return create_app(ServeConfig.from_environment())
