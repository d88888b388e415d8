"""Micro-batching: concurrent requests gathered for a short window into one forward pass.

A 1-row forward pass through a small MLP costs about as much as a 100-row one: the time goes
into per-call overhead, not arithmetic. So requests are queued, and one background task takes
everything queued, groups it by operation, runs each group as one call on a single worker
thread, and hands every request its own slice of the result. The event loop never runs a
forward pass itself, so it keeps accepting and parsing requests meanwhile, and those pile up
for the next batch: under load, batches form without any waiting.

The window adds a wait on top, only under concurrent traffic (when the batch being formed, or
the previous one, holds more than one request): up to ``window`` for more requests, or until
``max_rows`` rows are in. A lone client therefore never waits for company it will not get.
``max_rows=1`` turns batching off: every request runs on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BatchFn", "MicroBatcher"]

# A function from stacked input rows to one output row per input row (first axis).
BatchFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class _Job:
    key: Hashable
    fn: BatchFn
    rows: np.ndarray
    future: asyncio.Future[np.ndarray] = field(repr=False)


class MicroBatcher:
    """Queue requests and run them in batches on one worker thread.

    Parameters
    ----------
    window_s : float
        Under concurrent traffic, how long to wait for more requests after the first one of a
        batch; ``0`` batches only what is already queued.
    max_rows : int
        A batch runs as soon as it holds this many rows; ``1`` turns batching off.

    Examples
    --------
    >>> import asyncio, numpy as np
    >>> async def demo() -> list[float]:
    ...     batcher = MicroBatcher(window_s=0.001, max_rows=64)
    ...     await batcher.start()
    ...     jobs = [batcher.submit("x2", lambda x: x * 2, np.ones((1, 2))) for _ in range(3)]
    ...     out = await asyncio.gather(*jobs)
    ...     await batcher.stop()
    ...     return [float(o.sum()) for o in out]
    >>> asyncio.run(demo())
    [4.0, 4.0, 4.0]
    """

    def __init__(self, *, window_s: float, max_rows: int) -> None:
        self.window_s = window_s
        self.max_rows = max_rows
        # One thread: torch already spreads a forward pass over the cores, and two passes at
        # once would only fight over them.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vecae-forward")
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches_run = 0
        self.rows_run = 0
        self._busy = False  # whether the previous batch held more than one request

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` was not."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the batching task on the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop(), name="vecae-micro-batcher")

    async def stop(self) -> None:
        """Stop the batching task and the worker thread (after its current batch)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, key: Hashable, fn: BatchFn, rows: np.ndarray) -> np.ndarray:
        """Run ``fn`` on ``rows``, batched with other requests that share ``key``.

        Parameters
        ----------
        key : hashable
            Requests with equal keys are stacked into one call of ``fn``; the key must
            therefore pin everything ``fn`` depends on besides the rows.
        fn : callable
            Maps an ``(n, d)`` array to an array whose first axis has ``n`` entries.
        rows : ndarray of shape (n, d)

        Returns
        -------
        ndarray
            ``fn``'s output for exactly these rows.
        """
        if self._queue is None:
            raise RuntimeError("MicroBatcher.submit() before start()")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(key, fn, rows, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            n_rows = self._drain(queue, jobs, len(jobs[0].rows))
            if self.window_s > 0 and (self._busy or len(jobs) > 1):
                deadline = loop.time() + self.window_s
                while n_rows < self.max_rows and (remaining := deadline - loop.time()) > 0:
                    # Short steps, so a batch that fills up early does not wait the whole window.
                    await asyncio.sleep(min(remaining, 0.0005))
                    n_rows = self._drain(queue, jobs, n_rows)
            self._busy = len(jobs) > 1
            jobs = [job for job in jobs if not job.future.done()]  # clients that gave up
            if not jobs:
                continue
            self.batches_run += 1
            self.rows_run += n_rows
            try:
                outcomes = await loop.run_in_executor(self._executor, _run_groups, jobs)
            except Exception as exc:  # pragma: no cover - _run_groups catches per group
                outcomes = [exc] * len(jobs)
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)

    def _drain(self, queue: asyncio.Queue[_Job], jobs: list[_Job], n_rows: int) -> int:
        """Move queued jobs into ``jobs`` while the batch has room; return its row count."""
        while n_rows < self.max_rows and not queue.empty():
            job = queue.get_nowait()
            jobs.append(job)
            n_rows += len(job.rows)
        return n_rows


def _run_groups(jobs: list[_Job]) -> list[np.ndarray | Exception]:
    """One call of each group's function on its stacked rows; each job gets its slice back.

    A failing group fails only its own jobs.
    """
    groups: dict[Hashable, list[int]] = {}
    for position, job in enumerate(jobs):
        groups.setdefault(job.key, []).append(position)
    outcomes: list[np.ndarray | Exception] = [np.empty(0)] * len(jobs)
    for positions in groups.values():
        members = [jobs[p] for p in positions]
        try:
            stacked = (
                members[0].rows
                if len(members) == 1
                else np.concatenate([job.rows for job in members])
            )
            result = members[0].fn(stacked)
            bounds = np.cumsum([len(job.rows) for job in members])[:-1]
            for p, part in zip(positions, np.split(result, bounds), strict=True):
                outcomes[p] = part
        except Exception as exc:
            for p in positions:
                outcomes[p] = exc
    return outcomes
