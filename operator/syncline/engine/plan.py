"""Plan mode: what a run would do, computed by really running it and rolling back.

Every merge runs inside a transaction that is rolled back (file sinks publish
nothing), so the counts are the real ones, not an estimate. A few rows per task are
compared with the destination to show what would change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from syncline.engine.plan_task import TaskPlan
from syncline.engine.project import ResolvedProject
from syncline.engine.report import RunReport, TaskReport
from syncline.engine.runner import run_project
from syncline.engine.transform.mapping import key_text

SAMPLES_PER_TASK = 3
_LOOKUP_ROWS = 50


@dataclass
class SampleDiff:
    """One record a run would insert or change: its key and the fields that differ."""

    key: str
    change: str  # "insert" | "update"
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class Plan:
    """The would-be run report and sample diffs per task."""

    report: RunReport
    samples: dict[str, list[SampleDiff]]


def plan_project(project: ResolvedProject, *, full_refresh: bool = False) -> Plan:
    """Run ``project`` without committing anything and collect sample diffs."""
    samples: dict[str, list[SampleDiff]] = {t.name: [] for t in project.tasks}

    def observe(plan: TaskPlan, tr: TaskReport, batch: pa.RecordBatch) -> None:
        found = samples[tr.name]
        if len(found) < SAMPLES_PER_TASK and batch.num_rows:
            found += sample_diffs(plan, batch.slice(0, _LOOKUP_ROWS))[
                : SAMPLES_PER_TASK - len(found)
            ]

    report = run_project(project, full_refresh=full_refresh, dry_run=True, on_batch=observe)
    return Plan(report, samples)


def sample_diffs(plan: TaskPlan, batch: pa.RecordBatch) -> list[SampleDiff]:
    """Rows of ``batch`` that differ from the destination, with old and new values."""
    try:
        existing = plan.sink.lookup(plan.destination_entity, plan.keys, batch)
    except NotImplementedError:
        return []
    by_key = {tuple(_norm(r[k]) for k in plan.keys): r for r in existing}
    diffs = []
    for i, row in enumerate(batch.to_pylist()):
        old = by_key.get(tuple(_norm(row[k]) for k in plan.keys))
        key = key_text(batch, i, plan.keys)
        if old is None:
            diffs.append(SampleDiff(key, "insert", {n: (None, v) for n, v in row.items()}))
            continue
        changed = {n: (old.get(n), v) for n, v in row.items() if _norm(old.get(n)) != _norm(v)}
        if changed:
            diffs.append(SampleDiff(key, "update", changed))
    return diffs


def _norm(value: Any) -> Any:
    """Compare across drivers: 1 == 1.0 == Decimal('1'), text as text."""
    if isinstance(value, bool) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
