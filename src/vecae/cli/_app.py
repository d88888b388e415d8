"""The ``vecae`` typer application: the command groups, and which function runs each command.

The commands live in modules by concern (``_model``, ``_encode``, ``_search``, ``_anomalies``,
``_recommend``, ``_evaluate``) and never import this one; they are registered here, in the
order ``vecae --help`` lists them.
"""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

from typing import Annotated

import rich
import typer

from vecae.cli._anomalies import anomalies
from vecae.cli._encode import encode
from vecae.cli._evaluate import evaluate
from vecae.cli._export import export
from vecae.cli._model import fit, info
from vecae.cli._options import JsonOpt, QuietOpt, ThreadsOpt
from vecae.cli._output import Output, guarded
from vecae.cli._recommend import recommend, recommender_evaluate, recommender_fit
from vecae.cli._report import report
from vecae.cli._search import index_build, neighbors, sample
from vecae.cli._serve import serve

__all__ = ["app"]

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


def _print_version(value: bool) -> None:
    if value:
        from vecae._version import __version__

        print(f"vecae {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print vecae's version and exit.",
        ),
    ] = False,
) -> None:
    """Train autoencoders on the embeddings you already have, and put the encodings to work.

    Start with `vecae demo`.
    """
    # The estimators draw their training progress bar on rich's global console: keep it on
    # stderr, so that stdout holds only results (and nothing but JSON under --json).
    rich.reconfigure(stderr=True)


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


for command in (
    fit,
    encode,
    info,
    demo,
    neighbors,
    anomalies,
    sample,
    recommend,
    evaluate,
    report,
    serve,
    export,
):
    app.command()(command)
index_app.command("build")(index_build)
recommender_app.command("fit")(recommender_fit)
recommender_app.command("evaluate")(recommender_evaluate)
