"""The one training loop, shared by every model family.

It knows nothing model-specific: the caller hands it a module, a function that computes the
training loss of a batch, a function that computes the validation loss of a batch, and
"batch sources" that turn a tensor of row indices into a dense float batch. That keeps sparse
inputs sparse (each source densifies one batch at a time) and keeps in-memory dense data on
the fast path: one shuffled permutation per epoch, sliced into index batches, with no per-row
``Dataset``/``DataLoader`` machinery (which costs 1.3-1.5x on in-memory arrays).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from vecae._exceptions import TrainingDivergedError

__all__ = [
    "BatchSource",
    "CodesSource",
    "SparseSource",
    "TensorSource",
    "TrainResult",
    "TrainerConfig",
    "resolve_device",
    "torch_threads",
    "train",
]


# ---------------------------------------------------------------------------------------------
# Batch sources


class BatchSource(Protocol):
    n_rows: int

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        """Dense float32 rows ``rows`` on the training device."""
        ...


class TensorSource:
    """Rows of a dense tensor that is already on the device."""

    def __init__(self, data: torch.Tensor) -> None:
        self.data = data
        self.n_rows = data.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        return self.data.index_select(0, rows.to(self.data.device))


class SparseSource:
    """Rows of a CSR matrix, densified one batch at a time (the whole matrix never is)."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.matrix = matrix
        self.device = device
        self.n_rows = matrix.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        dense = self.matrix[rows.numpy()].toarray().astype(np.float32, copy=False)
        return torch.from_numpy(dense).to(self.device)


class CodesSource:
    """Integer category codes per field, one-hot encoded one batch at a time.

    ``codes[i, f]`` is the index of row i's value within field f, or -1 for a value the model
    never saw (its block stays all-zero).
    """

    def __init__(self, codes: torch.Tensor, offsets: torch.Tensor, width: int) -> None:
        self.codes = codes
        self.offsets = offsets
        self.width = width
        self.n_rows = codes.shape[0]

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        codes = self.codes.index_select(0, rows.to(self.codes.device))
        out = torch.zeros((codes.shape[0], self.width), device=codes.device)
        known = codes >= 0
        columns = (codes + self.offsets).clamp_min(0)
        # scatter_add, not scatter: an unknown value (weight 0) may share a column index with a
        # known one after clamping, and must not overwrite it.
        out.scatter_add_(1, columns, known.to(out.dtype))
        return out


# ---------------------------------------------------------------------------------------------
# Configuration and helpers


@dataclass
class TrainerConfig:
    epochs: int = 100
    # 1024 rows keep both CPU cores busy inside each matmul: with these small layers, batch 32
    # spends most of its time in per-step Python and optimiser overhead (see benchmarks/).
    batch_size: int = 1024
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10  # epochs without a validation improvement before stopping
    lr_patience: int = 4  # epochs without improvement before the learning rate is halved
    lr_factor: float = 0.5
    min_delta: float = 1e-4  # relative improvement that counts as progress
    grad_clip: float = 5.0  # max global gradient norm; guards against rare exploding steps
    verbose: bool = False


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


def _make_optimizer(module: nn.Module, config: TrainerConfig) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    try:
        # The fused kernel updates all parameters in one pass; it exists on CPU since torch 2.4.
        return torch.optim.Adam(
            params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
        )
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)


# ---------------------------------------------------------------------------------------------
# The loop

LossFn = Callable[[torch.Tensor, int], torch.Tensor]  # (batch, epoch index) -> scalar loss
EvalFn = Callable[[torch.Tensor], torch.Tensor]  # batch -> scalar loss, no gradient needed


def _mean_loss(module: nn.Module, source: BatchSource, eval_fn: EvalFn, batch_size: int) -> float:
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, source.n_rows, batch_size):
            rows = torch.arange(start, min(start + batch_size, source.n_rows))
            total += float(eval_fn(source.batch(rows))) * len(rows)
            count += len(rows)
    return total / max(count, 1)


