"""``vecae encode``: stream an embeddings file through a model into an encodings file."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import time
from pathlib import Path
from typing import Annotated

import typer

from vecae import InputError
from vecae.cli._loading import (
    TABLE_SUFFIXES,
    check_width,
    encoded_batches,
    has_fields,
    load_model,
    read_categorical,
)
from vecae.cli._options import (
    InputArg,
    InputFormatOpt,
    JsonOpt,
    ModelDirArg,
    OverwriteOpt,
    QuietOpt,
    ThreadsOpt,
)
from vecae.cli._output import Output, guarded, refuse_existing

__all__ = ["encode"]

KNOWN_OUTPUT_SUFFIXES = {
    ".bin",
    ".vec",
    ".npy",
    ".parquet",
    ".pq",
    ".csv",
    ".tsv",
    ".tab",
    ".txt",
    ".npz",
}


def _output_format(
    input_path: Path, input_format: str, output: Path, fmt: str | None
) -> str | None:
    """Explicit --format; else the input's format for the same extension; else by extension."""
    if fmt is not None:
        return fmt
    dense = "npz" if input_format == "sparse-npz" else input_format
    suffix = output.suffix.lower()
    if suffix == input_path.suffix.lower() or suffix not in KNOWN_OUTPUT_SUFFIXES:
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
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch.")] = 8192,
    key_column: Annotated[
        str | None, typer.Option(help="Categorical tables: the column of row keys.")
    ] = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Encode INPUT with a model, streaming in batches; keys and order are kept."""
    from vecae.io import EmbeddingWriter, iter_embeddings, write_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    refuse_existing(output, overwrite)
    model = load_model(model_dir, threads)
    started = time.perf_counter()
    n = 0
    if model._kind == "categorical" and input.suffix.lower() in TABLE_SUFFIXES:
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
        stream = iter_embeddings(input, input_format, batch_size=batch_size)
        out_format = _output_format(input, stream.format, output, format)
        if stream.has_keys and (out_format or output.suffix.lower().lstrip(".")) == "npy":
            out.err.print(
                f"warning: {output}: .npy holds no keys; use .npz, .parquet, .csv or a text "
                "format to keep them"
            )
        # No n_rows_hint: duplicate keys (dropped while reading) would make it wrong, and
        # without it the .npy writer streams to disk instead of filling a memory map.
        writer = EmbeddingWriter(
            output, out_format, int(model.latent_dim), stream.has_keys, overwrite=overwrite
        )
        with out.progress(f"encoding {input.name}", total=stream.n_rows) as advance, writer:
            for keys, vectors, Z in encoded_batches(model, model_dir, input, stream):
                writer.write(keys, Z)
                n += len(Z)
                advance(len(vectors))
        written_format = writer.format
    seconds = time.perf_counter() - started
    result = {
        "output": str(output),
        "format": written_format,
        "rows": n,
        "dim": int(model.latent_dim),
        "seconds": seconds,
    }
    out.emit_json(result)
    out.print(
        f"wrote {n:,} encodings ({model.latent_dim}-d, {written_format}) to {output} "
        f"in {seconds:.1f} s"
    )
