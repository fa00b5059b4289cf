"""The audit log in the cluster: files as ConfigMaps, appended under optimistic concurrency.

Two writers (the operator and the REST API) append at once. Every append takes the newest
file (as this process last wrote or read it), adds its records linked to its last one and
replaces the ConfigMap carrying that resourceVersion: if the other writer got in first the
API server answers 409 and we read again, so two records can never claim the same
predecessor (no fork). Sealing a
full file is such a write too, and the next file is created with an anchor derived only
from the sealed file, so two writers racing to create it create the same thing.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.audit.chain import Anchor, AuditRecord, Checkpoint, make_checkpoint
from syncline.audit.files import (
    FILE_LABEL,
    KEY_SECRET,
    LABELS,
    AuditFile,
    file_name,
    from_configmap,
    to_configmap,
)
from syncline.errors import SynclineError
from syncline.kube import plain

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_NAMESPACE = "syncline-system"
_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
APPEND_ATTEMPTS = 60


def system_namespace(namespace: str | None = None) -> str:
    """The namespace the audit log lives in: given, ``SYNCLINE_SYSTEM_NAMESPACE``, the
    pod's own namespace, or ``syncline-system``."""
    if namespace:
        return namespace
    if configured := os.environ.get("SYNCLINE_SYSTEM_NAMESPACE", "").strip():
        return configured
    if _NAMESPACE_FILE.exists():
        return _NAMESPACE_FILE.read_text().strip()
    return DEFAULT_SYSTEM_NAMESPACE


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ConfigMaps:
    """One namespace's ConfigMaps as plain dicts (kube.plain: no client models)."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api, self.namespace = api, namespace

    def _path(self, name: str | None = None) -> str:
        return plain.path("v1", "configmaps", self.namespace, name)

    def read(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = plain.get(self.api, self._path(name))
        return found

    def list(self, label_selector: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = plain.get(
            self.api, self._path(), labelSelector=label_selector
        )["items"]
        return items

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = plain.create(self.api, self._path(), body)
        return created

    def replace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        written: dict[str, Any] = plain.replace(self.api, self._path(name), body)
        return written

    def delete(self, name: str) -> None:
        plain.delete(self.api, self._path(name))


# -- the signing key ---------------------------------------------------------------------


def signing_key(api: client.ApiClient, namespace: str) -> bytes:
    """The checkpoint key from Secret ``syncline-audit-key`` (key ``key``), created with 32
    random bytes by whichever writer needs it first (the loser of that race reads it)."""
    secrets_path = plain.path("v1", "secrets", namespace)
    for _ in range(3):
        try:
            secret = plain.get(api, plain.path("v1", "secrets", namespace, KEY_SECRET))
        except ApiException as err:
            if err.status != 404:
                raise SynclineError("AuditKeyUnavailable", detail=f"HTTP {err.status}") from err
        else:
            encoded = (secret.get("data") or {}).get("key")
            if not encoded:
                raise SynclineError("AuditKeyUnavailable", detail=f"{KEY_SECRET} has no key")
            return base64.b64decode(encoded)
        body = {
            "metadata": {"name": KEY_SECRET, "labels": LABELS},
            "type": "Opaque",
            "data": {"key": base64.b64encode(secrets.token_bytes(32)).decode()},
        }
        try:
            plain.create(api, secrets_path, body)
        except ApiException as err:
            if err.status != 409:
                raise SynclineError("AuditKeyUnavailable", detail=f"HTTP {err.status}") from err
    raise SynclineError("AuditKeyUnavailable", detail="it keeps disappearing")


# -- reading -----------------------------------------------------------------------------


def read_files(api: client.ApiClient, namespace: str) -> list[AuditFile]:
    """Every audit file, oldest first."""
    listing = ConfigMaps(api, namespace).list(f"{FILE_LABEL}=true")
    files = [from_configmap(item) for item in listing]
    return sorted(files, key=lambda f: f.index)


def read_one(api: client.ApiClient, namespace: str, name: str) -> AuditFile:
    """One file by name; 2704 when there is none."""
    try:
        data = ConfigMaps(api, namespace).read(name)
    except ApiException as err:
        if err.status == 404:
            raise SynclineError("AuditFileNotFound", name=name) from err
        raise
    if (data["metadata"].get("labels") or {}).get(FILE_LABEL) != "true":
        raise SynclineError("AuditFileNotFound", name=name)
    return from_configmap(data)


def _get(api: client.ApiClient, namespace: str, index: int) -> AuditFile | None:
    try:
        return read_one(api, namespace, file_name(index))
    except SynclineError:
        return None


_head_hint: dict[str, int] = {}
"""The newest file index seen per namespace, so an append reads one ConfigMap, not all."""
_latest: dict[tuple[str, str], AuditFile] = {}
"""Per (API server, namespace): the newest file as this process last wrote or read it.

