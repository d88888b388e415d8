"""``vecae report``: one self-contained HTML page about a model (and optionally its data)."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

from pathlib import Path
from typing import Annotated

import typer

from vecae.cli._loading import load_model, read_embeddings_for
from vecae.cli._options import (
    InputFormatOpt,
    JsonOpt,
    MetricName,
    ModelDirArg,
    OverwriteOpt,
    QuietOpt,
    split_commas,
)
from vecae.cli._output import Output, claim_output, guarded

__all__ = ["report"]


@guarded
def report(
    model_dir: ModelDirArg,
    data: Annotated[
        Path | None,
        typer.Argument(help="Embeddings to map, score and evaluate (any vecae.io format)."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    evaluate: Annotated[
        bool, typer.Option(help="Run `vecae evaluate` on DATA and include its tables.")
    ] = True,
    tasks: Annotated[
        str | None, typer.Option(help="Evaluation tasks, comma-separated (default: all usable).")
    ] = None,
    metric: Annotated[MetricName, typer.Option(help="Neighbourhood metric.")] = "cosine",
    n_eval: Annotated[int, typer.Option(min=10, help="Evaluation rows (a sample).")] = 10_000,
    max_points: Annotated[
        int, typer.Option(min=10, help="Points on the map; a seeded sample beyond that.")
    ] = 3000,
    top: Annotated[int, typer.Option(min=1, help="Outliers listed.")] = 20,
    input_format: InputFormatOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of samples and splits.")] = 0,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write an offline HTML report: losses, a map of the encodings, anomalies, evaluation."""
    from vecae.report import build_report, write_html

    out = Output(json_mode=json_output, quiet=quiet)
    claim_output(output, overwrite, inputs=[model_dir, data])
    model = load_model(model_dir)
    vectors = keys = evaluation = None
    if data is not None:
        emb = read_embeddings_for(model, model_dir, data, input_format, out)
        vectors, keys = emb.vectors, emb.keys
        if evaluate:
            from vecae.evaluate import evaluate as run_evaluation

            with out.step("evaluating"):
                evaluation = run_evaluation(
                    model,
                    vectors,
                    keys=keys,
                    tasks=None if tasks is None else split_commas(tasks),
                    metric=metric,
                    n_eval=n_eval,
                    random_state=seed,
                )
    with out.step("drawing the report"):
        html = build_report(
            model,
            vectors,
            keys,
            evaluation=evaluation,
            model_dir=model_dir,
            max_points=max_points,
            top=top,
            random_state=seed,
        )
    write_html(output, html, overwrite=overwrite)
    result = {
        "report": str(output),
        "bytes": len(html.encode()),
        "rows": None if vectors is None else len(vectors),
        "evaluation": evaluation is not None,
    }
    out.emit_json(result)
    out.print(f"report written to {output}")
