"""``syncline audit``: verify the audit log, list its files, show one with its integrity
data (seed 002's audit REST calls, from the command line)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from syncline.cli.schedules import SYSTEM_NAMESPACE


@click.group()
def audit() -> None:
    """The tamper-evident audit log (docs/audit.md)."""


@audit.command("verify")
@SYSTEM_NAMESPACE
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def verify_log(system_namespace: str | None, output: str) -> None:
    """Verify every record, link and checkpoint; exit 1 naming the first bad record."""
    from syncline.audit import verify
    from syncline.kube.client import api_client

    result = verify(api_client(), namespace=system_namespace)
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        click.echo(
            f"intact: {result.records_checked} records, {result.checkpoints_checked} "
            f"checkpoints, {result.files_checked} files"
        )
    else:
        click.echo(f"2700 AuditChainBroken: record {result.first_bad_seq}: {result.reason}")
    if not result.ok:
        sys.exit(1)


@audit.command("files")
@SYSTEM_NAMESPACE
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
def files(system_namespace: str | None, output: str) -> None:
    """The audit log files, oldest first."""
    from syncline.audit import list_files
    from syncline.kube.client import api_client

    listed = list_files(api_client(), namespace=system_namespace)
    if output == "json":
        click.echo(json.dumps(listed, indent=2))
        return
    click.echo(f"{'NAME':<24} {'SEQ':<15} {'RECORDS':>7} {'SEALED':<6} LAST RECORD")
    for f in listed:
        seq = f"{f['firstSeq']}-{f['lastSeq']}" if f["records"] else "-"
        click.echo(
            f"{f['name']:<24} {seq:<15} {f['records']:>7} {str(f['sealed']).lower():<6} "
            f"{f['lastTime'] or '-'}"
        )


@audit.command("show")
@click.argument("name")
@SYSTEM_NAMESPACE
def show(name: str, system_namespace: str | None) -> None:
    """One file as JSON: records, anchor, checkpoints, seal (2704 when unknown)."""
    from syncline.audit import read_file
    from syncline.kube.client import api_client

    audit_file = read_file(api_client(), name, namespace=system_namespace)
    click.echo(json.dumps(audit_file.to_json(), indent=2))


@audit.command("config")
@SYSTEM_NAMESPACE
@click.option(
    "--set",
    "new_config",
    type=click.File("r"),
    default=None,
    help="Replace the configuration with this JSON file (2703/2708 when invalid).",
)
def config(system_namespace: str | None, new_config: TextIO | None) -> None:
    """Show (or --set) retention, file size, checkpoints and the syslog target."""
    from syncline.audit import append, get_config, set_config
    from syncline.audit.identity import whoami
    from syncline.kube.client import api_client

    api = api_client()
    if new_config is None:
        current = get_config(api, namespace=system_namespace)
        click.echo(current.model_dump_json(by_alias=True, exclude_none=True, indent=2))
        return
    stored = set_config(api, json.load(new_config), namespace=system_namespace)
    syslog = stored.syslog.address if stored.syslog else None
    append(
        api,
        whoami(api) or "unknown",
        "audit.config.set",
        "auditconfig",
        details={"retentionDays": stored.retention_days, "syslog": syslog, "via": "cli"},
        namespace=system_namespace,
    )
    click.echo(stored.model_dump_json(by_alias=True, exclude_none=True, indent=2))
