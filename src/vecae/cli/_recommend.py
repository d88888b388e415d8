"""``vecae recommender fit``/``evaluate`` and ``vecae recommend``: user-item recommenders."""

# No ``from __future__ import annotations`` here: typer reads the option types at runtime.

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vecae import InputError
from vecae._artefact import RECOMMENDER
from vecae.cli._display import format_value, history_summary, kv_table, ranked_table
from vecae.cli._loading import is_table
from vecae.cli._options import JsonOpt, OverwriteOpt, QuietOpt, ThreadsOpt, only_set
from vecae.cli._output import CliError, Output, claim_output, guarded

__all__ = ["recommend", "recommender_evaluate", "recommender_fit"]


InteractionsArg = Annotated[Path, typer.Argument(help="user,item[,weight] CSV/TSV/Parquet.")]
UserColOpt = Annotated[str, typer.Option(help="Column of user ids.")]
ItemColOpt = Annotated[str, typer.Option(help="Column of item ids.")]
WeightColOpt = Annotated[str | None, typer.Option(help="Optional column of weights.")]


def _interactions(path: Path, user_col: str, item_col: str, weight_col: str | None) -> Any:
    from vecae.io import read_interactions
    from vecae.recommend import InteractionMatrix

    data = read_interactions(path, user_col=user_col, item_col=item_col, weight_col=weight_col)
    return InteractionMatrix.from_pairs(data.users.tolist(), data.items.tolist(), data.weights)


@guarded
def recommender_fit(
    interactions: InteractionsArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write.")],
    user_col: UserColOpt = "user",
    item_col: ItemColOpt = "item",
    weight_col: WeightColOpt = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Family: ease (closed form, the default), recvae or mult-dae (autoencoders).",
        ),
    ] = "ease",
    l2: Annotated[
        float | None,
        typer.Option(min=0.0, help="EASE penalty; default: chosen on held-out training users."),
    ] = None,
    max_items: Annotated[
        int | None, typer.Option(min=1, help="EASE: refuse larger catalogues (default 20000).")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=0, help="Mult-DAE / RecVAE: maximum epochs.")
    ] = None,
    latent_dim: Annotated[
        int | None, typer.Option(min=1, help="Mult-DAE / RecVAE: encoding width.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    threads: ThreadsOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a recommender (EASE by default, RecVAE or Mult-DAE) on user-item interactions."""
    from vecae.recommend import FAMILIES, Recommender

    out = Output(json_mode=json_output, quiet=quiet)
    if model not in FAMILIES:
        raise CliError(f"--model: expected one of {', '.join(FAMILIES)}, got {model!r}")
    if model == "ease" and (epochs is not None or latent_dim is not None):
        raise CliError("--epochs and --latent-dim apply to --model mult-dae or recvae, not ease")
    if model != "ease" and (l2 is not None or max_items is not None):
        raise CliError(f"--l2 and --max-items apply to --model ease, not {model}")
    claim_output(output, overwrite, kind=RECOMMENDER, inputs=[interactions])
    with out.step(f"reading {interactions}"):
        matrix = _interactions(interactions, user_col, item_col, weight_col)
    out.info(f"{matrix.n_users:,} users x {matrix.n_items:,} items")
    # Only what the user set: each family's own defaults apply otherwise.
    params: dict[str, Any] = only_set(l2=l2, max_items=max_items, random_state=seed)
    if model == "mult-dae":
        params = {
            "verbose": out.show_progress,
            **only_set(epochs=epochs, latent_dim=latent_dim, random_state=seed, n_threads=threads),
        }
    if model == "recvae":
        params = only_set(
            epochs=epochs, latent_dim=latent_dim, random_state=seed, n_threads=threads
        )
    with out.step(f"fitting {model}"):
        recommender = Recommender.fit(matrix, model, **params)
    saved = recommender.save(output, overwrite=overwrite)
    summary: dict[str, Any] = {
        "model_dir": str(saved),
        "family": model,
        "n_users": matrix.n_users,
        "n_items": matrix.n_items,
    }
    rows: list[tuple[str, Any]] = [
        ("family", model),
        ("interactions", f"{matrix.n_users:,} users x {matrix.n_items:,} items"),
    ]
    fitted: Any = recommender.model
    if model == "ease":
        summary["l2"] = fitted.l2_
        summary["validation_ndcg@100"] = {str(k): v for k, v in fitted.validation_.items()}
        rows.append(("l2", format_value(fitted.l2_, 4)))
    elif model == "recvae":
        summary["epochs"] = fitted.n_epochs_
        summary["validation_ndcg@100"] = fitted.validation_
        rows.append(("epochs (chosen on held-out users)", fitted.n_epochs_))
    else:
        summary.update(history_summary(fitted))
        rows += [
            ("epochs run", summary["epochs_run"]),
            ("stopped because", summary["stop_reason"]),
            ("final val loss", summary["final_val_loss"]),
        ]
    out.emit_json(summary)
    out.print(kv_table("Recommender", [*rows, ("written to", str(saved))]))


@guarded
def recommender_evaluate(
    interactions: InteractionsArg,
    user_col: UserColOpt = "user",
    item_col: ItemColOpt = "item",
    weight_col: WeightColOpt = None,
    heldout_users: Annotated[
        int | None, typer.Option(min=1, help="Users held out for testing.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=0, help="Mult-DAE: maximum epochs.")] = None,
    latent_dim: Annotated[int | None, typer.Option(min=1, help="Mult-DAE: encoding width.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the split.")] = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Recall@20 and NDCG@100 of EASE and Mult-DAE against most-popular and item-kNN."""
    from vecae.recommend import compare_recommenders

    out = Output(json_mode=json_output, quiet=quiet)
    with out.step(f"reading {interactions}"):
        matrix = _interactions(interactions, user_col, item_col, weight_col)
    with out.step("training and evaluating"):
        rows = compare_recommenders(
            matrix,
            n_heldout_users=heldout_users,
            random_state=seed,
            **only_set(epochs=epochs, latent_dim=latent_dim),
        )
    if out.json_mode:
        out.emit_json({"rows": rows})
        return
    table = Table(title=f"Held-out users ({matrix.n_users:,} users, {matrix.n_items:,} items)")
    columns = list(rows[0]) if rows else []
    for c in columns:
        table.add_column(c, justify="left" if c == "method" else "right")
    for row in rows:
        table.add_row(*(format_value(row.get(c), 4) for c in columns))
    out.print(table)


def _read_history(path: Path, item_col: str) -> list[str]:
    if is_table(path):
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
    out.print(
        ranked_table(
            f"Top {len(items)} items for {who}",
            [("item", "left"), ("score", "right")],
            ((item, f"{score:.4f}") for item, score in items),
        )
    )
