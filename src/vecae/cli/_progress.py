"""The training progress bar of the command line: a rich bar driven by a trainer callback.

The library never imports rich; it calls :class:`vecae.Callback` hooks, and this one draws them.
"""

from __future__ import annotations

import math

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from vecae import Callback, EpochLog
from vecae.cli._output import Output

__all__ = ["training_callbacks"]


class RichEpochProgress(Callback):
    """A bar over epochs on the command's stderr console, showing the latest losses."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def on_train_begin(self, epochs: int) -> None:
        self._bar = Progress(
            TextColumn("epoch {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(),
            console=self.out.err,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=epochs, losses="")

    def on_epoch_end(self, log: EpochLog) -> None:
        if self._bar is None or self._task is None:
            return
        text = f"train {log.train_loss:.5f}" + (
            f"  val {log.val_loss:.5f}" if math.isfinite(log.val_loss) else ""
        )
        self._bar.update(self._task, completed=log.epoch, losses=text)

    def on_train_end(self, result: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def training_callbacks(out: Output) -> list[Callback]:
    """The callbacks a training command passes to ``fit``: the epoch bar, unless ``--quiet``.

    On stderr always; when stderr is not a terminal rich prints the bar's final state once
    (``epoch N/N`` with the last losses), which is a useful line in a log.
    """
    if not out.show_progress:
        return []
    return [RichEpochProgress(out)]
