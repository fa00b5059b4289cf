"""``syncline dev up|down|status``: a local cluster with a real node, and databases."""

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
    """Run a real local Kubernetes cluster: etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler, and a node (containerd, kubelet, kube-proxy) running Syncline's image,
    in a network namespace of its own; the API server is served on loopback."""


@dev.command()
@STATE_DIR_OPTION
@click.option("--with-postgres", is_flag=True, help="Also start PostgreSQL 15 with a database.")
@click.option(
    "--quickstart",
    is_flag=True,
    help="Also install Syncline from manifests/, apply examples/quickstart and wait for a run.",
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
    click.echo(f"# cluster ready in {info.seconds_to_ready:.1f}s at {info.server}", err=True)
    click.echo(
        f"# image {info.images.image_ref} ({info.images.size_bytes / 2**20:.0f} MiB)", err=True
    )
    click.echo(f"# network namespace {info.netns}: nsenter --net=/run/netns/{info.netns}", err=True)
    click.echo(f"# logs: {state_dir / 'logs'}; stop with: syncline dev down", err=True)
    if info.postgres_env:
        click.echo(f"# PostgreSQL DSN in {info.postgres_env}", err=True)
        click.echo(f"set -a; . {info.postgres_env}; set +a")
    if quickstart:
        _quickstart(environment, info.kubeconfig, info.images.image_ref)
    click.echo(f"export KUBECONFIG={info.kubeconfig}")


def _existing_cluster(environment: DevEnvironment, kubeconfig: Path, quickstart: bool) -> None:
    """Install Syncline from manifests/ into a cluster someone else runs.

    It runs the published image (the local build is not in any registry), and the
    quickstart's database is only served to the embedded cluster's node, so the
    examples are left for the user to point at a database their cluster reaches.
    """
    import subprocess

    environment.state_dir.mkdir(parents=True, exist_ok=True)
    manifests = repo_root() / "manifests"
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
    subprocess.run([*kubectl, "apply", "--server-side", "-k", str(manifests)], check=True)
    click.echo(f"# Syncline installed from manifests/ into the cluster of {kubeconfig}", err=True)
    if quickstart:
        click.echo(
            "# next: kubectl apply -k manifests/tenant -n NS, then examples/quickstart with "
            "its Connections pointed at a database your cluster reaches",
            err=True,
        )


def _quickstart(environment: DevEnvironment, kubeconfig: Path, image: str) -> None:
    from syncline.devcluster.quickstart import show, start_quickstart

    try:
        done = start_quickstart(
            environment, kubeconfig, repo_root(), image, lambda m: click.echo(f"# {m}", err=True)
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
