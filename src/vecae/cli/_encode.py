"""``vecae encode``: stream an embeddings file through a model into an encodings file."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from vecae import InputError
from vecae.cli._loading import (
    check_width,
    encoded_batches,
    has_fields,
    is_table,
    load_model,
    read_categorical,
)
from vecae.cli._options import (
    InputArg,
    InputFormatOpt,
    JsonOpt,
    KeysFileOpt,
    ModelDirArg,
    OverwriteOpt,
    QuietOpt,
    ThreadsOpt,
)
from vecae.cli._output import Output, claim_output, guarded

__all__ = ["Engine", "Precision", "encode"]


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Precision(StrEnum):
    float32 = "float32"
    float16 = "float16"
    int8 = "int8"
    binary = "binary"


def _output_format(
    input_path: Path, input_format: str, output: Path, fmt: str | None
) -> str | None:
    """Explicit --format; else the input's format for the same extension; else by extension."""
    if fmt is not None:
        return fmt
    from vecae.io._registry import FORMAT_REGISTRY, writable_suffixes

    dense = FORMAT_REGISTRY[input_format].stream_as or input_format
    suffix = output.suffix.lower()
    if suffix == input_path.suffix.lower() or suffix not in writable_suffixes():
        return dense
    return None  # EmbeddingWriter picks it from the extension


@guarded
def encode(
    model_dir: ModelDirArg,
    input: InputArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Encodings file to write.")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="Output format (default: the input's, or by extension)."),
    ] = None,
    input_format: InputFormatOpt = None,
    keys_file: KeysFileOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch.")] = 8192,
    key_column: Annotated[
        str | None, typer.Option(help="Categorical tables: the column of row keys.")
    ] = None,
    dim: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Keep the first DIM coordinates (a nested size); re-normalised for cosine models.",
        ),
    ] = None,
    precision: Annotated[
        Precision,
        typer.Option(
            help="float32, float16, int8 (step fitted at training) or binary (packed bits; "
            ".npy, .npz or .parquet)."
        ),
    ] = Precision.float32,
    threads: ThreadsOpt = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="For a directory of shards: encode them in this process (local) or on Ray "
            "(one output shard per input, resumable)."
        ),
    ] = Engine.local,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray actors (default: the CPUs Ray reports).")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join ('auto' for a running one); default: local."),
    ] = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Encode INPUT with a model, streaming in batches; keys and order are kept.

    INPUT may be a directory of .npy or .parquet shards: OUTPUT is then a directory with one
    encoded shard per input shard, and a rerun skips the shards already written.
    """
    from vecae.io import EmbeddingWriter, iter_embeddings, write_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    from vecae.cli._shards import encode_shard_dir, is_shard_dir

    if engine is Engine.ray or is_shard_dir(input):

        encode_shard_dir(
            out,
            model_dir,
            input,
            output,
            engine=engine.value,
            workers=workers,
            address=address,
            batch_size=batch_size,
            dim=dim,
            precision=precision.value,
            threads=threads,
        )
        return
    claim_output(output, overwrite, inputs=[model_dir, input])
    model = load_model(model_dir, threads)
    started = time.perf_counter()
    n = 0
    width = int(model.latent_dim if dim is None else dim)
    if (dim is not None or precision is not Precision.float32) and not hasattr(model, "encode"):
        raise InputError(
            f"{model_dir}: --dim and --precision are not supported by this model "
            f"({model.kind}); they apply to dense and vae models"
        )
    if precision is not Precision.float32:
        n = _write_quantised(
            model,
            model_dir,
            input,
            input_format,
            output,
            batch_size,
            out,
            dim=dim,
            precision=precision.value,
            overwrite=overwrite,
        )
        written_format = output.suffix.lower().lstrip(".")
    elif model.kind == "categorical" and is_table(input):
        if not has_fields(model):
            raise InputError(
                f"{input}: the model in {model_dir} was fitted on sparse multi-hot rows; "
                "encode a sparse .npz"
            )
        X, keys = read_categorical(input, key_column, None)
        check_width(input, X.shape[1], model, model_dir)
        with out.step(f"encoding {input}"):
            Z = model.transform(X)
        write_embeddings(output, Z, keys, format, overwrite=overwrite)
        n = len(Z)
        written_format = format or output.suffix.lstrip(".")
    else:
        stream = iter_embeddings(
            input, input_format, batch_size=batch_size, keys_file=keys_file
        )
        out_format = _output_format(input, stream.format, output, format)
        if stream.has_keys and (out_format or output.suffix.lower().lstrip(".")) == "npy":
            out.err.print(
                f"warning: {output}: .npy holds no keys; use .npz, .parquet, .csv or a text "
                "format to keep them"
            )
        # No n_rows_hint: duplicate keys (dropped while reading) would make it wrong, and
        # without it the .npy writer streams to disk instead of filling a memory map.
        # unique_keys: the stream dropped duplicate keys already; the writer need not track them.
        writer = EmbeddingWriter(
            output, out_format, width, stream.has_keys, overwrite=overwrite, unique_keys=True
        )
        with out.progress(f"encoding {input.name}", total=stream.n_rows) as advance, writer:
            for keys, vectors, Z in encoded_batches(model, model_dir, input, stream):
                writer.write(keys, Z if dim is None else model._normalised(Z[:, :dim]))
                n += len(Z)
                advance(len(vectors))
        written_format = writer.format
    seconds = time.perf_counter() - started
    result = {
        "output": str(output),
        "format": written_format,
        "rows": n,
        "dim": width,
        "precision": precision.value,
        "seconds": seconds,
    }
    out.emit_json(result)
    out.print(
        f"wrote {n:,} encodings ({width}-d {precision.value}, {written_format}) to {output} "
        f"in {seconds:.1f} s"
    )


def _write_quantised(
    model: Any,
    model_dir: Path,
    input: Path,
    input_format: str | None,
    output: Path,
    batch_size: int,
    out: Output,
    *,
    dim: int | None,
    precision: str,
    overwrite: bool,
) -> int:
    """Encode in batches and write the codes in one file (they are small: 1-2 bytes or a bit
    per coordinate)."""
    from vecae._quantize import write_codes
    from vecae.io import iter_embeddings

    if output.suffix.lower() not in (".npy", ".npz", ".parquet", ".pq"):
        raise InputError(f"{output}: {precision} codes are written to .npy, .npz or .parquet")
    stream = iter_embeddings(input, input_format, batch_size=batch_size)
    parts, all_keys = [], []
    with out.progress(f"encoding {input.name}", total=stream.n_rows) as advance:
        for keys, vectors in stream:
            check_width(input, int(vectors.shape[1]), model, model_dir)
            parts.append(model.encode(vectors, dim=dim, precision=precision))
            if keys is not None:
                all_keys.extend(keys)
            advance(len(vectors))
    codes = (
        np.concatenate(parts)
        if parts
        else model.encode(
            np.zeros((0, model.n_features_in_), np.float32), dim=dim, precision=precision
        )
    )
    write_codes(
        output,
        codes,
        all_keys if stream.has_keys else None,
        precision=precision,
        overwrite=overwrite,
    )
    return len(codes)
