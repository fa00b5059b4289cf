"""Built-in Kubernetes objects (Secrets, ConfigMaps, Events, Jobs, CronJobs, ...) as plain
JSON, over the shared ApiClient's connection pool and credentials.

The kubernetes client's typed APIs import every model they may return: ``CoreV1Api``
alone loads some 250 pydantic model modules, 20 MiB of the operator's memory and 0.4 s
of its start (bench/RESULTS.md, operator round 3). Syncline works on dicts anyway (it
turned every typed answer back into one), so these calls skip the models entirely.
Errors are the client's own ``ApiException`` (``.status`` 404, 409, ...), as before.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from kubernetes import client
from kubernetes.client.exceptions import ApiException

JSON = "application/json"
APPLY = "application/apply-patch+yaml"
"""Server-side apply (a JSON body is valid YAML)."""
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def path(group_version: str, plural: str, namespace: str | None, name: str | None = None) -> str:
    """The REST path of a built-in kind: ``v1`` for the core group, else ``group/version``."""
    root = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    where = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    return f"{root}{where}/{plural}" + (f"/{quote(name, safe='')}" if name else "")


def request(
    api: client.ApiClient,
    method: str,
    resource_path: str,
    *,
    query: dict[str, Any] | None = None,
    body: Any = None,
    content_type: str = JSON,
) -> Any:
    """One call; the decoded JSON answer (None when empty). Non-2xx raises ApiException."""
    headers = {"Accept": JSON}
    if body is not None:
        headers["Content-Type"] = content_type
    params = [(k, v) for k, v in (query or {}).items() if v is not None]
    method, url, headers, body, _ = api.param_serialize(
        method=method,
        resource_path=resource_path,
        query_params=params,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, body=body)
    data = response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status <= 299:
        text = data.decode("utf-8", "replace") if data else None
        raise ApiException.from_response(http_resp=response, body=text, data=None)
    return json.loads(data) if data else None


def get(api: client.ApiClient, resource_path: str, **query: Any) -> Any:
    return request(api, "GET", resource_path, query=query)


def create(api: client.ApiClient, resource_path: str, body: dict[str, Any]) -> Any:
    return request(api, "POST", resource_path, body=body)


def replace(api: client.ApiClient, resource_path: str, body: dict[str, Any]) -> Any:
    return request(api, "PUT", resource_path, body=body)


def patch(
    api: client.ApiClient,
    resource_path: str,
    body: Any,
    content_type: str = STRATEGIC,
    **query: Any,
) -> Any:
    return request(api, "PATCH", resource_path, body=body, content_type=content_type, query=query)


def delete(api: client.ApiClient, resource_path: str, **query: Any) -> Any:
    return request(api, "DELETE", resource_path, query=query)
