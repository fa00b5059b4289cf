"""``syncline dev up|down|status``: a local control plane, node agent and databases."""

from __future__ import annotations

from pathlib import Path

import click

from syncline.devcluster.binaries import repo_root
from syncline.devcluster.environment import DEFAULT_STATE_DIR, DevEnvironment

STATE_DIR_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    help="Where certificates, kubeconfig, logs, pids and data live.",
)


@click.group()
def dev() -> None:
    """Run a real local Kubernetes control plane (etcd, kube-apiserver,
    kube-controller-manager) and a node agent that runs pods as local processes."""


@dev.command()
@STATE_DIR_OPTION
@click.option("--with-postgres", is_flag=True, help="Also start PostgreSQL 15 with a database.")
@click.option(
    "--quickstart",
    is_flag=True,
    help="Also run the operator with examples/quickstart and wait for one finished run.",
)
@click.option(
    "--use-kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="SYNCLINE_USE_KUBECONFIG",
    default=None,
    help="Use this cluster instead of starting one (make up passes $KUBECONFIG).",
)
def up(state_dir: Path, with_postgres: bool, quickstart: bool, use_kubeconfig: Path | None) -> None:
    """Start the dev cluster, install Syncline's CRDs, print how to use it."""
    environment = DevEnvironment(state_dir)
    if use_kubeconfig is not None:
        _existing_cluster(environment, use_kubeconfig, quickstart)
        return
    try:
        postgres = with_postgres and not quickstart  # the quickstart brings its own
        info = environment.start(crds=repo_root() / "crds", postgres=postgres)
    except (RuntimeError, TimeoutError, FileNotFoundError) as err:
        # Start-up failures are reported with the component's log tail; no traceback needed.
        raise click.ClickException(str(err)) from err
    click.echo(f"# control plane ready in {info.seconds_to_ready:.1f}s at {info.server}", err=True)
    click.echo(f"# logs: {state_dir / 'logs'}; stop with: syncline dev down", err=True)
    if info.postgres_env:
        click.echo(f"# PostgreSQL DSN in {info.postgres_env}", err=True)
        click.echo(f"set -a; . {info.postgres_env}; set +a")
    if quickstart:
        _quickstart(environment, info.kubeconfig)
    click.echo(f"export KUBECONFIG={info.kubeconfig}")


def _existing_cluster(environment: DevEnvironment, kubeconfig: Path, quickstart: bool) -> None:
    """CRDs into a cluster someone else runs; with --quickstart, the operator runs here.

    The quickstart's databases listen on this machine's loopback, so run pods reach them
    only when the cluster's nodes are this machine (as with the embedded control plane).
    """
    from kubernetes import config

    from syncline.devcluster.crds import install_crds

    environment.state_dir.mkdir(parents=True, exist_ok=True)
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    with api:
        install_crds(api, repo_root() / "crds")
    click.echo(f"# CRDs installed in the cluster of {kubeconfig}", err=True)
    if quickstart:
        _quickstart(environment, kubeconfig)


def _quickstart(environment: DevEnvironment, kubeconfig: Path) -> None:
    from syncline.devcluster.quickstart import show, start_quickstart

    try:
        done = start_quickstart(
            environment, kubeconfig, repo_root(), lambda m: click.echo(f"# {m}", err=True)
        )
    except BaseException:
        click.echo("# quickstart failed; logs in " + str(environment.state_dir / "logs"), err=True)
        environment.stop()
        raise
    click.echo(show(kubeconfig), err=True)
    click.echo(f"# run {done.run} ended {done.result}; metrics: {done.metrics_url}", err=True)
    click.echo("# the operator keeps running; stop everything with: make down", err=True)


@dev.command()
@STATE_DIR_OPTION
def down(state_dir: Path) -> None:
    """Stop everything `syncline dev up` started from this state directory."""
    stopped = DevEnvironment(state_dir).stop()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@dev.command()
@STATE_DIR_OPTION
def status(state_dir: Path) -> None:
    """Show each component and whether it runs; exit 1 if any recorded one is down."""
    components = DevEnvironment(state_dir).status()
    if not components:
        click.echo("no dev environment recorded in " + str(state_dir))
        raise SystemExit(1)
    for name, alive in components.items():
        click.echo(f"{name:<26}{'running' if alive else 'stopped'}")
    if not all(components.values()):
        raise SystemExit(1)
    click.echo(f"export KUBECONFIG={state_dir / 'kubeconfig'}")
