"""``vecae index build``, ``neighbors`` and ``sample``: nearest neighbours over encodings."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.table import Table

from vecae import ModelFileError
from vecae._artefact import INDEX
from vecae.cli._display import neighbours_json, ranked_table
from vecae.cli._loading import (
    check_width,
    config_sha256,
    encoded_batches,
    index_model_differs,
    kind_name,
    load_model,
)
from vecae.cli._options import (
    IndexKind,
    InputFormatOpt,
    JsonOpt,
    KeysFileOpt,
    MetricName,
    ModelDirArg,
    OverwriteOpt,
    QuietOpt,
    ThreadsOpt,
    only_set,
    split_commas,
)
from vecae.cli._output import CliError, Output, claim_output, guarded

__all__ = ["index_build", "neighbors", "sample"]

IndexPrecision = Literal["float32", "int8", "binary"]  # vecae.index.IndexPrecision
RescoreName = Literal["float32", "int8", "none"]


# ---------------------------------------------------------------------------- index


@guarded
def index_build(
    output: Annotated[Path, typer.Option("--output", "-o", help="Index directory to write.")],
    first: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL_DIR_OR_VECTORS",
            help=(
                "MODEL_DIR INPUT: index the model's encodings of INPUT (binary: its learned "
                "bits). VECTORS alone: index those vectors as they are (binary: their sign bits)."
            ),
        ),
    ],
    second: Annotated[
        Path | None,
        typer.Argument(metavar="INPUT", help="The embeddings MODEL_DIR encodes."),
    ] = None,
    metric: Annotated[MetricName, typer.Option(help="Similarity.")] = "cosine",
    kind: Annotated[IndexKind, typer.Option(help="flat (exact), hnsw or ivf.")] = "flat",
    precision: Annotated[
        IndexPrecision,
        typer.Option(
            help=(
                "How vectors are stored: float32; int8 (8-bit scalar quantisation, one byte "
                "per coordinate; flat); binary (Hamming search on bits: the model's learned "
                "bits, or the sign bits of VECTORS when no model is given; flat or hnsw)."
            )
        ),
    ] = "float32",
    rescore: Annotated[
        RescoreName,
        typer.Option(
            help="Also store float32 or int8 copies for `neighbors --rescore-multiplier`."
        ),
    ] = "none",
    hnsw_m: Annotated[int | None, typer.Option(min=2, help="HNSW graph degree.")] = None,
    ef_search: Annotated[int | None, typer.Option(min=1, help="HNSW search depth.")] = None,
    n_lists: Annotated[int | None, typer.Option(min=1, help="IVF cells.")] = None,
    n_probe: Annotated[int | None, typer.Option(min=1, help="IVF cells probed.")] = None,
    input_format: InputFormatOpt = None,
    keys_file: KeysFileOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch.")] = 8192,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build a nearest-neighbour index: over a model's encodings of INPUT, or over VECTORS.

    With --precision int8 or binary the index stores compact codes; --rescore keeps float32
    or int8 copies so that `vecae neighbors --rescore-multiplier M` can re-rank candidates.
    """
    from vecae.index import VectorIndex
    from vecae.io import iter_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    rescore_as = None if rescore == "none" else rescore
    if rescore_as is not None and precision == "float32":
        raise CliError("--rescore applies to --precision int8 or binary")
    model_dir, input = (first, second) if second is not None else (None, first)
    if model_dir is None and (input / "config.json").is_file():
        raise CliError(
            f"{input}: a model directory; give the embeddings it encodes: MODEL_DIR INPUT"
        )
    claim_output(output, overwrite, kind=INDEX, inputs=[p for p in (model_dir, input) if p])
    model = None if model_dir is None else load_model(model_dir, threads)
    if model is not None and precision == "binary" and not callable(getattr(model, "encode", None)):
        raise CliError(
            f"{model_dir}: this {kind_name(model)} model has no learned bits; "
            "use --precision int8, or index its encodings as VECTORS (sign bits)"
        )
    stream = iter_embeddings(input, input_format, batch_size=batch_size, keys_file=keys_file)
    parts: list[np.ndarray] = []
    bit_parts: list[np.ndarray] = []
    keys: list[str] = []
    what = f"encoding {input.name}" if model is not None else f"reading {input.name}"
    batches: Iterator[tuple[Any, np.ndarray]]
    if model is None:
        batches = iter(stream)
    else:
        assert model_dir is not None
        encoded = _with_bits(model, model_dir, input, stream, precision, bit_parts)
        batches = ((batch_keys, Z) for batch_keys, _, Z in encoded)
    with out.progress(what, total=stream.n_rows) as advance:
        for batch_keys, Z in batches:
            parts.append(np.asarray(Z, dtype=np.float32))
            if batch_keys is None:
                keys.extend(str(i) for i in range(len(keys), len(keys) + len(Z)))
            else:
                keys.extend(batch_keys)
            advance(len(Z))
    if not parts:
        raise CliError(f"{input}: no rows to index")
    encodings = np.concatenate(parts)
    del parts
    codes = np.concatenate(bit_parts) if bit_parts else None
    model_info = None
    if model_dir is not None:
        model_info = {
            "model_dir": str(model_dir.resolve()),
            "config_sha256": config_sha256(model_dir),
        }
    started = time.perf_counter()
    with out.step(f"building a {precision} {kind} index over {len(keys):,} vectors"):
        index = VectorIndex.build(
            encodings,
            keys,
            metric=metric,
            kind=kind,
            model_info=model_info,
            precision=precision,
            rescore=rescore_as,
            codes=codes,
            **only_set(hnsw_m=hnsw_m, ef_search=ef_search, n_lists=n_lists, n_probe=n_probe),
        )
    index.save(output, overwrite=overwrite)
    result = {
        "index_dir": str(output),
        "n": len(index),
        "dim": index.dim,
        "metric": index.metric,
        "kind": index.kind,
        "precision": index.precision,
        "codes": index.code_source,
        "rescore": index.rescore,
        "bytes_per_vector": index.bytes_per_vector,
        "rescore_bytes_per_vector": index.rescore_bytes_per_vector,
        "params": index.params,
        "model_info": model_info,
        "seconds": time.perf_counter() - started,
    }
    out.emit_json(result)
    codes_note = ""
    if index.precision == "binary":
        source = "learned bits" if index.code_source == "given" else "sign bits"
        codes_note = f", {index.bytes_per_vector}-byte {source}"
    elif index.precision == "int8":
        codes_note = f", {index.bytes_per_vector}-byte int8 codes"
    if index.rescore is not None:
        codes_note += f", {index.rescore} rescoring copies"
    out.print(
        f"indexed {len(index):,} {'encodings' if model is not None else 'vectors'} "
        f"({index.dim}-d, {index.metric}, {index.kind}{codes_note}) in {output}"
    )


