"""Kubernetes authentication and authorization for every request.

The bearer token is checked with a TokenReview (so ServiceAccount tokens, OIDC and
whatever else the cluster accepts work unchanged), and each operation is checked
with a SubjectAccessReview for the verb and resource it touches, as the reviewed user
with their groups. Answers are cached for a few seconds in bounded caches; the cache
key of a token is its SHA-256, never the token itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api.base import GROUP
from syncline.errors import SynclineError
from syncline.rest.cache import TtlCache

DECISION_TTL_SECONDS = 5.0
MAX_CACHED = 10_000


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the API server's TokenReview says."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


class Access(NamedTuple):
    """One RBAC question: may the caller ``verb`` this resource (in this namespace)?"""

    verb: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    group: str = GROUP

    def describe(self) -> str:
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            what += f"/{self.subresource}"
        if self.name:
            what += f" {self.name}"
        return what + (f" in namespace {self.namespace}" if self.namespace else " (all namespaces)")


class Authenticator:
    """Bearer token -> Caller, through TokenReview."""

    def __init__(self, api: client.ApiClient, ttl: float = DECISION_TTL_SECONDS) -> None:
        self._authn = client.AuthenticationV1Api(api)
        self._cache: TtlCache[Caller] = TtlCache(ttl, MAX_CACHED)

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise SynclineError("Unauthenticated")
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        caller = self._review(token)
        if caller is None:  # not cached: a token may become valid (clock skew at issue)
            raise SynclineError("Unauthenticated")
        self._cache.put(key, caller)
        return caller

    def _review(self, token: str) -> Caller | None:
        review = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        try:
            answer = self._authn.create_token_review(review)
        except ApiException as err:
            raise SynclineError("TokenReviewFailed", detail=f"HTTP {err.status}") from err
        status = answer.status
        if status is None or not status.authenticated or status.user is None:
            return None
        user = status.user
        extra = tuple(sorted((k, tuple(v)) for k, v in (user.extra or {}).items()))
        return Caller(user.username or "", user.uid or "", tuple(user.groups or ()), extra)


class Authorizer:
    """(Caller, Access) -> allowed, through SubjectAccessReview."""

    def __init__(self, api: client.ApiClient, ttl: float = DECISION_TTL_SECONDS) -> None:
        self._authz = client.AuthorizationV1Api(api)
        self._cache: TtlCache[bool] = TtlCache(ttl, MAX_CACHED)
        self.reviews = 0
        """SubjectAccessReviews sent (for the benchmark and tests of the cache)."""

    def allowed(self, caller: Caller, access: Access) -> bool:
        key = (caller, access)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        decision = self._review(caller, access)
        self._cache.put(key, decision)
        return decision

    def require(self, caller: Caller, access: Access) -> None:
        """Raise 2801 Forbidden unless RBAC allows ``access`` to ``caller``."""
        if not self.allowed(caller, access):
            raise SynclineError(
                "Forbidden", user=caller.username, verb=access.verb, resource=access.describe()
            )

    def _review(self, caller: Caller, access: Access) -> bool:
        attributes = client.V1ResourceAttributes(
            group=access.group,
            resource=access.resource,
            verb=access.verb,
            namespace=access.namespace,
            name=access.name,
            subresource=access.subresource,
        )
        spec = client.V1SubjectAccessReviewSpec(
            user=caller.username,
            uid=caller.uid or None,
            groups=list(caller.groups),
            extra={k: list(v) for k, v in caller.extra} or None,
            resource_attributes=attributes,
        )
        self.reviews += 1
        try:
            answer: Any = self._authz.create_subject_access_review(
                client.V1SubjectAccessReview(spec=spec)
            )
        except ApiException as err:
            raise SynclineError("AccessReviewFailed", detail=f"HTTP {err.status}") from err
        return bool(answer.status and answer.status.allowed)
