"""Splitting one task over pods: key ranges, each pod's share, and the run's sum."""

from __future__ import annotations

import pyarrow as pa
import pytest

from syncline.api.connection import ConnectionType, Entity, EntityField
from syncline.api.project import IntegrationProjectSpec
from syncline.api.run import PartitionResult, RunResult
from syncline.api.task import Task
from syncline.engine.partitions import KeyRange, combined_watermark, split_points, worst
from syncline.engine.validation import scale_out_errors, validate_task
from syncline.history.naming import pod_log_key, run_log
from syncline.scheduling.scale_out import split_pods


def test_split_points_divide_the_key_span_evenly_and_cover_everything() -> None:
    assert split_points(1, 3000, 3) == [1001, 2001]
    assert split_points(-10, 9, 4) == [-5, 0, 5]
    assert split_points(7, 7, 3) == [7, 7]  # one key: the last pod reads it
    assert split_points(None, None, 3) == [0, 0]  # empty: the outer pods share arrivals
    keys = [*range(-20, 40), None]
    ranges = [KeyRange.of("id", split_points(-20, 39, 4), i) for i in range(4)]
    batch = pa.RecordBatch.from_pydict({"id": pa.array(keys, pa.int64())})
    shares = [batch.filter(r.mask(batch)).column("id").to_pylist() for r in ranges]
    assert sorted([k for s in shares for k in s], key=lambda k: (k is not None, k)) == sorted(
        keys, key=lambda k: (k is not None, k)
    )  # every key exactly once, a null key included (in the first range)
    assert None in shares[0]
    assert shares[3][-1] == 39


def test_keys_beyond_the_plan_fall_in_the_outer_ranges() -> None:
    bounds = split_points(100, 199, 2)
    batch = pa.RecordBatch.from_pydict({"id": [5, 150, 1_000_000]})
    first, last = (KeyRange.of("id", bounds, i) for i in (0, 1))
    assert batch.filter(first.mask(batch)).column("id").to_pylist() == [5]
    assert batch.filter(last.mask(batch)).column("id").to_pylist() == [150, 1_000_000]
    with pytest.raises(ValueError, match="range 2 of 2"):
        KeyRange.of("id", bounds, 2)


def _done(index: int, result: RunResult, watermark: str | None) -> PartitionResult:
    return PartitionResult(index=index, result=result, watermark=watermark)


def test_the_watermark_waits_for_every_range_and_is_the_smallest_of_theirs() -> None:
    ok = RunResult.COMPLETED
    assert combined_watermark([_done(0, ok, "9"), _done(1, ok, "10")], 2) == "9"  # numbers
    assert combined_watermark([_done(0, ok, "9")], 2) is None  # a range missing
    assert combined_watermark([_done(0, ok, "9"), _done(1, RunResult.ERROR, None)], 2) is None
    assert combined_watermark([_done(0, ok, None), _done(1, ok, None)], 2) is None
    big = [_done(0, ok, "9007199254740993"), _done(1, ok, "9007199254740992")]
    assert combined_watermark(big, 2) == "9007199254740992"  # exact beyond 2**53
    times = [_done(0, ok, "2026-01-02 00:00:00+00:00"), _done(1, ok, "2026-01-01 23:00:00+00:00")]
    assert combined_watermark(times, 2) == "2026-01-01 23:00:00+00:00"
    assert worst([ok, RunResult.WARNING]) is RunResult.WARNING
    assert worst([RunResult.WARNING, RunResult.ERROR, ok]) is RunResult.ERROR


def _task(**extra: object) -> Task:
    return Task.model_validate(
        {
            "name": "big",
            "source": {"connection": "a", "entity": "s"},
            "destination": {"connection": "b", "entity": "d", "keys": ["id"]},
            **extra,
        }
    )


def test_a_split_task_is_the_projects_only_task_has_no_query_and_an_integer_key() -> None:
    split = _task(scaleOut={"pods": 4, "key": "id"})
    assert scale_out_errors([split]) == []
    other = _task().model_copy(update={"name": "other"})
    [alone] = scale_out_errors([split, other])
    assert str(alone).startswith("2214 ScaleOutInvalid: Task big cannot be split over pods")
    [query] = scale_out_errors([_task(scaleOut={"pods": 2, "key": "id"}, query="SELECT 1")])
    assert "SQL step" in str(query)
    fields = [EntityField(name="id", type="bigint"), EntityField(name="name", type="text")]
    entity = Entity(name="s", fields=fields)
    assert validate_task(split, entity, entity, ["id"], source_type=ConnectionType.POSTGRESQL) == []
    by_name = _task(scaleOut={"pods": 2, "key": "name"})
    [typed] = validate_task(by_name, entity, entity, ["id"], source_type=ConnectionType.POSTGRESQL)
    assert "scaleOut.key name is string, not an integer" in str(typed)
    missing = _task(scaleOut={"pods": 2, "key": "nope"})
    [absent] = validate_task(missing, entity, entity, ["id"], source_type=ConnectionType.POSTGRESQL)
    assert "not a field of s" in str(absent)


def test_pods_of_a_project_and_the_bounds_of_the_api() -> None:
    spec = IntegrationProjectSpec.model_validate(
        {
            "connectionSetRef": {"name": "s"},
            "tasks": [_task(scaleOut={"pods": 5, "key": "id"}).to_wire()],
        }
    )
    assert split_pods(spec) == 5
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        _task(scaleOut={"pods": 1, "key": "id"})
    with pytest.raises(ValueError, match="less than or equal to 32"):
        _task(scaleOut={"pods": 33, "key": "id"})


def test_the_run_log_joins_the_pods_logs_in_pod_order_and_keeps_retries() -> None:
    data = {
        pod_log_key(10, "p-x"): "ten\n",
        pod_log_key(2, "p-b"): "two again\n",
        pod_log_key(2, "p-a"): "two\n",
        "run.log": "run\n",
    }
    assert run_log(data) == "run\ntwo\ntwo again\nten\n"
