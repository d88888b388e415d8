"""The ``vecae`` typer application: every command parses, calls the library, and prints."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import hashlib
import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import rich
import typer
from rich.table import Table

from vecae import DimensionMismatchError, InputError, ModelFileError
from vecae.cli._estimators import build_estimator, parse_hidden
from vecae.cli._output import (
    CliError,
    Output,
    atomic_dir,
    atomic_path,
    guarded,
    refuse_existing,
)

app = typer.Typer(
    name="vecae",
    help="Train autoencoders on the embeddings you already have, and put the encodings to work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
index_app = typer.Typer(help="Nearest-neighbour indexes over encodings.", no_args_is_help=True)
recommender_app = typer.Typer(
    help="Recommenders trained on user-item interactions.", no_args_is_help=True
)
app.add_typer(index_app, name="index")
app.add_typer(recommender_app, name="recommender")


class ModelKind(StrEnum):
    dense = "dense"
    vae = "vae"
    categorical = "categorical"


class MetricName(StrEnum):
    cosine = "cosine"
    l2 = "l2"


class IndexKind(StrEnum):
    flat = "flat"
    hnsw = "hnsw"
    ivf = "ivf"


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine-readable output: one JSON document on stdout.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output if it already exists.")
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for torch (default: torch's).")
]
ModelDirArg = Annotated[Path, typer.Argument(help="A model directory written by `vecae fit`.")]
InputArg = Annotated[Path, typer.Argument(help="An embeddings file (any vecae.io format).")]

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq")
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


@app.callback()
def _root() -> None:
    """Train autoencoders on the embeddings you already have, and put the encodings to work.

    Start with `vecae demo`.
    """
    # The estimators draw their training progress bar on rich's global console: keep it on
    # stderr, so that stdout holds only results (and nothing but JSON under --json).
    rich.reconfigure(stderr=True)


# ---------------------------------------------------------------------------- helpers


def _load_model(model_dir: Path, threads: int | None = None) -> Any:
    import vecae

    model = vecae.load(model_dir)
    if threads is not None:
        model.set_params(n_threads=threads)
    return model


def _kind(model: Any) -> str:
    return {"dense": "dense", "variational": "vae", "categorical": "categorical"}[model._kind]


def _has_fields(model: Any) -> bool:
    return model._kind == "categorical" and getattr(model, "categories_", None) is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_width(source: Path, dim: int, model: Any, model_dir: Path) -> None:
    expected = int(model.n_features_in_)
    if dim != expected:
        raise DimensionMismatchError(
            f"{source}: vectors have {dim} dimensions, but the model in {model_dir} expects "
            f"{expected}"
        )


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


def _read_categorical(path: Path, key_column: str | None, columns: str | None) -> tuple[Any, Any]:
    """Rows for a categorical model: (X, keys) from a sparse .npz or a table of columns."""
    from vecae.io import detect_format, read_categorical_table, read_sparse

    if path.suffix.lower() in TABLE_SUFFIXES:
        wanted = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
        table = read_categorical_table(path, columns=wanted, key_column=key_column)
        X = np.stack([table.columns[name] for name in table.columns], axis=1)
        return X, table.keys
    if detect_format(path) == "sparse-npz":
        matrix, keys = read_sparse(path)
        return matrix, keys
    raise InputError(
        f"{path}: --model categorical needs a sparse .npz of multi-hot rows or a CSV/TSV/Parquet "
        "table of categorical columns"
    )


def _fmt(value: Any, digits: int = 5) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.{digits}g}"
    return str(value)


def _history_summary(model: Any) -> dict[str, Any]:
    history = getattr(model, "history_", {}) or {}
    train = list(history.get("train_loss", []))
    val = [v for v in history.get("val_loss", [])]
    best = int(getattr(model, "best_epoch_", 0))
    best_val = val[best - 1] if 0 < best <= len(val) else None
    return {
        "epochs_run": int(getattr(model, "n_epochs_", len(train))),
        "best_epoch": best,
        "stop_reason": getattr(model, "stop_reason_", None),
        "final_train_loss": train[-1] if train else None,
        "final_val_loss": val[-1] if val else None,
        "best_val_loss": best_val,
        "seconds": getattr(model, "fit_seconds_", None),
    }


def _epoch_table(model: Any, limit: int = 30) -> tuple[Table, str | None]:
    history = model.history_
    train = history.get("train_loss", [])
    val = history.get("val_loss", [])
    lr = history.get("learning_rate", [])
    n = len(train)
    table = Table(title="Training history")
    for name in ("epoch", "train loss", "val loss", "learning rate"):
        table.add_column(name, justify="right")
    if n <= limit:
        shown = list(range(n))
        note = None
    else:
        step = -(-n // limit)
        shown = sorted({*range(0, n, step), n - 1, max(int(model.best_epoch_) - 1, 0)})
        note = f"every {step}th epoch shown, plus the best and the last; --json has all {n}"
    best = int(model.best_epoch_)
    for i in shown:
        mark = " *" if i + 1 == best else ""
        table.add_row(
            f"{i + 1}{mark}",
            _fmt(train[i]),
            _fmt(val[i] if i < len(val) else None),
            _fmt(lr[i] if i < len(lr) else None, 3),
        )
    return table, note


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in rows:
        table.add_row(key, _fmt(value) if isinstance(value, float) else str(value))
    return table


def _neighbour_table(title: str, results: list[tuple[str, float]], metric: str) -> Table:
    table = Table(title=title)
    table.add_column("rank", justify="right")
    table.add_column("key")
    table.add_column("similarity" if metric == "cosine" else "-distance²", justify="right")
    for rank, (key, score) in enumerate(results, start=1):
        table.add_row(str(rank), key, f"{score:.4f}")
    return table


def _encode_stream(
    model: Any, model_dir: Path, path: Path, fmt: str | None, batch_size: int, out: Output
) -> Any:
    """Open ``path`` for streaming and check its width against the model."""
    from vecae.io import iter_embeddings

    return iter_embeddings(path, fmt, batch_size=batch_size)


def _encoded_batches(model: Any, model_dir: Path, path: Path, stream: Any) -> Any:
    """``(keys, vectors, encodings)`` per batch; the width is checked on the data itself, so
    a header that lies about the dimension is reported as such by the reader first."""
    for keys, vectors in stream:
        _check_width(path, int(vectors.shape[1]), model, model_dir)
        encodings = model.transform(vectors)
        yield keys, vectors, encodings


# ---------------------------------------------------------------------------- fit


@app.command()
@guarded
def fit(
    input: Annotated[
        Path,
        typer.Argument(
            help="Embeddings file; for --model categorical a sparse .npz or a CSV/Parquet "
            "table of categorical columns."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write.")],
    model: Annotated[ModelKind, typer.Option("--model", help="Model family.")] = ModelKind.vae,
    latent_dim: Annotated[int | None, typer.Option(min=1, help="Encoding width.")] = None,
    hidden: Annotated[
        str | None, typer.Option(help="Encoder hidden widths, e.g. 128,64 ('none': linear).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=0, help="Maximum epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Rows per step.")] = None,
    noise: Annotated[
        float | None, typer.Option(min=0.0, help="Denoising: Gaussian noise std on inputs.")
    ] = None,
    beta: Annotated[float | None, typer.Option(min=0.0, help="KL weight (vae).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible fits).")] = None,
    threads: ThreadsOpt = None,
    format: Annotated[str | None, typer.Option("--format", help="Input format override.")] = None,
    validation_fraction: Annotated[
        float | None, typer.Option(help="Share of rows held out for early stopping.")
    ] = None,
    patience: Annotated[
        int | None, typer.Option(min=1, help="Epochs without improvement before stopping.")
    ] = None,
    contamination: Annotated[
        float | None, typer.Option(help="Expected share of anomalies (sets the threshold).")
    ] = None,
    key_column: Annotated[
        str | None, typer.Option(help="Categorical tables: a column of row keys to skip.")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Categorical tables: the columns to use, a,b,c.")
    ] = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train an autoencoder on INPUT and save it to a model directory."""
    out = Output(json_mode=json_output, quiet=quiet)
    refuse_existing(output, overwrite, "model directory")
    estimator = build_estimator(
        model.value,
        latent_dim=latent_dim,
        hidden=parse_hidden(hidden),
        epochs=epochs,
        batch_size=batch_size,
        noise_std=noise,
        beta=beta,
        random_state=seed,
        n_threads=threads,
        validation_fraction=validation_fraction,
        patience=patience,
        contamination=contamination,
        verbose=out.show_progress,
    )
    started = time.perf_counter()
    with out.step(f"reading {input}"):
        if model is ModelKind.categorical:
            X, _ = _read_categorical(input, key_column, columns)
        else:
            if key_column is not None or columns is not None:
                raise CliError("--key-column/--columns apply only to --model categorical")
            from vecae.io import read_embeddings

            X = read_embeddings(input, format).vectors
    n_rows, width = int(X.shape[0]), int(X.shape[1])
    out.info(f"training a {model.value} autoencoder on {n_rows:,} rows x {width}")
    estimator.fit(X)
    saved = estimator.save(output, overwrite=overwrite)
    total = time.perf_counter() - started

    summary = {
        "model_dir": str(saved),
        "kind": model.value,
        "n_rows": n_rows,
        "n_features": int(estimator.n_features_in_),
        "latent_dim": int(estimator.latent_dim),
        **_history_summary(estimator),
        "total_seconds": total,
        "threshold": float(estimator.threshold_),
        "history": estimator.history_,
    }
    if out.json_mode:
        out.emit_json(summary)
        return
    table, note = _epoch_table(estimator)
    out.print(table)
    if note:
        out.print(f"[dim]{note}[/dim]")
    out.print(
        _kv_table(
            "Summary",
            [
                ("model", f"{model.value}: {width} -> {estimator.latent_dim} dimensions"),
                ("rows", f"{n_rows:,}"),
                ("final train loss", summary["final_train_loss"]),
                ("final val loss", summary["final_val_loss"]),
                ("best val loss", summary["best_val_loss"]),
                ("epochs run", summary["epochs_run"]),
                ("best epoch", summary["best_epoch"]),
                ("stopped because", summary["stop_reason"]),
                ("time", f"{summary['seconds']:.1f} s training, {total:.1f} s in all"),
                ("written to", str(saved)),
            ],
        )
    )


