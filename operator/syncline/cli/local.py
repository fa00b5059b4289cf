"""``syncline run`` and ``syncline plan``: run a project from YAML files, without a cluster.

What they print (the table, ``--json``, the log file, an error) is scrubbed of every
credential value of the project's connections, like a run pod's status and log are.
Plan's sample diffs do show row values: showing them is what plan is for, on the
terminal of someone who can read both systems.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from syncline.engine.plan import Plan
    from syncline.engine.project import ResolvedProject
    from syncline.engine.report import RunReport
    from syncline.redaction import Redactor

_file_option = click.option(
    "-f",
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="YAML file or directory (searched recursively) with the project and its objects.",
)
_project_option = click.option(
    "--project", default=None, help="IntegrationProject to run (needed when there are several)."
)
_refresh_option = click.option(
    "--full-refresh", is_flag=True, help="Ignore incremental watermarks and read everything."
)
_log_option = click.option(
    "--log-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the structured run log (JSON lines) to this file.",
)


def _load(path: Path, project: str | None) -> ResolvedProject:
    from syncline.engine.loader import load_manifests, resolve_project

    return resolve_project(load_manifests(path), project, os.environ)


@click.command()
@_file_option
@_project_option
@_refresh_option
@_log_option
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
def run(
    path: Path, project: str | None, full_refresh: bool, log_file: Path | None, as_json: bool
) -> None:
    """Run a project locally; exit status 1 when the run ends in Error."""
    from contextlib import nullcontext

    from rich.console import Console

    from syncline.engine.logs import json_log
    from syncline.engine.runner import run_project

    resolved = _load(path, project)
    redactor = resolved.redactor
    console = Console(stderr=as_json)
    log = json_log(log_file, redactor=redactor) if log_file else nullcontext()
    with _scrubbed_errors(redactor), log, _Progress(console) as progress:
        report = run_project(resolved, full_refresh=full_refresh, on_progress=progress.update)
    if as_json:
        click.echo(report.to_json(redactor))
    else:
        _summary(console, report, redactor)
    sys.exit(1 if report.result.value == "Error" else 0)


@click.command()
@_file_option
@_project_option
@_refresh_option
def plan(path: Path, project: str | None, full_refresh: bool) -> None:
    """Show what a run would insert, update and leave unchanged; writes nothing."""
    from rich.console import Console

    from syncline.engine.plan import plan_project

    resolved = _load(path, project)
    with _scrubbed_errors(resolved.redactor):
        result = plan_project(resolved, full_refresh=full_refresh)
    console = Console()
    _summary(console, result.report, resolved.redactor, title="Plan (nothing written)")
    _samples(console, result)
    sys.exit(1 if result.report.result.value == "Error" else 0)


@contextmanager
def _scrubbed_errors(redactor: Redactor) -> Iterator[None]:
    """A catalog error escaping the engine is printed by ``main``: scrubbed first."""
    from syncline.errors import SynclineError

    try:
        yield
    except SynclineError as err:
        raise redactor.error(err) from None


class _Progress:
    """One progress line per task, fed by the runner's on_progress callback."""

    def __init__(self, console: Console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._ids: dict[str, TaskID] = {}

    def __enter__(self) -> _Progress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def update(self, report: RunReport) -> None:
        for task in report.tasks:
            if task.result.value == "Pending":
                continue
            if task.name not in self._ids:
                self._ids[task.name] = self._progress.add_task(task.name, total=None, counts="")
            c = task.counts
            counts = (
                f"read {c.read:,}  +{c.inserted:,}  ~{c.updated:,}  ={c.unchanged:,}  "
                f"failed {c.failed:,}"
            )
            done = task.result.finished
            self._progress.update(
                self._ids[task.name],
                counts=counts,
                description=f"{task.name} [{task.result.value}]",
                total=1 if done else None,
                completed=1 if done else 0,
            )


def _summary(console: Console, report: RunReport, redactor: Redactor, title: str = "Run") -> None:
    from rich.markup import escape
    from rich.table import Table

    status = report.to_status(redactor)

    table = Table(title=f"{title}: {report.project} — {report.result.value}")
    for column in (
        "Task",
        "Result",
        "Read",
        "Inserted",
        "Updated",
        "Unchanged",
        "Filtered",
        "Failed",
        "Seconds",
    ):
        table.add_column(column, justify="left" if column in ("Task", "Result") else "right")
    for t in report.tasks:
        c = t.counts
        table.add_row(
            t.name,
            t.result.value,
            *(f"{v:,}" for v in (c.read, c.inserted, c.updated, c.unchanged, c.filtered, c.failed)),
            f"{t.duration_seconds:.2f}",
        )
    console.print(table)
    for result in status.tasks:  # the status: scrubbed, and row errors without values
        for line in ([result.error] if result.error else []) + result.warnings:
            console.print(f"[bold]{escape(result.name)}[/bold]: {escape(line)}", highlight=False)
    if status.error_code and not any(r.error for r in status.tasks):
        console.print(status.message or "", markup=False)
    for e in status.row_errors[:10]:
        console.print(f"row error {e.task} {e.key} {e.field or ''}: {e.message}", markup=False)


def _samples(console: Console, result: Plan) -> None:
    for task, diffs in result.samples.items():
        for d in diffs:
            fields = ", ".join(f"{n}: {old!r} → {new!r}" for n, (old, new) in d.fields.items())
            console.print(f"{task} {d.change} {d.key}: {fields}", markup=False, highlight=False)
