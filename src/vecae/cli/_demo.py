"""``vecae demo``: compress GloVe 6B 50d with a VAE and show what changed.

Shows the nearest neighbours of a few words before (original 50-d) and after (encodings),
and a word-similarity table (Spearman rho against human judgements) for the encodings, the
original vectors and the PCA family at the same dimension.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from rich.table import Table

from vecae.cli._display import history_summary
from vecae.cli._estimators import build_estimator
from vecae.cli._output import Output

__all__ = ["QUERY_WORDS", "run_demo"]

QUERY_WORDS = ("king", "computer", "paris", "happy", "river")
SHORT_NAMES = {
    "EN-WS-353-ALL": "WS353",
    "EN-SIMLEX-999": "SimLex",
    "EN-MEN-TR-3k": "MEN",
    "EN-RW-STANFORD": "RW",
    "EN-SimVerb-3500": "SimVerb",
    "EN-MTurk-771": "MTurk",
}
N_NEIGHBOURS = 5


def run_demo(
    out: Output,
    *,
    n_words: int,
    epochs: int | None,
    latent_dim: int,
    seed: int,
    threads: int | None,
) -> dict[str, Any]:
    from vecae.datasets import load_glove
    from vecae.evaluate import (
        ABTTPCA,
        DEFAULT_WORDSIM_SETS,
        PCABaseline,
        WhitenedPCA,
        evaluate_word_similarity,
        exact_knn,
    )

    started = time.perf_counter()
    with out.step("loading GloVe 6B 50d"):
        words, mapped = load_glove(n_words)
        X = np.ascontiguousarray(mapped, dtype=np.float32)
    out.info(f"GloVe 6B 50d: the {len(words):,} most frequent words, {X.shape[1]} dimensions")

    model = build_estimator(
        "vae",
        latent_dim=latent_dim,
        epochs=epochs,
        random_state=seed,
        n_threads=threads,
    )
    out.info(f"training a VAE: {X.shape[1]} -> {latent_dim} dimensions")
    from vecae.cli._progress import training_callbacks

    model.fit(X, callbacks=training_callbacks(out))
    Z = model.transform(X)

    # Nearest neighbours before and after (cosine, the query word itself excluded).
    position = {w: i for i, w in enumerate(words)}
    queries = np.asarray([position[w] for w in QUERY_WORDS if w in position], dtype=np.int64)
    k = min(N_NEIGHBOURS, len(words) - 1)
    found = {
        space: exact_knn(V[queries], V, k, "cosine", exclude_self=True, self_index=queries)[0]
        for space, V in (("original", X), ("vecae", Z))
    }
    neighbours = {
        words[row]: {space: [words[i] for i in found[space][q]] for space in found}
        for q, row in enumerate(queries)
    }

    # Word similarity: the encodings against the original vectors and the PCA family.
    with out.step("word similarity"):
        methods: list[tuple[str, int, np.ndarray]] = [
            ("vecae", latent_dim, Z),
            ("original", X.shape[1], X),
        ]
        for name, baseline in (
            ("pca", PCABaseline(latent_dim, random_state=seed)),
            ("whitened-pca", WhitenedPCA(latent_dim, random_state=seed)),
            ("abtt-pca", ABTTPCA(latent_dim, random_state=seed)),
        ):
            methods.append((name, latent_dim, baseline.fit_transform(X)))
        sets = list(DEFAULT_WORDSIM_SETS)
        similarity: list[dict[str, Any]] = []
        for name, dim, vectors in methods:
            results = evaluate_word_similarity(words, vectors, sets)
            similarity.append(
                {
                    "method": name,
                    "dim": dim,
                    "mean_rho": results.mean_rho,
                    "sets": {s: r.rho for s, r in results.sets.items()},
                    "pairs_used": {s: r.pairs_used for s, r in results.sets.items()},
                }
            )

    training = history_summary(model)
    data: dict[str, Any] = {
        "words": len(words),
        "dim": int(X.shape[1]),
        "latent_dim": latent_dim,
        "training": training,
        "neighbours": neighbours,
        "word_similarity": similarity,
        "seconds": time.perf_counter() - started,
    }
    if out.json_mode:
        out.emit_json(data)
        return data

    out.print(
        f"trained {training['epochs_run']} epochs in {model.fit_seconds_:.1f} s "
        f"({model.stop_reason_})"
    )
    table = Table(title=f"Nearest neighbours: original {X.shape[1]}-d vs vecae {latent_dim}-d")
    table.add_column("word", style="bold")
    table.add_column(f"original ({X.shape[1]}-d)")
    table.add_column(f"vecae ({latent_dim}-d)")
    for word, lists in neighbours.items():
        table.add_row(word, ", ".join(lists["original"]), ", ".join(lists["vecae"]))
    out.print(table)

    sim = Table(title="Word similarity (Spearman rho; higher is better)")
    sim.add_column("method", no_wrap=True)
    sim.add_column("dim", justify="right")
    sim.add_column("mean", justify="right", style="bold")
    for s in sets:
        sim.add_column(SHORT_NAMES.get(s, s.removeprefix("EN-")), justify="right")
    for entry in similarity:
        sim.add_row(
            entry["method"],
            str(entry["dim"]),
            _rho(entry["mean_rho"]),
            *(_rho(entry["sets"][s]) for s in sets),
        )
    out.print(sim)
    out.print(f"[dim]done in {data['seconds']:.0f} s[/dim]")
    return data


def _rho(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"
