"""``vecae export``: a model's encoder (and optionally decoder) as ONNX files."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

from pathlib import Path
from typing import Annotated

import typer

from vecae.cli._loading import load_model
from vecae.cli._options import JsonOpt, ModelDirArg, OverwriteOpt, QuietOpt
from vecae.cli._output import Output, claim_output, guarded

__all__ = ["export"]


@guarded
def export(
    model_dir: ModelDirArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The encoder's .onnx file.")],
    decoder: Annotated[
        Path | None, typer.Option(help="Also write the decoder to this .onnx file.")
    ] = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export MODEL's encoder to ONNX, preprocessing included, with a dynamic batch size."""
    from vecae.export import export_onnx

    out = Output(json_mode=json_output, quiet=quiet)
    claim_output(output, overwrite, inputs=[model_dir])
    if decoder is not None:
        claim_output(decoder, overwrite, inputs=[model_dir])
    model = load_model(model_dir)
    written = {"encoder": str(output)}
    with out.step(f"exporting the encoder to {output}"):
        export_onnx(model, output, part="encoder", overwrite=overwrite)
    if decoder is not None:
        with out.step(f"exporting the decoder to {decoder}"):
            export_onnx(model, decoder, part="decoder", overwrite=overwrite)
        written["decoder"] = str(decoder)
    result = {
        **written,
        "input_dim": int(model.n_features_in_),
        "latent_dim": int(model.latent_dim),
    }
    out.emit_json(result)
    for part, path in written.items():
        out.print(f"{part} written to {path}")