def _with_bits(
    model: Any, model_dir: Path, input: Path, stream: Any, precision: str, bits: list[np.ndarray]
) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """``encoded_batches``, also collecting the model's learned bits when they are indexed."""
    for batch_keys, vectors, Z in encoded_batches(model, model_dir, input, stream):
        if precision == "binary":
            bits.append(model.encode(vectors, precision="binary"))
        yield batch_keys, vectors, Z


def _query_model(index: Any, model_dir: Path | None, out: Output) -> tuple[Any, Path]:
    """The model that encodes query vectors: ``--model``, else the one the index records."""
    if model_dir is None:
        recorded = (index.model_info or {}).get("model_dir")
        if recorded is None:
            raise CliError("this index records no model; pass --model MODEL_DIR")
        model_dir = Path(recorded)
        if not model_dir.exists():
            raise ModelFileError(
                f"{model_dir}: the model this index was built with is gone; pass --model"
            )
    if index_model_differs(index, model_dir):
        out.err.print(
            f"warning: {model_dir}: this is not the model the index was built with "
            "(config.json differs); results may be meaningless"
        )
    return load_model(model_dir), model_dir


def _neighbour_table(title: str, result: list[tuple[str, float]], metric: str) -> Table:
    score_name = "similarity" if metric == "cosine" else "-distance²"
    rows = ((key, f"{score:.4f}") for key, score in result)
    return ranked_table(title, [("key", "left"), (score_name, "right")], rows)


