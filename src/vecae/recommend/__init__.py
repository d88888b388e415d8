"""Implicit-feedback recommendation with an autoencoder over user histories.

The model is :class:`Recommender`, in three families: ``"ease"`` (the default), the closed-form
linear autoencoder with a zero diagonal of Steck (2019, "Embarrassingly Shallow Autoencoders
for Sparse Data"; :class:`EASERecommender`); ``"recvae"``, the variational autoencoder of
Shenbin et al. (2020, "RecVAE"; :class:`RecVAERecommender`); and ``"mult-dae"``, a Mult-DAE
(Liang et al. 2018, "Variational Autoencoders for Collaborative Filtering") built on
:class:`vecae.CategoricalAutoencoder` with a multinomial likelihood. Each recommends unseen
items for known users and for new users given by their items. :func:`compare_recommenders`
measures EASE and Mult-DAE against the baselines below. Around them:

* :class:`InteractionMatrix` — a users x items CSR matrix with the user and item keys;
* :func:`split_users` — the strong-generalisation split of Liang et al.: whole users are held
  out, and each held-out user's items are split into a *fold-in* part (given to the model)
  and a *target* part (to be predicted);
* :func:`recall_at_k`, :func:`ndcg_at_k` — the paper's metric definitions;
* :func:`top_k_unseen` — ranking with already-seen items masked, shared by every recommender;
* :class:`PopularityRecommender`, :class:`ItemKNNRecommender` — the baselines a learned model
  has to beat;
* :func:`evaluate_recommender` — scores held-out users from their fold-in items and reports
  Recall@k and NDCG@k on their targets.

A recommender here is anything that maps a users x items CSR matrix of known interactions to a
dense users x items array of scores (higher is better): a :data:`ScoreFn`.

Ties between equal scores are broken in favour of the lower item index, except that the
*selection* of the top ``k`` among items tied exactly at the k-th score is arbitrary but
deterministic (``numpy.argpartition``).
"""

from __future__ import annotations

from vecae.recommend._baselines import ItemKNNRecommender, PopularityRecommender
from vecae.recommend._data import InteractionMatrix, Split, split_users
from vecae.recommend._ease import EASE_L2_GRID, EASERecommender
from vecae.recommend._metrics import ndcg_at_k, recall_at_k, top_k_unseen
from vecae.recommend._model import (
    DEFAULT_FAMILY,
    FAMILIES,
    MULT_DAE_DEFAULTS,
    Recommender,
    compare_recommenders,
)
from vecae.recommend._protocol import ScoreFn, evaluate_recommender
from vecae.recommend._recvae import RECVAE_DEFAULTS, RecVAERecommender

__all__ = [
    "DEFAULT_FAMILY",
    "EASE_L2_GRID",
    "FAMILIES",
    "MULT_DAE_DEFAULTS",
    "RECVAE_DEFAULTS",
    "EASERecommender",
    "InteractionMatrix",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "RecVAERecommender",
    "Recommender",
    "ScoreFn",
    "Split",
    "compare_recommenders",
    "evaluate_recommender",
    "ndcg_at_k",
    "recall_at_k",
    "split_users",
    "top_k_unseen",
]
