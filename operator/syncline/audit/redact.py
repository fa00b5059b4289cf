"""Audit details without secret values.

Two defences, because callers do not always know which values are secret: values under
keys that name credentials are masked whatever they hold, and every known secret value
(a Connection's Secret, a token) is masked wherever it appears, in the forms drivers
print it (:class:`syncline.redaction.Redactor`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncline.redaction import MASK, Redactor

SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "apikey",
    "api_key",
    "privatekey",
    "private_key",
    "authorization",
    "stringdata",
)
"""A details key containing one of these (any case) has its values masked; a key ending
in ``Ref`` names a Secret, not its value, so references are kept."""


def scrub_details(details: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON-safe copy of ``details`` with no secret value left in it."""
    redactor = Redactor(secrets)
    return {str(k): _scrub(str(k), v, redactor, False) for k, v in details.items()}


def _is_reference(key: str) -> bool:
    """``secretRef``, ``passwordSecretRef``: names of Secrets, not their values."""
    return key.lower().endswith("ref")


def _is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SENSITIVE_KEY_PARTS)


def _scrub(key: str, value: Any, redactor: Redactor, inside: bool) -> Any:
    """``inside``: under a key naming credentials, where every plain value is masked
    (``credentials.username`` too) except within references."""
    hidden = (inside or _is_sensitive(key)) and not _is_reference(key)
    if isinstance(value, Mapping):
        return {str(k): _scrub(str(k), v, redactor, hidden) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_scrub(key, v, redactor, hidden) for v in value]
    if hidden and value not in (None, ""):
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    return redactor(str(value))
