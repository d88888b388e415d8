"""``vecae evaluate``: a model's encodings against PCA-family baselines of the same width."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import json
from pathlib import Path
from typing import Annotated

import typer

from vecae import InputError
from vecae.cli._loading import load_model, read_embeddings_for
from vecae.cli._options import (
    InputArg,
    InputFormatOpt,
    JsonOpt,
    MetricName,
    ModelDirArg,
    OverwriteOpt,
    QuietOpt,
    split_commas,
)
from vecae.cli._output import Output, atomic_path, claim_output, guarded

__all__ = ["evaluate"]


def _label_mapping(path: Path) -> dict[str, str]:
    """A key -> label mapping from a two-column CSV/TSV/Parquet table (with a header)."""
    from vecae.io import read_categorical_table

    table = read_categorical_table(path)
    names = list(table.columns)
    if len(names) < 2:
        raise InputError(f"{path}: expected two columns (key, label), found {names}")
    keys, labels = table.columns[names[0]], table.columns[names[1]]
    return {str(kk): str(v) for kk, v in zip(keys, labels, strict=True)}


@guarded
def evaluate(
    model_dir: ModelDirArg,
    input: InputArg,
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated: intrinsic,wordsim,pairs,classification,anomaly,noise."),
    ] = None,
    metric: Annotated[MetricName, typer.Option(help="Neighbourhood metric.")] = "cosine",
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
    html: Annotated[
        Path | None, typer.Option(help="Also write the report as an offline HTML page here.")
    ] = None,
    n_eval: Annotated[int, typer.Option(min=10, help="Evaluation rows (a sample).")] = 10_000,
    holdout: Annotated[
        float | None,
        typer.Option(
            help=(
                "Hold out this share of INPUT's rows (seeded): refit the model (same settings) "
                "and every baseline on the rest, and report the held-out rows. Without it the "
                "rows are a sample of INPUT, labelled in-sample."
            ),
        ),
    ] = None,
    input_format: InputFormatOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed of samples and splits.")] = 0,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare a model's encodings of INPUT with PCA-family baselines at the same width.

    The evaluation rows are a sample of INPUT, which the model was usually fitted on: the
    report labels them in-sample. --holdout F refits the model without a share F of the rows
    and reports those (held-out).
    """
    from vecae.evaluate import evaluate as run_evaluation

    out = Output(json_mode=json_output, quiet=quiet)
    if markdown is not None:
        claim_output(markdown, overwrite)
    if html is not None:
        claim_output(html, overwrite, inputs=[model_dir, input])
    model = load_model(model_dir)
    emb = read_embeddings_for(model, model_dir, input, input_format, out)
    task_list = None if tasks is None else split_commas(tasks)
    anomaly_map = None
    if anomaly_labels is not None:
        raw = _label_mapping(anomaly_labels)
        try:
            anomaly_map = {kk: int(float(v)) for kk, v in raw.items()}
        except ValueError:
            raise InputError(f"{anomaly_labels}: anomaly labels must be 0 or 1") from None
    step = "evaluating"
    if holdout is not None:
        step = f"refitting the model without {holdout:.0%} of the rows, then evaluating"
    with out.step(step):
        report = run_evaluation(
            model,
            emb.vectors,
            keys=emb.keys,
            tasks=task_list,
            metric=metric,
            labels=None if labels is None else _label_mapping(labels),
            anomaly_labels=anomaly_map,
            pairs=pairs,
            n_eval=n_eval,
            holdout=holdout,
            random_state=seed,
        )
    if markdown is not None:
        with atomic_path(markdown, overwrite=overwrite) as temp:
            temp.write_text(report.to_markdown(), encoding="utf-8")
    if html is not None:
        from vecae.report import evaluation_html, write_html

        write_html(html, evaluation_html(report), overwrite=overwrite)
    if out.json_mode:
        out.emit_json(json.loads(report.to_json()))
        return
    report.print(out.out)
    if markdown is not None:
        out.print(f"markdown report written to {markdown}")
    if html is not None:
        out.print(f"HTML report written to {html}")
