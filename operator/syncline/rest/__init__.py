"""The REST API (``/api/v1``): a thin HTTP face on the Kubernetes API.

Every request is authenticated with a TokenReview and authorized with a
SubjectAccessReview for exactly the verb and resource it touches, so the API never
grants more than the caller's RBAC does. It then acts with its own ServiceAccount
through the Kubernetes API (never around it: no operator or engine code is imported).
"""

from syncline.rest.app import create_app

__all__ = ["create_app"]
