"""``syncline reports``: the REST API's reports from the command line (same code)."""

from __future__ import annotations

from typing import Any

import click

from syncline.cli.context import NAMESPACE, kube_context

ALL = click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace.")
DAYS = click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
OUTPUT = click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")


@click.group()
def reports() -> None:
    """Protection, error-code and freshness reports."""


def _objects(namespace: str | None, all_namespaces: bool) -> tuple[list[Any], list[Any]]:
    from kubernetes import client

    from syncline.api import GROUP, VERSION

    api, ns = kube_context(namespace)
    custom: Any = client.CustomObjectsApi(api)

    def listing(plural: str) -> list[Any]:
        items: list[Any] = []
        token = ""
        while True:
            kwargs: dict[str, Any] = {"limit": 500}
            if token:
                kwargs["_continue"] = token
            if all_namespaces:
                page = custom.list_cluster_custom_object(GROUP, VERSION, plural, **kwargs)
            else:
                page = custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural, **kwargs)
            items += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    return listing("integrationprojects"), listing("integrationruns")


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0)


def _json(model: Any) -> None:
    click.echo(model.model_dump_json(by_alias=True, exclude_none=True, indent=2))


@reports.command("protection")
@NAMESPACE
@ALL
@DAYS
@OUTPUT
def protection(namespace: str | None, all_namespaces: bool, days: int, output: str) -> None:
    """Projects with and without a successful run in the last DAYS days."""
    from syncline.rest import reports as compute

    projects, runs = _objects(namespace, all_namespaces)
    report = compute.protection(projects, runs, _now(), days)
    if output == "json":
        _json(report)
        return
    click.echo(f"{'NAMESPACE':24} {'PROJECT':32} {'PROTECTED':9} LAST SUCCESS")
    for ok, refs in (("yes", report.protected), ("no", report.unprotected)):
        for ref in refs:
            last = ref.last_successful_time.isoformat() if ref.last_successful_time else "never"
            click.echo(f"{ref.namespace:24} {ref.name:32} {ok:9} {last}")


@reports.command("error-codes")
@NAMESPACE
@ALL
@DAYS
@OUTPUT
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100))
def error_codes(
    namespace: str | None, all_namespaces: bool, days: int, output: str, top: int
) -> None:
    """The error codes most runs met in the last DAYS days."""
    from syncline.rest import reports as compute

    _, runs = _objects(namespace, all_namespaces)
    report = compute.error_codes(runs, _now(), days, top)
    if output == "json":
        _json(report)
        return
    click.echo(f"{'CODE':>5} {'NAME':32} {'RUNS':>6}")
    for entry in report.codes:
        click.echo(f"{entry.code:>5} {entry.name:32} {entry.runs:>6}")


@reports.command("freshness")
@NAMESPACE
@ALL
@OUTPUT
def freshness(namespace: str | None, all_namespaces: bool, output: str) -> None:
    """Time since each project's last successful run."""
    from syncline.rest import reports as compute

    projects, runs = _objects(namespace, all_namespaces)
    report = compute.freshness(projects, runs, _now())
    if output == "json":
        _json(report)
        return
    click.echo(f"{'NAMESPACE':24} {'PROJECT':32} {'SINCE SUCCESS':>14}")
    for item in report.items:
        age = (
            "never" if item.seconds_since_success is None else f"{item.seconds_since_success:.0f}s"
        )
        click.echo(f"{item.namespace:24} {item.name:32} {age:>14}")
