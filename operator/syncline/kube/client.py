"""An API client for wherever Syncline runs: a pod or a laptop."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.incluster_config import InClusterConfigLoader

from syncline.api.base import GROUP, VERSION

log = logging.getLogger(__name__)
T = TypeVar("T")
_GROUP_VERSION = (GROUP, VERSION)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig.

    The in-cluster loader re-reads the projected token as the kubelet rotates it.
    """
    configuration = client.Configuration()
    token = SERVICE_ACCOUNT_DIR / "token"
    if os.environ.get("KUBERNETES_SERVICE_HOST") and token.exists():
        loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
            token_filename=str(token), cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt")
        )
        loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
"""API answers that mean "not now" (overload, restart, an unavailable etcd)."""
OUTAGE_BUDGET_SECONDS = 120.0


def through_outages(
    call: Callable[[], T], what: str, budget_seconds: float = OUTAGE_BUDGET_SECONDS
) -> T:
    """``call()``, retried with backoff while the API server is briefly unavailable.

    An API server restart refuses connections for a few seconds; a run that has moved
    its data must still get its result recorded. Anything else (403, 404, 409, 422, a
    bug) is raised at once; an outage longer than the budget is raised too.
    """
    deadline = time.monotonic() + budget_seconds
    delay = 0.25
    while True:
        try:
            return call()
        except ApiException as err:
            if err.status not in TRANSIENT_STATUSES:
                raise
            failure: Exception = err
        except (urllib3.exceptions.HTTPError, ConnectionError) as err:
            failure = err
        if time.monotonic() + delay > deadline:
            raise failure
        log.warning("API server unavailable, retrying", extra={"call": what, "in": delay})
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


class StatusAddress(NamedTuple):
    """Where a custom object's status lives (namespace None: cluster-scoped)."""

    plural: str
    namespace: str | None
    name: str


def update_status(
    custom: client.CustomObjectsApi,
    where: StatusAddress,
    decide: Callable[[dict[str, Any]], dict[str, Any] | None],
    attempts: int = 10,
) -> dict[str, Any] | None:
    """Read, decide, write the status under optimistic concurrency.

    ``decide`` gets the current object and returns the status fields to merge, or None
    to write nothing. The write carries the resourceVersion read, so if anyone wrote in
    between, the API server answers 409 and we read and decide again: a status computed
    from a stale read (a whole conditions list, running totals, "still Running?") can
    never overwrite a newer write. Returns the written object, or None when nothing was
    written (``decide`` said so, or the object is gone).
    """
    api: Any = custom
    group, version = _GROUP_VERSION
    scope = () if where.namespace is None else (where.namespace,)
    kind = "cluster" if where.namespace is None else "namespaced"
    read = getattr(api, f"get_{kind}_custom_object")
    write = getattr(api, f"patch_{kind}_custom_object_status")
    for _ in range(attempts):
        try:
            current = through_outages(
                partial(read, group, version, *scope, where.plural, where.name), "read status"
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        fields = decide(current)
        if fields is None:
            return None
        version_read = current["metadata"]["resourceVersion"]
        body = {"metadata": {"resourceVersion": version_read}, "status": fields}
        try:
            written: dict[str, Any] = through_outages(
                partial(write, group, version, *scope, where.plural, where.name, body),
                "write status",
            )
            return written
        except ApiException as err:
            if err.status == 404:
                return None
            if err.status != 409:
                raise
    raise RuntimeError(f"status of {where.plural}/{where.name} kept changing under us")