def train(
    module: nn.Module,
    train_loss: LossFn,
    eval_loss: EvalFn,
    train_source: BatchSource,
    val_source: BatchSource | None,
    config: TrainerConfig,
    generator: torch.Generator,
) -> TrainResult:
    """Fit ``module`` in place and leave it holding the best weights seen.

    "Best" is judged on the validation loss when ``val_source`` has rows, else on the training
    loss. Training stops after ``config.epochs``, after ``config.patience`` epochs without
    improvement (early stopping), or when the loss stops being finite, which raises
    :class:`TrainingDivergedError` after restoring the best weights.
    """
    result = TrainResult()
    if config.epochs == 0:
        return result
    started = time.perf_counter()
    optimizer = _make_optimizer(module, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_factor, patience=config.lr_patience
    )
    has_val = val_source is not None and val_source.n_rows > 0
    best_loss = math.inf
    best_state = copy.deepcopy(module.state_dict())
    stale_epochs = 0
    n = train_source.n_rows
    progress = _Progress(config.epochs, enabled=config.verbose)
    result.stop_reason = f"reached epochs={config.epochs}"

    # Dropout draws from torch's global RNG and cannot take a generator. Fork the global state
    # and seed the fork from our generator, so results are pinned and the caller's RNG untouched.
    with torch.random.fork_rng(devices=[]), progress:
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
        for epoch in range(config.epochs):
            module.train()
            order = torch.randperm(n, generator=generator)
            running, seen = 0.0, 0
            for start in range(0, n, config.batch_size):
                rows = order[start : start + config.batch_size]
                loss = train_loss(train_source.batch(rows), epoch)
                if not torch.isfinite(loss):
                    module.load_state_dict(best_state)
                    raise _diverged(result, "training", loss.item(), epoch, started)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                if config.grad_clip > 0:
                    nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
                optimizer.step()
                running += float(loss.detach()) * len(rows)
                seen += len(rows)

            train_epoch_loss = running / max(seen, 1)
            val_epoch_loss = (
                _mean_loss(module, val_source, eval_loss, config.batch_size)
                if has_val and val_source is not None
                else math.nan
            )
            monitored = val_epoch_loss if has_val else train_epoch_loss
            result.history["train_loss"].append(train_epoch_loss)
            result.history["val_loss"].append(val_epoch_loss)
            result.history["learning_rate"].append(optimizer.param_groups[0]["lr"])
            result.epochs_run = epoch + 1
            progress.update(epoch + 1, train_epoch_loss, val_epoch_loss)

            if not math.isfinite(monitored):
                module.load_state_dict(best_state)
                raise _diverged(result, "validation", monitored, epoch, started)
            if math.isinf(best_loss) or monitored < best_loss - config.min_delta * abs(best_loss):
                best_loss = monitored
                best_state = copy.deepcopy(module.state_dict())
                result.best_epoch = epoch + 1
                stale_epochs = 0
            else:
                stale_epochs += 1
            scheduler.step(monitored)
            if stale_epochs >= config.patience:
                result.stop_reason = f"early stopping: no improvement for {config.patience} epochs"
                break

    module.load_state_dict(best_state)
    module.eval()
    result.seconds = time.perf_counter() - started
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


class _Progress:
    """A rich progress bar over epochs that shows the latest losses; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.total = total
        self._progress: object | None = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(
                TextColumn("epoch {task.completed}/{task.total}"),
                BarColumn(),
                TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(),
                transient=False,
            )
            progress.start()
            self._task = progress.add_task("train", total=self.total, losses="")
            self._progress = progress
        return self

    def update(self, epoch: int, train_loss: float, val_loss: float) -> None:
        if self._progress is None:
            return
        text = f"train {train_loss:.5f}" + (
            f"  val {val_loss:.5f}" if math.isfinite(val_loss) else ""
        )
        self._progress.update(self._task, completed=epoch, losses=text)  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()  # type: ignore[attr-defined]