# ---------------------------------------------------------------------------- encode


@app.command()
@guarded
def encode(
    model_dir: ModelDirArg,
    input: InputArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Encodings file to write.")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="Output format (default: the input's, or by extension)."),
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Input format override.")
    ] = None,
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
    from vecae.io import EmbeddingWriter, write_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    refuse_existing(output, overwrite)
    model = _load_model(model_dir, threads)
    started = time.perf_counter()
    n = 0
    if model._kind == "categorical" and input.suffix.lower() in TABLE_SUFFIXES:
        if not _has_fields(model):
            raise InputError(
                f"{input}: the model in {model_dir} was fitted on sparse multi-hot rows; "
                "encode a sparse .npz"
            )
        X, keys = _read_categorical(input, key_column, None)
        _check_width(input, X.shape[1], model, model_dir)
        with out.step(f"encoding {input}"):
            Z = model.transform(X)
        write_embeddings(output, Z, keys, format, overwrite=overwrite)
        n = len(Z)
        written_format = format or output.suffix.lstrip(".")
    else:
        stream = _encode_stream(model, model_dir, input, input_format, batch_size, out)
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
            for keys, vectors, Z in _encoded_batches(model, model_dir, input, stream):
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


# ---------------------------------------------------------------------------- info


@app.command()
@guarded
def info(model_dir: ModelDirArg, json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Describe a model: kind, dimensions, preprocessing, hyper-parameters, training."""
    out = Output(json_mode=json_output, quiet=quiet)
    model = _load_model(model_dir)
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    kind = _kind(model)
    data: dict[str, Any] = {
        "model_dir": str(model_dir),
        "kind": kind,
        "estimator": type(model).__name__,
        "n_features": int(model.n_features_in_),
        "latent_dim": int(model.latent_dim),
        "params": model.get_params(),
        "training": _history_summary(model),
        "threshold": float(model.threshold_),
        "versions": config.get("versions", {}),
        "config_sha256": _sha256(config_path),
    }
    if hasattr(model, "scaler_"):
        data["preprocessing"] = model.scaler_.settings()
    if model._kind == "categorical":
        data["preprocessing"] = {
            "likelihood": model.likelihood_,
            "one_hot_width": int(model.one_hot_width_),
            "field_sizes": list(model.field_sizes_),
            "input": "categorical columns" if _has_fields(model) else "sparse multi-hot rows",
        }
    data["params"].pop("verbose", None)
    if out.json_mode:
        out.emit_json(data)
        return
    training = data["training"]
    out.print(
        _kv_table(
            f"Model {model_dir}",
            [
                ("kind", f"{kind} ({data['estimator']})"),
                ("dimensions", f"{data['n_features']} -> {data['latent_dim']}"),
                *((f"preprocessing: {k}", v) for k, v in data["preprocessing"].items()),
                ("anomaly threshold", data["threshold"]),
                ("vecae version", data["versions"].get("vecae", "?")),
            ],
        )
    )
    params = [(k, v) for k, v in sorted(data["params"].items())]
    out.print(_kv_table("Hyper-parameters", params))
    out.print(
        _kv_table(
            "Training",
            [
                ("epochs run", training["epochs_run"]),
                ("best epoch", training["best_epoch"]),
                ("stopped because", training["stop_reason"]),
                ("final train loss", training["final_train_loss"]),
                ("final val loss", training["final_val_loss"]),
                ("best val loss", training["best_val_loss"]),
                ("time", f"{_fmt(training['seconds'], 3)} s"),
            ],
        )
    )


# ---------------------------------------------------------------------------- demo


@app.command()
@guarded
def demo(
    words: Annotated[
        int, typer.Option(min=100, help="Train on the N most frequent GloVe words.")
    ] = 100_000,
    epochs: Annotated[
        int | None, typer.Option(min=0, help="Maximum epochs (default: the VAE's).")
    ] = None,
    latent_dim: Annotated[int, typer.Option(min=1, help="Encoding width.")] = 25,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: ThreadsOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """The main job: compress GloVe 6B 50d with a VAE and compare it with PCA baselines."""
    from vecae.cli._demo import run_demo

    out = Output(json_mode=json_output, quiet=quiet)
    run_demo(out, n_words=words, epochs=epochs, latent_dim=latent_dim, seed=seed, threads=threads)


# ---------------------------------------------------------------------------- index


@index_app.command("build")
@guarded
def index_build(
    model_dir: ModelDirArg,
    input: InputArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Index directory to write.")],
    metric: Annotated[MetricName, typer.Option(help="Similarity.")] = MetricName.cosine,
    kind: Annotated[IndexKind, typer.Option(help="flat (exact), hnsw or ivf.")] = IndexKind.flat,
    hnsw_m: Annotated[int | None, typer.Option(min=2, help="HNSW graph degree.")] = None,
    ef_search: Annotated[int | None, typer.Option(min=1, help="HNSW search depth.")] = None,
    n_lists: Annotated[int | None, typer.Option(min=1, help="IVF cells.")] = None,
    n_probe: Annotated[int | None, typer.Option(min=1, help="IVF cells probed.")] = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Input format override.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch.")] = 8192,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Encode INPUT with a model and build a nearest-neighbour index over the encodings."""
    from vecae.index import VectorIndex

    out = Output(json_mode=json_output, quiet=quiet)
    refuse_existing(output, overwrite, "index directory")
    model = _load_model(model_dir, threads)
    stream = _encode_stream(model, model_dir, input, input_format, batch_size, out)
    parts: list[np.ndarray] = []
    keys: list[str] = []
    with out.progress(f"encoding {input.name}", total=stream.n_rows) as advance:
        for batch_keys, vectors, Z in _encoded_batches(model, model_dir, input, stream):
            parts.append(Z)
            if batch_keys is None:
                keys.extend(str(i) for i in range(len(keys), len(keys) + len(vectors)))
            else:
                keys.extend(batch_keys)
            advance(len(vectors))
    encodings = np.concatenate(parts)
    del parts
    knobs = {"hnsw_m": hnsw_m, "ef_search": ef_search, "n_lists": n_lists, "n_probe": n_probe}
    model_info = {
        "model_dir": str(model_dir.resolve()),
        "config_sha256": _sha256(model_dir / "config.json"),
    }
    started = time.perf_counter()
    with out.step(f"building a {kind.value} index over {len(keys):,} vectors"):
        index = VectorIndex.build(
            encodings,
            keys,
            metric=metric.value,
            kind=kind.value,
            model_info=model_info,
            **{name: value for name, value in knobs.items() if value is not None},
        )
    with atomic_dir(output, overwrite=overwrite) as staging:
        index.save(staging)
    result = {
        "index_dir": str(output),
        "n": len(index),
        "dim": index.dim,
        "metric": index.metric,
        "kind": index.kind,
        "params": index.params,
        "model_info": model_info,
        "seconds": time.perf_counter() - started,
    }
    out.emit_json(result)
    out.print(
        f"indexed {len(index):,} encodings ({index.dim}-d, {index.metric}, {index.kind}) "
        f"in {output}"
    )


def _query_model(index: Any, model_dir: Path | None, out: Output) -> tuple[Any, Path]:
    info = index.model_info or {}
    if model_dir is None:
        recorded = info.get("model_dir")
        if recorded is None:
            raise CliError("this index records no model; pass --model MODEL_DIR")
        model_dir = Path(recorded)
        if not model_dir.exists():
            raise ModelFileError(
                f"{model_dir}: the model this index was built with is gone; pass --model"
            )
    config = model_dir / "config.json"
    recorded_sha = info.get("config_sha256")
    if recorded_sha and config.is_file() and _sha256(config) != recorded_sha:
        out.err.print(
            f"warning: {model_dir}: this is not the model the index was built with "
            "(config.json differs); results may be meaningless"
        )
    return _load_model(model_dir), model_dir


@app.command()
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
    queries: list[tuple[str, list[tuple[str, float]]]] = []
    if key is not None:
        queries.append((key, index.search_keys([key], k)[0]))
    elif keys is not None:
        items = [part.strip() for part in keys.split(",") if part.strip()]
        if not items:
            raise CliError("--keys: no keys given")
        queries.append((",".join(items), index.similar_to_items(items, k)))
    else:
        assert vectors is not None
        from vecae.io import read_embeddings

        emb = read_embeddings(vectors)
        Q = np.asarray(emb.vectors, dtype=np.float32)
        if model_dir is not None or emb.dim != index.dim:
            model, used_dir = _query_model(index, model_dir, out)
            _check_width(vectors, emb.dim, model, used_dir)
            Q = model.transform(Q)
        names = emb.keys if emb.keys is not None else [f"row {i + 1}" for i in range(len(Q))]
        for name, result in zip(names, index.search(Q, k), strict=True):
            queries.append((name, result))
    if out.json_mode:
        out.emit_json(
            {
                "index_dir": str(index_dir),
                "metric": index.metric,
                "k": k,
                "results": [
                    {
                        "query": name,
                        "neighbors": [{"key": kk, "score": float(s)} for kk, s in result],
                    }
                    for name, result in queries
                ],
            }
        )
        return
    for name, result in queries:
        title = f"like {name}" if keys is not None else f"neighbours of {name}"
        out.print(_neighbour_table(title, result, index.metric))


# ---------------------------------------------------------------------------- anomalies


def _write_table(path: Path, columns: dict[str, list[Any]], overwrite: bool) -> None:
    """Write a small table atomically as CSV, TSV or Parquet, by extension."""
    import csv

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".tab", ".parquet", ".pq"):
        raise CliError(f"{path}: expected a .csv, .tsv or .parquet output file")
    with atomic_path(path, overwrite=overwrite) as temp:
        if suffix in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table(columns), temp)
        else:
            names = list(columns)
            with temp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, delimiter="," if suffix == ".csv" else "\t")
                writer.writerow(names)
                writer.writerows(zip(*(columns[n] for n in names), strict=True))


