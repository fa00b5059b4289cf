"""The tamper-evident audit log: who changed what through Syncline, and what Syncline did.

Public API (the REST API, the CLI and the operator call only these):

- :func:`append` one record (details are scrubbed of secret values first), or
  :func:`append_many` several in order, in one write where they fit;
- :func:`list_files`, :func:`read_file`: the log files with their integrity data;
- :func:`verify`: the whole chain, naming the first altered, removed or reordered record
  or the first checkpoint with a bad signature;
- :func:`get_config`, :func:`set_config`: retention, file size, checkpoints, syslog;
- :func:`rotate`: seal the newest file and apply retention (a built-in schedule);
- :func:`forward_pending` (in :mod:`syncline.audit.forwarding`): send what syslog lacks.

Design and threat model: docs/audit.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.audit.chain import AuditRecord, VerifyResult, build_record
from syncline.audit.config import AuditConfig, SyslogTarget, parse_config
from syncline.audit.files import CONFIG_NAME, LABELS, AuditFile
from syncline.audit.redact import scrub_details
from syncline.audit.state import (
    anchor_json,
    anchor_of,
    read_state,
    signed_anchor,
    update_state,
)
from syncline.audit.store import (
    ConfigMaps,
    add_checkpoint,
    append_records,
    delete_file,
    expired_files,
    read_files,
    read_one,
    seal_head,
    signing_key,
    system_namespace,
)
from syncline.audit.verification import verify_files

__all__ = [
    "AuditConfig",
    "AuditFile",
    "AuditRecord",
    "Entry",
    "SyslogTarget",
    "VerifyResult",
    "append",
    "append_many",
    "get_config",
    "list_files",
    "read_file",
    "rotate",
    "set_config",
    "system_namespace",
    "verify",
]

SUCCESS = "Success"


@dataclass(frozen=True, slots=True)
class Entry:
    """One record still to be appended: what :func:`append` takes, for :func:`append_many`."""

    actor: str
    action: str
    target: str
    result: str = SUCCESS
    details: Mapping[str, Any] | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Values to mask wherever they appear in ``details`` (never shown in a repr)."""


def append(
    api: client.ApiClient,
    actor: str,
    action: str,
    target: str,
    result: str = SUCCESS,
    details: Mapping[str, Any] | None = None,
    *,
    secrets: Iterable[str] = (),
    namespace: str | None = None,
) -> AuditRecord:
    """Append one record and return it (with its seq and hash).

    ``result`` is ``"Success"`` or the catalog error's ``"<code> <Name>"``. ``details``
    are scrubbed: values of keys that name credentials become ``***``, and every known
    secret value in ``secrets`` is masked wherever it appears (``syncline.redaction``).
    Raises 2706 when other writers kept winning for a long time, 2707 without a key.
    """
    entry = Entry(actor, action, target, result, details, tuple(secrets))
    return append_many(api, [entry], namespace=namespace)[0]


def append_many(
    api: client.ApiClient, entries: Sequence[Entry], *, namespace: str | None = None
) -> list[AuditRecord]:
    """Append ``entries`` in order, consecutively, in one ConfigMap write where they fit.

    For a writer with many records at once (the operator creating a thousand CronJobs):
    one configuration read, one key read and one write per batch instead of per record.
    Scrubbing, errors and the chain are :func:`append`'s; when it raises, none of the
    records not yet returned may be assumed written (a sealed file's chunk may be).
    """
    if not entries:
        return []
    ns = system_namespace(namespace)
    config = get_config(api, namespace=ns)
    key = signing_key(api, ns)
    builds = [_builder(entry) for entry in entries]
    return append_records(
        api, ns, key, builds, config.max_records_per_file, config.checkpoint_every
    )


def _builder(entry: Entry) -> Callable[[int, str, str], AuditRecord]:
    clean = scrub_details(entry.details or {}, entry.secrets)

    def build(seq: int, prev_hash: str, time: str) -> AuditRecord:
        return build_record(
            seq=seq,
            prev_hash=prev_hash,
            time=time,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            result=entry.result,
            details=clean,
        )

    return build


def list_files(api: client.ApiClient, *, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every audit log file, oldest first: name, seq range, times, sealed, checkpoints."""
    return [f.summary() for f in read_files(api, system_namespace(namespace))]


def read_file(api: client.ApiClient, name: str, *, namespace: str | None = None) -> AuditFile:
    """One file with its records and integrity data (``.to_json()``); 2704 if unknown."""
    return read_one(api, system_namespace(namespace), name)


def verify(api: client.ApiClient, *, namespace: str | None = None) -> VerifyResult:
    """Verify every file, every link, every checkpoint signature and the retention anchor."""
    ns = system_namespace(namespace)
    key = signing_key(api, ns)
    return verify_files(read_files(api, ns), anchor_of(read_state(api, ns)), key)


def verify_and_checkpoint(api: client.ApiClient, *, namespace: str | None = None) -> VerifyResult:
    """:func:`verify`, then sign the newest record when the log is intact (the built-in
    verification schedule), so nothing up to now can later be rewritten unnoticed."""
    ns = system_namespace(namespace)
    result = verify(api, namespace=ns)
    if result.ok:
        add_checkpoint(api, ns, signing_key(api, ns))
    return result


def rotate(api: client.ApiClient, *, namespace: str | None = None) -> list[str]:
    """Seal the newest file (a new one starts) and delete files past the retention;
    returns the deleted files' names. The anchor moves first, then the file goes."""
    ns = system_namespace(namespace)
    key = signing_key(api, ns)
    seal_head(api, ns, key)
    config = get_config(api, namespace=ns)
    deleted = []
    for old in expired_files(read_files(api, ns), config.retention_days, datetime.now(UTC)):
        anchor = signed_anchor(key, old.last.seq, old.last.hash, old.index)
        update_state(api, ns, _set_anchor(anchor_json(anchor)))
        delete_file(api, ns, old)
        deleted.append(old.name)
    return deleted


def _set_anchor(text: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda _state: {"anchor.json": text}


def get_config(api: client.ApiClient, *, namespace: str | None = None) -> AuditConfig:
    """The audit configuration (defaults when none was set)."""
    ns = system_namespace(namespace)
    try:
        configmap = ConfigMaps(api, ns).read(CONFIG_NAME)
    except ApiException as err:
        if err.status == 404:
            return AuditConfig()
        raise
    raw = (configmap.get("data") or {}).get("config.json") or "{}"
    return parse_config(json.loads(raw))


def set_config(
    api: client.ApiClient, config: AuditConfig | Mapping[str, Any], *, namespace: str | None = None
) -> AuditConfig:
    """Validate (2703, 2708) and store the configuration; returns what was stored."""
    ns = system_namespace(namespace)
    model = parse_config(
        config.model_dump(by_alias=True) if isinstance(config, AuditConfig) else dict(config)
    )
    body = {
        "metadata": {"name": CONFIG_NAME, "labels": LABELS},
        "data": {"config.json": model.model_dump_json(by_alias=True, exclude_none=True)},
    }
    configmaps = ConfigMaps(api, ns)
    try:
        configmaps.replace(CONFIG_NAME, body)
    except ApiException as err:
        if err.status != 404:
            raise
        configmaps.create(body)
    return model
