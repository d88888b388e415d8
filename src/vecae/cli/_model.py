"""``vecae fit`` and ``vecae info``: train a model, and describe one."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vecae._artefact import MODEL
from vecae.cli._display import format_value, history_summary, kv_table
from vecae.cli._estimators import build_estimator, parse_hidden, parse_widths
from vecae.cli._loading import (
    config_sha256,
    has_fields,
    kind_name,
    load_model,
    read_categorical,
)
from vecae.cli._options import (
    JsonOpt,
    ModelDirArg,
    ModelKind,
    OverwriteOpt,
    QuietOpt,
    ScaleMode,
    ThreadsOpt,
)
from vecae.cli._output import CliError, Output, claim_output, guarded

__all__ = ["fit", "info"]


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
            format_value(train[i]),
            format_value(val[i] if i < len(val) else None),
            format_value(lr[i] if i < len(lr) else None, 3),
        )
    return table, note


# ---------------------------------------------------------------------------- fit


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
    model: Annotated[ModelKind, typer.Option("--model", help="Model family.")] = "vae",
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
    mask: Annotated[
        float | None, typer.Option(min=0.0, max=0.99, help="Denoising: share of inputs zeroed.")
    ] = None,
    scale: Annotated[
        ScaleMode | None,
        typer.Option(help="Input scaling: one global std, per feature (tabular data), or none."),
    ] = None,
    normalize: Annotated[
        bool | None, typer.Option("--normalize/--no-normalize", help="L2-normalise rows first.")
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="dense/vae: 'similarity' (keep the originals' cosine similarities; codes for "
            "search, --dim and --precision) or 'reconstruction'."
        ),
    ] = None,
    nested_dims: Annotated[
        str | None,
        typer.Option(help="dense/vae: smaller code sizes trained at once, e.g. 128,64,32."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible fits).")] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="'local' (this process) or 'torchrun' (data-parallel over --nproc processes "
            "with torch.distributed: gloo on CPU, NCCL on GPUs)."
        ),
    ] = "local",
    nproc: Annotated[int, typer.Option(min=1, help="Processes for --engine torchrun.")] = 2,
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
    claim_output(output, overwrite, kind=MODEL, inputs=[input])
    estimator = build_estimator(
        model,
        latent_dim=latent_dim,
        hidden=parse_hidden(hidden),
        epochs=epochs,
        batch_size=batch_size,
        noise_std=noise,
        mask_rate=mask,
        beta=beta,
        scale=scale,
        normalize=normalize,
        objective=objective,
        nested_dims=parse_widths(nested_dims, "--nested-dims"),
        random_state=seed,
        n_threads=threads,
        validation_fraction=validation_fraction,
        patience=patience,
        contamination=contamination,
    )
    if engine not in ("local", "torchrun"):
        raise CliError(f"--engine: expected local or torchrun, got {engine!r}")
    started = time.perf_counter()
    with out.step(f"reading {input}"):
        if model == "categorical":
            X, _ = read_categorical(input, key_column, columns)
        else:
            if key_column is not None or columns is not None:
                raise CliError("--key-column/--columns apply only to --model categorical")
            from vecae.io import read_embeddings

            X = read_embeddings(input, format).vectors
    n_rows, width = int(X.shape[0]), int(X.shape[1])
    out.info(f"training a {model} autoencoder on {n_rows:,} rows x {width}")
    if engine == "torchrun":
        if model == "categorical":
            raise CliError("--engine torchrun trains dense and vae models")
        import tempfile

        import vecae
        from vecae.cli._output import jsonable
        from vecae.distributed._ddp import fit_with_torchrun

        # The workers save to a scratch directory; this process holds the claim on OUTPUT
        # and writes the model there itself, through the same path as a local fit.
        with (
            tempfile.TemporaryDirectory(prefix=".vecae-ddp-") as scratch,
            out.step(f"training on {nproc} processes (torchrun, data-parallel)"),
        ):
            fit_with_torchrun(
                estimator.kind,
                jsonable(estimator.get_params()),
                input,
                Path(scratch) / "model",
                nproc=nproc,
                format=format,
            )
            estimator = vecae.load(Path(scratch) / "model")
        saved = estimator.save(output, overwrite=overwrite)
    else:
        from vecae.cli._progress import training_callbacks

        estimator.fit(X, callbacks=training_callbacks(out))
        saved = estimator.save(output, overwrite=overwrite)
    total = time.perf_counter() - started

    summary = {
        "model_dir": str(saved),
        "kind": model,
        "n_rows": n_rows,
        "n_features": int(estimator.n_features_in_),
        "latent_dim": int(estimator.latent_dim),
        **history_summary(estimator),
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
        kv_table(
            "Summary",
            [
                ("model", f"{model}: {width} -> {estimator.latent_dim} dimensions"),
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


# ---------------------------------------------------------------------------- info


@guarded
def info(model_dir: ModelDirArg, json_output: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Describe a model: kind, dimensions, preprocessing, hyper-parameters, training."""
    out = Output(json_mode=json_output, quiet=quiet)
    model = load_model(model_dir)
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    kind = kind_name(model)
    data: dict[str, Any] = {
        "model_dir": str(model_dir),
        "kind": kind,
        "estimator": type(model).__name__,
        "n_features": int(model.n_features_in_),
        "latent_dim": int(model.latent_dim),
        "params": model.get_params(),
        "training": history_summary(model),
        "threshold": float(model.threshold_),
        "versions": config.get("versions", {}),
        "config_sha256": config_sha256(model_dir),
    }
    if hasattr(model, "scaler_"):
        data["preprocessing"] = model.scaler_.settings()
    if model.kind == "categorical":
        data["preprocessing"] = {
            "likelihood": model.likelihood_,
            "one_hot_width": int(model.one_hot_width_),
            "field_sizes": list(model.field_sizes_),
            "input": "categorical columns" if has_fields(model) else "sparse multi-hot rows",
        }
    data["params"].pop("verbose", None)
    if out.json_mode:
        out.emit_json(data)
        return
    training = data["training"]
    out.print(
        kv_table(
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
    out.print(kv_table("Hyper-parameters", params))
    out.print(
        kv_table(
            "Training",
            [
                ("epochs run", training["epochs_run"]),
                ("best epoch", training["best_epoch"]),
                ("stopped because", training["stop_reason"]),
                ("final train loss", training["final_train_loss"]),
                ("final val loss", training["final_val_loss"]),
                ("best val loss", training["best_val_loss"]),
                ("time", f"{format_value(training['seconds'], 3)} s"),
            ],
        )
    )
