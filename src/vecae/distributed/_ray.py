"""The Ray side of :func:`vecae.distributed.encode_shards`: a pool of shard-encoding actors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vecae._exceptions import VecaeError, require

__all__ = ["init_ray", "run_on_ray"]


def init_ray(address: str | None, workers: int | None) -> bool:
    """Connect to Ray (``address``) or start a local one; True if this call started it."""
    ray: Any = require("ray", "distributed")
    if ray.is_initialized():
        return False
    if address in (None, "local"):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return True


class ShardEncoder:
    """A Ray actor: loads the model once, then encodes whole shards on request."""

    def __init__(self, model_path: str, batch_size: int, dim: int | None, threads: int) -> None:
        import torch

        import vecae

        torch.set_num_threads(threads)
        self.model = vecae.load(model_path)
        self.batch_size = batch_size
        self.dim = dim

    def encode(self, source: str, target: str) -> tuple[str, int, str, str]:
        from vecae.distributed._one_shard import encode_one_shard

        rows, input_digest, output_digest = encode_one_shard(
            self.model, Path(source), Path(target), batch_size=self.batch_size, dim=self.dim
        )
        return Path(source).name, rows, input_digest, output_digest


def run_on_ray(
    model_dir: Path,
    jobs: Sequence[tuple[Path, Path]],
    record: Callable[[str, int, str, str], None],
    *,
    workers: int | None,
    address: str | None,
    batch_size: int,
    dim: int | None,
    threads_per_worker: int | None,
) -> int:
    """Encode ``jobs`` (source, target) on a pool of actors; ``record`` each finished shard
    as ``(name, rows, input sha256, output sha256)``.

    Returns the number of actors used. An error inside an actor is re-raised here as the
    original vecae error where Ray can carry it, else with Ray's one-line description.
    """
    ray: Any = require("ray", "distributed")
    from ray.util import ActorPool

    started_here = init_ray(address, workers)
    try:
        available = int(ray.available_resources().get("CPU", 1)) or 1
        n = max(1, min(workers or available, len(jobs)))
        actor_class = ray.remote(num_cpus=1)(ShardEncoder)
        threads = threads_per_worker or 1
        actors = [actor_class.remote(str(model_dir), batch_size, dim, threads) for _ in range(n)]
        pool = ActorPool(actors)
        results = pool.map_unordered(
            lambda actor, job: actor.encode.remote(str(job[0]), str(job[1])), list(jobs)
        )
        try:
            for name, rows, input_digest, output_digest in results:
                record(name, rows, input_digest, output_digest)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, VecaeError | OSError | ValueError):
                raise cause from None
            first = str(exc).strip().splitlines()
            raise VecaeError(
                f"Ray worker failed: {first[0] if first else type(exc).__name__}"
            ) from None
        return n
    finally:
        if started_here:
            ray.shutdown()
