"""``syncline schedules``: list and change the built-in schedules (seed 002)."""

from __future__ import annotations

import json

import click

SYSTEM_NAMESPACE = click.option(
    "--system-namespace",
    default=None,
    help="Syncline's namespace (default: SYNCLINE_SYSTEM_NAMESPACE or syncline-system).",
)


@click.group()
def schedules() -> None:
    """The cron of Syncline's own periodic work (UTC): history clean-up, connection
    re-checks, audit log rotation and verification."""


@schedules.command("list")
@SYSTEM_NAMESPACE
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
def list_schedules(system_namespace: str | None, output: str) -> None:
    """Every built-in schedule with its cron, default and next run."""
    from syncline.housekeeping import list_builtin_schedules
    from syncline.kube.client import api_client

    listed = list_builtin_schedules(api_client(), namespace=system_namespace)
    if output == "json":
        click.echo(json.dumps([s.to_json() for s in listed], indent=2))
        return
    click.echo(f"{'NAME':<20} {'CRON':<16} {'DEFAULT':<16} {'NEXT RUN':<21} LAST RUN")
    for s in listed:
        click.echo(
            f"{s.name:<20} {s.cron:<16} {s.default_cron:<16} "
            f"{s.next_run_time or '-':<21} {s.last_run_time or '-'}"
        )


@schedules.command("set")
@click.argument("name")
@click.argument("cron")
@SYSTEM_NAMESPACE
def set_schedule(name: str, cron: str, system_namespace: str | None) -> None:
    """Give built-in schedule NAME the five-field CRON (1600/1601 when invalid); the
    operator uses it from its next tick, without a restart. Recorded in the audit log."""
    from syncline.audit import append
    from syncline.audit.identity import whoami
    from syncline.housekeeping import list_builtin_schedules, set_builtin_schedule
    from syncline.kube.client import api_client

    api = api_client()
    before = {s.name: s.cron for s in list_builtin_schedules(api, namespace=system_namespace)}
    changed = set_builtin_schedule(api, name, cron, namespace=system_namespace)
    append(
        api,
        whoami(api) or "unknown",
        "schedule.set",
        f"builtinschedules/{name}",
        details={"from": before.get(name), "to": changed.cron, "via": "cli"},
        namespace=system_namespace,
    )
    click.echo(f"{name}: {changed.cron} (next run {changed.next_run_time})")
