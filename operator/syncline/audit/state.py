"""``syncline-audit-state``: what must outlive deleted files and restarts.

- ``anchor.json``: the seq and hash of the last record of the newest file retention
  deleted, with the index of that file, signed like a checkpoint. Verification starts
  from it, so deleting old files by retention keeps the chain verifiable, while deleting
  a file by hand (without the key to move the anchor) is caught.
- ``forwarded-seq``: the last record the syslog forwarder delivered; it resumes after it.
- ``forwarding-error``: the last forwarding failure (a catalog message), empty when fine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.audit.chain import canonical, sign
from syncline.audit.files import LABELS, STATE_NAME
from syncline.audit.store import ConfigMaps
from syncline.errors import SynclineError


@dataclass(frozen=True, slots=True)
class RetentionAnchor:
    seq: int
    hash: str
    index: int
    signature: str

    def statement(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "index": self.index}


def signed_anchor(key: bytes, seq: int, hash_: str, index: int) -> RetentionAnchor:
    unsigned = RetentionAnchor(seq, hash_, index, "")
    return RetentionAnchor(seq, hash_, index, sign(key, unsigned.statement()))


def read_state(api: client.ApiClient, namespace: str) -> dict[str, str]:
    """The state's data (empty when there is none yet), with its resourceVersion under
    ``""``."""
    try:
        configmap = ConfigMaps(api, namespace).read(STATE_NAME)
    except ApiException as err:
        if err.status == 404:
            return {}
        raise
    data = dict(configmap.get("data") or {})
    data[""] = configmap["metadata"]["resourceVersion"]
    return data


def anchor_of(state: dict[str, str]) -> RetentionAnchor | None:
    raw = state.get("anchor.json")
    if not raw:
        return None
    data = json.loads(raw)
    return RetentionAnchor(
        int(data["seq"]), str(data["hash"]), int(data["index"]), str(data["signature"])
    )


def update_state(
    api: client.ApiClient,
    namespace: str,
    change: Callable[[dict[str, str]], dict[str, str] | None],
    attempts: int = 30,
) -> None:
    """Read, ``change`` (returns the keys to set, or None for nothing), write with the
    resourceVersion read; a 409 means someone else wrote: read and decide again."""
    configmaps = ConfigMaps(api, namespace)
    for _ in range(attempts):
        state = read_state(api, namespace)
        updates = change({k: v for k, v in state.items() if k})
        if updates is None:
            return
        data = {**{k: v for k, v in state.items() if k}, **updates}
        body: dict[str, Any] = {
            "metadata": {"name": STATE_NAME, "labels": LABELS},
            "data": data,
        }
        try:
            if "" in state:
                body["metadata"]["resourceVersion"] = state[""]
                configmaps.replace(STATE_NAME, body)
            else:
                configmaps.create(body)
        except ApiException as err:
            if err.status in (409, 404):
                continue
            raise
        return
    raise SynclineError("AuditAppendContended", detail=f"{STATE_NAME} kept changing")


def anchor_json(anchor: RetentionAnchor) -> str:
    return canonical({**anchor.statement(), "signature": anchor.signature}).decode()
