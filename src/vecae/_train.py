"""The one training loop, shared by every model family.

It knows nothing model-specific. The caller hands it

* a module (an ``nn.Module`` whose parameters are optimised),
* an :class:`Objective`: the loss of a training batch and of a validation batch,
* batch sources (:mod:`vecae._batches`) for the training and the validation rows,
* a :class:`TrainerConfig`, a seeded ``torch.Generator`` and optional :class:`Callback` objects.

In-memory data stays on the fast path: one shuffled permutation per epoch, sliced into index
batches, with no per-row ``Dataset``/``DataLoader`` machinery (which costs 1.3-1.5x on
in-memory arrays). Presentation is not the trainer's business: progress bars and logging are
callbacks, and the library itself ships only :class:`PrintProgress` (plain lines on stderr).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import torch
from torch import nn

from vecae._batches import BatchSource
from vecae._exceptions import TrainingDivergedError

__all__ = [
    "LR_SCHEDULES",
    "Callback",
    "EpochLog",
    "NonFiniteLoss",
    "Objective",
    "PrintProgress",
    "Replica",
    "TrainResult",
    "TrainerConfig",
    "TrainingLoss",
    "current_replica",
    "epoch_batches",
    "make_optimizer",
    "resolve_device",
    "run_epoch",
    "torch_threads",
    "train",
]

LR_SCHEDULES = ("cosine", "plateau")


# ---------------------------------------------------------------------------------------------
# What the caller supplies


class Objective(Protocol):
    """What the trainer minimises; one object per fit, built by the estimator.

    An objective owns everything loss-specific: corruption of the input (denoising), KL
    weights and their warm-up schedule, extra terms such as a similarity-preserving penalty,
    and the random generators those need. The trainer only calls these two methods, so a new
    objective is one small class; to add a term to an existing one, wrap it::

        class WithPenalty:
            def __init__(self, inner: Objective, weight: float) -> None: ...
            def training_loss(self, batch, epoch):
                return self.inner.training_loss(batch, epoch) + self.weight * penalty(batch)
            def validation_loss(self, batch):
                return self.inner.validation_loss(batch)
    """

    def training_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        """Scalar loss of a training batch (with gradient); ``epoch`` is 0-based."""
        ...

    def validation_loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Scalar loss of a clean validation batch; called under ``torch.no_grad()``.

        It must not depend on the epoch, so that epochs compare fairly for early stopping.
        """
        ...


@dataclass(frozen=True)
class EpochLog:
    """What a callback learns at the end of each epoch."""

    epoch: int  # 1-based
    epochs: int  # the configured maximum
    train_loss: float
    val_loss: float  # NaN without validation rows
    learning_rate: float  # the rate used during this epoch
    improved: bool  # the monitored loss improved by more than min_delta
    seconds: float  # since training started


class Callback:
    """Hooks into the training loop; subclass and override what you need.

    ``on_epoch_end`` may return ``True`` to stop training after that epoch (the best weights
    are still restored). The trainer calls hooks in the order the callbacks were given.

    Examples
    --------
    >>> import numpy as np
    >>> from vecae import Autoencoder
    >>> class StopAtThree(Callback):
    ...     def on_epoch_end(self, log):
    ...         return log.epoch >= 3
    >>> X = np.random.default_rng(0).normal(size=(200, 8)).astype("float32")
    >>> Autoencoder(latent_dim=2, epochs=50, random_state=0).fit(
    ...     X, callbacks=[StopAtThree()]).n_epochs_
    3
    """

    def on_train_begin(self, epochs: int) -> None:
        """Called once before the first epoch with the configured maximum of epochs."""

    def on_epoch_end(self, log: EpochLog) -> bool | None:
        """Called after each epoch; return ``True`` to stop training."""
        return None

    def on_train_end(self, result: TrainResult) -> None:
        """Called once after training, also when it stopped early or diverged."""


