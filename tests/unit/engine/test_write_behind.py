"""The writer thread commits in order, stops at the first failure, and keeps few batches."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import pytest

from syncline.engine import write_behind
from syncline.engine.write_behind import PENDING_LIMIT, WriteBehind


def test_jobs_are_written_in_order_and_results_come_back_in_order() -> None:
    written: list[int] = []
    threads: set[str] = set()

    def write(job: int) -> int:
        written.append(job)
        threads.add(threading.current_thread().name)
        return job * 10

    results: list[tuple[int, int]] = []
    with WriteBehind(write) as writer:
        for job in range(1, 8):
            results.extend(writer.submit(job))
        results.extend(writer.drain())
    assert written == list(range(1, 8))
    assert results == [(j, j * 10) for j in range(1, 8)]
    assert len(threads) == 1
    assert threading.current_thread().name not in threads


class _Handed(deque[Any]):
    """The writer's queue of handed-over jobs, telling when a second one is in."""

    def __init__(self, second_in: threading.Event) -> None:
        super().__init__()
        self.second_in = second_in

    def append(self, item: Any) -> None:
        super().append(item)
        if len(self) == 2:
            self.second_in.set()


def test_a_job_handed_over_after_a_failure_is_never_written() -> None:
    written: list[int] = []
    second_in = threading.Event()

    def write(job: int) -> int:
        if job == 2:
            second_in.wait()  # job 3 is handed over while job 2 is still being written
            raise ValueError("refused")
        written.append(job)
        return job

    seen: list[int] = []

    def hand_over(writer: WriteBehind[int, int]) -> None:
        writer._pending = _Handed(second_in)
        for job in (1, 2, 3):
            seen.extend(done for done, _ in writer.submit(job))
        seen.extend(done for done, _ in writer.drain())

    with WriteBehind(write) as writer, pytest.raises(ValueError, match="refused"):
        hand_over(writer)
    assert written == [1]
    assert seen == [1]


def test_at_most_one_job_waits_besides_the_one_being_read() -> None:
    def same(job: int) -> int:
        return job

    with WriteBehind(same) as writer:
        for job in range(10):
            assert [done for done, _ in writer.submit(job)] == ([job - 1] if job else [])
            assert len(writer._pending) <= PENDING_LIMIT
        assert [done for done, _ in writer.drain()] == [9]


def test_when_the_reader_fails_the_batch_being_written_still_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(write_behind, "PENDING_LIMIT", 2)  # batch 2 waits, batch 1 writes
    writing, finish = threading.Event(), threading.Event()
    written: list[int] = []

    def write(job: int) -> int:
        writing.set()
        finish.wait()
        written.append(job)
        return job

    with WriteBehind(write) as writer:
        assert list(writer.submit(1)) == []
        writing.wait()
        assert list(writer.submit(2)) == []

        def finish_once_failed() -> None:  # batch 1 ends only after the reader failed
            writer.failed.wait()
            finish.set()

        release = threading.Thread(target=finish_once_failed)
        release.start()
        settled = [job for job, _ in writer.settle()]
        release.join()
    assert settled == [1]
    assert written == [1]
