"""`syncline operator`: run the kopf operator with Syncline's settings.

Flags override the SYNCLINE_* environment variables the Deployment sets. kopf is
started programmatically (not via `kopf run <file>`) so the entrypoint is the same
installed command everywhere: the container, `make up` and the integration tests.
"""

from __future__ import annotations

import logging

import click


@click.command("operator")
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    help="Namespace to watch (repeatable); all namespaces when absent.",
)
@click.option("--engine-image", help="Image of run pods.")
@click.option("--engine-service-account", help="ServiceAccount of run pods.")
@click.option("--quota", type=int, help="Most scheduled projects per namespace.")
@click.option("--liveness", "liveness", help="Health endpoint, e.g. http://0.0.0.0:8080/healthz.")
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
def operator(
    namespaces: tuple[str, ...],
    engine_image: str | None,
    engine_service_account: str | None,
    quota: int | None,
    liveness: str | None,
    verbose: bool,
) -> None:
    """Reconcile Syncline resources into CronJobs and truthful status."""
    import kopf

    from syncline.controllers import startup  # noqa: F401 - registers the handlers
    from syncline.controllers.settings import OperatorSettings, configure

    settings = OperatorSettings.from_env().with_overrides(
        namespaces=namespaces or None,
        engine_image=engine_image,
        engine_service_account=engine_service_account,
        scheduled_project_quota=quota,
        liveness_endpoint=liveness,
    )
    configure(settings)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    kopf.run(
        standalone=True,
        clusterwide=not settings.namespaces,
        namespaces=settings.namespaces,
        liveness_endpoint=settings.liveness_endpoint,
    )
