"""Similarity-preserving training: the loss on in-batch cosine similarities, and neighbour mining.

Users search encodings by similarity, so the ``"similarity"`` objective trains the encoder to
keep each batch's pairwise cosine similarities close to those of the original vectors:

* a rank-aware term, the row-wise KL divergence between ``softmax(S_x / tau)`` and
  ``softmax(S_z / tau)`` over the other rows of the batch (similarity distillation); with
  ``tau = 0.05`` it mostly weighs each row's nearest rows, which is what retrieval needs;
* an all-pairs term, the mean squared difference of the two cosine matrices;
* the same two terms on relaxed bits ``tanh(z / s)`` of the code (straight-through sign), so
  that the signs of the code, i.e. the packed binary encoding, keep the similarities too; their
  target is the Hamming similarity that sign bits of the original similarities would have
  (:func:`hamming_target`), so the bit and float terms agree on one geometry. Only the larger
  nested sizes get bit terms (``SimilarityWeights.bit_size_fraction``): the small sizes' bits
  are too coarse to be worth their bytes, and asking the leading coordinates, which every size
  shares, to be good bits as well costs every float code.

Batches are augmented with one of each row's top-k original neighbours, mined once before
training (:func:`mine_neighbours`), so the rank-aware term always sees close pairs, not only
the random pairs a shuffled batch holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

__all__ = [
    "NeighbourSource",
    "SimilarityObjective",
    "SimilarityWeights",
    "cosine_matrix",
    "hamming_target",
    "mine_neighbours",
    "nested_similarity_loss",
    "relaxed_bits",
    "similarity_loss",
]

_MASKED = -1e4  # logit for a row's similarity to itself: exp() underflows to exactly 0


@dataclass(frozen=True)
class SimilarityWeights:
    """Weights of the terms of the similarity objective (see the module docstring)."""

    temperature: float = 0.05
    kl: float = 1.0
    mse: float = 10.0
    bits: float = 0.5  # weight of the terms on the relaxed bits, relative to the float ones
    reconstruction: float = 0.1
    # The bit terms apply to the nested sizes of at least this fraction of the largest (256
    # and 128 of 256/128/64/32). Measured on MiniLM, 4 seeds: dropping the 64- and 32-bit
    # terms lifts every float size and the 256 and 128 bits (docs/benchmarks.md, 2b).
    bit_size_fraction: float = 0.5
    # Rows per similarity block: a batch's cosine matrices are computed within consecutive
    # blocks of this many rows, so the loss costs O(batch * block), not O(batch^2).
    block_rows: int = 512


def cosine_matrix(a: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine similarities of the rows of ``a``."""
    unit = F.normalize(a, dim=1)
    return unit @ unit.T


def similarity_loss(
    codes: torch.Tensor,
    target: torch.Tensor,
    *,
    temperature: float = 0.05,
    kl_weight: float = 1.0,
    mse_weight: float = 10.0,
) -> torch.Tensor:
    """Distance between the cosine matrix of ``codes`` and the target cosine matrix.

    Parameters
    ----------
    codes : Tensor of shape (n, k)
        Encodings of a batch.
    target : Tensor of shape (n, n)
        Cosine similarities of the original rows (:func:`cosine_matrix`).
    temperature : float
        Softmax temperature of the rank-aware term.
    kl_weight, mse_weight : float
        Weights of the row-wise KL term and of the all-pairs mean squared error.

    Returns
    -------
    Tensor
        ``kl_weight * mean_i KL(p_i || q_i) + mse_weight * mean_{i != j} (S_z - S_x)^2``
        where ``p_i = softmax_{j != i}(S_x[i, j] / tau)`` and likewise ``q_i`` from the codes.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> float(similarity_loss(x, cosine_matrix(x)))
    0.0
    """
    return _loss(codes, _Target.of(target, temperature), kl_weight, mse_weight)


@dataclass(frozen=True)
class _Target:
    """What the loss needs from the target cosine matrix, computed once per batch."""

    sim: torch.Tensor
    p: torch.Tensor  # row-wise softmax over the other rows
    neg_entropy: torch.Tensor  # mean over rows of sum_j p log p
    temperature: float

    @classmethod
    @torch.no_grad()
    def of(cls, target: torch.Tensor, temperature: float) -> _Target:
        logits = target / temperature
        logits.diagonal().fill_(_MASKED)
        log_p = F.log_softmax(logits, dim=1)
        p = log_p.exp()
        return cls(target, p, (p * log_p).sum() / target.shape[0], temperature)