@app.command()
@guarded
def anomalies(
    model_dir: ModelDirArg,
    input: InputArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Scores file: .csv, .tsv or .parquet.")
    ],
    contamination: Annotated[
        float | None,
        typer.Option(help="Flag this share, as a quantile of the model's training scores."),
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Flag scores above this.")] = None,
    top: Annotated[int, typer.Option(min=0, help="How many top anomalies to print.")] = 20,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Input format override.")
    ] = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score every row of INPUT as an anomaly; write key, score, flag; print the top ones."""
    from vecae.io import read_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    if contamination is not None and threshold is not None:
        raise CliError("give --contamination or --threshold, not both")
    from vecae.anomaly import score_anomalies

    refuse_existing(output, overwrite)
    model = _load_model(model_dir, threads)
    with out.step(f"reading {input}"):
        emb = read_embeddings(input, input_format)
    _check_width(input, emb.dim, model, model_dir)
    with out.step(f"scoring {len(emb):,} rows"):
        report = score_anomalies(
            model, emb.vectors, emb.keys, threshold=threshold, contamination=contamination
        )
    scores = np.asarray(report.scores, dtype=np.float64)
    flags = np.asarray(report.flags, dtype=bool)
    keys = list(emb.keys) if emb.keys is not None else [str(i) for i in range(len(scores))]
    _write_table(
        output,
        {"key": keys, "score": scores.tolist(), "flag": flags.astype(int).tolist()},
        overwrite,
    )
    order = np.argsort(-scores, kind="stable")[:top]
    ranked = [(keys[i], float(scores[i]), bool(flags[i])) for i in order]
    summary = {
        "output": str(output),
        "rows": len(scores),
        "flagged": int(flags.sum()),
        "threshold": float(report.threshold),
        "top": [{"key": kk, "score": s, "flag": f} for kk, s, f in ranked],
    }
    if out.json_mode:
        out.emit_json(summary)
        return
    table = Table(title=f"Top {len(ranked)} anomalies (threshold {report.threshold:.5g})")
    table.add_column("rank", justify="right")
    table.add_column("key")
    table.add_column("score", justify="right")
    table.add_column("flag")
    for rank, (kk, s, f) in enumerate(ranked, start=1):
        table.add_row(str(rank), kk, f"{s:.5g}", "yes" if f else "")
    out.print(table)
    out.print(f"{summary['flagged']:,} of {len(scores):,} rows flagged; scores written to {output}")


# ---------------------------------------------------------------------------- sample


@app.command()
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
        refuse_existing(output, overwrite)
    model = _load_model(model_dir)
    if model._kind != "variational":
        raise CliError(
            f"{model_dir}: sample needs a VAE (vecae fit --model vae); this is a {_kind(model)} "
            "model"
        )
    X = model.sample(n, random_state=seed)
    names = [f"sample-{i + 1}" for i in range(n)]
    results: list[list[tuple[str, float]]] | None = None
    metric = "cosine"
    if index_dir is not None:
        from vecae.index import VectorIndex

        index = VectorIndex.load(index_dir)
        recorded = (index.model_info or {}).get("config_sha256")
        if recorded and recorded != _sha256(model_dir / "config.json"):
            out.err.print(
                f"warning: {index_dir}: the index was built with another model; "
                "neighbours may be meaningless"
            )
        results = index.search(model.transform(X), k)
        metric = index.metric
    if output is not None:
        from vecae.io import write_embeddings

        write_embeddings(output, X, names, overwrite=overwrite)
    if out.json_mode:
        data: dict[str, Any] = {
            "samples": [
                {"name": name, "vector": X[i].tolist()}
                | (
                    {}
                    if results is None
                    else {"neighbors": [{"key": kk, "score": float(s)} for kk, s in results[i]]}
                )
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


# ---------------------------------------------------------------------------- recommend


def _interactions(path: Path, user_col: str, item_col: str, weight_col: str | None) -> Any:
    from vecae.io import read_interactions
    from vecae.recommend import InteractionMatrix

    data = read_interactions(path, user_col=user_col, item_col=item_col, weight_col=weight_col)
    return InteractionMatrix.from_pairs(data.users.tolist(), data.items.tolist(), data.weights)


UserColOpt = Annotated[str, typer.Option(help="Column of user ids.")]
ItemColOpt = Annotated[str, typer.Option(help="Column of item ids.")]
WeightColOpt = Annotated[str | None, typer.Option(help="Optional column of weights.")]


@recommender_app.command("fit")
@guarded
def recommender_fit(
    interactions: Annotated[Path, typer.Argument(help="user,item[,weight] CSV/TSV/Parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write.")],
    user_col: UserColOpt = "user",
    item_col: ItemColOpt = "item",
    weight_col: WeightColOpt = None,
    epochs: Annotated[int | None, typer.Option(min=0, help="Maximum epochs.")] = None,
    latent_dim: Annotated[int | None, typer.Option(min=1, help="Encoding width.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a Mult-DAE style recommender on user-item interactions."""
    from vecae.recommend import Recommender

    out = Output(json_mode=json_output, quiet=quiet)
    refuse_existing(output, overwrite, "model directory")
    with out.step(f"reading {interactions}"):
        matrix = _interactions(interactions, user_col, item_col, weight_col)
    out.info(f"{matrix.n_users:,} users x {matrix.n_items:,} items")
    # Only what the user set: the recommender's own (Mult-DAE) defaults apply otherwise.
    params = {
        "epochs": epochs,
        "latent_dim": latent_dim,
        "random_state": seed,
        "n_threads": threads,
    }
    recommender = Recommender.fit(
        matrix,
        verbose=out.show_progress,
        **{name: value for name, value in params.items() if value is not None},
    )
    saved = recommender.save(output, overwrite=overwrite)
    summary = {
        "model_dir": str(saved),
        "n_users": matrix.n_users,
        "n_items": matrix.n_items,
        **_history_summary(recommender.model),
    }
    out.emit_json(summary)
    out.print(
        _kv_table(
            "Recommender",
            [
                ("interactions", f"{matrix.n_users:,} users x {matrix.n_items:,} items"),
                ("epochs run", summary["epochs_run"]),
                ("stopped because", summary["stop_reason"]),
                ("final val loss", summary["final_val_loss"]),
                ("written to", str(saved)),
            ],
        )
    )


