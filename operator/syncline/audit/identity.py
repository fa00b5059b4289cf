"""Who is acting, as the API server knows it: the ``actor`` of records Syncline writes
itself (the operator, the CLI). The REST API takes the actor from TokenReview instead."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException


def whoami(api: client.ApiClient) -> str | None:
    """The authenticated user name of ``api``'s credentials (SelfSubjectReview), or None
    when the API server does not answer it."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    authn: Any = client.AuthenticationV1Api(api)
    try:
        answer = authn.create_self_subject_review(review)
    except ApiException:
        return None
    user = answer.status.user_info if answer.status else None
    return str(user.username) if user is not None and user.username else None
