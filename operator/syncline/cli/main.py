"""The ``syncline`` command.

Subcommands live in their own modules and are imported only when invoked, so
``syncline --help`` stays instant and a command's heavy dependencies (pyarrow,
kopf, the Kubernetes client) load only for the command that needs them.
"""

from __future__ import annotations

import importlib
import sys

import click

from syncline import __version__

# name -> (module:attribute, one-line help shown by `syncline --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("syncline.cli.local:run", "Run a project locally from YAML files, without a cluster."),
    "plan": ("syncline.cli.local:plan", "Show what a run would insert/update, writing nothing."),
    "engine": ("syncline.cli.engine:engine", "In-cluster engine entrypoint (used by run pods)."),
    "operator": ("syncline.cli.operator:operator", "Run the Syncline operator (kopf)."),
    "dev": ("syncline.cli.dev:dev", "Start/stop a local control plane and databases."),
    "run-now": ("syncline.cli.runs:run_now", "Start a run of a project now."),
    "runs": ("syncline.cli.runs:runs", "Execution history: list runs, get logs, fail a stuck run."),
    "resume": ("syncline.cli.resume:resume", "Resume a project a guardrail suspended."),
    "crds": ("syncline.cli.generate:crds", "Write (or --check) the CRDs generated from the API."),
    "errors": ("syncline.cli.generate:errors", "Print the error catalog (table, JSON, Markdown)."),
    "api": ("syncline.cli.api:api", "Serve the REST API (/api/v1) with Kubernetes auth."),
    "reports": ("syncline.cli.reports:reports", "Protection, error-code and freshness reports."),
    "schedules": ("syncline.cli.schedules:schedules", "List and change the built-in schedules."),
    "audit": ("syncline.cli.audit:audit", "Verify the audit log, list and show its files."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            raise click.UsageError(f"`syncline {cmd_name}` is not part of this build yet") from err
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncline")
def cli() -> None:
    """Syncline: Kubernetes-native data integration.

    Declare Connections, ConnectionSets and IntegrationProjects as Kubernetes
    resources; Syncline runs them on schedule and upserts by integration key.
    """


def main() -> None:
    """Console entry point; errors with a catalog code exit with status 2."""
    from syncline.errors import SynclineError

    try:
        cli.main(standalone_mode=False)
    except SynclineError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
