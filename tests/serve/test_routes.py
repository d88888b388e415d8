"""Every route of a real ``vecae serve`` process, compared with the library's own answers."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from tests.serve._server import Served


def test_encode_returns_the_models_encodings(server: Served) -> None:
    X = server.vectors[:5]
    response = server.client().post("/v1/encode", json={"vectors": X.tolist()})
    assert response.status_code == 200
    body = response.json()
    assert body["dim"] == 8 and body["precision"] == "float32"
    np.testing.assert_allclose(body["codes"], server.model.transform(X), rtol=0, atol=1e-6)


def test_encode_dim_keeps_the_first_coordinates_or_says_unsupported(server: Served) -> None:
    X = server.vectors[:3]
    response = server.client().post("/v1/encode", json={"vectors": X.tolist(), "dim": 4})
    if hasattr(server.model, "encode"):
        assert response.status_code == 200
        expected = server.model.encode(X, dim=4)
        np.testing.assert_allclose(response.json()["codes"], expected, rtol=0, atol=1e-6)
    else:
        assert response.status_code == 422
        assert response.json()["error"] == "dim: not supported by this model"


def test_encode_binary_precision_is_packed_bits(server: Served) -> None:
    X = server.vectors[:3]
    response = server.client().post(
        "/v1/encode", json={"vectors": X.tolist(), "precision": "binary"}
    )
    if not hasattr(server.model, "encode"):
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dim"] == 8
    assert np.array_equal(np.asarray(body["codes"]), server.model.encode(X, precision="binary"))


def test_encode_accepts_and_returns_npy(server: Served) -> None:
    X = server.vectors[:100]
    buffer = io.BytesIO()
    np.save(buffer, X)
    response = server.client().post(
        "/v1/encode",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert response.status_code == 413  # 100 rows is over this server's limit of 50
    buffer = io.BytesIO()
    np.save(buffer, X[:40])
    response = server.client().post(
        "/v1/encode",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert response.status_code == 200
    codes = np.load(io.BytesIO(response.content), allow_pickle=False)
    np.testing.assert_allclose(codes, server.model.transform(X[:40]), rtol=0, atol=1e-6)


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(server: Served) -> None:
    client = server.client()
    before = client.get("/v1/model").json()["stats"]
    rows = server.vectors[:64]

    def encode(i: int) -> list[float]:
        response = client.post("/v1/encode", json={"vectors": [rows[i].tolist()]})
        assert response.status_code == 200
        return list(response.json()["codes"][0])

    with ThreadPoolExecutor(16) as pool:
        codes = np.asarray(list(pool.map(encode, range(64))))
    after = client.get("/v1/model").json()["stats"]
    np.testing.assert_allclose(codes, server.model.transform(rows), rtol=0, atol=1e-6)
    assert after["rows_run"] - before["rows_run"] == 64
    assert after["batches_run"] - before["batches_run"] < 64


def test_search_by_keys_matches_the_index(server: Served) -> None:
    response = server.client().post("/v1/search", json={"keys": ["king", "paris"], "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["metric"] == "cosine"
    expected = server.index.search_keys(["king", "paris"], k=5)
    got = [[(hit["key"], hit["score"]) for hit in hits] for hits in body["results"]]
    assert [[k for k, _ in hits] for hits in got] == [[k for k, _ in hits] for hits in expected]


def test_search_by_basket_matches_the_index(server: Served) -> None:
    basket = ["paris", "london", "washington"]
    response = server.client().post("/v1/search", json={"basket": basket, "k": 5})
    assert response.status_code == 200
    expected = server.index.similar_to_items(basket, k=5)
    assert [hit["key"] for hit in response.json()["results"]] == [k for k, _ in expected]


def test_search_by_vectors_encodes_then_searches(server: Served) -> None:
    X = server.vectors[10:12]
    response = server.client().post("/v1/search", json={"vectors": X.tolist(), "k": 3})
    assert response.status_code == 200
    expected = server.index.search(server.model.transform(X), k=3)
    got = [[hit["key"] for hit in hits] for hits in response.json()["results"]]
    assert got == [[k for k, _ in hits] for hits in expected]


def test_anomaly_scores_and_flags_at_the_models_threshold(server: Served) -> None:
    scores = server.model.anomaly_score(server.vectors)
    rows = np.r_[np.argsort(scores)[:2], np.argsort(scores)[-2:]]
    response = server.client().post("/v1/anomaly", json={"vectors": server.vectors[rows].tolist()})
    assert response.status_code == 200
    body = response.json()
    np.testing.assert_allclose(body["scores"], scores[rows], rtol=1e-5)
    assert body["threshold"] == pytest.approx(server.model.threshold_)
    assert body["flags"] == [bool(s > server.model.threshold_) for s in scores[rows]]
    assert body["flags"][-1] is True  # the most anomalous training word is above 1% contamination


def test_reconstruct_returns_input_space_vectors(server: Served) -> None:
    X = server.vectors[:3]
    response = server.client().post("/v1/reconstruct", json={"vectors": X.tolist()})
    assert response.status_code == 200
    expected = server.model.inverse_transform(server.model.transform(X))
    np.testing.assert_allclose(response.json()["vectors"], expected, rtol=0, atol=1e-5)


def test_model_describes_dimensions_versions_and_limits(server: Served) -> None:
    body = server.client().get("/v1/model").json()
    assert (body["input_dim"], body["latent_dim"]) == (50, 8)
    assert body["kind"] in ("variational", "vae")
    assert "torch" in body["versions"]
    assert body["limits"]["max_rows"] == 50 and body["limits"]["max_k"] == 20
    assert body["index"]["size"] == 2000


def test_health_and_readiness_need_no_token(server: Served) -> None:
    client = server.client(token=None)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_openapi_schema_lists_every_route(server: Served) -> None:
    schema = server.client(token=None).get("/openapi.json").json()
    for route in ("/v1/encode", "/v1/search", "/v1/anomaly", "/v1/reconstruct", "/v1/model"):
        assert route in schema["paths"]
    assert server.client(token=None).get("/docs").status_code == 200


def test_access_log_has_one_json_line_per_request(server: Served) -> None:
    server.client().get("/v1/model")
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    logged = [line for line in lines if line.get("path") == "/v1/model"]
    assert logged and logged[-1]["status"] == 200 and logged[-1]["method"] == "GET"
    assert isinstance(logged[-1]["ms"], float)
