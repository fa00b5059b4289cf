"""history-cleanup lists runs a page at a time for all projects at once (a fake API:
the paging and the grouping are logic; tests/integration/operator covers the real one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syncline.controllers import housekeeping, kube, runs
from syncline.history.naming import PROJECT_LABEL


def _run(namespace: str, project: str, name: str, days_ago: int) -> dict[str, Any]:
    done = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "syncline.dev/v1alpha1",
        "kind": "IntegrationRun",
        "metadata": {"name": name, "namespace": namespace, "labels": {PROJECT_LABEL: project}},
        "spec": {"projectRef": {"name": project}, "trigger": "schedule"},
        "status": {"result": "Completed", "startTime": done, "completionTime": done},
    }


class FakeCustomApi:
    def __init__(self, projects: list[dict[str, Any]], all_runs: list[dict[str, Any]]) -> None:
        self.projects, self.runs = projects, all_runs
        self.requests: list[tuple[str, int | None, str | None]] = []
        self.deleted: list[tuple[str, str]] = []

    def list_cluster_custom_object(
        self, group: str, version: str, plural: str, limit: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        token = kw.get("_continue")
        self.requests.append((plural, limit, token))
        items = self.projects if plural == "integrationprojects" else self.runs
        if limit is None:
            return {"items": items, "metadata": {}}
        start = int(token or 0)
        more = start + limit < len(items)
        return {
            "items": items[start : start + limit],
            "metadata": {"continue": str(start + limit) if more else ""},
        }

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> None:
        self.deleted.append((namespace, name))


def test_runs_past_each_projects_own_retention_go_over_pages_in_few_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    projects: list[dict[str, Any]] = [
        {
            "metadata": {"namespace": "a", "name": "short"},
            "spec": {"history": {"retentionDays": 5}},
        },
        {"metadata": {"namespace": "a", "name": "default"}, "spec": {}},
    ]
    all_runs = [_run("a", "short", f"short-{d}", d) for d in (1, 6, 10)]
    all_runs += [_run("a", "default", f"default-{d}", d) for d in (10, 46)]
    all_runs += [_run("a", "gone", "gone-1", 100), _run("b", "short", "other-namespace", 100)]
    fake = FakeCustomApi(projects, all_runs)
    monkeypatch.setattr(kube, "custom_api", lambda: fake)
    monkeypatch.setattr(runs, "_custom", lambda: fake)
    monkeypatch.setattr(housekeeping, "_namespaces", lambda: [None])

    monkeypatch.setattr(housekeeping, "PAGE", 3)
    result = housekeeping.clean_up_history(None, "")  # type: ignore[arg-type]

    assert sorted(fake.deleted) == [("a", "default-46"), ("a", "short-10"), ("a", "short-6")]
    assert result == "deleted 3 runs"
    pages = [r for r in fake.requests if r[0] == "integrationruns"]
    assert len(pages) == 3  # 7 runs, 3 a page; a run of an unknown project is left alone
