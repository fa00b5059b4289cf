"""``syncline api``: serve the REST API with the kubeconfig (dev) or in-cluster config."""

from __future__ import annotations

import click


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT (``[::1]:8443`` for IPv6) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{address!r} is not HOST:PORT", param_hint="--address")
    return host.strip("[]"), int(port)


@click.command("api")
@click.option(
    "--address",
    default="127.0.0.1:8443",
    show_default=True,
    help="HOST:PORT to listen on (0.0.0.0:8443 in a pod).",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--log-level", default="info", show_default=True)
def api(address: str, tls_cert: str | None, tls_key: str | None, log_level: str) -> None:
    """Serve the REST API (/api/v1, Swagger UI at /api/v1/docs); TLS with --tls-cert/--tls-key."""
    import uvicorn

    from syncline.kube.client import api_client
    from syncline.rest import create_app
    from syncline.rest.audit_hook import audit_hook

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    host, port = parse_address(address)
    kube = api_client()
    app = create_app(kube, audit=audit_hook(kube))
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level=log_level,
        access_log=True,
        server_header=False,
    )