@guarded
def neighbors(
    index_dir: Annotated[Path, typer.Argument(help="An index written by `vecae index build`.")],
    key: Annotated[str | None, typer.Option(help="Items like this indexed key.")] = None,
    keys: Annotated[
        str | None, typer.Option(help="Items like these: comma-separated indexed keys.")
    ] = None,
    vectors: Annotated[
        Path | None,
        typer.Option(help="A file of query vectors in the original space (or encoded)."),
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option("--model", help="Model that encodes --vectors (default: the index's)."),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Neighbours per query.")] = 10,
    rescore_multiplier: Annotated[
        int,
        typer.Option(
            min=1,
            help=(
                "Code indexes built with --rescore: fetch k x M candidates with the codes, "
                "re-rank them with the stored copies."
            ),
        ),
    ] = 1,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Nearest neighbours from an index: of a key, of a group of keys, or of new vectors."""
    from vecae.index import VectorIndex

    out = Output(json_mode=json_output, quiet=quiet)
    given = [
        name
        for name, value in (("--key", key), ("--keys", keys), ("--vectors", vectors))
        if value is not None
    ]
    if len(given) != 1:
        raise CliError("give exactly one of --key, --keys or --vectors")
    if model_dir is not None and vectors is None:
        raise CliError("--model applies only to --vectors")
    index = VectorIndex.load(index_dir)
    if rescore_multiplier > 1 and index.rescore is None:
        raise CliError(
            f"{index_dir}: --rescore-multiplier needs an index built with --rescore float32 or int8"
        )
    m = rescore_multiplier
    queries: list[tuple[str, list[tuple[str, float]]]] = []
    if key is not None:
        queries.append((key, index.search_keys([key], k, rescore_multiplier=m)[0]))
    elif keys is not None:
        items = split_commas(keys)
        if not items:
            raise CliError("--keys: no keys given")
        queries.append((",".join(items), index.similar_to_items(items, k, rescore_multiplier=m)))
    else:
        assert vectors is not None
        from vecae.io import read_embeddings

        emb = read_embeddings(vectors)
        Q = np.asarray(emb.vectors, dtype=np.float32)
        query_codes = None
        # Learned bits exist only through the model: such queries are always encoded by it.
        learned = index.code_source == "given"
        if model_dir is not None or emb.dim != index.dim or learned:
            model, used_dir = _query_model(index, model_dir, out)
            check_width(vectors, emb.dim, model, used_dir)
            if learned:
                query_codes = model.encode(Q, precision="binary")
            Q = model.transform(Q)
        names = emb.keys if emb.keys is not None else [f"row {i + 1}" for i in range(len(Q))]
        found = index.search(Q, k, rescore_multiplier=m, query_codes=query_codes)
        for name, result in zip(names, found, strict=True):
            queries.append((name, result))
    if out.json_mode:
        out.emit_json(
            {
                "index_dir": str(index_dir),
                "metric": index.metric,
                "precision": index.precision,
                "rescore_multiplier": m,
                "k": k,
                "results": [
                    {
                        "query": name,
                        "neighbors": neighbours_json(result),
                    }
                    for name, result in queries
                ],
            }
        )
        return
    for name, result in queries:
        title = f"like {name}" if keys is not None else f"neighbours of {name}"
        out.print(_neighbour_table(title, result, index.metric))


# ---------------------------------------------------------------------------- sample


@guarded
def sample(
    model_dir: ModelDirArg,
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Vectors to generate.")] = 10,
    index_dir: Annotated[
        Path | None,
        typer.Option("--index", help="Index over this model's encodings: show nearest keys."),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Nearest keys per sample.")] = 5,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the samples to a file.")
    ] = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate new vectors from a VAE; with --index, show each one's nearest real keys."""
    out = Output(json_mode=json_output, quiet=quiet)
    if output is not None:
        claim_output(output, overwrite)
    model = load_model(model_dir)
    if model.kind != "variational":
        raise CliError(
            f"{model_dir}: sample needs a VAE (vecae fit --model vae); "
            f"this is a {kind_name(model)} model"
        )
    X = model.sample(n, random_state=seed)
    names = [f"sample-{i + 1}" for i in range(n)]
    results: list[list[tuple[str, float]]] | None = None
    metric = "cosine"
    if index_dir is not None:
        from vecae.index import VectorIndex

        index = VectorIndex.load(index_dir)
        if index_model_differs(index, model_dir):
            out.err.print(
                f"warning: {index_dir}: the index was built with another model; "
                "neighbours may be meaningless"
            )
        # An index of learned bits is searched with the samples' bits, encoded by the model.
        codes = model.encode(X, precision="binary") if index.code_source == "given" else None
        results = index.search(model.transform(X), k, query_codes=codes)
        metric = index.metric
    if output is not None:
        from vecae.io import write_embeddings

        write_embeddings(output, X, names, overwrite=overwrite)
    if out.json_mode:
        data: dict[str, Any] = {
            "samples": [
                {"name": name, "vector": X[i].tolist()}
                | ({} if results is None else {"neighbors": neighbours_json(results[i])})
                for i, name in enumerate(names)
            ]
        }
        out.emit_json(data)
        return
    if results is not None:
        table = Table(title=f"{n} samples and their nearest real keys ({metric})")
        table.add_column("sample")
        table.add_column("nearest keys")
        for name, result in zip(names, results, strict=True):
            table.add_row(name, ", ".join(f"{kk} ({s:.2f})" for kk, s in result))
        out.print(table)
    else:
        shown = min(X.shape[1], 8)
        table = Table(title=f"{n} samples (first {shown} of {X.shape[1]} dimensions)")
        table.add_column("sample")
        for j in range(shown):
            table.add_column(f"d{j}", justify="right")
        for name, row in zip(names, X, strict=True):
            table.add_row(name, *(f"{v:.3f}" for v in row[:shown]))
        out.print(table)
    if output is not None:
        out.print(f"wrote {n} samples to {output}")
