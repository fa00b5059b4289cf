"""The admission policy that closes the confused deputy on Connections.

The operator reads the Secret a Connection references and sends its credentials to the
endpoint the Connection names. Without a check, anyone allowed to write Connections
could point one at a Secret they may not read and at a host they control, and the
operator would deliver the credentials. This policy makes the API server refuse such a
write: whoever creates a Connection, or changes its spec, must be allowed to ``get``
the referenced Secret themselves. The check runs in the API server (a
ValidatingAdmissionPolicy with the CEL ``authorizer``), so it holds for kubectl, GitOps
controllers and the REST API alike, and needs no webhook.

The denial text is the error catalog's 2104, rendered by CEL from the same template.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from syncline.api.base import GROUP
from syncline.api.connection import Connection
from syncline.errors import lookup

POLICY_NAME = f"{Connection.PLURAL}.{GROUP}-secret-access"

_REFERENCED_SECRET_NAME = "object.spec.credentials.secretRef.name"  # noqa: S105 (a CEL path)
_CEL_VALUES = {
    "user": "request.userInfo.username",
    "name": _REFERENCED_SECRET_NAME,
    "namespace": "object.metadata.namespace",
}


def denial_message_expression() -> str:
    """The catalog's 2104 message as a CEL string expression over the request."""
    spec = lookup("SecretNotReadableByWriter")
    parts = [_cel_string(f"{spec.code} {spec.name}: ")]
    for literal, placeholder, _, _ in Formatter().parse(spec.message):
        if literal:
            parts.append(_cel_string(literal))
        if placeholder:
            parts.append(_CEL_VALUES[placeholder])
    return " + ".join(parts)


def _cel_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def admission_documents() -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding, as manifests."""
    may_read_secret = (
        "authorizer.group('').resource('secrets')"
        f".namespace(object.metadata.namespace).name({_REFERENCED_SECRET_NAME})"
        ".check('get').allowed()"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [Connection.PLURAL],
                    }
                ]
            },
            "matchConditions": [
                # Status writes, finalizers and annotations leave the spec alone and are
                # not a new endpoint/Secret pairing: only spec writes are checked.
                {
                    "name": "spec-written",
                    "expression": "request.operation == 'CREATE' || oldObject.spec != object.spec",
                },
                {"name": "references-a-secret", "expression": "has(object.spec.credentials)"},
            ],
            "validations": [
                {
                    "expression": may_read_secret,
                    "messageExpression": denial_message_expression(),
                    "reason": "Forbidden",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