def _read_history(path: Path, item_col: str) -> list[str]:
    if path.suffix.lower() in TABLE_SUFFIXES:
        from vecae.io import read_categorical_table

        table = read_categorical_table(path, columns=[item_col])
        return [str(v) for v in table.columns[item_col] if str(v)]
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 text ({exc.reason})") from None
    items = [line.strip() for line in text.splitlines() if line.strip()]
    if not items:
        raise InputError(f"{path}: no items (expected one item id per line)")
    return items


@app.command()
@guarded
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="Written by `vecae recommender fit`.")],
    user: Annotated[str | None, typer.Option(help="A user seen in training.")] = None,
    history: Annotated[
        Path | None,
        typer.Option(help="A new user's items: one per line, or a table with --item-col."),
    ] = None,
    item_col: ItemColOpt = "item",
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Items to recommend.")] = 10,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Top items a user has not interacted with yet."""
    from vecae.recommend import Recommender

    out = Output(json_mode=json_output, quiet=quiet)
    if (user is None) == (history is None):
        raise CliError("give exactly one of --user or --history")
    recommender = Recommender.load(model_dir)
    if user is not None:
        items = recommender.recommend_user(user, k)
        who = f"user {user}"
    else:
        assert history is not None
        items = recommender.recommend_history(_read_history(history, item_col), k)
        who = f"the history in {history}"
    if out.json_mode:
        out.emit_json(
            {
                "query": user if user is not None else str(history),
                "items": [{"item": i, "score": float(s)} for i, s in items],
            }
        )
        return
    table = Table(title=f"Top {len(items)} items for {who}")
    table.add_column("rank", justify="right")
    table.add_column("item")
    table.add_column("score", justify="right")
    for rank, (item, score) in enumerate(items, start=1):
        table.add_row(str(rank), item, f"{score:.4f}")
    out.print(table)