def _loss(
    codes: torch.Tensor, target: _Target, kl_weight: float, mse_weight: float
) -> torch.Tensor:
    n = codes.shape[0]
    sim = cosine_matrix(codes)
    # Off-diagonal means without boolean-mask copies: the diagonal is subtracted instead.
    squared = (sim - target.sim).pow(2)
    mse = (squared.sum() - squared.diagonal().sum()) / max(n * (n - 1), 1)
    logits = sim / target.temperature
    logits.diagonal().fill_(_MASKED)
    kl = target.neg_entropy - (target.p * F.log_softmax(logits, dim=1)).sum() / n
    return kl_weight * kl + mse_weight * mse


def hamming_target(target: torch.Tensor) -> torch.Tensor:
    """The cosine similarity that sign bits of codes with cosine ``target`` are expected to have.

    For a rotation-invariant code distribution, the fraction of differing signs between two codes
    at angle ``theta`` is ``theta / pi`` (Charikar 2002), so the cosine of their ±1 vectors is
    ``1 - 2 theta / pi = (2 / pi) asin(cos theta)``. The terms on the relaxed bits aim at this,
    not at the original cosine itself: asking the bits for the float cosines would pull the
    shared code away from the float terms' optimum (they agree only at 0 and ±1). The map is
    increasing, so it keeps every ranking of the original similarities.

    Examples
    --------
    >>> import torch
    >>> hamming_target(torch.tensor([1.0, 0.5, 0.0, -1.0]))
    tensor([ 1.0000,  0.3333,  0.0000, -1.0000])
    """
    return (2.0 / math.pi) * torch.asin(target.clamp(-1.0, 1.0))


def relaxed_bits(codes: torch.Tensor) -> torch.Tensor:
    """``sign(codes)`` in the forward pass, with the gradient of ``tanh(codes / s)``.

    ``s`` is each column's standard deviation in the batch (not differentiated), so the
    relaxation has the same sharpness whatever scale the encoder settles on. The forward value
    is exactly the binary code that :meth:`encode` packs, so the loss sees the true Hamming
    geometry while the gradient stays informative (a straight-through estimator).
    """
    scale = codes.detach().std(dim=0, keepdim=True).clamp_min(1e-6)
    soft = torch.tanh(codes / scale)
    return soft + (torch.sign(codes) - soft).detach()


def nested_similarity_loss(
    codes: torch.Tensor,
    target: torch.Tensor,
    dims: Sequence[int],
    weights: SimilarityWeights,
) -> torch.Tensor:
    """Mean of :func:`similarity_loss` over the leading ``k`` columns for each ``k`` in ``dims``,
    on the float codes and, for the sizes of at least ``weights.bit_size_fraction`` of the
    largest, (weighted by ``weights.bits``) on their relaxed bits, whose target is
    :func:`hamming_target` of ``target``."""
    prepared = _Target.of(target, weights.temperature)
    bit_target = None
    if weights.bits > 0:
        bit_target = _Target.of(hamming_target(target), weights.temperature)
    smallest_with_bits = weights.bit_size_fraction * max(dims)
    total = codes.new_zeros(())
    for k in dims:
        prefix = codes[:, :k]
        total = total + _loss(prefix, prepared, weights.kl, weights.mse)
        if bit_target is not None and k >= smallest_with_bits:
            bits = relaxed_bits(prefix)
            total = total + weights.bits * _loss(bits, bit_target, weights.kl, weights.mse)
    return total / len(dims)


