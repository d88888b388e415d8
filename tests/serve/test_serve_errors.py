"""Every refusal is a 4xx with one line of JSON naming the field and the row; never a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.serve._server import API_KEY, Served

ROW = [0.1] * 50


def _check(response: Any, status: int, error_start: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert "\n" not in response.text and "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    assert body["error"].startswith(error_start), body
    return body


@pytest.mark.parametrize(
    ("path", "payload", "status", "error_start"),
    [
        ("/v1/encode", {"vectors": [ROW, ROW[:49]]}, 422, "vectors[1]: has 49 values"),
        ("/v1/encode", {"vectors": [ROW, ["a"] * 50]}, 422, "vectors[1]: value 0:"),
        ("/v1/encode", {"vectors": [ROW, [True] * 50]}, 422, "vectors[1]: value 0:"),
        ("/v1/encode", {"vectors": []}, 422, "vectors: at least one row"),
        ("/v1/encode", {"vectors": [ROW] * 51}, 413, "vectors: 51 rows exceed"),
        ("/v1/encode", {"rows": [ROW]}, 422, "vectors: required"),
        ("/v1/encode", {"vectors": [ROW], "extra": 1}, 422, "extra: unknown field"),
        ("/v1/encode", {"vectors": [ROW], "precision": "int4"}, 422, "precision:"),
        ("/v1/encode", {"vectors": [ROW], "dim": 0}, 422, "dim:"),
        ("/v1/anomaly", {"vectors": [ROW, ROW, ROW[:3]]}, 422, "vectors[2]: has 3 values"),
        ("/v1/reconstruct", {"vectors": "nope"}, 422, "vectors:"),
        ("/v1/search", {"keys": ["king", "zzzunknownzzz"]}, 422, "keys[1]: unknown key"),
        ("/v1/search", {"basket": ["zzzunknownzzz"]}, 422, "basket[0]: unknown key"),
        ("/v1/search", {"keys": ["king"], "k": 21}, 422, "k: must be at most 20"),
        ("/v1/search", {"keys": ["king"], "k": 0}, 422, "k:"),
        ("/v1/search", {"keys": ["king"], "basket": ["king"]}, 422, "body: give exactly one"),
        ("/v1/search", {"k": 3}, 422, "body: give exactly one"),
    ],
)
def test_bad_request_names_field_and_row(
    server: Served, path: str, payload: Any, status: int, error_start: str
) -> None:
    _check(server.client().post(path, json=payload), status, error_start)


def test_nan_is_refused_naming_the_row(server: Served) -> None:
    text = json.dumps({"vectors": [ROW, [*ROW[:3], float("nan"), *ROW[4:]]]})
    response = server.client().post(
        "/v1/encode", content=text, headers={"content-type": "application/json"}
    )
    body = _check(response, 422, "vectors[1]: value 3:")
    assert body["field"] == "vectors" and body["row"] == 1


def test_body_that_is_not_json_is_a_400(server: Served) -> None:
    response = server.client().post(
        "/v1/encode", content=b"{not json", headers={"content-type": "application/json"}
    )
    _check(response, 400, "body: not valid JSON")


def test_npy_body_that_is_not_npy_is_a_400(server: Served) -> None:
    response = server.client().post(
        "/v1/encode", content=b"\x93NUMPY garbage", headers={"content-type": "application/x-npy"}
    )
    _check(response, 400, "body: not a valid .npy array")


def test_body_over_the_size_limit_is_a_413(server: Served) -> None:
    big = b'{"vectors": [' + b"0.0," * 40_000 + b"0.0]}"
    _check(server.client().post("/v1/encode", content=big), 413, "body: larger than")


def test_chunked_body_over_the_size_limit_is_a_413(server: Served) -> None:
    def chunks() -> Any:
        yield b'{"vectors": ['
        for _ in range(400):
            yield b"0.0," * 100
        yield b"0.0]}"

    response = server.client().post(
        "/v1/encode", content=chunks(), headers={"content-type": "application/json"}
    )
    _check(response, 413, "body: larger than")


@pytest.mark.parametrize("token", [None, "wrong-key", API_KEY + "x"])
def test_v1_routes_need_the_bearer_token(server: Served, token: str | None) -> None:
    client = server.client(token=token)
    for response in (
        client.get("/v1/model"),
        client.post("/v1/encode", json={"vectors": [ROW]}),
    ):
        body = _check(response, 401, "authorization: missing or wrong bearer token")
        assert response.headers["www-authenticate"] == "Bearer"
        assert body["field"] == "authorization"


def test_unknown_route_and_method_are_json_4xx(server: Served) -> None:
    _check(server.client().get("/v1/nothing"), 404, "Not Found")
    _check(server.client().get("/v1/encode"), 405, "Method Not Allowed")
