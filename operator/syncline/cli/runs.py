"""``syncline run-now`` and ``syncline runs``: the execution history from the command line."""

from __future__ import annotations

import getpass
from typing import Any

import click

from syncline.cli.context import NAMESPACE, kube_context


@click.command("run-now")
@click.argument("project")
@NAMESPACE
@click.option("--token", default=None, help="Idempotency token: the same token runs once.")
@click.option(
    "--full-refresh", is_flag=True, help="Ignore incremental watermarks and read everything."
)
def run_now(project: str, namespace: str | None, token: str | None, full_refresh: bool) -> None:
    """Start a run of PROJECT now (refused with 1670 while a run is active)."""
    from syncline.kube.manual import start_run

    api, ns = kube_context(namespace)
    started = start_run(api, ns, project, token, full_refresh=full_refresh)
    what = "full refresh" if full_refresh else "run"
    click.echo(f"started {what} {started.run} (job {started.job})")


@click.group()
def runs() -> None:
    """Execution history: list runs, get logs, fail a stuck run."""


@runs.command("list")
@NAMESPACE
@click.option("-p", "--project", default=None, help="Only this project's runs.")
def list_runs(namespace: str | None, project: str | None) -> None:
    """Runs, newest first, with their results and counts."""
    from kubernetes import client

    from syncline.api import GROUP, VERSION
    from syncline.history.naming import PROJECT_LABEL

    api, ns = kube_context(namespace)
    selector = f"{PROJECT_LABEL}={project}" if project else ""
    listing: Any = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, ns, "integrationruns", label_selector=selector
    )
    items = listing["items"]
    items.sort(key=lambda o: o["metadata"]["creationTimestamp"], reverse=True)
    click.echo(f"{'NAME':40} {'TRIGGER':9} {'RESULT':10} {'READ':>8} {'UPSERTS':>8} {'ERRORS':>7}")
    for obj in items:
        s = obj.get("status", {})
        click.echo(
            f"{obj['metadata']['name']:40} {obj['spec']['trigger']:9} "
            f"{s.get('result', 'Pending'):10} {s.get('read', 0):>8} "
            f"{s.get('upserts', 0):>8} {s.get('failed', 0):>7}"
        )


@runs.command("logs")
@click.argument("run")
@NAMESPACE
def logs(run: str, namespace: str | None) -> None:
    """Print the full log of RUN (JSON lines), kept for the project's retention period."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from syncline.errors import SynclineError
    from syncline.history.naming import log_config_map_name, run_log

    api, ns = kube_context(namespace)
    try:
        cm = client.CoreV1Api(api).read_namespaced_config_map(log_config_map_name(run), ns)
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("LogUnavailable", name=run) from err
        raise
    click.echo(run_log(cm.data or {}), nl=False)


@runs.command("fail")
@click.argument("run")
@NAMESPACE
def fail(run: str, namespace: str | None) -> None:
    """Mark a stuck Running RUN as failed (Error 2403) and stop its Job."""
    from syncline.kube.manual import fail_run

    api, ns = kube_context(namespace)
    fail_run(api, ns, run, user=getpass.getuser())
    click.echo(f"run {run} marked as failed")
