"""Encode a directory of shards into a directory of shards, resumably."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecae._artefact import FileOutput, sha256_file
from vecae._exceptions import InputError
from vecae.distributed._one_shard import encode_one_shard

__all__ = ["ENGINES", "MANIFEST_NAME", "ShardReport", "encode_shards"]

ENGINES = ("local", "ray")
MANIFEST_NAME = "_vecae_encode.json"
SHARD_SUFFIXES = (".npy", ".parquet")
MANIFEST_VERSION = 1


@dataclass
class ShardReport:
    """What :func:`encode_shards` did."""

    output_dir: Path
    encoded: list[str] = field(default_factory=list)  # shard names written by this run
    skipped: list[str] = field(default_factory=list)  # already done with matching checksums
    rows: int = 0  # rows written by this run
    seconds: float = 0.0
    engine: str = "local"
    workers: int = 1


def list_shards(directory: Path) -> list[Path]:
    """The ``.npy`` and ``.parquet`` files of ``directory``, in name order."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of shards")
    shards = sorted(
        p for p in directory.iterdir() if p.suffix in SHARD_SUFFIXES and not p.name.startswith(".")
    )
    if not shards:
        raise InputError(f"{directory}: no .npy or .parquet shards in the directory")
    return shards


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format_version") != MANIFEST_VERSION:
        return {}
    return data


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    with FileOutput(path, overwrite=True) as output:
        output.temp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")


def _model_identity(model_path: Path) -> str:
    """The SHA-256 of the model's config.json, which holds the checksums of its weights."""
    config = model_path / "config.json"
    if not config.is_file():
        from vecae._exceptions import ModelFileError

        raise ModelFileError(f"{model_path}: not a vecae model directory (no config.json)")
    return sha256_file(config)


def encode_shards(
    model_path: str | os.PathLike[str],
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    batch_size: int = 8192,
    dim: int | None = None,
    threads_per_worker: int | None = None,
    on_shard: Callable[[str, int], None] | None = None,
) -> ShardReport:
    """Encode every shard of ``input_dir`` into ``output_dir``, one output shard per input.

    Parameters
    ----------
    model_path : path
        A model directory written by ``save``; every worker must be able to read it.
    input_dir, output_dir : path
        Shards are the ``.npy`` and ``.parquet`` files of ``input_dir``; each is written to
        ``output_dir`` under the same name and format, with its keys and row order.
    engine : {"local", "ray"}
        ``"local"`` encodes the shards one after another in this process; ``"ray"`` uses a
        pool of ``workers`` Ray actors, one shard per task.
    workers : int, optional
        Ray actors (default: the CPUs Ray reports).
    address : str, optional
        Ray cluster to join (``"auto"`` for a running one); ``None`` or ``"local"`` starts a
        local Ray with ``workers`` CPUs.
    batch_size : int, default=8192
        Rows per forward pass, as in ``vecae encode``.
    dim : int, optional
        Keep the first ``dim`` coordinates (a model trained with nested sizes).
    threads_per_worker : int, optional
        Torch threads per Ray actor (default 1: one per CPU Ray gives it).
    on_shard : callable, optional
        Called with ``(shard name, rows)`` after each shard is committed.

    Returns
    -------
    ShardReport

    Raises
    ------
    InputError
        No shards, or a shard that cannot be read or has the wrong width.
    ModelFileError
        The model directory is missing or unreadable (checked before any work).

    Notes
    -----
    Each output shard is written under a temporary name and renamed into place, so a killed
    run never leaves a shard that looks complete. ``output_dir/_vecae_encode.json`` records,
    per shard, the input's and the output's SHA-256 and the model's identity; a rerun skips a
    shard whose input, model and output all still match, and redoes any other.
    """
    import vecae

    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    started = time.perf_counter()
    model_dir = Path(model_path)
    source_dir, target_dir = Path(input_dir), Path(output_dir)
    shards = list_shards(source_dir)
    model = vecae.load(model_dir)  # fails here, once and clearly, if the model is unreadable
    identity = _model_identity(model_dir)
    if target_dir.exists() and not target_dir.is_dir():
        raise InputError(f"{target_dir}: exists and is not a directory")
    target_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = target_dir / MANIFEST_NAME
    manifest = _read_manifest(manifest_path)
    done: dict[str, Any] = dict(manifest.get("shards", {}))
    settings = {"model": identity, "batch_size": batch_size, "dim": dim}
    if manifest.get("settings") != settings:
        done = {}  # another model or other settings: nothing carries over

    todo: list[Path] = []
    report = ShardReport(output_dir=target_dir, engine=engine)
    for shard in shards:
        entry = done.get(shard.name)
        out = target_dir / shard.name
        # Only a shard the manifest records is hashed here (to decide whether to skip it);
        # the worker that encodes a shard hashes its input, in parallel on Ray.
        if (
            entry is not None
            and out.is_file()
            and sha256_file(shard) == entry.get("input_sha256")
            and sha256_file(out) == entry.get("output_sha256")
        ):
            report.skipped.append(shard.name)
        else:
            done.pop(shard.name, None)
            todo.append(shard)

    def record(name: str, rows: int, digest: str, output_digest: str) -> None:
        done[name] = {"input_sha256": digest, "output_sha256": output_digest, "rows": rows}
        _write_manifest(
            manifest_path,
            {"format_version": MANIFEST_VERSION, "settings": settings, "shards": done},
        )
        report.encoded.append(name)
        report.rows += rows
        if on_shard is not None:
            on_shard(name, rows)

    if engine == "local" or not todo:
        for shard in todo:
            rows, digest, out_digest = encode_one_shard(
                model, shard, target_dir / shard.name, batch_size=batch_size, dim=dim
            )
            record(shard.name, rows, digest, out_digest)
    else:
        from vecae.distributed._ray import run_on_ray

        report.workers = run_on_ray(
            model_dir,
            [(shard, target_dir / shard.name) for shard in todo],
            record,
            workers=workers,
            address=address,
            batch_size=batch_size,
            dim=dim,
            threads_per_worker=threads_per_worker,
        )
    report.seconds = time.perf_counter() - started
    return report