class PrintProgress(Callback):
    """One plain line per epoch on ``stream`` (stderr by default): what ``verbose=True`` shows."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_epoch_end(self, log: EpochLog) -> None:
        val = f"  val {log.val_loss:.5f}" if math.isfinite(log.val_loss) else ""
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(
            f"epoch {log.epoch}/{log.epochs}  train {log.train_loss:.5f}{val}  "
            f"lr {log.learning_rate:.2e}  {log.seconds:.1f}s\n"
        )
        stream.flush()


# ---------------------------------------------------------------------------------------------
# Configuration and results


@dataclass
class TrainerConfig:
    """Every setting of the loop; each one is an estimator parameter of the same name."""

    epochs: int = 100
    # 1024 rows keep both CPU cores busy inside each matmul: with these small layers, batch 32
    # spends most of its time in per-step Python and optimiser overhead (see benchmarks/).
    batch_size: int = 1024
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    # "plateau": halve the rate after lr_patience stale epochs; "cosine": anneal it from
    # learning_rate to 0 over `epochs`, per optimiser step.
    lr_schedule: str = "plateau"
    patience: int = 10  # epochs without a validation improvement before stopping
    lr_patience: int = 4  # epochs without improvement before the plateau schedule cuts the rate
    lr_factor: float = 0.5
    min_delta: float = 1e-4  # relative improvement that counts as progress
    grad_clip: float = 5.0  # max global gradient norm; guards against rare exploding steps


@dataclass
class TrainResult:
    history: dict[str, list[float]] = field(
        default_factory=lambda: {"train_loss": [], "val_loss": [], "learning_rate": []}
    )
    best_epoch: int = 0  # 1-based; 0 means the untrained weights were kept
    epochs_run: int = 0
    stop_reason: str = "epochs=0: untrained baseline"
    seconds: float = 0.0


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Use ``n_threads`` intra-op threads inside the block, then restore the previous count."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_optimizer(module: nn.Module, config: TrainerConfig) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    try:
        # The fused kernel updates all parameters in one pass; it exists on CPU since torch 2.4.
        return torch.optim.Adam(
            params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
        )
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)


class _Schedule:
    """The learning-rate policy: a per-step cosine anneal or a per-epoch plateau cut."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainerConfig, steps_per_epoch: int
    ) -> None:
        if config.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, got {config.lr_schedule!r}"
            )
        self.cosine = config.lr_schedule == "cosine"
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=config.lr_factor, patience=config.lr_patience
        )
        self.optimizer = optimizer
        self.base = config.learning_rate
        self.total = max(1, config.epochs * steps_per_epoch)
        self.step_count = 0

    def before_step(self) -> None:
        if self.cosine:
            # Evaluated at the middle of the step, so the last step still moves (rate > 0).
            t = (self.step_count + 0.5) / self.total
            rate = 0.5 * self.base * (1.0 + math.cos(math.pi * min(t, 1.0)))
            for group in self.optimizer.param_groups:
                group["lr"] = rate
        self.step_count += 1

    def after_epoch(self, monitored: float) -> None:
        if not self.cosine:
            self.plateau.step(monitored)


# ---------------------------------------------------------------------------------------------
# The loop


class NonFiniteLoss(Exception):
    """A batch loss was NaN or infinite (``train`` turns it into TrainingDivergedError)."""

    def __init__(self, value: float) -> None:
        self.value = value


