"""The recommender (EASE, RecVAE or Mult-DAE), its save/load, and its comparison with baselines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vecae._exceptions import InputError
from vecae.recommend._baselines import ItemKNNRecommender, PopularityRecommender
from vecae.recommend._data import InteractionMatrix, split_users
from vecae.recommend._ease import EASERecommender
from vecae.recommend._metrics import top_k_unseen
from vecae.recommend._protocol import ScoreFn, evaluate_recommender
from vecae.recommend._recvae import RecVAERecommender

__all__ = ["DEFAULT_FAMILY", "FAMILIES", "MULT_DAE_DEFAULTS", "Recommender", "compare_recommenders"]

FAMILIES: Final = ("ease", "recvae", "mult-dae")
"""The recommender families: closed-form EASE, RecVAE and the Mult-DAE autoencoder."""

# EASE beat Mult-DAE on every one of 10 MovieLens-100k user splits and on the AG News stand-in
# (docs/benchmarks.md, section 4), so it is the default.
DEFAULT_FAMILY: Final = "ease"


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

_FORMAT_VERSION: Final = 2  # 2: the common artefact manifest, checksummed interactions
_IDS_FILE: Final = "ids.json"
_HISTORY_FILE: Final = "interactions.safetensors"
_MODEL_DIR: Final = "model"
_EASE_FILE: Final = "ease.safetensors"
_RECVAE_FILE: Final = "recvae.safetensors"


@dataclass(eq=False)
class Recommender:
    """An autoencoder over user histories, with the histories it was fitted on.

    Three families: ``"ease"`` (the default), the closed-form linear autoencoder of Steck
    (2019) (:class:`EASERecommender`); ``"recvae"``, the variational autoencoder of Shenbin et
    al. (2020) (:class:`RecVAERecommender`); and ``"mult-dae"``, a Mult-DAE-style
    :class:`vecae.CategoricalAutoencoder` (Liang et al. 2018). Each scores every item for a
    user from the items they interacted with, and recommends the best-scored items they have
    not seen. New users are handled the same way from a list of items (fold-in): nothing is
    retrained.

    Attributes
    ----------
    model : EASERecommender, RecVAERecommender or vecae.CategoricalAutoencoder
        Fitted on the multi-hot rows of ``interactions``.
    interactions : InteractionMatrix
        Known histories; ``recommend_user`` excludes what a user has already seen.
    family : {"ease", "recvae", "mult-dae"}
        Which kind ``model`` is.
    """

    model: object  # EASE, RecVAE or a fitted vecae.CategoricalAutoencoder (no import cycle)
    interactions: InteractionMatrix
    family: str = "mult-dae"

    @classmethod
    def fit(
        cls, interactions: InteractionMatrix, model: str = DEFAULT_FAMILY, **params: object
    ) -> Recommender:
        """Train on every user's history.

        Parameters
        ----------
        interactions : InteractionMatrix
        model : {"ease", "recvae", "mult-dae"}, default="ease"
            The family (see the class docstring).
        **params
            For ``"ease"``: the arguments of :class:`EASERecommender` (``l2``, ``max_items``,
            ``random_state``, ...). For ``"recvae"``: those of :class:`RecVAERecommender`.
            For ``"mult-dae"``: :class:`vecae.CategoricalAutoencoder` arguments, overriding
            :data:`MULT_DAE_DEFAULTS`.

        Returns
        -------
        Recommender

        Raises
        ------
        InputError
            An unknown family, or parameters it does not take.
        """
        if model == "ease":
            try:
                ease = EASERecommender(**params)  # type: ignore[arg-type]
            except TypeError as exc:
                raise InputError(f"model='ease': {exc}") from None
            return cls(model=ease.fit(interactions), interactions=interactions, family="ease")
        if model == "recvae":
            try:
                recvae = RecVAERecommender(**params)  # type: ignore[arg-type]
            except TypeError as exc:
                raise InputError(f"model='recvae': {exc}") from None
            return cls(model=recvae.fit(interactions), interactions=interactions, family="recvae")
        if model == "mult-dae":
            from vecae import CategoricalAutoencoder

            dae = CategoricalAutoencoder(**{**MULT_DAE_DEFAULTS, **params})  # type: ignore[arg-type]
            dae.fit(interactions.matrix)
            return cls(model=dae, interactions=interactions, family="mult-dae")
        raise InputError(f"model: expected one of {', '.join(FAMILIES)}, got {model!r}")

    def score(self, histories: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """Scores of every item for each history row (higher is better): a :data:`ScoreFn`."""
        model = self.model
        if isinstance(model, EASERecommender | RecVAERecommender):
            return model.score(histories)
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
        """Write the model and the histories (safetensors + JSON, no pickle) atomically.

        The directory is one artefact (:mod:`vecae._artefact`): ``config.json`` records the
        SHA-256 of ``interactions.safetensors`` and ``ids.json``; ``model/`` is a model
        directory with its own manifest. ``overwrite`` replaces only a recommender directory.
        """
        import json

        import safetensors.numpy

        from vecae import _artefact

        kind = _artefact.RECOMMENDER
        with _artefact.write_directory(directory, kind, overwrite=overwrite) as staging:
            files = [_HISTORY_FILE, _IDS_FILE]
            extra: dict[str, object] = {}
            if isinstance(self.model, EASERecommender):
                assert self.model.weights_ is not None
                weights = {"weights": self.model.weights_}
                safetensors.numpy.save_file(weights, str(staging / _EASE_FILE))
                files.append(_EASE_FILE)
                extra = {"l2": self.model.l2_}
            elif isinstance(self.model, RecVAERecommender):
                assert self.model.module_ is not None
                state = self.model.module_.state_dict()
                # The prior's frozen encoder only matters for training; scoring never uses it.
                arrays = {
                    k: v.detach().cpu().numpy()
                    for k, v in state.items()
                    if not k.startswith("encoder_old.")
                }
                safetensors.numpy.save_file(arrays, str(staging / _RECVAE_FILE))
                files.append(_RECVAE_FILE)
                extra = {"recvae": self.model.get_params(), "n_epochs": self.model.n_epochs_}
            else:
                self.model.save(staging / _MODEL_DIR)  # type: ignore[attr-defined]
            matrix = self.interactions.matrix.tocsr()
            matrix.sort_indices()
            safetensors.numpy.save_file(
                {
                    "indptr": matrix.indptr.astype(np.int64),
                    "indices": matrix.indices.astype(np.int64),
                    "data": matrix.data.astype(np.float32),
                },
                str(staging / _HISTORY_FILE),
            )
            ids = {"users": self.interactions.users, "items": self.interactions.items}
            (staging / _IDS_FILE).write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
            manifest = {
                "format": kind,
                "format_version": _FORMAT_VERSION,
                "family": self.family,
                "n_users": self.interactions.n_users,
                "n_items": self.interactions.n_items,
                **extra,
            }
            _artefact.write_manifest(staging, manifest, files=files)
        return Path(directory).expanduser().absolute()

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        """Load a directory written by :meth:`save`; errors name the offending file.

        Every file is checked against the manifest's checksums, and the interaction matrix is
        validated (shape, index ranges, sorted unique items per user, positive finite values)
        before it is used, so a crafted directory raises :class:`~vecae.ModelFileError`
        instead of crashing or recommending items a user has already seen.
        """
        from vecae import _artefact

        return _artefact.read_with_retry(directory, cls._load)

    @classmethod
    def _load(cls, root: Path) -> Recommender:
        import json

        import safetensors.numpy

        import vecae
        from vecae import _artefact
        from vecae._exceptions import ModelFileError

        manifest = _artefact.read_manifest(
            root, _artefact.RECOMMENDER, version=_FORMAT_VERSION, oldest=_FORMAT_VERSION
        )
        ids_path = _artefact.checked_file(root, _IDS_FILE, manifest)
        try:
            ids = json.loads(ids_path.read_text(encoding="utf-8"))
            users, items = ids["users"], ids["items"]
            if not all(isinstance(v, list) for v in (users, items)) or not all(
                isinstance(v, str) for v in (*users, *items)
            ):
                raise TypeError("users and items must be lists of strings")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ModelFileError(f"{ids_path}: not a list of user and item ids ({exc})") from exc
        history_path = _artefact.checked_file(root, _HISTORY_FILE, manifest)
        try:
            arrays = safetensors.numpy.load_file(str(history_path))
            matrix = _checked_interactions(arrays, len(users), len(items))
        except ValueError as exc:
            raise ModelFileError(f"{history_path}: invalid interactions ({exc})") from exc
        except Exception as exc:  # safetensors' own parse errors
            raise ModelFileError(f"{history_path}: unreadable interactions ({exc})") from exc
        interactions = InteractionMatrix(matrix, users, items)
        family = manifest.get("family", "mult-dae")
        if family == "ease":
            ease = _load_ease(_artefact.checked_file(root, _EASE_FILE, manifest), manifest, items)
            return cls(model=ease, interactions=interactions, family="ease")
        if family == "recvae":
            path = _artefact.checked_file(root, _RECVAE_FILE, manifest)
            recvae = _load_recvae(path, manifest, len(items))
            return cls(model=recvae, interactions=interactions, family="recvae")
        if family != "mult-dae":
            raise ModelFileError(f"{root}: unknown recommender family {family!r}")
        model = vecae.load(root / _MODEL_DIR)
        if getattr(model, "one_hot_width_", None) != len(items):
            raise ModelFileError(
                f"{root / _MODEL_DIR}: the model scores {getattr(model, 'one_hot_width_', '?')} "
                f"items, but {ids_path.name} lists {len(items)}"
            )
        return cls(model=model, interactions=interactions, family="mult-dae")


def _load_ease(path: Path, manifest: dict[str, Any], items: list[str]) -> EASERecommender:
    """The EASE weights of a recommender directory, checked against its item count."""
    import safetensors.numpy

    from vecae._exceptions import ModelFileError

    try:
        arrays = safetensors.numpy.load_file(str(path))
        weights = arrays["weights"]
        l2 = float(manifest["l2"])
    except Exception as exc:  # safetensors' own parse errors, a missing key or a bad l2
        raise ModelFileError(f"{path}: unreadable EASE weights ({exc})") from exc
    n_items = len(items)
    if weights.shape != (n_items, n_items) or weights.dtype != np.float32:
        raise ModelFileError(
            f"{path}: weights of shape {weights.shape} ({weights.dtype}); expected "
            f"({n_items}, {n_items}) float32 for the {n_items} items"
        )
    ease = EASERecommender(l2=l2, max_items=max(n_items, 1))
    ease.weights_, ease.l2_, ease._n_items = weights, l2, n_items
    return ease


def _load_recvae(path: Path, manifest: dict[str, Any], n_items: int) -> RecVAERecommender:
    """The RecVAE network of a recommender directory, checked against the item count."""
    import safetensors.numpy
    import torch

    from vecae._exceptions import ModelFileError
    from vecae.models.recvae import RecVAEConfig, RecVAENet

    try:
        recvae = RecVAERecommender(**manifest["recvae"])
        recvae._check_params()
        arrays = safetensors.numpy.load_file(str(path))
        net = RecVAENet(RecVAEConfig(n_items, int(recvae.hidden_dim), int(recvae.latent_dim)))
        expected = {k: v for k, v in net.state_dict().items() if not k.startswith("encoder_old.")}
        if set(arrays) != set(expected):
            raise ValueError(f"tensors {sorted(set(arrays) ^ set(expected))[:3]} differ")
        for name, value in arrays.items():
            if value.shape != tuple(expected[name].shape) or value.dtype != np.float32:
                raise ValueError(f"{name} is {value.shape} {value.dtype}")
        tensors = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
        net.load_state_dict(tensors, strict=False)
        net.update_prior()
        net.eval()
        recvae.n_epochs_ = int(manifest["n_epochs"])
    except Exception as exc:  # safetensors' parse errors, bad parameters, wrong shapes
        raise ModelFileError(f"{path}: unreadable RecVAE weights ({exc})") from exc
    recvae.module_, recvae._n_items = net, n_items
    return recvae


def _checked_interactions(
    arrays: dict[str, npt.NDArray[Any]], n_users: int, n_items: int
) -> sp.csr_matrix:
    """A CSR matrix from stored arrays, after checking every index before scipy sees it."""
    if set(arrays) != {"indptr", "indices", "data"}:
        raise ValueError(f"expected arrays indptr, indices and data, found {sorted(arrays)}")
    indptr, indices, data = arrays["indptr"], arrays["indices"], arrays["data"]
    if any(a.ndim != 1 for a in (indptr, indices, data)) or len(indices) != len(data):
        raise ValueError("indices and data must be 1-D arrays of the same length")
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        raise ValueError("indptr and indices must be integers")
    if len(indptr) != n_users + 1 or indptr[0] != 0 or indptr[-1] != len(indices):
        raise ValueError(f"indptr must have {n_users + 1} entries from 0 to {len(indices)}")
    if (np.diff(indptr) < 0).any():
        raise ValueError("indptr must not decrease")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_items):
        raise ValueError(f"item indices must lie in [0, {n_items})")
    if not np.isfinite(data).all() or (data <= 0).any():
        raise ValueError("interaction values must be positive and finite")
    if len(indices) > 1:  # sorted and unique within each history
        row_start = np.zeros(len(indices), dtype=bool)
        row_start[indptr[:-1][indptr[:-1] < len(indices)]] = True
        bad = (np.diff(indices.astype(np.int64)) <= 0) & ~row_start[1:]
        if bad.any():
            row = int(np.searchsorted(indptr, np.flatnonzero(bad)[0] + 1, side="right") - 1)
            raise ValueError(f"user row {row}: item indices are not sorted and unique")
    matrix = sp.csr_matrix(
        (data.astype(np.float32), indices.astype(np.int32), indptr.astype(np.int64)),
        shape=(n_users, n_items),
    )
    return matrix


def compare_recommenders(
    interactions: InteractionMatrix,
    *,
    n_heldout_users: int | None = None,
    holdout_fraction: float = 0.2,
    random_state: int = 0,
    **fit_params: object,
) -> list[dict[str, float | str]]:
    """Recall@20 and NDCG@100 of both recommender families against most-popular and item-kNN.

    Users are held out as in Liang et al. (2018) (default: 10% of users, at least 1); every
    method is fitted on the training users only and scores held-out users from their fold-in
    items. ``fit_params`` go to the Mult-DAE; EASE chooses its own ``l2`` on the training users.
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
        ("vecae EASE", Recommender.fit(train, "ease", random_state=random_state).score),
        ("vecae Mult-DAE", Recommender.fit(train, "mult-dae", **fit_params).score),
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
