"""Option types and choices that several commands share, so they read and behave alike."""

# No ``from __future__ import annotations`` in the command modules: typer reads these
# ``Annotated`` types at runtime.

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from vecae import _choices

__all__ = [
    "IndexKind",
    "InputArg",
    "InputFormatOpt",
    "JsonOpt",
    "KeysFileOpt",
    "MetricName",
    "ModelDirArg",
    "ModelKind",
    "OverwriteOpt",
    "QuietOpt",
    "ScaleMode",
    "ThreadsOpt",
    "only_set",
    "split_commas",
]


# Choices come from the library's own definitions (typer turns a Literal into a choice list);
# only the model kinds are the command line's own names (``--model vae``).
ModelKind = Literal["dense", "vae", "categorical"]
ScaleMode = _choices.ScaleMode
MetricName = _choices.Metric
IndexKind = _choices.IndexKind


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
InputFormatOpt = Annotated[
    str | None, typer.Option("--input-format", help="Input format override.")
]
KeysFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--keys", help="A text file with the key of each row of a key-less .npy, one per line."
    ),
]
ModelDirArg = Annotated[Path, typer.Argument(help="A model directory written by `vecae fit`.")]
InputArg = Annotated[Path, typer.Argument(help="An embeddings file (any vecae.io format).")]


def split_commas(text: str) -> list[str]:
    """The non-empty items of a comma-separated option value, stripped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def only_set(**options: Any) -> dict[str, Any]:
    """The options the user gave: ``None`` means "not given", so the library default applies."""
    return {name: value for name, value in options.items() if value is not None}
