"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

Why torchrun and not Ray Train: torchrun ships with torch (no extra dependency, nothing to
install on a GPU node that already has torch), it is what cluster schedulers (SLURM, Kubernetes
operators) already know how to launch, and a vecae fit needs nothing Ray Train adds
(checkpointing of long jobs, elastic resizing): the data are read by every process and a fit is
minutes. Under torchrun, ``fit`` sees an initialised process group and trains data-parallel by
itself: the trainer wraps its step (:class:`vecae._train.TrainingLoss`, the model and its
objective as one module whose ``forward`` is the loss) in
``torch.nn.parallel.DistributedDataParallel``. Every process holds the same initial weights and
draws the same batch order, computes the loss of its share of every batch, and DDP averages the
gradients during backward. Gloo on CPU, NCCL on GPUs.

``python -m vecae.distributed._ddp CONFIG.json`` is the per-process entry point;
:func:`fit_with_torchrun` (and ``vecae fit --engine torchrun``) launches it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from vecae._exceptions import InputError, TrainingDivergedError

__all__ = ["fit_with_torchrun", "local_launch_env", "main"]

_EXCEPTION_LINE = re.compile(r"^(\[rank\d+\]:\s*)?([\w.]+(Error|Exception)): \S")


def _estimator(kind: str, params: dict[str, Any]) -> Any:
    from vecae._kinds import model_kinds

    registry = model_kinds()
    if kind not in registry:
        raise InputError(f"unknown model kind {kind!r}; expected one of {sorted(registry)}")
    if "hidden" in params and params["hidden"] is not None:
        params = {**params, "hidden": tuple(params["hidden"])}
    return registry[kind](**params)


def local_launch_env() -> dict[str, str]:
    """The environment for torchrun processes that all run on this machine.

    Threads: one per process unless ``OMP_NUM_THREADS`` says otherwise (the processes share
    the cores). Network: gloo connects its processes through the interface the host name
    resolves to, which on containers and CI runners can be one that refuses or drops local
    connections (gloo's known "Connection refused" / "Connect timeout" at start-up); every
    process is local here, so the loopback interface is used, unless ``GLOO_SOCKET_IFNAME``
    is already set.
    """
    import socket

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    interfaces = (
        {name for _, name in socket.if_nameindex()} if hasattr(socket, "if_nameindex") else set()
    )
    loopback = next((name for name in ("lo", "lo0") if name in interfaces), None)
    if loopback is not None:
        env.setdefault("GLOO_SOCKET_IFNAME", loopback)
    return env


def main(argv: list[str] | None = None) -> int:
    """One torchrun process: read the data, fit data-parallel, rank 0 saves the model."""
    import torch
    import torch.distributed as dist

    args = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    use_cuda = torch.cuda.is_available() and config.get("device", "auto") in ("auto", "cuda")
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        from vecae.io import read_embeddings

        X = read_embeddings(config["input"], config.get("format")).vectors
        model = _estimator(config["kind"], config["params"])
        model.fit(X)
        if dist.get_rank() == 0:
            model.save(config["output"], overwrite=bool(config.get("overwrite", False)))
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


def fit_with_torchrun(
    kind: str,
    params: dict[str, Any],
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    nproc: int = 2,
    format: str | None = None,
    overwrite: bool = False,
    timeout: float | None = None,
) -> Path:
    """Fit a model data-parallel in ``nproc`` local processes with torchrun and save it.

    Parameters
    ----------
    kind : str
        The model kind (``"dense"``, ``"variational"``, ``"categorical"``).
    params : dict
        Estimator parameters (JSON-serialisable).
    input : path
        Embeddings file every process reads (any format ``vecae.io`` reads).
    output : path
        Model directory, written by rank 0.
    nproc : int, default=2
        Processes on this machine (``torchrun --nproc-per-node``). For several machines, run
        ``torchrun ... -m vecae.distributed._ddp CONFIG.json`` on each.

    Returns
    -------
    Path
        The saved model directory.

    Raises
    ------
    TrainingDivergedError, InputError
        When a process fails; the message holds the last line it printed.

    Notes
    -----
    The same ``random_state`` gives the same model for the same ``nproc``. A different
    ``nproc`` follows a different float summation order, so results differ within the
    tolerance documented in docs/scale.md.
    """
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "fit.json"
        config_path.write_text(
            json.dumps(
                {
                    "kind": kind,
                    "params": params,
                    "input": str(input),
                    "format": format,
                    "output": str(output),
                    "overwrite": overwrite,
                }
            ),
            encoding="utf-8",
        )
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={nproc}",
            "-m",
            "vecae.distributed._ddp",
            str(config_path),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=local_launch_env(),
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        # The first process's own exception line, not torchrun's ChildFailedError summary.
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        errors = [
            line for line in lines if _EXCEPTION_LINE.match(line) and "ChildFailedError" not in line
        ]
        detail = errors[0] if errors else (lines[-1] if lines else f"exit {done.returncode}")
        if "TrainingDivergedError" in detail:
            raise TrainingDivergedError(detail.split(":", 1)[-1].strip())
        raise InputError(f"torchrun fit failed: {detail.strip()}")
    return Path(output)


if __name__ == "__main__":
    raise SystemExit(main())
