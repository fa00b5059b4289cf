"""What a pod's neighbours see: its logs through the API, and its service-account identity."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.integration.controlplane.pods import pod, python_container
from tests.integration.controlplane.waiting import eventually

pytestmark = pytest.mark.integration

CALL_API_AS_POD = """
import json, os, pathlib, ssl, urllib.error, urllib.request
sa = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
host = os.environ["KUBERNETES_SERVICE_HOST"] + ":" + os.environ["KUBERNETES_SERVICE_PORT"]
namespace = (sa / "namespace").read_text()
request = urllib.request.Request(
    f"https://{host}/api/v1/namespaces/{namespace}/secrets",
    headers={"Authorization": "Bearer " + (sa / "token").read_text()},
)
try:
    urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(sa / "ca.crt")))
except urllib.error.HTTPError as err:
    print(json.dumps({"code": err.code, "message": json.load(err)["message"]}))
"""


def _succeeded(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    return core.read_namespaced_pod(name, namespace).status.phase == "Succeeded"


def test_pod_logs_are_served_through_the_api(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    # stdout and stderr are separate pipes: the log orders lines as they arrive, so
    # the test lets each one arrive before writing the next.
    code = (
        "import sys, time; print('to stdout', flush=True); time.sleep(0.3);"
        "print('to stderr', file=sys.stderr, flush=True); time.sleep(0.3); print('last')"
    )
    core.create_namespaced_pod(namespace, pod("talks", python_container(code, image)))
    eventually(lambda: _succeeded(core, namespace, "talks"), 60, "the pod to succeed")
    logs = core.read_namespaced_pod_log("talks", namespace, container="main")
    assert logs.splitlines() == ["to stdout", "to stderr", "last"]
    assert core.read_namespaced_pod_log("talks", namespace, tail_lines=1) == "last\n"


def test_pod_authenticates_with_its_own_service_account_token(
    kube_api: client.ApiClient, namespace: str, image: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_pod(namespace, pod("caller", python_container(CALL_API_AS_POD, image)))
    eventually(lambda: _succeeded(core, namespace, "caller"), 60, "the pod to succeed")
    answer = json.loads(core.read_namespaced_pod_log("caller", namespace))
    # Authenticated (not 401) as the namespace's default account, which RBAC denies.
    assert answer["code"] == 403
    assert f"system:serviceaccount:{namespace}:default" in answer["message"]