def mine_neighbours(x: torch.Tensor, k: int, *, block: int = 4096) -> torch.Tensor:
    """Indices of each row's ``k`` most cosine-similar other rows, shape (n, k).

    Exact search: FAISS ``IndexFlatIP`` when the ``index`` extra is installed, otherwise
    blocked matrix products in torch. The row itself is excluded.
    """
    n = x.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return torch.zeros((n, 0), dtype=torch.long)
    unit = F.normalize(x.detach().float().cpu(), dim=1).contiguous()
    faiss: Any
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        index = faiss.IndexFlatIP(unit.shape[1])
        index.add(unit.numpy())
        _, found = index.search(unit.numpy(), k + 1)
        ids = torch.from_numpy(found).long()
    else:
        parts = []
        for start in range(0, n, block):
            sims = unit[start : start + block] @ unit.T
            parts.append(sims.topk(k + 1, dim=1).indices)
        ids = torch.cat(parts)
    own = torch.arange(n).unsqueeze(1)
    # Drop the row itself (usually first; duplicates may put it elsewhere), keep k others.
    keep = ids != own
    ordered = torch.where(keep, ids, torch.full_like(ids, -1))
    result = torch.empty((n, k), dtype=torch.long)
    for i in range(0, n, 65536):
        chunk = ordered[i : i + 65536]
        # Stable sort moves the -1 (self) to the end without reordering the neighbours.
        moved = torch.sort((chunk < 0).to(torch.int8), dim=1, stable=True).indices
        result[i : i + 65536] = torch.gather(chunk, 1, moved)[:, :k]
    return result


class SimilarityObjective:
    """The similarity objective around a likelihood objective (reconstruction or ELBO).

    Implements :class:`vecae._train.Objective`. The loss is
    :func:`nested_similarity_loss` of the clean batch's codes against the cosine matrix of the
    batch itself, computed within consecutive blocks of ``weights.block_rows`` rows (a
    row-weighted mean over blocks; :class:`NeighbourSource` puts each anchor next to its
    neighbour, so every block keeps its close pairs), plus ``weights.reconstruction`` times
    the inner objective's loss, which keeps the decoder, ``inverse_transform`` and the
    anomaly scores working.

    Parameters
    ----------
    module : DenseNet or VariationalNet
        Anything with ``encode(x)``; for the VAE that is the posterior mean.
    inner : Objective
        The family's own objective (it applies the denoising corruption itself).
    dims : sequence of int
        Nested code sizes trained at once; each prefix of the code gets its own loss.
    weights : SimilarityWeights
    """

    def __init__(
        self, module: Any, inner: Any, dims: Sequence[int], weights: SimilarityWeights
    ) -> None:
        self.module = module
        self.inner = inner
        self.dims = tuple(int(d) for d in dims)
        self.weights = weights

    def _similarity(self, batch: torch.Tensor) -> torch.Tensor:
        codes: torch.Tensor = self.module.encode(batch)
        n = batch.shape[0]
        block = max(2, self.weights.block_rows)
        total = codes.new_zeros(())
        for start in range(0, n, block):
            stop = min(n, start + block)
            if n - stop < 2:  # a last block of one row has no pairs: it joins this one
                stop = n
            part = nested_similarity_loss(
                codes[start:stop], cosine_matrix(batch[start:stop]), self.dims, self.weights
            )
            total = total + part * ((stop - start) / n)
            if stop == n:
                break
        return total

    def training_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        inner: torch.Tensor = self.inner.training_loss(batch, epoch)
        return self._similarity(batch) + self.weights.reconstruction * inner

    def validation_loss(self, batch: torch.Tensor) -> torch.Tensor:
        inner: torch.Tensor = self.inner.validation_loss(batch)
        return self._similarity(batch) + self.weights.reconstruction * inner


class NeighbourSource:
    """Training batches of anchors plus one mined neighbour of each, drawn afresh every batch.

    Parameters
    ----------
    train : SubsetSource
        The training rows (``train.rows`` are indices into ``train.source``).
    neighbours : Tensor of shape (n_all, k)
        Indices into ``train.source`` of each row's nearest training rows.
    generator : torch.Generator
        Picks which neighbour joins each anchor, so ``random_state`` pins it.
    """

    def __init__(self, train: Any, neighbours: torch.Tensor, generator: torch.Generator) -> None:
        self.train = train
        self.neighbours = neighbours
        self.generator = generator
        self.n_rows = train.n_rows

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        anchors = self.train.rows[rows]
        options = self.neighbours[anchors]
        pick = torch.randint(0, options.shape[1], (len(anchors), 1), generator=self.generator)
        partners = torch.gather(options, 1, pick).squeeze(1)
        # Interleaved (anchor, neighbour, anchor, neighbour, ...): every similarity block of
        # an even number of rows holds each of its anchors' neighbours.
        interleaved = torch.stack([anchors, partners], dim=1).reshape(-1)
        rows_out: torch.Tensor = self.train.source.batch(interleaved)
        return rows_out
