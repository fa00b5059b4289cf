"""Audit log files: how one file maps onto one ConfigMap (pure, no I/O).

A file is a ConfigMap ``syncline-audit-NNNNNNNN`` in the Syncline namespace with
``records.jsonl`` (one canonical JSON record per line), ``checkpoints.jsonl``,
``anchor.json`` (the seq and hash its chain starts from) and ``sealed``. Only the newest
file is ever appended to; a sealed file never changes again except by retention, which
deletes it whole after moving the anchor (``syncline-audit-state``) past it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from syncline.audit.chain import Anchor, AuditRecord, Checkpoint, canonical

PREFIX = "syncline-audit-"
FILE_LABEL = "syncline.dev/audit-file"
STATE_NAME = "syncline-audit-state"
CONFIG_NAME = "syncline-audit-config"
KEY_SECRET = "syncline-audit-key"  # noqa: S105 - the Secret's name, not a value
LABELS = {"app.kubernetes.io/part-of": "syncline"}


def file_name(index: int) -> str:
    return f"{PREFIX}{index:08d}"


def file_index(name: str) -> int | None:
    tail = name.removeprefix(PREFIX)
    return int(tail) if name.startswith(PREFIX) and tail.isdigit() else None


@dataclass(frozen=True, slots=True)
class AuditFile:
    """One audit log file with its integrity data (anchor, checkpoints, seal)."""

    index: int
    anchor: Anchor = Anchor()  # noqa: RUF009 - frozen, shared safely
    records: tuple[AuditRecord, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    sealed: bool = False
    resource_version: str | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return file_name(self.index)

    @property
    def last(self) -> AuditRecord | Anchor:
        """The newest record, or the anchor of an empty file."""
        return self.records[-1] if self.records else self.anchor

    def summary(self) -> dict[str, Any]:
        """What a listing shows: no record bodies."""
        first = self.records[0].time if self.records else None
        last = self.records[-1].time if self.records else None
        return {
            "name": self.name,
            "firstSeq": self.anchor.seq + 1 if self.records else None,
            "lastSeq": self.last.seq if self.records else None,
            "records": len(self.records),
            "firstTime": first,
            "lastTime": last,
            "sealed": self.sealed,
            "checkpoints": len(self.checkpoints),
        }

    def to_json(self) -> dict[str, Any]:
        """The file with its integrity data, as the API and CLI return it."""
        return {
            **self.summary(),
            "anchor": {"seq": self.anchor.seq, "hash": self.anchor.hash},
            "records": [r.to_json() for r in self.records],
            "checkpoints": [c.to_json() for c in self.checkpoints],
        }

    def appended(self, record: AuditRecord, checkpoint: Checkpoint | None) -> AuditFile:
        extra = () if checkpoint is None else (checkpoint,)
        return replace(
            self, records=(*self.records, record), checkpoints=(*self.checkpoints, *extra)
        )

    def sealed_with(self, checkpoint: Checkpoint) -> AuditFile:
        return replace(self, sealed=True, checkpoints=(*self.checkpoints, checkpoint))


def to_configmap(audit_file: AuditFile, namespace: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": audit_file.name,
        "namespace": namespace,
        "labels": {**LABELS, FILE_LABEL: "true"},
    }
    if audit_file.resource_version is not None:
        metadata["resourceVersion"] = audit_file.resource_version
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {
            "anchor.json": canonical(
                {"seq": audit_file.anchor.seq, "hash": audit_file.anchor.hash}
            ).decode(),
            "records.jsonl": _lines(r.to_json() for r in audit_file.records),
            "checkpoints.jsonl": _lines(c.to_json() for c in audit_file.checkpoints),
            "sealed": "true" if audit_file.sealed else "false",
        },
    }


def from_configmap(configmap: dict[str, Any]) -> AuditFile:
    """The file stored in ``configmap``; lines that are not JSON are kept as broken records
    (verification then names them) rather than failing the read."""
    meta, data = configmap["metadata"], configmap.get("data") or {}
    index = file_index(meta["name"])
    if index is None:
        raise ValueError(f"{meta['name']} is not an audit file")
    anchor_data = json.loads(data.get("anchor.json") or "{}")
    anchor = Anchor(int(anchor_data.get("seq", 0)), str(anchor_data.get("hash", Anchor().hash)))
    return AuditFile(
        index=index,
        anchor=anchor,
        records=tuple(_record(line) for line in _split(data.get("records.jsonl", ""))),
        checkpoints=tuple(
            Checkpoint.from_json(json.loads(line))
            for line in _split(data.get("checkpoints.jsonl", ""))
        ),
        sealed=data.get("sealed") == "true",
        resource_version=meta.get("resourceVersion"),
    )


def _record(line: str) -> AuditRecord:
    try:
        return AuditRecord.from_json(json.loads(line))
    except (ValueError, KeyError, TypeError):
        # Unparseable: a record with an impossible hash, so verification names its place.
        return AuditRecord(-1, "", "", "", "", "", {"unparseable": True}, "", "")


def _lines(items: Any) -> str:
    return "".join(canonical(item).decode() + "\n" for item in items)


def _split(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