@recommender_app.command("evaluate")
@guarded
def recommender_evaluate(
    interactions: Annotated[Path, typer.Argument(help="user,item[,weight] CSV/TSV/Parquet.")],
    user_col: UserColOpt = "user",
    item_col: ItemColOpt = "item",
    weight_col: WeightColOpt = None,
    heldout_users: Annotated[
        int | None, typer.Option(min=1, help="Users held out for testing.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=0, help="Maximum epochs.")] = None,
    latent_dim: Annotated[int | None, typer.Option(min=1, help="Encoding width.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the split.")] = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Recall@20 and NDCG@100 of vecae against most-popular and item-kNN on held-out users."""
    from vecae.recommend import compare_recommenders

    out = Output(json_mode=json_output, quiet=quiet)
    with out.step(f"reading {interactions}"):
        matrix = _interactions(interactions, user_col, item_col, weight_col)
    params = {"epochs": epochs, "latent_dim": latent_dim}
    with out.step("training and evaluating"):
        rows = compare_recommenders(
            matrix,
            n_heldout_users=heldout_users,
            random_state=seed,
            **{name: value for name, value in params.items() if value is not None},
        )
    if out.json_mode:
        out.emit_json({"rows": rows})
        return
    table = Table(title=f"Held-out users ({matrix.n_users:,} users, {matrix.n_items:,} items)")
    columns = list(rows[0]) if rows else []
    for c in columns:
        table.add_column(c, justify="left" if c == "method" else "right")
    for row in rows:
        table.add_row(*(_fmt(row.get(c), 4) for c in columns))
    out.print(table)


# ---------------------------------------------------------------------------- evaluate


def _label_mapping(path: Path) -> dict[str, str]:
    """A key -> label mapping from a two-column CSV/TSV/Parquet table (with a header)."""
    from vecae.io import read_categorical_table

    table = read_categorical_table(path)
    names = list(table.columns)
    if len(names) < 2:
        raise InputError(f"{path}: expected two columns (key, label), found {names}")
    keys, labels = table.columns[names[0]], table.columns[names[1]]
    return {str(kk): str(v) for kk, v in zip(keys, labels, strict=True)}


@app.command()
@guarded
def evaluate(
    model_dir: ModelDirArg,
    input: InputArg,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated: intrinsic,wordsim,pairs,classification,anomaly,noise."),
    ] = None,
    metric: Annotated[MetricName, typer.Option(help="Neighbourhood metric.")] = MetricName.cosine,
    labels: Annotated[
        Path | None, typer.Option(help="key,label table: enables classification.")
    ] = None,
    pairs: Annotated[
        Path | None, typer.Option(help="TSV of key1 key2 score: enables pairs.")
    ] = None,
    anomaly_labels: Annotated[
        Path | None, typer.Option(help="key,label table (1 = anomaly): enables anomaly.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option(help="Also write the report as Markdown here.")
    ] = None,
    n_eval: Annotated[int, typer.Option(min=10, help="Evaluation rows (a sample).")] = 10_000,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Input format override.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of samples and splits.")] = 0,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare a model's encodings of INPUT with PCA-family baselines at the same width."""
    from vecae.evaluate import evaluate as run_evaluation
    from vecae.io import read_embeddings

    out = Output(json_mode=json_output, quiet=quiet)
    if markdown is not None:
        refuse_existing(markdown, overwrite)
    model = _load_model(model_dir)
    with out.step(f"reading {input}"):
        emb = read_embeddings(input, input_format)
    _check_width(input, emb.dim, model, model_dir)
    task_list = None if tasks is None else [t.strip() for t in tasks.split(",") if t.strip()]
    anomaly_map = None
    if anomaly_labels is not None:
        raw = _label_mapping(anomaly_labels)
        try:
            anomaly_map = {kk: int(float(v)) for kk, v in raw.items()}
        except ValueError:
            raise InputError(f"{anomaly_labels}: anomaly labels must be 0 or 1") from None
    with out.step("evaluating"):
        report = run_evaluation(
            model,
            emb.vectors,
            keys=emb.keys,
            tasks=task_list,
            metric=metric.value,
            labels=None if labels is None else _label_mapping(labels),
            anomaly_labels=anomaly_map,
            pairs=pairs,
            n_eval=n_eval,
            random_state=seed,
        )
    if markdown is not None:
        with atomic_path(markdown, overwrite=overwrite) as temp:
            temp.write_text(report.to_markdown(), encoding="utf-8")
    if out.json_mode:
        out.emit_json(json.loads(report.to_json()))
        return
    report.print(out.out)
    if markdown is not None:
        out.print(f"markdown report written to {markdown}")