Appends start from it instead of reading the ConfigMap again: the write carries its
resourceVersion, so if anyone else (the other writer, an edit, retention) changed the
file meanwhile the API server answers 409 and the append reads the file afresh. A stale
copy therefore costs one refused write, never a fork."""


def _cache_key(api: client.ApiClient, namespace: str) -> tuple[str, str]:
    return (str(getattr(api.configuration, "host", "")), namespace)


def forget_latest(api: client.ApiClient, namespace: str) -> None:
    """Drop the cached newest file (after a conflict: the next append reads it)."""
    _latest.pop(_cache_key(api, namespace), None)


def head(api: client.ApiClient, namespace: str) -> AuditFile:
    """The file appends go to: the newest, created (first one, or after a seal) if needed."""
    cached = _latest.get(_cache_key(api, namespace))
    if cached is not None and not cached.sealed:
        return cached
    index = _head_hint.get(namespace)
    if index is None:
        files = read_files(api, namespace)
        index = files[-1].index if files else 1
    current = _get(api, namespace, index)
    if current is None:  # no log yet, or the hint is stale (retention deleted that file)
        _head_hint.pop(namespace, None)
        files = read_files(api, namespace)
        current = files[-1] if files else _create(api, namespace, AuditFile(index=1))
    while current.sealed:
        following = _get(api, namespace, current.index + 1)
        if following is None:
            following = _create(api, namespace, _successor(current))
        current = following
    _head_hint[namespace] = current.index
    _latest[_cache_key(api, namespace)] = current
    return current


def _successor(sealed: AuditFile) -> AuditFile:
    last = sealed.last
    return AuditFile(index=sealed.index + 1, anchor=Anchor(last.seq, last.hash))


def _create(api: client.ApiClient, namespace: str, audit_file: AuditFile) -> AuditFile:
    """Create ``audit_file``; if another writer created it first, read theirs."""
    try:
        created = ConfigMaps(api, namespace).create(to_configmap(audit_file, namespace))
    except ApiException as err:
        if err.status != 409:
            raise
        existing = _get(api, namespace, audit_file.index)
        if existing is None:
            raise
        return existing
    return from_configmap(created)


def replace_file(api: client.ApiClient, namespace: str, audit_file: AuditFile) -> bool:
    """Write ``audit_file`` if nobody changed it since it was read; False on a conflict.

    The written file (with its new resourceVersion) becomes the cached newest one; a
    conflict forgets the cache, so the retry reads what the other writer wrote."""
    try:
        written = ConfigMaps(api, namespace).replace(
            audit_file.name, to_configmap(audit_file, namespace)
        )
    except ApiException as err:
        forget_latest(api, namespace)
        if err.status in (409, 404):
            return False
        raise
    version = (written.get("metadata") or {}).get("resourceVersion")
    if version:
        _latest[_cache_key(api, namespace)] = replace(audit_file, resource_version=version)
    else:
        forget_latest(api, namespace)
    return True


# -- writing -----------------------------------------------------------------------------


Build = Callable[[int, str, str], AuditRecord]
"""Makes a record from its ``(seq, prev_hash, time)``: where it lands is known only at
the write, since another writer may have appended first."""


def append_record(
    api: client.ApiClient,
    namespace: str,
    key: bytes,
    build: Build,
    max_records: int,
    checkpoint_every: int,
) -> AuditRecord:
    """Append the record ``build(seq, prev_hash, time)`` makes, retrying on conflicts.

    A file that becomes full is sealed (with a checkpoint) in the same write.
    """
    return append_records(api, namespace, key, [build], max_records, checkpoint_every)[0]


def append_records(
    api: client.ApiClient,
    namespace: str,
    key: bytes,
    builds: Sequence[Build],
    max_records: int,
    checkpoint_every: int,
) -> list[AuditRecord]:
    """Append one record per ``builds`` entry, in that order, in as few writes as the file
    size allows (one, unless a file fills up and is sealed on the way).

    Each write is a whole chunk or nothing: on a conflict the chunk is built again on
    top of what the other writer appended, so the records stay contiguous and in order
    within this batch, and every record of the batch is either written or reported by
    the exception (2706), never silently dropped.
    """
    written: list[AuditRecord] = []
    attempt = 0
    while len(written) < len(builds):
        current = head(api, namespace)
        room = max(max_records - len(current.records), 1)
        chunk = builds[len(written) : len(written) + room]
        updated, records = _with_records(current, key, chunk, max_records, checkpoint_every)
        if replace_file(api, namespace, updated):
            written += records
            attempt = 0
            continue
        attempt += 1
        if attempt >= APPEND_ATTEMPTS:
            raise SynclineError(
                "AuditAppendContended", detail=f"{APPEND_ATTEMPTS} conflicting writes"
            )
        time.sleep(random.uniform(0, 0.02 * min(attempt, 10)))  # noqa: S311 - jitter
    return written


def _with_records(
    current: AuditFile,
    key: bytes,
    builds: Sequence[Build],
    max_records: int,
    checkpoint_every: int,
) -> tuple[AuditFile, list[AuditRecord]]:
    """``current`` with the records appended, checkpointed every ``checkpoint_every``
    seqs and sealed (with a checkpoint on its last record) when it is full."""
    updated, records = current, []
    for build in builds:
        last = updated.last
        stamp = now_rfc3339()
        record = build(last.seq + 1, last.hash, stamp)
        full = len(updated.records) + 1 >= max_records
        checkpoint = None
        if full or record.seq % checkpoint_every == 0:
            checkpoint = make_checkpoint(key, record, stamp)
        updated = updated.appended(record, checkpoint)
        records.append(record)
        if full:
            updated = replace(updated, sealed=True)
            break
    return updated, records


def seal_head(api: client.ApiClient, namespace: str, key: bytes) -> AuditFile | None:
    """Seal the newest file (if it has records) and start the next; the sealed file."""
    for _ in range(APPEND_ATTEMPTS):
        current = head(api, namespace)
        if not current.records:
            return None
        sealed = current.sealed_with(make_checkpoint(key, current.last, now_rfc3339()))
        if replace_file(api, namespace, sealed):
            head(api, namespace)  # creates the successor now, not at the next append
            return sealed
    raise SynclineError("AuditAppendContended", detail="the newest file kept changing")


def add_checkpoint(api: client.ApiClient, namespace: str, key: bytes) -> Checkpoint | None:
    """Sign the newest record now (after a good verification), so a later rewrite of
    anything up to here is caught even before the next periodic checkpoint."""
    for _ in range(APPEND_ATTEMPTS):
        current = head(api, namespace)
        if not current.records:
            return None
        last = current.last
        if any(c.seq == last.seq for c in current.checkpoints):
            return None
        checkpoint = make_checkpoint(key, last, now_rfc3339())
        updated = replace(current, checkpoints=(*current.checkpoints, checkpoint))
        if replace_file(api, namespace, updated):
            return checkpoint
    raise SynclineError("AuditAppendContended", detail="the newest file kept changing")


def expired_files(files: list[AuditFile], retention_days: int, now: datetime) -> list[AuditFile]:
    """Sealed files (never the newest) whose newest record is older than the retention,
    oldest first, stopping at the first one still kept so the chain stays contiguous."""
    cutoff = now - timedelta(days=retention_days)
    expired = []
    for audit_file in files[:-1]:
        last = audit_file.records[-1].time if audit_file.records else None
        if not audit_file.sealed or last is None or _parse_time(last) >= cutoff:
            break
        expired.append(audit_file)
    return expired


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def delete_file(api: client.ApiClient, namespace: str, audit_file: AuditFile) -> None:
    try:
        ConfigMaps(api, namespace).delete(audit_file.name)
    except ApiException as err:
        if err.status != 404:
            raise