class TrainingLoss(nn.Module):
    """A module and its objective as one ``nn.Module`` whose ``forward`` is the training loss.

    This is the trainer's entry point for a step, and what
    :class:`~torch.nn.parallel.DistributedDataParallel` wraps: DDP hooks the gradient
    all-reduce into the backward pass of whatever its ``forward`` computed, and vecae's
    objectives compute losses through ``encode``/``loss`` methods rather than the model's own
    ``forward``. The wrapped ``module`` is a submodule, so its parameters are this module's.

    Parameters
    ----------
    module : torch.nn.Module
        The network being trained.
    objective : Objective
        Its training loss (it holds ``module`` itself).

    Examples
    --------
    >>> import torch
    >>> from vecae._objectives import Corruption, Reconstruction
    >>> from vecae.models import DenseConfig, DenseNet
    >>> net = DenseNet(DenseConfig(n_features=4, latent_dim=2, hidden=(8,)))
    >>> objective = Reconstruction(net, Corruption(0.0, 0.0, torch.Generator()))
    >>> step = TrainingLoss(net, objective)
    >>> step(torch.ones(3, 4), 0).shape
    torch.Size([])
    """

    def __init__(self, module: nn.Module, objective: Objective) -> None:
        super().__init__()
        self.module = module
        self.objective = objective

    def forward(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        """Scalar training loss of ``batch`` in (0-based) ``epoch``, with gradient."""
        return self.objective.training_loss(batch, epoch)


@dataclass(frozen=True)
class Replica:
    """This process's place in a data-parallel group (``torch.distributed``, e.g. torchrun).

    Every replica holds the same weights and draws the same batch order; each takes every
    ``world``-th row of each global batch. :func:`train` wraps the step in
    :class:`~torch.nn.parallel.DistributedDataParallel`, which averages the replicas'
    gradients during backward; each replica scales its loss by
    ``world * local rows / global rows`` first, so the average is the gradient of the whole
    global batch's mean loss, as one process would compute it, up to float rounding.
    """

    rank: int
    world: int

    def all_sum(self, values: Sequence[float]) -> list[float]:
        """Sum ``values`` over the replicas (losses and row counts, not gradients)."""
        import torch.distributed as dist

        tensor = torch.tensor(list(values), dtype=torch.float64)
        dist.all_reduce(tensor)
        return [float(v) for v in tensor.tolist()]

    def wrap(self, step: TrainingLoss) -> nn.Module:
        """``step`` under ``DistributedDataParallel`` (gloo on CPU, NCCL on CUDA)."""
        from torch.nn.parallel import DistributedDataParallel

        # The wrapped module's device (None: DDP uses the module's own, CPU or one GPU).
        # No buffer changes during training, so none needs broadcasting before each forward.
        return DistributedDataParallel(step, device_ids=None, broadcast_buffers=False)


def current_replica() -> Replica | None:
    """The data-parallel group this process trains in, if ``torch.distributed`` is set up."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return None
    world = dist.get_world_size()
    return Replica(dist.get_rank(), world) if world > 1 else None


def epoch_batches(
    source: BatchSource,
    batch_size: int,
    generator: torch.Generator,
    replica: Replica | None = None,
) -> Iterator[tuple[torch.Tensor, int]]:
    """One epoch of shuffled training batches from ``source``: ``(batch, global rows)``.

    A source that streams from disk shuffles itself (``shuffled_batches``: block shuffle plus
    a shuffle buffer); any other source gets one random permutation of its rows. Under a
    :class:`Replica` this process gets every ``world``-th row of each global batch; a last
    global batch with fewer rows than replicas is dropped.
    """
    shuffled = getattr(source, "shuffled_batches", None)
    if shuffled is not None:
        for batch in shuffled(batch_size, generator):
            if replica is None:
                yield batch, len(batch)
            elif len(batch) >= replica.world:
                yield batch[replica.rank :: replica.world], len(batch)
        return
    order = torch.randperm(source.n_rows, generator=generator)
    for start in range(0, source.n_rows, batch_size):
        rows = order[start : start + batch_size]
        if replica is None:
            yield source.batch(rows), len(rows)
        elif len(rows) >= replica.world:
            yield source.batch(rows[replica.rank :: replica.world]), len(rows)


def run_epoch(
    module: nn.Module,
    objective: Objective,
    source: BatchSource,
    optimizer: torch.optim.Optimizer,
    config: TrainerConfig,
    generator: torch.Generator,
    epoch: int,
    schedule: _Schedule | None = None,
    replica: Replica | None = None,
    step: nn.Module | None = None,
) -> tuple[float, float]:
    """One pass of optimiser steps over ``source``; ``(mean training loss, first step's rate)``.

    ``step`` computes each batch's loss: a :class:`TrainingLoss` of ``module`` and
    ``objective`` (built here when not given), under ``DistributedDataParallel`` when
    ``replica`` is set. Raises ``NonFiniteLoss`` (caught by :func:`train`) when a batch loss
    is NaN or infinite; under a replica, when the epoch's global loss is (checked once per
    epoch on every replica alike, so they all stop together and none waits in a collective).
    ``partial_fit`` calls this directly, once per call, with a persistent optimiser.
    """
    if step is None:
        step = TrainingLoss(module, objective)
    step.train()
    running, seen = 0.0, 0
    rate = optimizer.param_groups[0]["lr"]
    batches = epoch_batches(source, config.batch_size, generator, replica)
    for index, (batch, n_global) in enumerate(batches):
        loss = step(batch, epoch)
        if replica is None:
            if not torch.isfinite(loss):
                raise NonFiniteLoss(loss.item())
            scaled = loss
        else:
            # DDP averages gradients over replicas; weighting each by its share of the global
            # batch makes the average the global batch's gradient when shares are unequal.
            scaled = loss * (replica.world * len(batch) / n_global)
        optimizer.zero_grad(set_to_none=True)
        scaled.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
        if schedule is not None:
            schedule.before_step()
        if index == 0:
            rate = optimizer.param_groups[0]["lr"]
        optimizer.step()
        running += float(loss.detach()) * len(batch)
        seen += len(batch)
    if replica is not None:
        running, seen_sum = replica.all_sum([running, seen])
        seen = int(seen_sum)
        if not math.isfinite(running):
            raise NonFiniteLoss(running / max(seen, 1))
    return running / max(seen, 1), rate


def _mean_loss(
    module: nn.Module,
    source: BatchSource,
    objective: Objective,
    batch_size: int,
    replica: Replica | None = None,
) -> float:
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, source.n_rows, batch_size):
            rows = torch.arange(start, min(start + batch_size, source.n_rows))
            if replica is not None:
                rows = rows[replica.rank :: replica.world]
                if len(rows) == 0:
                    continue
            total += float(objective.validation_loss(source.batch(rows))) * len(rows)
            count += len(rows)
    if replica is not None:
        total, count_sum = replica.all_sum([total, count])
        count = int(count_sum)
    return total / max(count, 1)


def train(
    module: nn.Module,
    objective: Objective,
    train_source: BatchSource,
    val_source: BatchSource | None,
    config: TrainerConfig,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Fit ``module`` in place and leave it holding the best weights seen.

    Parameters
    ----------
    module : torch.nn.Module
        The network whose trainable parameters are optimised (Adam).
    objective : Objective
        Computes the training and validation losses of a batch.
    train_source, val_source : BatchSource
        Rows to train on and to validate on; ``val_source`` may be ``None`` or empty.
    config : TrainerConfig
    generator : torch.Generator
        Drives shuffling and seeds the fork of the global RNG that dropout draws from.
    callbacks : sequence of Callback
        Called at the start, after every epoch (any may ask to stop) and at the end.

    Returns
    -------
    TrainResult
        Per-epoch history, the best epoch, the number of epochs run and why training stopped.

    Raises
    ------
    TrainingDivergedError
        A loss stopped being finite; the best weights so far are restored first.

    Notes
    -----
    "Best" is judged on the validation loss when ``val_source`` has rows, else on the training
    loss. Training stops after ``config.epochs``, after ``config.patience`` epochs without
    improvement (early stopping), or when a callback asks to.
    """
    result = TrainResult()
    if config.epochs == 0:
        return result
    started = time.perf_counter()
    n = train_source.n_rows
    optimizer = make_optimizer(module, config)
    schedule = _Schedule(optimizer, config, steps_per_epoch=math.ceil(n / config.batch_size))
    has_val = val_source is not None and val_source.n_rows > 0
    replica = current_replica()
    loss_step = TrainingLoss(module, objective)
    step = loss_step if replica is None else replica.wrap(loss_step)
    order_generator = generator
    if replica is not None:
        # Replicas must draw one batch order, but their own corruption and sampling noise:
        # the order gets a generator of its own, and the shared one is re-seeded per rank.
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        order_generator = torch.Generator().manual_seed(seed)
        generator.manual_seed(seed + 1 + replica.rank)
    best_loss = math.inf
    best_state = copy.deepcopy(module.state_dict())
    stale_epochs = 0
    result.stop_reason = f"reached epochs={config.epochs}"
    for callback in callbacks:
        callback.on_train_begin(config.epochs)

    try:
        # Dropout draws from torch's global RNG and cannot take a generator. Fork the global
        # state and seed the fork from our generator: results are pinned and the caller's RNG
        # untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            for epoch in range(config.epochs):
                try:
                    train_epoch_loss, epoch_rate = run_epoch(
                        module,
                        objective,
                        train_source,
                        optimizer,
                        config,
                        order_generator,
                        epoch,
                        schedule,
                        replica,
                        step,
                    )
                except NonFiniteLoss as exc:
                    module.load_state_dict(best_state)
                    raise _diverged(result, "training", exc.value, epoch, started) from None
                val_epoch_loss = (
                    _mean_loss(module, val_source, objective, config.batch_size, replica)
                    if has_val and val_source is not None
                    else math.nan
                )
                monitored = val_epoch_loss if has_val else train_epoch_loss
                result.history["train_loss"].append(train_epoch_loss)
                result.history["val_loss"].append(val_epoch_loss)
                result.history["learning_rate"].append(epoch_rate)
                result.epochs_run = epoch + 1

                if not math.isfinite(monitored):
                    module.load_state_dict(best_state)
                    raise _diverged(result, "validation", monitored, epoch, started)
                improved = math.isinf(best_loss) or (
                    monitored < best_loss - config.min_delta * abs(best_loss)
                )
                if improved:
                    best_loss = monitored
                    best_state = copy.deepcopy(module.state_dict())
                    result.best_epoch = epoch + 1
                    stale_epochs = 0
                else:
                    stale_epochs += 1
                log = EpochLog(
                    epoch=epoch + 1,
                    epochs=config.epochs,
                    train_loss=train_epoch_loss,
                    val_loss=val_epoch_loss,
                    learning_rate=epoch_rate,
                    improved=improved,
                    seconds=time.perf_counter() - started,
                )
                # Every callback sees every epoch, even when an earlier one asks to stop.
                stop_requests = [callback.on_epoch_end(log) for callback in callbacks]
                schedule.after_epoch(monitored)
                if stale_epochs >= config.patience:
                    result.stop_reason = (
                        f"early stopping: no improvement for {config.patience} epochs"
                    )
                    break
                if any(stop_requests):
                    result.stop_reason = f"stopped by a callback after epoch {epoch + 1}"
                    break
        module.load_state_dict(best_state)
        module.eval()
        result.seconds = time.perf_counter() - started
    finally:
        for callback in callbacks:
            callback.on_train_end(result)
    return result


def _diverged(
    result: TrainResult, which: str, value: float, epoch: int, started: float
) -> TrainingDivergedError:
    """Record the stop in ``result`` and build the error that says what to try."""
    result.stop_reason = "diverged"
    result.seconds = time.perf_counter() - started
    return TrainingDivergedError(
        f"{which} loss became {value} in epoch {epoch + 1}; the best weights so far "
        f"(epoch {result.best_epoch}) were kept. Try a lower learning_rate, a smaller beta, "
        "or check the input scale."
    )
