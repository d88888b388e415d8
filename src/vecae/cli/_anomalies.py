"""``vecae anomalies``: score every row as an anomaly and flag the outliers.

Two forms. ``vecae anomalies INPUT -o FILE`` fits vecae's default outlier detector
(:class:`vecae.AnomalyDetector`, the recipe chosen on ADBench and the 20 Newsgroups embedding
sets) on INPUT and scores the same rows, the unsupervised protocol: the data may contain the
anomalies. ``vecae anomalies MODEL_DIR INPUT -o FILE`` scores INPUT with a model saved by
``vecae fit`` (its reconstruction error, or negative ELBO for a VAE).
"""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from vecae._artefact import DETECTOR
from vecae.cli._display import ranked_table
from vecae.cli._loading import is_table, load_model, read_embeddings_for
from vecae.cli._options import (
    InputFormatOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    ThreadsOpt,
)
from vecae.cli._output import CliError, Output, atomic_path, claim_output, guarded

__all__ = ["anomalies"]


def _write_table(path: Path, columns: dict[str, list[Any]], overwrite: bool) -> None:
    """Write a small table atomically as CSV, TSV or Parquet, by extension."""
    import csv

    suffix = path.suffix.lower()
    if not is_table(path):
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


def _fit_default(
    path: Path,
    input_format: str | None,
    contamination: float | None,
    threshold: float | None,
    seed: int,
    threads: int | None,
    out: Output,
    save_to: Path | None = None,
    overwrite: bool = False,
) -> Any:
    """Fit :class:`vecae.AnomalyDetector` on ``path`` and report its training-row scores."""
    from vecae import AnomalyDetector
    from vecae.anomaly import AnomalyReport
    from vecae.io import read_embeddings

    with out.step(f"reading {path}"):
        emb = read_embeddings(path, input_format)
    params: dict[str, Any] = {"random_state": seed, "n_threads": threads}
    if contamination is not None:
        params["contamination"] = contamination
    with out.step(f"fitting the default detector on {len(emb):,} rows"):
        detector = AnomalyDetector(**params).fit(np.asarray(emb.vectors))
    if save_to is not None:
        detector.save(save_to, overwrite=overwrite)
    scores = detector.decision_scores_
    limit = float(detector.threshold_ if threshold is None else threshold)
    return AnomalyReport(keys=emb.keys, scores=scores, flags=scores > limit, threshold=limit)


@guarded
def anomalies(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Scores file: .csv, .tsv or .parquet.")
    ],
    first: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL_DIR_OR_INPUT",
            help="INPUT alone: fit the default detector on it. MODEL_DIR INPUT: use that model.",
        ),
    ],
    second: Annotated[
        Path | None,
        typer.Argument(metavar="INPUT", help="The embeddings to score with MODEL_DIR."),
    ] = None,
    contamination: Annotated[
        float | None,
        typer.Option(help="Flag this share, as a quantile of the model's training scores."),
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Flag scores above this.")] = None,
    top: Annotated[int, typer.Option(min=0, help="How many top anomalies to print.")] = 20,
    seed: Annotated[
        int, typer.Option(help="Random seed of the default detector (INPUT-only form).")
    ] = 0,
    save_detector: Annotated[
        Path | None,
        typer.Option(help="INPUT-only form: also save the fitted detector to this directory."),
    ] = None,
    input_format: InputFormatOpt = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score every row of INPUT as an anomaly; write key, score, flag; print the top ones.

    With INPUT alone, fit the default detector on INPUT; with MODEL_DIR INPUT, use that model.
    """
    from vecae.anomaly import score_anomalies

    out = Output(json_mode=json_output, quiet=quiet)
    if contamination is not None and threshold is not None:
        raise CliError("give --contamination or --threshold, not both")
    if threshold is not None and not math.isfinite(threshold):
        raise CliError(f"--threshold must be a finite number, got {threshold}")
    if contamination is not None and not 0.0 < contamination <= 0.5:
        raise CliError(f"--contamination must be in (0, 0.5], got {contamination}")
    if second is None:
        claim_output(output, overwrite, inputs=[first])
        if save_detector is not None:
            claim_output(save_detector, overwrite, kind=DETECTOR, inputs=[first, output])
        report = _fit_default(
            first, input_format, contamination, threshold, seed, threads, out,
            save_to=save_detector, overwrite=overwrite,
        )  # fmt: skip
    elif save_detector is not None:
        raise CliError("--save-detector applies to the INPUT-only form (fitting a detector)")
    else:
        model_dir, input = first, second
        claim_output(output, overwrite, inputs=[model_dir, input])
        model = load_model(model_dir, threads)
        emb = read_embeddings_for(model, model_dir, input, input_format, out)
        with out.step(f"scoring {len(emb):,} rows"):
            report = score_anomalies(
                model, emb.vectors, emb.keys, threshold=threshold, contamination=contamination
            )
    _write_table(output, report.columns(), overwrite)
    ranked = report.ranked(top)
    summary = {
        "output": str(output),
        "rows": len(report),
        "flagged": report.n_flagged,
        "threshold": float(report.threshold),
        "top": [{"key": kk, "score": s, "flag": f} for kk, s, f in ranked],
    }
    if out.json_mode:
        out.emit_json(summary)
        return
    out.print(
        ranked_table(
            f"Top {len(ranked)} anomalies (threshold {report.threshold:.5g})",
            [("key", "left"), ("score", "right"), ("flag", "left")],
            ((kk, f"{s:.5g}", "yes" if f else "") for kk, s, f in ranked),
        )
    )
    out.print(f"{report.n_flagged:,} of {len(report):,} rows flagged; scores written to {output}")
