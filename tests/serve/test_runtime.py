"""A server on onnxruntime, with batching turned off: same codes, one pass per request."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tests.serve._server import start_server, stop_server

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def onnx_server(
    served_model: tuple[Path, Path, Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Any]]:
    model_dir, index_dir, model, _ = served_model
    log = tmp_path_factory.mktemp("onnx-serve") / "server.log"
    process, url = start_server(
        [str(model_dir), "--index", str(index_dir), "--runtime", "onnx", "--max-batch-rows", "1"],
        log,
    )
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client, model
    finally:
        stop_server(process)


@pytest.mark.slow
def test_onnx_runtime_gives_the_models_codes(
    onnx_server: tuple[httpx.Client, Any], glove: tuple[list[str], np.ndarray]
) -> None:
    client, model = onnx_server
    X = glove[1][:40]
    response = client.post("/v1/encode", json={"vectors": X.tolist()})
    assert response.status_code == 200
    np.testing.assert_allclose(response.json()["codes"], model.transform(X), rtol=0, atol=1e-5)
    assert client.get("/v1/model").json()["runtime"] == "onnx"


@pytest.mark.slow
def test_max_batch_rows_one_runs_every_request_alone(
    onnx_server: tuple[httpx.Client, Any], glove: tuple[list[str], np.ndarray]
) -> None:
    client, _ = onnx_server
    before = client.get("/v1/model").json()["stats"]

    def encode(i: int) -> int:
        return client.post("/v1/encode", json={"vectors": [glove[1][i].tolist()]}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(encode, range(32))) == {200}
    after = client.get("/v1/model").json()["stats"]
    assert after["batches_run"] - before["batches_run"] == 32
