"""Fixtures: the model and index ``vecae serve`` loads, and a running server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("faiss")

from tests.serve._server import API_KEY, LIMITS, Served, start_server, stop_server


@pytest.fixture(scope="session")
def served_model(
    tmp_path_factory: pytest.TempPathFactory, glove: tuple[list[str], np.ndarray]
) -> tuple[Path, Path, Any, Any]:
    """A small VAE on 2000 GloVe words, saved, and a cosine index of its encodings."""
    from vecae import VariationalAutoencoder, load
    from vecae.index import VectorIndex

    words, vectors = glove[0][:2000], glove[1][:2000]
    root = tmp_path_factory.mktemp("serve")
    model = VariationalAutoencoder(latent_dim=8, epochs=5, random_state=0).fit(vectors)
    model_dir = model.save(root / "model")
    digest = hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()
    index = VectorIndex.build(
        model.transform(vectors), words, metric="cosine", model_info={"config_sha256": digest}
    )
    index.save(root / "index")
    return model_dir, root / "index", load(model_dir), VectorIndex.load(root / "index")


@pytest.fixture(scope="session")
def server(
    served_model: tuple[Path, Path, Any, Any],
    glove: tuple[list[str], np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    model_dir, index_dir, model, index = served_model
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    args = [str(model_dir), "--index", str(index_dir), "--api-key", API_KEY]
    for name, value in LIMITS.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    process, url = start_server(args, log)
    served = Served(process, url, log, model, index, glove[0][:2000], glove[1][:2000])
    try:
        yield served
    finally:
        served.close()
        stop_server(process)
