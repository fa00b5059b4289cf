"""``syncline resume``: lift the suspension a guardrail put on a project."""

from __future__ import annotations

import click

from syncline.cli.context import NAMESPACE, kube_context


@click.command("resume")
@click.argument("project")
@NAMESPACE
@click.option("--token", default=None, help="Idempotency token: the same token resumes once.")
def resume(project: str, namespace: str | None, token: str | None) -> None:
    """Resume PROJECT's schedule after a guardrail suspended it (docs/runs.md#guardrails)."""
    from syncline.kube.resume import request_resume

    api, ns = kube_context(namespace)
    spent, trip = request_resume(api, ns, project, token)
    if trip is None:
        click.echo(f"{project} is not suspended by a guardrail (token {spent} recorded)")
        return
    click.echo(f"resuming {project} (token {spent}); it was suspended by run {trip.get('run')}:")
    click.echo(f"  {trip.get('message')}")
