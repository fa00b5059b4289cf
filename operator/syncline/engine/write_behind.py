"""Writing one batch while the next is read: the destination and the source work at once.

A run alternated read → transform → write per batch, so the source's server, this
process and the destination's server took turns (issue 14 measured the client and
the servers idle half the time each). Here one writer thread commits batch n while
the caller reads and transforms batch n + 1; each side mostly waits on a socket or
runs Arrow/NumPy code, which release the GIL.

What must not change, and how it is kept:

- **Order.** One thread commits the batches in the order they were handed over, so a
  batch's watermark never commits before the batches it covers.
- **Nothing after a failure.** When a batch fails, the batches handed over after it are
  not written (``WriteBehind.failed`` is set on the writer's own thread before the next
  batch is taken). The run then ends as it did before: at the failed batch, with the
  watermark of the last committed one. When the reading side fails instead, the batch
  being written still commits, and ``settle`` reports it, so the counts match the rows
  written.
- **Bounded memory.** At most one batch waits for the writer while it writes another,
  so at most three batches are alive (being read, waiting, being written).
- **One connection per thread.** The writer thread alone uses the sink; the caller's
  thread alone uses the source (they are separate connector objects).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Job = TypeVar("Job")
Done = TypeVar("Done")

PENDING_LIMIT = 1
"""Batches handed over that have not been committed, besides the one being read."""


class WriteBehind(Generic[Job, Done]):
    """Commits jobs on one thread, in order; results come back in the same order."""

    def __init__(self, write: Callable[[Job], Done]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncline-writer")
        self._pending: deque[tuple[Job, Future[Done]]] = deque()
        self.failed = threading.Event()

    def submit(self, job: Job) -> Iterator[tuple[Job, Done]]:
        """Hand ``job`` over; yields the jobs committed meanwhile with their results
        (re-raising the first failure), waiting when too many are pending."""
        self._pending.append((job, self._pool.submit(self._guarded, job)))
        while len(self._pending) > PENDING_LIMIT:
            yield self._oldest()

    def drain(self) -> Iterator[tuple[Job, Done]]:
        """Every job still pending, committed, with its result (re-raising a failure)."""
        while self._pending:
            yield self._oldest()

    def settle(self) -> Iterator[tuple[Job, Done]]:
        """After the caller itself failed (the source broke): the batch being written
        still commits whole, the ones not started are dropped; yields those that
        committed, so the run counts every row it wrote."""
        self.failed.set()
        while self._pending:
            job, future = self._pending.popleft()
            try:
                done = future.result()
            except BaseException:  # noqa: S112 - the caller's own failure is the one to raise
                continue
            yield job, done

    def close(self) -> None:
        """Let the batch being written finish (it commits whole or not at all), drop the
        rest, and stop the thread."""
        self.failed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _oldest(self) -> tuple[Job, Done]:
        job, future = self._pending.popleft()
        return job, future.result()

    def _guarded(self, job: Job) -> Done:
        if self.failed.is_set():
            raise NotWrittenError("an earlier batch failed; this one was not written")
        try:
            return self._write(job)
        except BaseException:
            self.failed.set()
            raise

    def __enter__(self) -> WriteBehind[Job, Done]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class NotWrittenError(RuntimeError):
    """A batch handed over after one that failed: skipped, never seen by the caller
    (the earlier failure is raised first, since results come back in order)."""
