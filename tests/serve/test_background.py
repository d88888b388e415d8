"""``vecae.serve.running``: the same service on a background thread of this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from vecae import InputError
from vecae.serve import ServeConfig, running


def test_serves_on_a_free_port_and_stops_on_exit(
    served_model: tuple[Path, Path, Any, Any], glove: tuple[list[str], np.ndarray]
) -> None:
    model_dir, _, model, _ = served_model
    config = ServeConfig(model=str(model_dir), port=0, access_log=False)
    with running(config) as url, httpx.Client(base_url=url) as client:
        codes = client.post("/v1/encode", json={"vectors": glove[1][:2].tolist()}).json()["codes"]
        np.testing.assert_allclose(codes, model.transform(glove[1][:2]), rtol=0, atol=1e-6)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_bad_settings_are_refused_before_starting(
    served_model: tuple[Path, Path, Any, Any],
) -> None:
    with (
        pytest.raises(InputError, match="max_rows: must be at least 1"),
        running(ServeConfig(model=str(served_model[0]), port=0, max_rows=0)),
    ):
        pass
