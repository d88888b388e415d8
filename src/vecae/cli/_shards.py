"""``vecae encode MODEL SHARDS/ -o OUT/``: a directory of shards, in-process or on Ray."""

from __future__ import annotations

from pathlib import Path

from vecae.cli._output import CliError, Output

__all__ = ["encode_shard_dir", "is_shard_dir"]


def is_shard_dir(path: Path) -> bool:
    """A directory holding at least one ``.npy`` or ``.parquet`` shard."""
    from vecae.distributed._shards import SHARD_SUFFIXES

    return path.is_dir() and any(p.suffix in SHARD_SUFFIXES for p in path.iterdir())


def encode_shard_dir(
    out: Output,
    model_dir: Path,
    input_dir: Path,
    output_dir: Path,
    *,
    engine: str,
    workers: int | None,
    address: str | None,
    batch_size: int,
    dim: int | None,
    precision: str,
    threads: int | None,
) -> None:
    """Encode every shard of ``input_dir`` into ``output_dir`` and report what was done."""
    from vecae.distributed import encode_shards

    if not input_dir.is_dir():
        raise CliError(f"{input_dir}: --engine ray reads a directory of .npy or .parquet shards")
    if precision != "float32":
        raise CliError("--precision applies to single files; shard directories are float32")
    with out.progress(f"encoding shards of {input_dir.name}") as advance:
        report = encode_shards(
            model_dir,
            input_dir,
            output_dir,
            engine=engine,
            workers=workers,
            address=address,
            batch_size=batch_size,
            dim=dim,
            threads_per_worker=threads,
            on_shard=lambda name, rows: advance(rows),
        )
    out.emit_json(
        {
            "output": str(report.output_dir),
            "engine": report.engine,
            "workers": report.workers,
            "encoded": report.encoded,
            "skipped": report.skipped,
            "rows": report.rows,
            "seconds": report.seconds,
        }
    )
    out.print(
        f"encoded {len(report.encoded)} shards ({report.rows:,} rows), skipped "
        f"{len(report.skipped)} already done, into {report.output_dir} with {report.engine} "
        f"in {report.seconds:.1f} s"
    )
