"""The Mult-DAE-style autoencoder recommender, its save/load, and its comparison with baselines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import InputError
from vecae.recommend._baselines import ItemKNNRecommender, PopularityRecommender
from vecae.recommend._data import InteractionMatrix, split_users
from vecae.recommend._metrics import top_k_unseen
from vecae.recommend._protocol import ScoreFn, evaluate_recommender

__all__ = ["MULT_DAE_DEFAULTS", "Recommender", "compare_recommenders"]


# Mult-DAE (Liang et al. 2018) settings, scaled for CPUs: one tanh hidden layer, a multinomial
# likelihood over all items, and half of each training history dropped so the model learns to
# complete histories rather than copy them.
MULT_DAE_DEFAULTS: Final[dict[str, object]] = {
    "latent_dim": 200,
    "hidden": (600,),
    "activation": "tanh",
    "mask_rate": 0.5,
    "likelihood": "multinomial",
    "epochs": 100,
    "batch_size": 512,
    "patience": 10,
}

_RECOMMENDER_FILE: Final = "recommender.json"
_HISTORY_FILE: Final = "interactions.safetensors"
_MODEL_DIR: Final = "model"


@dataclass(eq=False)
class Recommender:
    """A Mult-DAE-style autoencoder over user histories, with the histories it was fitted on.

    It scores every item for a user from the items they interacted with, and recommends the
    best-scored items they have not seen. New users are handled the same way from a list of
    items (fold-in): nothing is retrained.

    Attributes
    ----------
    model : vecae.CategoricalAutoencoder
        Fitted on the multi-hot rows of ``interactions``.
    interactions : InteractionMatrix
        Known histories; ``recommend_user`` excludes what a user has already seen.
    """

    model: object  # a fitted vecae.CategoricalAutoencoder (typed loosely: no import cycle)
    interactions: InteractionMatrix

    @classmethod
    def fit(cls, interactions: InteractionMatrix, **params: object) -> Recommender:
        """Train on every user's history; ``params`` override :data:`MULT_DAE_DEFAULTS`."""
        from vecae import CategoricalAutoencoder

        model = CategoricalAutoencoder(**{**MULT_DAE_DEFAULTS, **params})  # type: ignore[arg-type]
        model.fit(interactions.matrix)
        return cls(model=model, interactions=interactions)

    def score(self, histories: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """Scores (decoder logits) of every item for each history row: a :data:`ScoreFn`."""
        model = self.model
        return model.decision_scores(model.transform(histories))  # type: ignore[attr-defined, no-any-return]

    def _top(self, history: sp.csr_matrix, k: int) -> list[tuple[str, float]]:
        scores = self.score(history)
        ranked = top_k_unseen(scores, history, k)[0]
        return [(self.interactions.items[j], float(scores[0, j])) for j in ranked if j >= 0]

    def recommend_user(self, user: str, k: int = 10) -> list[tuple[str, float]]:
        """Top ``k`` items that known user ``user`` has not interacted with."""
        try:
            row = self.interactions.users.index(user)
        except ValueError:
            raise InputError(f"user {user!r} is not in the fitted interactions") from None
        return self._top(self.interactions.matrix[row], k)

    def recommend_history(self, items: Iterable[str], k: int = 10) -> list[tuple[str, float]]:
        """Top ``k`` items for a new user given by their items (unknown items are ignored)."""
        history = self.interactions.row_for_history(items)
        if history.nnz == 0:
            raise InputError("history: none of the given items is known to the model")
        return self._top(history, k)

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model and the histories (safetensors + JSON, no pickle) atomically."""
        import json

        import safetensors.numpy

        from vecae._files import atomic_directory

        target = Path(directory).expanduser().resolve()
        with atomic_directory(target, overwrite=overwrite) as staging:
            self.model.save(staging / _MODEL_DIR)  # type: ignore[attr-defined]
            matrix = self.interactions.matrix
            safetensors.numpy.save_file(
                {
                    "indptr": matrix.indptr.astype(np.int64),
                    "indices": matrix.indices.astype(np.int64),
                    "data": matrix.data.astype(np.float32),
                },
                str(staging / _HISTORY_FILE),
            )
            meta = {
                "format": "vecae-recommender",
                "format_version": 1,
                "users": self.interactions.users,
                "items": self.interactions.items,
            }
            (staging / _RECOMMENDER_FILE).write_text(json.dumps(meta))
        return target

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        """Load a directory written by :meth:`save`; errors name the offending file."""
        import json

        import safetensors.numpy

        import vecae
        from vecae._exceptions import ModelFileError

        root = Path(directory).expanduser()
        meta_path = root / _RECOMMENDER_FILE
        try:
            meta = json.loads(meta_path.read_text())
            users, items = list(meta["users"]), list(meta["items"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(
                f"{meta_path}: missing or not a vecae recommender ({exc})"
            ) from exc
        history_path = root / _HISTORY_FILE
        try:
            arrays = safetensors.numpy.load_file(str(history_path))
            matrix = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(len(users), len(items)),
            )
        except Exception as exc:
            raise ModelFileError(f"{history_path}: unreadable interactions ({exc})") from exc
        model = vecae.load(root / _MODEL_DIR)
        return cls(model=model, interactions=InteractionMatrix(matrix, users, items))


def compare_recommenders(
    interactions: InteractionMatrix,
    *,
    n_heldout_users: int | None = None,
    holdout_fraction: float = 0.2,
    random_state: int = 0,
    **fit_params: object,
) -> list[dict[str, float | str]]:
    """Recall@20 and NDCG@100 of the autoencoder against most-popular and item-kNN.

    Users are held out as in Liang et al. (2018) (default: 10% of users, at least 1); every
    method is fitted on the training users only and scores held-out users from their fold-in
    items.
    """
    n_heldout = n_heldout_users or max(1, interactions.n_users // 10)
    split = split_users(
        interactions,
        n_heldout_users=n_heldout,
        holdout_fraction=holdout_fraction,
        random_state=random_state,
    )
    train = InteractionMatrix(
        split.train, [interactions.users[i] for i in split.train_users], interactions.items
    )
    fit_params.setdefault("random_state", random_state)
    methods: list[tuple[str, ScoreFn]] = [
        ("vecae (Mult-DAE)", Recommender.fit(train, **fit_params).score),
        ("most popular", PopularityRecommender().fit(split.train).score),
        ("item-kNN", ItemKNNRecommender().fit(split.train).score),
    ]
    rows: list[dict[str, float | str]] = []
    for name, score_fn in methods:
        metrics = evaluate_recommender(score_fn, split, ks=(20, 100))
        rows.append(
            {
                "method": name,
                "recall@20": metrics["recall@20"],
                "ndcg@100": metrics["ndcg@100"],
                "n_users": metrics["n_users"],
            }
        )
    return rows
