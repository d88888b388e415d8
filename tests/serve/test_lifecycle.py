"""Starting and stopping: refusals before binding, and a graceful SIGTERM."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.serve._server import start_server, stop_server

from vecae.cli import main


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_non_loopback_host_without_api_key_is_refused(
    served_model: tuple[Path, Path, Any, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VECAE_API_KEY", raising=False)
    code, err = _run_cli(["serve", str(served_model[0]), "--host", "0.0.0.0"], capsys)
    assert code == 1
    assert err.startswith("error: host '0.0.0.0' is not a loopback address")
    assert err.count("\n") == 1


def test_directory_that_is_not_a_model_fails_before_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run_cli(["serve", str(tmp_path)], capsys)
    assert code == 1
    assert "config.json" in err and err.startswith("error: ")


def test_index_built_for_another_model_is_refused(
    served_model: tuple[Path, Path, Any, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import numpy as np

    from vecae.index import VectorIndex

    other = VectorIndex.build(
        np.eye(8, dtype=np.float32), [str(i) for i in range(8)], model_info={"config_sha256": "0"}
    )
    other.save(tmp_path / "other-index")
    code, err = _run_cli(
        ["serve", str(served_model[0]), "--index", str(tmp_path / "other-index")], capsys
    )
    assert code == 1
    assert "built with another model" in err


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_then_exits_zero(
    served_model: tuple[Path, Path, Any, Any], tmp_path: Path
) -> None:
    import httpx

    log = tmp_path / "server.log"
    # A long batching window keeps the request in flight when SIGTERM arrives.
    process, url = start_server([str(served_model[0]), "--batch-window-ms", "1500"], log)
    answers: list[int] = []

    def request() -> None:
        response = httpx.post(f"{url}/v1/encode", json={"vectors": [[0.1] * 50]}, timeout=30)
        answers.append(response.status_code)

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    thread.join(timeout=30)
    assert stop_server(process) == 0
    assert answers == [200]
    text = log.read_text()
    assert "Finished server process" in text and "Traceback" not in text


@pytest.mark.slow
def test_several_workers_serve_and_stop_together(
    served_model: tuple[Path, Path, Any, Any], tmp_path: Path
) -> None:
    import httpx

    log = tmp_path / "server.log"
    process, url = start_server([str(served_model[0]), "--workers", "2"], log)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(8):
                response = client.post("/v1/encode", json={"vectors": [[0.1] * 50]})
                assert response.status_code == 200
    finally:
        code = stop_server(process)
    assert code == 0
    assert log.read_text().count("Finished server process") == 2
