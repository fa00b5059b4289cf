"""``syncline engine run``: the command every run pod executes."""

from __future__ import annotations

import sys

import click

from syncline.api.run import Trigger


@click.group()
def engine() -> None:
    """In-cluster engine entrypoint (used by run pods)."""


@engine.command("run")
@click.option("--project", required=True, help="IntegrationProject to run.")
@click.option("--namespace", envvar="SYNCLINE_NAMESPACE", required=True, help="Its namespace.")
@click.option(
    "--run",
    "run_name",
    envvar="SYNCLINE_JOB_NAME",
    required=True,
    help="IntegrationRun name (the Job's name).",
)
@click.option(
    "--trigger",
    envvar="SYNCLINE_TRIGGER",
    type=click.Choice([t.value for t in Trigger]),
    default=Trigger.SCHEDULE.value,
    show_default=True,
)
@click.option("--full-refresh", envvar="SYNCLINE_FULL_REFRESH", is_flag=True)
def run(project: str, namespace: str, run_name: str, trigger: str, full_refresh: bool) -> None:
    """Run every task of PROJECT and record the result in its IntegrationRun."""
    from syncline.kube.client import api_client
    from syncline.kube.engine_run import execute

    code = execute(
        api_client(),
        namespace=namespace,
        project=project,
        run_name=run_name,
        trigger=Trigger(trigger),
        full_refresh=full_refresh,
    )
    sys.exit(code)
